#pragma once
// Files written so that a reader, a crash or a power cut sees the old file or the whole new one,
// never a part: written beside it under a temporary name, flushed to disk (fsync), renamed over it
// (atomic on POSIX), and the folder flushed so that the rename itself survives. Every file Legato
// writes goes through here: checkpoints and run files, the token cache, SVG pictures, WAV files.
// Header-only (POSIX and the standard library), so that every layer may use it (docs/layers.md).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace legato {

// One file being written: write() as often as needed, then commit(). Without commit() (an
// exception on the way) the temporary file is removed and `path` is left as it was.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path)
      : path_(std::move(path)), temporary_(path_.string() + ".tmp" + std::to_string(::getpid())) {
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot write " + temporary_.string() + ": " + std::strerror(errno));
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() {
    if (fd_ < 0) return;
    ::close(fd_);
    std::error_code ignored;
    std::filesystem::remove(temporary_, ignored);
  }

  void write(const void* data, size_t bytes) {
    const char* at = static_cast<const char*>(data);
    for (size_t done = 0; done < bytes;) {
      const ssize_t n = ::write(fd_, at + done, bytes - done);
      if (n < 0 && errno == EINTR) continue;  // a signal (Ctrl-C) arrived: keep writing, the trainer stops after
      if (n < 0) throw std::runtime_error("cannot write " + temporary_.string() + ": " + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
  }
  void write(const std::string& bytes) { write(bytes.data(), bytes.size()); }

  // The data on disk, then the file in place, then the rename on disk.
  void commit() {
    const int fd = fd_;
    fd_ = -1;
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
      const std::string why = std::strerror(errno);
      std::filesystem::remove(temporary_);
      throw std::runtime_error("cannot flush " + temporary_.string() + ": " + why);
    }
    std::filesystem::rename(temporary_, path_);
    const std::filesystem::path folder = path_.has_parent_path() ? path_.parent_path() : ".";
    if (const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY); dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }

 private:
  std::filesystem::path path_, temporary_;
  int fd_ = -1;
};

// `bytes` as the whole of `path`, atomically. Throws std::runtime_error naming the file.
inline void write_file_atomically(const std::filesystem::path& path, const std::string& bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

}  // namespace legato
