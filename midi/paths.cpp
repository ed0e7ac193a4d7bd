#include "midi/paths.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace legato::midi {
namespace fs = std::filesystem;

namespace {

// Whether a file can be created in the existing folder `dir`: creates one and removes it.
std::string probe_folder(const fs::path& dir) {
  const fs::path probe = dir / (".legato-write-test-" + std::to_string(::getpid()));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return "cannot write in " + dir.string() + ": " + std::strerror(errno);
  ::close(fd);
  ::unlink(probe.c_str());
  return "";
}

}  // namespace

std::string input_file_problem(const fs::path& path) {
  std::error_code ec;
  const fs::file_status s = fs::status(path, ec);
  if (!fs::exists(s)) return "no such file";
  if (fs::is_directory(s)) return "is a folder, not a file";
  if (::access(path.c_str(), R_OK) != 0) return std::string("cannot be read: ") + std::strerror(errno);
  return "";
}

std::string input_path_problem(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(fs::status(path, ec))) return "no such file or folder";
  return "";
}

std::string output_folder_problem(const fs::path& dir) {
  std::error_code ec;
  fs::path existing = dir.empty() ? fs::path(".") : dir;
  // The nearest folder on the way that exists: what the new folders would be made in.
  while (!fs::exists(fs::status(existing, ec))) {
    const fs::path parent = existing.has_parent_path() ? existing.parent_path() : fs::path(".");
    if (parent == existing) break;
    existing = parent;
  }
  if (!fs::is_directory(fs::status(existing, ec)))
    return existing == dir ? "is a file, not a folder" : existing.string() + " is a file, not a folder";
  return probe_folder(existing);
}

std::string output_file_problem(const fs::path& path) {
  std::error_code ec;
  const fs::file_status s = fs::status(path, ec);
  if (fs::is_directory(s)) return "is a folder; give a file name in it";
  if (fs::exists(s)) {
    const int fd = ::open(path.c_str(), O_WRONLY);  // no O_TRUNC: the file stays as it is
    if (fd < 0) return std::string("cannot be written: ") + std::strerror(errno);
    ::close(fd);
    return "";
  }
  return output_folder_problem(path.has_parent_path() ? path.parent_path() : fs::path("."));
}

}  // namespace legato::midi
