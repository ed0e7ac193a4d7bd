#pragma once
// How every Legato program ends on bad input: one line on stderr naming the problem, exit 2.
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

namespace legato::tools {

constexpr int kUsageError = 2;

// Parses argv; returns -1 to go on, or the exit code (0 after --help, 2 after a bad command line).
inline int parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": " << e.what() << " (see --help)\n";
    return kUsageError;
  }
}

}  // namespace legato::tools
