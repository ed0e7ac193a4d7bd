// Writes the fuzzers' seed corpora: small MIDI files that between them use every feature the
// reader knows and every damage it repairs, and small safetensors files, so each fuzzer starts
// from deep inside its format. Usage: make_fuzz_corpus MIDI_DIR [SAFETENSORS_DIR]
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "midi/writer.h"
#include "test_midi_bytes.h"

using namespace midi_test;

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: make_fuzz_corpus MIDI_DIR [SAFETENSORS_DIR]\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out);
  auto put = [&](const char* name, const Bytes& b) {
    std::ofstream(out / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  };

  Track running;
  running.raw(0, {0x90, 60, 100})
      .raw(0, {64, 100})
      .meta(0, 0x01, {'x'})
      .raw(48, {60, 0})
      .raw(0, {64, 0})
      .on(0, 0, 60)
      .on(5, 0, 60)
      .off(5, 0, 60)
      .off(5, 0, 60)
      .on(0, 0, 72)
      .end(20);
  put("format0_running_status.mid", smf(0, 96, {running}));

  Track conductor, piano, strings, drums;
  conductor.tempo(0, 500000).meta(0, 0x58, {3, 2, 24, 8}).meta(0, 0x59, {uint8_t(-2), 0}).tempo(384, 400000).end();
  piano.program(0, 0, 0)
      .on(0, 0, 60)
      .on(0, 0, 64)
      .on(0, 0, 67)
      .off(96, 0, 60)
      .off(0, 0, 64)
      .off(0, 0, 67)
      .raw(0, {0xE0, 0, 64})
      .raw(0, {0xA0, 60, 10})
      .raw(0, {0xD0, 5})
      .on(26, 0, 72)
      .off(40, 0, 72)
      .end();
  strings.program(0, 1, 48)
      .on(10, 1, 55)
      .tempo(20, 600000)
      .off(100, 1, 55)
      .program(0, 1, 40)
      .on(0, 1, 57)
      .off(50, 1, 57)
      .end();
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
  skipped.raw(0, {0xF0, 0x03, 0x43, 0x12, 0xF7})
      .raw(0, {0xF7, 0x02, 0x01, 0x02})
      .meta(0, 0x7F, {1, 2, 3})
      .meta(0, 0x60, {9})
      .on(0, 0, 60)
      .off(10, 0, 60)
      .end();
  Bytes with_chunk = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 1, 0, 1, 0, 96};
  for (const Bytes& c : {chunk("XFIH", {1, 2, 3}), chunk("MTrk", skipped.body)})
    with_chunk.insert(with_chunk.end(), c.begin(), c.end());
  put("sysex_unknown_chunks.mid", with_chunk);

  Track pedal;
  pedal.cc(0, 0, 64, 127)
      .on(0, 0, 60)
      .off(10, 0, 60)
      .on(0, 0, 64)
      .off(10, 0, 64)
      .on(5, 0, 64)
      .off(5, 0, 64)
      .cc(20, 0, 64, 0)
      .on(0, 0, 67)
      .off(10, 0, 67)
      .end();
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

  // The damage the lenient reader repairs, one kind per file.
  Track music;
  music.on(0, 0, 60).on(0, 0, 64).off(48, 0, 60).on(0, 0, 60).off(48, 0, 60).off(0, 0, 64).end();
  Bytes garbage = smf(0, 96, {music});
  garbage.push_back(0xDE);
  put("damage_trailing_byte.mid", garbage);
  const Bytes whole = smf(1, 96, {conductor, music});
  put("damage_cut_short.mid", Bytes(whole.begin(), whole.end() - 7));
  Track system;
  system.on(0, 0, 60).raw(0, {0xF8}).raw(0, {64, 100}).raw(10, {0xF2, 1, 2}).off(10, 0, 60).off(0, 0, 64).end();
  put("damage_system_bytes.mid", smf(0, 96, {system}));
  Bytes long_length = smf(1, 96, {conductor, music});
  long_length[14 + 7] += 3;  // the first track claims 3 bytes of the second's header
  put("damage_length_too_long.mid", long_length);
  Bytes short_length = smf(1, 96, {conductor, music});
  short_length[14 + 7] -= 3;
  put("damage_length_too_short.mid", short_length);

  if (argc == 3) {
    const std::filesystem::path st = argv[2];
    std::filesystem::create_directories(st);
    auto put_st = [&](const char* name, const std::string& header, size_t data_bytes) {
      std::string b(8, '\0');
      for (int k = 0; k < 8; ++k) b[size_t(k)] = char((header.size() >> (8 * k)) & 0xFF);
      b += header + std::string(data_bytes, '\x01');
      std::ofstream(st / name, std::ios::binary).write(b.data(), std::streamsize(b.size()));
    };
    put_st("two_tensors.safetensors",
           R"({"__metadata__":{"legato.config":"{}"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
           R"("b":{"dtype":"F64","shape":[3],"data_offsets":[24,48]}})",
           48);
    put_st(
        "int_and_empty.safetensors",
        R"({"i":{"dtype":"I32","shape":[4],"data_offsets":[0,16]},"e":{"dtype":"F32","shape":[0,5],"data_offsets":[16,16]}})",
        16);
    put_st("huge_shape.safetensors",
           R"({"x":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,0]}})", 0);
  }
  return 0;
}
