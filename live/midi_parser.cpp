#include "live/midi_parser.h"

namespace legato::live {

namespace {
// Data bytes after a channel status: program change and channel pressure take one.
int data_bytes(uint8_t status) {
  const int kind = status & 0xF0;
  return kind == 0xC0 || kind == 0xD0 ? 1 : 2;
}
}  // namespace

bool MidiParser::take(uint8_t byte) {
  if (byte >= 0xF8) return false;  // real time (clock, start, active sensing...): may come anywhere
  if (byte >= 0x80) {
    in_sysex_ = byte == 0xF0;
    // System common messages (and SysEx) cancel running status; their data bytes are skipped.
    running_ = byte < 0xF0 ? byte : 0;
    needed_ = byte < 0xF0 ? data_bytes(byte) : 0;
    have_ = 0;
    return false;
  }
  if (in_sysex_ || running_ == 0) return false;  // SysEx body, or data with no status to belong to
  if (have_ == 0) {
    message_.status = running_;
    message_.data1 = byte;
    message_.data2 = 0;
  } else {
    message_.data2 = byte;
  }
  if (++have_ < needed_) return false;
  have_ = 0;  // the next data byte starts a message of the same status (running status)
  return true;
}

}  // namespace legato::live
