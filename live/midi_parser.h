#pragma once
// The channel messages in a stream of MIDI bytes as a keyboard or a host sends them: running
// status (data bytes that reuse the last status), real-time bytes (clock, active sensing) in the
// middle of a message, SysEx of any length, possibly split over several packets, and stray data
// bytes. No allocation: safe on a real-time thread.
#include <cstddef>
#include <cstdint>

namespace legato::live {

struct ChannelMessage {
  uint8_t status = 0;  // 0x80..0xEF: the kind in the high nibble, the channel in the low one
  uint8_t data1 = 0, data2 = 0;

  int kind() const { return status & 0xF0; }
  int channel() const { return status & 0x0F; }
  bool is_note_on() const { return kind() == 0x90 && data2 > 0; }
  bool is_note_off() const { return kind() == 0x80 || (kind() == 0x90 && data2 == 0); }
};

class MidiParser {
 public:
  // Calls on_message(const ChannelMessage&) for every complete channel message in `bytes`; the
  // state (running status, a message begun, SysEx) carries over to the next call.
  template <typename OnMessage>
  void parse(const uint8_t* bytes, size_t size, OnMessage&& on_message) {
    for (size_t k = 0; k < size; ++k)
      if (take(bytes[k])) on_message(message_);
  }

 private:
  bool take(uint8_t byte);  // true when `byte` completed message_

  ChannelMessage message_;
  uint8_t running_ = 0;  // the status data bytes belong to (0: none; they are dropped)
  int needed_ = 0;       // data bytes the running status takes
  int have_ = 0;         // data bytes of the current message so far
  bool in_sysex_ = false;
};

}  // namespace legato::live
