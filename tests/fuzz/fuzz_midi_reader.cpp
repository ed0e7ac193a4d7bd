// libFuzzer target for the MIDI reader. Any input must either read or throw MidiError, on the
// lenient path users take (most inputs) and the strict one; whatever reads must also tokenize,
// detokenize and write, and the written file must read back the same, cleanly; and the editor
// (midi::with_notes, composer --infill's output) must either decline it or write a file whose
// notes are the ones it did not remove, exactly. A crash, a
// sanitizer report, another exception or a failed check below is a finding.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <tuple>

#include "midi/edit.h"
#include "midi/reader.h"
#include "midi/tokenizer.h"
#include "midi/tokenizer_event.h"
#include "midi/writer.h"

using namespace legato::midi;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}

auto note_keys(const Score& s) {
  std::vector<std::tuple<int64_t, int64_t, int, int, int, int>> keys;
  for (const Note& n : s.notes)
    keys.emplace_back(n.start_tick, n.duration_ticks, n.pitch, n.channel, n.program, n.velocity);
  std::sort(keys.begin(), keys.end());
  return keys;
}

auto note_keys_with_tracks(const Score& s) {
  std::vector<std::tuple<int64_t, int64_t, int, int, int, int, int>> keys;
  for (const Note& n : s.notes)
    keys.emplace_back(n.start_tick, n.duration_ticks, n.pitch, n.channel, n.program, n.velocity, n.track);
  std::sort(keys.begin(), keys.end());
  return keys;
}

// An arbitrary third of the notes removed by the editor: the rest must read back as they were.
void check_edit(std::span<const uint8_t> bytes, const Score& score) {
  const auto removed = [](int track, int channel, int pitch, int64_t tick) {
    return (uint64_t(tick) + uint64_t(pitch) + uint64_t(track) + uint64_t(channel)) % 3 == 0;
  };
  std::string why;
  const std::optional<std::vector<uint8_t>> edited = with_notes(bytes, NoteEdit{removed, {}}, why);
  if (!edited) return;  // declined (the file does not parse strictly): composer writes anew
  const Score back = read_midi(*edited, "edited.mid");
  check(back.warnings.empty());
  Score expected = score;
  std::erase_if(expected.notes, [&](const Note& n) { return removed(n.track, n.channel, n.pitch, n.start_tick); });
  check(note_keys_with_tracks(back) == note_keys_with_tracks(expected));
}

std::optional<Score> try_read(std::span<const uint8_t> bytes, const ReadOptions& options) {
  try {
    return read_midi(bytes, "fuzz.mid", options);
  } catch (const MidiError&) {
    return std::nullopt;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The input's size picks the options, so every combination is fuzzed from one corpus.
  ReadOptions options;
  options.sustain_pedal = (size & 1) != 0;
  options.pairing = (size & 2) ? NotePairing::fifo : NotePairing::pretty_midi;
  const std::span<const uint8_t> bytes(data, size);
  const std::optional<Score> read = try_read(bytes, options);
  ReadOptions strict = options;
  strict.strict = true;
  const std::optional<Score> strict_read = try_read(bytes, strict);
  // What the strict reader accepts needs no repair: the lenient reader reads it the same.
  if (strict_read) check(read && read->warnings.empty() && note_keys(*read) == note_keys(*strict_read));
  if (!read) return 0;
  const Score& score = *read;
  for (const MidiWarning& w : score.warnings) check(w.offset <= size && !w.what.empty());
  for (const Note& n : score.notes) check(n.duration_ticks >= 0 && n.pitch >= 0 && n.pitch < 128);

  if (score.warnings.empty() && !options.sustain_pedal && options.pairing == NotePairing::pretty_midi)
    check_edit(bytes, score);
  if (!score.smpte) {
    ReadOptions plain;
    plain.pairing = options.pairing;
    const Score back = read_midi(write_midi(score), "rewritten.mid", plain);
    check(back.warnings.empty());
    check(note_keys(back) == note_keys(score));
  }
  const auto seed = make_tokenizer("seed", {}, SeedOptions{(size & 4) != 0});
  const Score seed_score = seed->detokenize(seed->tokenize(score));
  read_midi(write_midi(seed_score), "seed.mid");

  const EventTokenizer event;
  const Score event_score = event.detokenize(event.tokenize(score));
  check(event.grid_notes(event_score) == event.grid_notes(score));
  read_midi(write_midi(event_score), "event.mid");
  return 0;
}
