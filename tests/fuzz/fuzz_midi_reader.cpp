// libFuzzer target for the MIDI reader. Any input must either read or throw MidiError; whatever
// reads must also tokenize, detokenize and write, and the written file must read back the same.
// A crash, a sanitizer report, another exception or a failed check below is a finding.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
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
  for (const Note& n : s.notes) keys.emplace_back(n.start_tick, n.duration_ticks, n.pitch, n.channel, n.program, n.velocity);
  std::sort(keys.begin(), keys.end());
  return keys;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Score score;
  try {
    // Odd sizes apply the sustain pedal, even sizes do not, so both paths are fuzzed.
    score = read_midi({data, size}, "fuzz.mid", ReadOptions{(size & 1) != 0});
  } catch (const MidiError&) {
    return 0;
  }
  for (const Note& n : score.notes) check(n.duration_ticks >= 0 && n.pitch >= 0 && n.pitch < 128);

  if (!score.smpte) {
    const Score back = read_midi(write_midi(score), "rewritten.mid");
    check(note_keys(back) == note_keys(score));
  }
  const auto seed = make_tokenizer("seed");
  const Score seed_score = seed->detokenize(seed->tokenize(score));
  read_midi(write_midi(seed_score), "seed.mid");

  const EventTokenizer event;
  const Score event_score = event.detokenize(event.tokenize(score));
  check(event.grid_notes(event_score) == event.grid_notes(score));
  read_midi(write_midi(event_score), "event.mid");
  return 0;
}
