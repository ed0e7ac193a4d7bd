// The one exception type of the MIDI layer: every malformed file ends here.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace legato::midi {

// Names the file, the byte offset and what was wrong, e.g.
// "song.mid: byte 22: variable-length quantity longer than 4 bytes".
class MidiError : public std::runtime_error {
 public:
  MidiError(const std::string& file, std::size_t offset, const std::string& what)
      : std::runtime_error(file + ": byte " + std::to_string(offset) + ": " + what),
        file_(file), offset_(offset) {}
  const std::string& file() const { return file_; }
  std::size_t offset() const { return offset_; }

 private:
  std::string file_;
  std::size_t offset_;
};

}  // namespace legato::midi
