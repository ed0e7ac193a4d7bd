// Audio through FluidSynth and the real soundfont: the WAV `miditool render` writes has the
// expected format and length, sounds where notes play (each instrument with its program, drums
// on channel 10) and is quiet where none do.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "midi/writer.h"
#include "render/audio.h"
#include "temp_dir.h"
#include "test_midi_bytes.h"
#include "test_render_process.h"

using namespace legato;

namespace {

struct Wav {
  int channels = 0, sample_rate = 0, bits = 0, format = 0;
  std::vector<int16_t> samples;  // interleaved
  int64_t frames() const { return channels ? int64_t(samples.size()) / channels : 0; }
};

uint32_t le32(const std::string& b, size_t at) {
  return uint32_t(uint8_t(b[at])) | uint32_t(uint8_t(b[at + 1])) << 8 | uint32_t(uint8_t(b[at + 2])) << 16 |
         uint32_t(uint8_t(b[at + 3])) << 24;
}
uint16_t le16(const std::string& b, size_t at) { return uint16_t(uint8_t(b[at]) | uint8_t(b[at + 1]) << 8); }

// Reads a RIFF/WAVE file chunk by chunk, as any player would.
Wav read_wav(const std::filesystem::path& path) {
  const std::string b = testing::slurp(path);
  REQUIRE(b.size() >= 44);
  REQUIRE(b.compare(0, 4, "RIFF") == 0);
  REQUIRE(b.compare(8, 4, "WAVE") == 0);
  CHECK(le32(b, 4) == b.size() - 8);
  Wav w;
  bool have_data = false;
  for (size_t at = 12; at + 8 <= b.size();) {
    const std::string id = b.substr(at, 4);
    const uint32_t size = le32(b, at + 4);
    REQUIRE(at + 8 + size <= b.size());
    if (id == "fmt ") {
      w.format = le16(b, at + 8);
      w.channels = le16(b, at + 10);
      w.sample_rate = int(le32(b, at + 12));
      w.bits = le16(b, at + 22);
    } else if (id == "data") {
      w.samples.resize(size / 2);
      std::memcpy(w.samples.data(), b.data() + at + 8, size);
      have_data = true;
    }
    at += 8 + size + (size & 1);
  }
  REQUIRE(have_data);
  return w;
}

// Root mean square of both channels between two times, on the int16 scale.
double rms(const Wav& w, double from, double to) {
  const int64_t a = int64_t(from * w.sample_rate) * w.channels, b = int64_t(to * w.sample_rate) * w.channels;
  double sum = 0;
  for (int64_t k = a; k < b; ++k) sum += double(w.samples[size_t(k)]) * w.samples[size_t(k)];
  return std::sqrt(sum / double(b - a));
}

midi::Note note(int pitch, double start_quarters, double quarters, int channel, int program) {
  midi::Note n;
  n.pitch = pitch;
  n.velocity = 100;
  n.start_tick = int64_t(start_quarters * 480);
  n.duration_ticks = int64_t(quarters * 480);
  n.channel = channel;
  n.program = program;
  return n;
}

}  // namespace

TEST_CASE("render: miditool render writes a WAV of the right length that sounds only where notes play") {
  const auto dir = testing::temp_dir("wav");
  // 120 bpm: a quarter is 0.5 s. Piano 0.5-1.5 s, silence, violin 4-5 s, snare drum at 5.5-5.75 s.
  midi::Score score;
  score.ticks_per_quarter = 480;
  score.notes = {note(60, 1, 2, 0, 0), note(64, 1, 2, 0, 0), note(67, 8, 2, 1, 40),
                 note(38, 11, 0.5, midi::kDrumChannel, 0)};
  score.update_times();
  midi::write_midi_file(score, dir / "piece.mid");
  const auto r = testing::run_process(
      {testing::program("miditool"), "render", (dir / "piece.mid").string(), (dir / "piece.wav").string()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const Wav w = read_wav(dir / "piece.wav");
  CHECK(w.format == 1);
  CHECK(w.channels == 2);
  CHECK(w.bits == 16);
  CHECK(w.sample_rate == 44100);
  // The last note ends at 5.75 s; one second of tail follows.
  CHECK(w.frames() == std::llround((5.75 + 1.0) * 44100));
  const double piano = rms(w, 0.6, 1.4), violin = rms(w, 4.1, 4.9), drum = rms(w, 5.5, 5.7);
  const double before = rms(w, 0.0, 0.45), gap = rms(w, 3.0, 3.95);
  MESSAGE("WAV rms (int16 scale): piano " << piano << ", violin " << violin << ", drum " << drum << ", before "
                                          << before << ", in the gap " << gap);
  CHECK(piano > 300);
  CHECK(violin > 300);
  CHECK(drum > 300);
  CHECK(before < 5);          // nothing sounds before the first note
  CHECK(gap < 0.05 * piano);  // 1.5 s after the piano stops it has died away
  std::filesystem::remove_all(dir);
}

TEST_CASE("render: miditool render holds the notes the sustain pedal holds; --no-pedal ends them at their note-offs") {
  const auto dir = testing::temp_dir("pedal");
  // 120 bpm (480 ticks a quarter, 0.5 s): the pedal down at 0, a piano chord 0-0.5 s, the pedal
  // lifted at 3 s.
  midi_test::Track t;
  t.tempo(0, 500000).cc(0, 0, 64, 127).on(0, 0, 60).on(0, 0, 64).off(480, 0, 60).off(0, 0, 64).cc(2400, 0, 64, 0).end();
  const midi_test::Bytes bytes = midi_test::smf(0, 480, {t});
  {
    std::ofstream f(dir / "pedal.mid", std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
  double held[2] = {}, struck[2] = {};
  for (const bool pedal : {true, false}) {
    std::vector<std::string> args = {testing::program("miditool"), "render", (dir / "pedal.mid").string(),
                                     (dir / "pedal.wav").string()};
    if (!pedal) args.push_back("--no-pedal");
    const auto r = testing::run_process(args);
    INFO(r.err);
    REQUIRE(r.code == 0);
    const Wav w = read_wav(dir / "pedal.wav");
    CHECK(w.frames() == std::llround((pedal ? 3.0 + 1.0 : 0.5 + 1.0) * 44100));  // to the lift (or note-off), + tail
    struck[pedal ? 0 : 1] = rms(w, 0.1, 0.4);
    held[pedal ? 0 : 1] = rms(w, 1.0, 1.4);
  }
  MESSAGE("WAV rms at 1.0-1.4 s: with the pedal " << held[0] << ", without " << held[1] << " (struck " << struck[0]
                                                  << ", " << struck[1] << ")");
  CHECK(struck[0] > 300);
  CHECK(struck[1] > 300);
  CHECK(held[0] > 0.1 * struck[0]);   // still sounding 0.5 s after the note-off: held by the pedal
  CHECK(held[1] < 0.01 * struck[1]);  // released at the note-off
  std::filesystem::remove_all(dir);
}

TEST_CASE("render: each instrument sounds with its own program") {
  const auto dir = testing::temp_dir("programs");
  // The same pitch and timing as a piano (program 0) and as a flute (program 73).
  std::vector<int16_t> sound[2];
  const int programs[2] = {0, 73};
  for (int k = 0; k < 2; ++k) {
    midi::Score score;
    score.notes = {note(72, 0, 2, 3, programs[k])};
    score.update_times();
    const std::filesystem::path wav = dir / (k == 0 ? "piano.wav" : "flute.wav");
    const auto result = render::render_wav(score, wav);
    CHECK(result.frames == std::llround(2.0 * 44100));  // 1 s of note + 1 s of tail
    sound[k] = read_wav(wav).samples;
  }
  REQUIRE(sound[0].size() == sound[1].size());
  double difference = 0, energy = 0;
  for (size_t k = 0; k < sound[0].size(); ++k) {
    difference += std::pow(double(sound[0][k]) - sound[1][k], 2);
    energy += std::pow(double(sound[0][k]), 2) + std::pow(double(sound[1][k]), 2);
  }
  REQUIRE(energy > 0);
  // Identical programs would give 0; unrelated sounds about 1.
  CHECK(difference / energy > 0.3);
  std::filesystem::remove_all(dir);
}

TEST_CASE("render: a missing soundfont is a clear error") {
  const auto dir = testing::temp_dir("nosf");
  midi::Score score;
  score.notes = {note(60, 0, 1, 0, 0)};
  score.update_times();
  CHECK_THROWS_WITH_AS(render::render_wav(score, dir / "x.wav", {dir / "none.sf2"}), doctest::Contains("none.sf2"),
                       render::AudioError);
  CHECK(!std::filesystem::exists(dir / "x.wav"));
  midi::write_midi_file(score, dir / "piece.mid");
  const auto r = testing::run_process({testing::program("miditool"), "render", (dir / "piece.mid").string(),
                                       (dir / "x.wav").string(), "--soundfont", (dir / "none.sf2").string()});
  CHECK(r.code != 0);
  CHECK(r.err.find("none.sf2") != std::string::npos);
  std::filesystem::remove_all(dir);
}
