#pragma once
// A fresh, empty folder under the system's temporary directory, unique to this process, removed
// with everything in it when the test program exits normally: a run of the suite left about 90 MB
// of corpora, checkpoints and pieces behind in /tmp, every run. LEGATO_KEEP_TEST_DIRS=1 keeps
// them, to look at what a failing test wrote.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>

namespace legato::testing {

inline std::filesystem::path temp_dir(const std::string& name) {
  // One registry for the whole program (a static local of an inline function), emptied by its
  // destructor at exit, after the tests have run.
  struct Made {
    std::mutex mutex;
    std::set<std::filesystem::path> dirs;
    ~Made() {
      const char* keep = std::getenv("LEGATO_KEEP_TEST_DIRS");
      if (keep && std::string(keep) == "1") return;
      for (const auto& d : dirs) {
        std::error_code ignored;  // a folder a test removed itself, or one still in use: left
        std::filesystem::remove_all(d, ignored);
      }
    }
  };
  static Made made;
  const auto dir = std::filesystem::temp_directory_path() / ("legato_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::lock_guard<std::mutex> lock(made.mutex);
  made.dirs.insert(dir);
  return dir;
}

}  // namespace legato::testing
