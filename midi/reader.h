// Standard MIDI File reader: formats 0, 1 and 2, PPQ and SMPTE division. Malformed input throws
// MidiError naming the file, the byte offset and the fault; it never crashes or loops.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "midi/error.h"
#include "midi/score.h"

namespace legato::midi {

struct ReadOptions {
  // Notes released while the sustain pedal (CC64 >= 64) is down sound until the pedal lifts.
  bool sustain_pedal = false;
};

// No event may lie further than this many quarter notes from the start (about 14 hours at
// 120 bpm): larger times are corrupt deltas, and tokenizers would turn them into huge outputs.
constexpr int64_t kMaxQuarters = 100000;

Score read_midi(std::span<const uint8_t> bytes, const std::string& name,
                const ReadOptions& options = {});
Score read_midi_file(const std::filesystem::path& path, const ReadOptions& options = {});

}  // namespace legato::midi
