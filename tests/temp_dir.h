#pragma once
// A fresh, empty folder under the system's temporary directory, unique to this process.
#include <unistd.h>

#include <filesystem>
#include <string>

namespace legato::testing {

inline std::filesystem::path temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("legato_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace legato::testing
