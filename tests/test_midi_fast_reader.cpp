// The fast reader (issue 28) against the reader it replaced (test_midi_reference_reader.h) on
// thousands of synthetic files, whole and damaged, under every option: the same score to the bit
// (notes, times, maps, counts, warnings) or the same refusal, word for word.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

#include "midi/reader.h"
#include "test_midi_bytes.h"
#include "test_midi_reference_reader.h"

using namespace legato::midi;
using namespace midi_test;

namespace {

// A track of random events over few keys and small deltas, so that notes overlap, re-strike and
// end at their own tick, with running status, pedals, tempo and every kind of event skipped.
Track random_track(std::mt19937& rng, bool end_of_track) {
  auto pick = [&](int n) { return int(rng() % uint32_t(n)); };
  static constexpr uint8_t kSystem[] = {0xF1, 0xF2, 0xF3, 0xF6, 0xF8, 0xFA, 0xFC, 0xFE};
  Track t;
  bool running = false;  // a channel event was written: running status may follow
  const int events = 5 + pick(120);
  const bool system = pick(4) == 0;  // messages a file may not hold (the strict reader refuses them)
  for (int e = 0; e < events; ++e) {
    const uint32_t delta = pick(3) == 0 ? 0 : uint32_t(pick(4) == 0 ? pick(5000) : pick(60));
    const int ch = pick(5) == 0 ? kDrumChannel : pick(3), pitch = 60 + pick(4);
    const int kind = pick(20);
    const bool may_run = running;
    running |= kind < 15 && kind != 12;
    if (kind < 7) {
      t.on(delta, ch, pitch, pick(6) == 0 ? 0 : 1 + pick(127));
    } else if (kind < 12) {
      t.off(delta, ch, pitch);
    } else if (kind == 12 && may_run) {
      t.raw(delta, {uint8_t(pitch), uint8_t(pick(2) * 90)});  // running status
    } else if (kind == 13) {
      t.cc(delta, ch, 64, pick(128));
    } else if (kind == 14) {
      t.program(delta, ch, pick(128));
    } else if (kind == 15) {
      t.tempo(delta, uint32_t(200000 + pick(800000)));
    } else if (kind == 16) {
      t.meta(delta, uint8_t(pick(2) ? 0x58 : 0x59), {uint8_t(pick(8)), uint8_t(pick(4)), 24, 8});
    } else if (kind == 17) {
      t.raw(delta, {0xF0, 2, 0x7E, 0xF7});  // sysex
    } else if (kind == 18 && system) {
      const uint8_t status = kSystem[pick(8)];  // a system message with the data bytes it takes
      if (status == 0xF2)
        t.raw(delta, {status, 1, 2});
      else if (status == 0xF1 || status == 0xF3)
        t.raw(delta, {status, 3});
      else
        t.raw(delta, {status});
    } else {
      t.meta(delta, 0x03, {'p', 'n', 'o'});  // a track name
    }
  }
  if (end_of_track) t.end(uint32_t(pick(10)));
  return t;
}

Bytes random_file(std::mt19937& rng) {
  auto pick = [&](int n) { return int(rng() % uint32_t(n)); };
  std::vector<Track> tracks(size_t(1 + pick(5)));
  for (Track& t : tracks) t = random_track(rng, pick(8) != 0);
  const uint16_t division = pick(6) == 0 ? uint16_t(0xE728) : uint16_t(pick(3) == 0 ? 96 : 480);  // or SMPTE 25 x 40
  return smf(pick(3), division, tracks);
}

// Damage as files in the wild have it: cut short, bytes changed, lengths wrong, junk appended.
Bytes damaged(Bytes file, std::mt19937& rng) {
  auto pick = [&](size_t n) { return size_t(rng() % n); };
  switch (pick(5)) {
    case 0: return cut_short(file, 1 + pick(file.size() - 1));
    case 1:
      for (size_t k = 1 + pick(4); k > 0; --k) file[14 + pick(file.size() - 14)] = uint8_t(rng());
      return file;
    case 2: return with_track_length(file, 0, int(pick(40)) - 20);
    case 3: return with_trailing(file, {0, 0xFF, uint8_t(rng())});
    default: return with_junk_before_track(file, 0, {0x4D, 0x54, uint8_t(rng()), 0});
  }
}

std::optional<Score> read_or_refusal(std::span<const uint8_t> bytes, const ReadOptions& o, bool reference,
                                     std::string& refusal) {
  try {
    return reference ? legato::midi::reference::read_midi(bytes, "x.mid", o) : read_midi(bytes, "x.mid", o);
  } catch (const MidiError& e) {
    refusal = e.what();
    return std::nullopt;
  }
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Every field of every note, change and warning; the first difference fails the test with its place.
void check_same(const Score& got, const Score& want) {
  CHECK(got.format == want.format);
  CHECK(got.track_count == want.track_count);
  CHECK(got.ticks_per_quarter == want.ticks_per_quarter);
  CHECK(got.smpte_ticks_per_second == want.smpte_ticks_per_second);
  CHECK(got.track_has_notes == want.track_has_notes);
  CHECK(got.unreleased_notes == want.unreleased_notes);
  CHECK(got.zero_length_notes == want.zero_length_notes);
  REQUIRE(got.notes.size() == want.notes.size());
  for (size_t i = 0; i < got.notes.size(); ++i) {
    const Note &a = got.notes[i], &b = want.notes[i];
    INFO("note ", i);
    REQUIRE((a.pitch == b.pitch && a.velocity == b.velocity && a.channel == b.channel && a.program == b.program &&
             a.track == b.track && a.start_tick == b.start_tick && a.duration_ticks == b.duration_ticks));
    REQUIRE((same_bits(a.start_quarters, b.start_quarters) && same_bits(a.duration_quarters, b.duration_quarters) &&
             same_bits(a.start_seconds, b.start_seconds) && same_bits(a.duration_seconds, b.duration_seconds)));
  }
  REQUIRE(got.tempo_map.size() == want.tempo_map.size());
  for (size_t i = 0; i < got.tempo_map.size(); ++i)
    CHECK((got.tempo_map[i].tick == want.tempo_map[i].tick &&
           got.tempo_map[i].micros_per_quarter == want.tempo_map[i].micros_per_quarter &&
           same_bits(got.tempo_map[i].seconds, want.tempo_map[i].seconds)));
  REQUIRE(got.time_signatures.size() == want.time_signatures.size());
  for (size_t i = 0; i < got.time_signatures.size(); ++i)
    CHECK((got.time_signatures[i].tick == want.time_signatures[i].tick &&
           got.time_signatures[i].numerator == want.time_signatures[i].numerator &&
           got.time_signatures[i].denominator == want.time_signatures[i].denominator));
  REQUIRE(got.key_signatures.size() == want.key_signatures.size());
  for (size_t i = 0; i < got.key_signatures.size(); ++i)
    CHECK((got.key_signatures[i].tick == want.key_signatures[i].tick &&
           got.key_signatures[i].sharps == want.key_signatures[i].sharps &&
           got.key_signatures[i].minor == want.key_signatures[i].minor));
  REQUIRE(got.program_changes.size() == want.program_changes.size());
  for (size_t i = 0; i < got.program_changes.size(); ++i) {
    const ProgramChange &a = got.program_changes[i], &b = want.program_changes[i];
    CHECK((a.tick == b.tick && a.track == b.track && a.channel == b.channel && a.program == b.program));
  }
  REQUIRE(got.warnings.size() == want.warnings.size());
  for (size_t i = 0; i < got.warnings.size(); ++i) CHECK(got.warnings[i].message() == want.warnings[i].message());
}

// What the comparison covered, so the test fails if the files stop exercising the reader's paths.
struct Coverage {
  int read = 0, refused = 0, repaired = 0, unreleased = 0, zero_length = 0, sustained = 0;
  int64_t notes = 0;
};

void compare(std::span<const uint8_t> bytes, Coverage& seen) {
  for (int options = 0; options < 8; ++options) {
    ReadOptions o;
    o.strict = options & 1;
    o.sustain_pedal = options & 2;
    o.pairing = options & 4 ? NotePairing::fifo : NotePairing::pretty_midi;
    std::string refusal, reference_refusal;
    const auto got = read_or_refusal(bytes, o, false, refusal);
    const auto want = read_or_refusal(bytes, o, true, reference_refusal);
    REQUIRE(got.has_value() == want.has_value());
    CHECK(refusal == reference_refusal);
    if (!got) {
      ++seen.refused;
      continue;
    }
    check_same(*got, *want);
    ++seen.read;
    seen.notes += int64_t(got->notes.size());
    seen.repaired += !got->warnings.empty();
    seen.unreleased += got->unreleased_notes > 0;
    seen.zero_length += got->zero_length_notes > 0;
    if (o.sustain_pedal) {
      o.sustain_pedal = false;
      seen.sustained += read_midi(bytes, "x.mid", o).notes.size() == got->notes.size() &&
                        read_midi(bytes, "x.mid", o).end_tick() != got->end_tick();
    }
  }
}

}  // namespace

TEST_CASE("midi fast reader: the reference reader's scores and refusals on 3000 random files, whole and damaged") {
  std::mt19937 rng(28);
  Coverage seen;
  for (int k = 0; k < 3000; ++k) {
    const Bytes file = random_file(rng);
    INFO("file ", k);
    compare(k % 2 ? damaged(file, rng) : file, seen);
  }
  // Every path was taken many times: notes in numbers, repairs, refusals, each kind of drop, pedals.
  CHECK(seen.read > 10000);
  CHECK(seen.notes > 200000);
  CHECK(seen.refused > 5000);
  CHECK(seen.repaired > 5000);
  CHECK(seen.unreleased > 5000);
  CHECK(seen.zero_length > 1000);
  CHECK(seen.sustained > 100);
}

TEST_CASE("midi fast reader: the reference reader's scores on the fuzzer's seed files") {
  Coverage seen;
  for (const auto& entry : std::filesystem::directory_iterator(LEGATO_TEST_DATA "/../fuzz/corpus")) {
    std::ifstream in(entry.path(), std::ios::binary);
    const Bytes bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    INFO(entry.path().filename().string());
    compare(bytes, seen);
  }
  CHECK(seen.read > 50);
  CHECK(seen.repaired > 5);
}
