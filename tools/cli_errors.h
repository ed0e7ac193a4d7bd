#pragma once
// How every Legato program ends on bad input: one line on stderr naming the problem and what to
// do, exit 2. The validators here give such lines for numbers and paths (CLI11's own print the
// range's ends with six decimals, the largest double in full, and "File is actually a directory").
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "midi/paths.h"

namespace legato::tools {

constexpr int kUsageError = 2;

// "program: text" and its newline on stderr in one write. std::cerr writes each << at once
// (unbuffered), and mpirun forwards a rank's stdout and stderr as separate streams: a line written
// in three pieces came out with another line between "trainer: " and the text.
inline void error_line(const std::string& program, const std::string& text) {
  std::cerr << (program + ": " + text + "\n") << std::flush;
}

// A number as a user writes it: 0.5, 1e-06, 1000000.
inline std::string number_text(double x) {
  char buf[32];
  if (x == std::floor(x) && std::fabs(x) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", x);
  else
    std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

// A number in [lo, hi] (or (lo, hi] with open_low); `hint` is added to the error (e.g. what to use instead).
inline CLI::Validator number_in(double lo, double hi, bool open_low = false, const std::string& hint = "",
                                bool whole = false) {
  const std::string low_text = number_text(lo), high_text = number_text(hi);
  const std::string description =
      hi >= 1e300 ? (open_low ? "> " : ">= ") + low_text : (open_low ? "(" : "[") + low_text + " - " + high_text + "]";
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double x = 0;
        try {
          size_t used = 0;
          x = std::stod(text, &used);
          if (used != text.size()) return text + " is not a number";
        } catch (const std::exception&) {
          return text + " is not a number";
        }
        if (whole && (x != std::floor(x) || text.find_first_of(".eE") != std::string::npos))
          return "must be a whole number, not " + text;
        const bool ok = (open_low ? x > lo : x >= lo) && x <= hi;
        if (ok) return "";
        std::string what = hi >= 1e300 ? std::string("must be ") + (open_low ? "above " : "at least ") + low_text
                           : open_low  ? "must be above " + low_text + " and at most " + high_text
                                       : "must be from " + low_text + " to " + high_text;
        return what + ", not " + text + hint;
      },
      description);
}
// A whole number in [lo, hi], for integer options.
inline CLI::Validator whole_in(double lo, double hi) { return number_in(lo, hi, false, "", true); }
inline CLI::Validator positive(const std::string& hint = "") { return number_in(0, 1e308, true, hint); }
inline CLI::Validator non_negative(const std::string& hint = "") { return number_in(0, 1e308, false, hint); }

// A file to read (midi/paths.h): "no such file", "is a folder, not a file".
inline CLI::Validator existing_file(const std::string& hint_for_folder = "") {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const std::string problem = midi::input_file_problem(text);
        if (problem.empty()) return "";
        const bool folder = problem.find("folder") != std::string::npos;
        return text + ": " + problem + (folder ? hint_for_folder : "");
      },
      "FILE");
}

// A file or folder to read MIDI files from.
inline CLI::Validator existing_path() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const std::string problem = midi::input_path_problem(text);
        return problem.empty() ? "" : text + ": " + problem;
      },
      "PATH");
}

// What went wrong, for a user: the path and the system's reason for a filesystem error (not
// "filesystem error: ..."), "out of memory" for a failed allocation, else the message.
inline std::string describe(const std::exception& e) {
  if (const auto* fs = dynamic_cast<const std::filesystem::filesystem_error*>(&e))
    return "cannot use " + fs->path1().string() + ": " + fs->code().message();
  if (dynamic_cast<const std::bad_alloc*>(&e)) return "out of memory";
  return e.what();
}

// The option names of `app` and its subcommands ("--epochs"), for suggestions.
inline void option_names(const CLI::App* app, std::vector<std::string>& names) {
  for (const CLI::Option* o : app->get_options())
    for (const std::string& name : o->get_lnames()) names.push_back("--" + name);
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; })) option_names(sub, names);
}

inline size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The line for arguments the command line does not take: the first unknown --option, with the
// nearest known name; otherwise the unexpected values.
inline std::string unexpected_arguments(const CLI::App& app, int argc, char** argv) {
  std::vector<std::string> names;
  option_names(&app, names);
  for (int k = 1; k < argc; ++k) {
    std::string arg = argv[k];
    if (arg.rfind("--", 0) != 0 || arg == "--") continue;
    arg = arg.substr(0, arg.find('='));
    if (std::find(names.begin(), names.end(), arg) != names.end()) continue;
    std::string best;
    size_t best_distance = 3;  // at most two edits away, or a prefix of a name
    for (const std::string& name : names) {
      const size_t d = name.rfind(arg, 0) == 0 ? 1 : edit_distance(arg, name);
      if (d < best_distance) best = name, best_distance = d;
    }
    return arg + " is not an option" + (best.empty() ? "" : " (did you mean " + best + "?)") + "; see --help";
  }
  std::string values;
  for (const std::string& r : app.remaining()) values += (values.empty() ? "" : " ") + r;
  for (const CLI::App* sub : app.get_subcommands())
    for (const std::string& r : sub->remaining()) values += (values.empty() ? "" : " ") + r;
  return "unexpected argument(s) " + values + "; see --help";
}

// Parses argv; returns -1 to go on, or the exit code (0 after --help, 2 after a bad command line).
// `renamed`: options of earlier versions and their names now, for the error line.
inline int parse_command_line(CLI::App& app, int argc, char** argv,
                              const std::map<std::string, std::string>& renamed = {}) {
  for (int k = 1; k < argc; ++k)  // an old name: said first (its value would be taken for a positional one)
    if (const auto it = renamed.find(std::string(argv[k]).substr(0, std::string(argv[k]).find('=')));
        it != renamed.end()) {
      std::cerr << app.get_name() << ": " << it->first << " is now " << it->second
                << " (the same name in every Legato program); see --help\n";
      return kUsageError;
    }
  if (const auto subcommands = app.get_subcommands([](const CLI::App*) { return true; });
      !subcommands.empty() && argc > 1 && argv[1][0] != '-') {
    std::string names, nearest;
    size_t best = 3;
    for (const CLI::App* sub : subcommands) {
      names += (names.empty() ? "" : ", ") + sub->get_name();
      if (const size_t d = edit_distance(argv[1], sub->get_name()); d < best) best = d, nearest = sub->get_name();
    }
    if (nearest != argv[1] && std::none_of(subcommands.begin(), subcommands.end(),
                                           [&](const CLI::App* sub) { return sub->get_name() == argv[1]; })) {
      std::cerr << app.get_name() << ": " << argv[1] << " is not a command"
                << (nearest.empty() ? "" : " (did you mean " + nearest + "?)") << "; the commands: " << names << "\n";
      return kUsageError;
    }
  }
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    std::cerr << app.get_name() << ": " << unexpected_arguments(app, argc, argv) << "\n";
    return kUsageError;
  } catch (const CLI::ValidationError& e) {  // the validators' lines say what to do
    std::cerr << app.get_name() << ": " << e.what() << "\n";
    return kUsageError;
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": " << e.what() << " (see --help)\n";
    return kUsageError;
  }
}

// Refuses an output folder or file that cannot be written, before any work: one line, exit 2.
struct OutputCheck {
  std::string program;
  int code = -1;  // -1 while every output is fine
  void folder(const std::string& option, const std::string& dir) {
    if (code >= 0 || dir.empty()) return;
    if (const std::string problem = midi::output_folder_problem(dir); !problem.empty()) fail(option, dir, problem);
  }
  void file(const std::string& option, const std::string& path, const std::string& example = "") {
    if (code >= 0 || path.empty()) return;
    if (const std::string problem = midi::output_file_problem(path); !problem.empty())
      fail(option, path,
           problem + (problem.find("folder;") != std::string::npos && !example.empty()
                          ? " (e.g. " + (std::filesystem::path(path) / example).string() + ")"
                          : ""));
  }
  void fail(const std::string& option, const std::string& path, const std::string& problem) {
    std::cerr << program << ": " << option << " " << path << ": " << problem << "\n";
    code = kUsageError;
  }
};

}  // namespace legato::tools
