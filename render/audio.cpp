#include "render/audio.h"

#include <fluidsynth.h>

#include <bit>
#include <cmath>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "base/atomic_file.h"
#include "render/performance.h"

namespace legato::render {

const char* const kSoundfontSearchPath[] = {
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    nullptr,
};

std::filesystem::path find_soundfont(const std::filesystem::path& given) {
  if (!given.empty()) {
    if (!std::filesystem::is_regular_file(given)) throw AudioError("no soundfont file " + given.string());
    return given;
  }
  for (const char* const* p = kSoundfontSearchPath; *p; ++p)
    if (std::filesystem::is_regular_file(*p)) return *p;
  throw AudioError(
      "no General MIDI soundfont found (looked for /usr/share/sounds/sf2/FluidR3_GM.sf2 and TimGM6mb.sf2): "
      "install fluid-soundfont-gm or timgm6mb-soundfont, or give --soundfont FILE.sf2");
}

namespace {

static_assert(std::endian::native == std::endian::little, "the WAV writer writes the host's int16 samples as they are");

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Settings = std::unique_ptr<fluid_settings_t, Deleter<fluid_settings_t, delete_fluid_settings>>;
using Synth = std::unique_ptr<fluid_synth_t, Deleter<fluid_synth_t, delete_fluid_synth>>;

void put16(std::ostream& out, uint16_t v) {
  const char b[2] = {char(v & 0xFF), char(v >> 8)};
  out.write(b, 2);
}
void put32(std::ostream& out, uint32_t v) {
  put16(out, uint16_t(v & 0xFFFF));
  put16(out, uint16_t(v >> 16));
}

void write_wav_header(std::ostream& out, int sample_rate, int64_t frames) {
  const uint32_t data_bytes = uint32_t(frames * 4);
  out.write("RIFF", 4);
  put32(out, 36 + data_bytes);
  out.write("WAVEfmt ", 8);
  put32(out, 16);
  put16(out, 1);  // PCM
  put16(out, 2);  // stereo
  put32(out, uint32_t(sample_rate));
  put32(out, uint32_t(sample_rate * 4));  // bytes per second
  put16(out, 4);                          // bytes per frame
  put16(out, 16);                         // bits per sample
  out.write("data", 4);
  put32(out, data_bytes);
}

}  // namespace

AudioResult render_wav(const midi::Score& score, const std::filesystem::path& out, const AudioOptions& options) {
  AudioResult result;
  result.soundfont = find_soundfont(options.soundfont);
  result.sample_rate = options.sample_rate;
  result.frames = std::llround((end_seconds(score) + options.tail_seconds) * options.sample_rate);
  if (result.frames * 4 > int64_t(UINT32_MAX) - 64)
    throw AudioError("the piece is too long for one WAV file (" + std::to_string(result.seconds()) + " s)");

  // FluidSynth's warnings (missing instruments in small soundfonts, say) are not ours to print.
  fluid_set_log_function(FLUID_WARN, nullptr, nullptr);
  fluid_set_log_function(FLUID_INFO, nullptr, nullptr);
  fluid_set_log_function(FLUID_DBG, nullptr, nullptr);
  Settings settings(new_fluid_settings());
  fluid_settings_setnum(settings.get(), "synth.sample-rate", options.sample_rate);
  fluid_settings_setnum(settings.get(), "synth.gain", options.gain);
  Synth synth(new_fluid_synth(settings.get()));
  if (!synth) throw AudioError("FluidSynth could not start a synthesizer");
  if (fluid_synth_sfload(synth.get(), result.soundfont.c_str(), 1) == FLUID_FAILED)
    throw AudioError("FluidSynth cannot load the soundfont " + result.soundfont.string());

  std::optional<AtomicFile> file;
  try {
    file.emplace(out);
  } catch (const std::runtime_error& e) {
    throw AudioError(e.what());
  }
  std::ostringstream header;
  write_wav_header(header, options.sample_rate, result.frames);
  file->write(header.str());

  std::vector<int16_t> buffer;
  int64_t written = 0;
  auto render_until = [&](int64_t frame) {
    frame = std::min(frame, result.frames);
    while (written < frame) {
      const int count = int(std::min<int64_t>(frame - written, 4096));
      buffer.resize(size_t(count) * 2);
      fluid_synth_write_s16(synth.get(), count, buffer.data(), 0, 2, buffer.data(), 1, 2);
      file->write(buffer.data(), buffer.size() * sizeof(int16_t));
      written += count;
    }
  };
  for (const TimedMessage& m : perform(score)) {
    render_until(std::llround(m.seconds * options.sample_rate));
    const int ch = m.channel();
    if (m.is_note_on())
      fluid_synth_noteon(synth.get(), ch, m.bytes[1], m.bytes[2]);
    else if (m.is_note_off())
      fluid_synth_noteoff(synth.get(), ch, m.bytes[1]);
    else if (m.status() == 0xC0)
      fluid_synth_program_change(synth.get(), ch, m.bytes[1]);
  }
  render_until(result.frames);
  file->commit();
  return result;
}

}  // namespace legato::render
