// Writes the fuzzer's seed corpus: small files that between them use every feature the reader
// knows, so the fuzzer starts from deep inside the format. Usage: make_fuzz_corpus OUT_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "midi/writer.h"
#include "test_midi_bytes.h"

using namespace midi_test;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_corpus OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out);
  auto put = [&](const char* name, const Bytes& b) {
    std::ofstream(out / name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  };

  Track running;
  running.raw(0, {0x90, 60, 100}).raw(0, {64, 100}).meta(0, 0x01, {'x'}).raw(48, {60, 0}).raw(0, {64, 0})
      .on(0, 0, 60).on(5, 0, 60).off(5, 0, 60).off(5, 0, 60).on(0, 0, 72).end(20);
  put("format0_running_status.mid", smf(0, 96, {running}));

  Track conductor, piano, strings, drums;
  conductor.tempo(0, 500000).meta(0, 0x58, {3, 2, 24, 8}).meta(0, 0x59, {uint8_t(-2), 0}).tempo(384, 400000).end();
  piano.program(0, 0, 0).on(0, 0, 60).on(0, 0, 64).on(0, 0, 67).off(96, 0, 60).off(0, 0, 64).off(0, 0, 67)
      .raw(0, {0xE0, 0, 64}).raw(0, {0xA0, 60, 10}).raw(0, {0xD0, 5}).on(26, 0, 72).off(40, 0, 72).end();
  strings.program(0, 1, 48).on(10, 1, 55).tempo(20, 600000).off(100, 1, 55).program(0, 1, 40).on(0, 1, 57).off(50, 1, 57).end();
  drums.on(0, 9, 36).off(10, 9, 36).on(14, 9, 42).on(0, 9, 38).off(10, 9, 42).off(0, 9, 38).end();
  put("format1_band.mid", smf(1, 96, {conductor, piano, strings, drums}));

  Track a, b;
  a.on(0, 0, 60).off(10, 0, 60).end();
  b.on(5, 1, 70).off(10, 1, 70).end();
  put("format2.mid", smf(2, 480, {a, b}));

  Track smpte;
  smpte.on(500, 0, 60).off(250, 0, 60).end();
  put("smpte.mid", smf(0, uint16_t((uint8_t(-25) << 8) | 40), {smpte}));

  Track skipped;
  skipped.raw(0, {0xF0, 0x03, 0x43, 0x12, 0xF7}).raw(0, {0xF7, 0x02, 0x01, 0x02}).meta(0, 0x7F, {1, 2, 3})
      .meta(0, 0x60, {9}).on(0, 0, 60).off(10, 0, 60).end();
  Bytes with_chunk = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 1, 0, 1, 0, 96};
  for (const Bytes& c : {chunk("XFIH", {1, 2, 3}), chunk("MTrk", skipped.body)}) with_chunk.insert(with_chunk.end(), c.begin(), c.end());
  put("sysex_unknown_chunks.mid", with_chunk);

  Track pedal;
  pedal.cc(0, 0, 64, 127).on(0, 0, 60).off(10, 0, 60).on(0, 0, 64).off(10, 0, 64).on(5, 0, 64).off(5, 0, 64)
      .cc(20, 0, 64, 0).on(0, 0, 67).off(10, 0, 67).end();
  put("sustain_pedal.mid", smf(0, 96, {pedal}));
  pedal.meta(0, 0x01, {'!'});  // one byte longer: odd and even sizes take both pedal settings
  put("sustain_pedal_odd.mid", smf(0, 96, {pedal}));

  legato::midi::Score written;
  written.ticks_per_quarter = 384;
  written.tempo_map = {{0, 500000, 0}};
  for (int i = 0; i < 8; ++i) {
    legato::midi::Note n;
    n.pitch = 60 + i;
    n.start_tick = i * 192;
    n.duration_ticks = 200;
    n.channel = i % 3 == 2 ? 9 : i % 3;
    n.program = i % 3 == 1 ? 40 : 0;
    written.notes.push_back(n);
  }
  put("written.mid", legato::midi::write_midi(written));
  return 0;
}
