// libFuzzer target for the MIDI reader. Any input must either read or throw MidiError, on the
// lenient path users take (most inputs) and the strict one; whatever reads must also tokenize,
// detokenize and write, and the written file must read back the same, cleanly. A crash, a
// sanitizer report, another exception or a failed check below is a finding.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <tuple>

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
