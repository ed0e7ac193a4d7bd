#pragma once
// One of the programs (trainer, composer, miditool) run as a person runs it, through the shell:
// its exit status and its standard output and error together.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace legato::testing {

struct ProgramRun {
  int status = -1;
  std::string output;  // stdout and stderr together
};

// `program` from `dir` (the build's bin/ by default) with `args` as a shell would split them.
inline ProgramRun run_program(const std::string& program, const std::string& args,
                              const std::string& dir = LEGATO_BIN_DIR) {
  const std::string command = dir + "/" + program + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE_MESSAGE(pipe != nullptr, "cannot run " << command);
  ProgramRun r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

}  // namespace legato::testing
