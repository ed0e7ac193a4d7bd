#pragma once
// Runs one of our programs as a child process, as a person would from the shell: its exit code,
// what it printed on stdout and stderr, and an environment of our choosing.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace legato::testing {

struct ProcessResult {
  int code = -1;  // exit code; 128 + signal when killed; -1 when it could not start
  std::string out, err;
  bool timed_out = false;
};

// Ends a child this test started: SIGTERM, up to `grace_ms` for it to go, then SIGKILL.
inline void end_process(pid_t pid, int grace_ms = 2000) {
  ::kill(pid, SIGTERM);
  int status = 0;
  for (int k = 0; k < grace_ms / 10 && ::waitpid(pid, &status, WNOHANG) == 0; ++k)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (::waitpid(pid, &status, WNOHANG) == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
}

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// `env` entries ("NAME=value") replace or add to this process's environment. `started` (may be
// null) gets the child's pid once it runs, for a test that signals it from another thread.
inline ProcessResult run_process(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                                 double timeout_seconds = 60, std::atomic<int>* started = nullptr) {
  ProcessResult result;
  const auto dir = std::filesystem::temp_directory_path();
  const std::string tag =
      std::to_string(::getpid()) + "_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  const auto out_path = dir / ("legato_out_" + tag), err_path = dir / ("legato_err_" + tag);

  std::vector<std::string> environment;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    bool replaced = false;
    for (const std::string& mine : env)
      if (entry.substr(0, entry.find('=') + 1) == mine.substr(0, mine.find('=') + 1)) replaced = true;
    if (!replaced) environment.push_back(entry);
  }
  environment.insert(environment.end(), env.begin(), env.end());
  std::vector<char*> envp, args;
  for (auto& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    result.err = "cannot start " + argv[0];
    return result;
  }
  if (started) *started = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  return result;
}

inline std::string program(const std::string& name) { return std::string(LEGATO_BIN_DIR) + "/" + name; }

}  // namespace legato::testing
