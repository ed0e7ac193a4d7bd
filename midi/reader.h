// Standard MIDI File reader: formats 0, 1 and 2, PPQ and SMPTE division. It never crashes or
// loops. By default it salvages damaged files the way players do (data after the last track,
// tracks cut short, system messages inside tracks, chunk lengths that disagree with the
// end-of-track event) and records each repair in Score::warnings; what it cannot salvage throws
// MidiError naming the file, the byte offset and the fault. ReadOptions::strict refuses every
// damaged file instead, for people who validate files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "midi/error.h"
#include "midi/score.h"

namespace legato::midi {

// How a note-off finds the note-on it ends, among notes of its channel and pitch still sounding.
enum class NotePairing {
  // pretty_midi's rule (the Lakh MIDI dataset and most corpora are built with it): a note-off
  // ends every note that began at an earlier tick; notes that began at its own tick keep sounding
  // if it ended an earlier one (a re-strike), and are dropped otherwise (zero-length notes).
  pretty_midi,
  // music21's rule: a note-off ends the oldest sounding note, so repeated notes pair in order.
  // The seed tokenizer needs it to reproduce the Keras project's music21 tokens.
  fifo,
};

struct ReadOptions {
  // Notes released while the sustain pedal (CC64 >= 64) is down sound until the pedal lifts.
  bool sustain_pedal = false;
  // Refuse damaged files (with the messages of a validating reader) instead of salvaging them.
  bool strict = false;
  NotePairing pairing = NotePairing::pretty_midi;
};

// No event may lie further than this many quarter notes from the start (about 14 hours at
// 120 bpm): larger times are corrupt deltas, and tokenizers would turn them into huge outputs.
constexpr int64_t kMaxQuarters = 100000;

Score read_midi(std::span<const uint8_t> bytes, const std::string& name, const ReadOptions& options = {});
Score read_midi_file(const std::filesystem::path& path, const ReadOptions& options = {});
// The file's bytes as they are (for midi::with_notes); MidiError naming it when it cannot be read.
std::vector<uint8_t> midi_file_bytes(const std::filesystem::path& path);

}  // namespace legato::midi
