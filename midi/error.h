// The MIDI layer's one exception type, for files it refuses, and its warning type, for damage it
// repaired: both name the file, the byte offset and what happened.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace legato::midi {

inline std::string at_byte(const std::string& file, std::size_t offset, const std::string& what) {
  return file + ": byte " + std::to_string(offset) + ": " + what;
}

// e.g. "song.mid: byte 22: variable-length quantity longer than 4 bytes".
class MidiError : public std::runtime_error {
 public:
  MidiError(const std::string& file, std::size_t offset, const std::string& what)
      : std::runtime_error(at_byte(file, offset, what)), file_(file), offset_(offset), fault_(what) {}
  const std::string& file() const { return file_; }
  std::size_t offset() const { return offset_; }
  const std::string& fault() const { return fault_; }  // the message without file and offset

 private:
  std::string file_;
  std::size_t offset_;
  std::string fault_;
};

// One repair the lenient reader made, e.g. "song.mid: byte 4071: ignored 1 byte after the last
// track". A file has at most one warning per repair.
struct MidiWarning {
  std::string file;
  std::size_t offset = 0;
  std::string what;
  std::string message() const { return at_byte(file, offset, what); }
};

}  // namespace legato::midi
