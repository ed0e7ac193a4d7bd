// Audio through FluidSynth: every instrument with its program and the drums on channel 10, from a
// General MIDI soundfont, written as a 16-bit stereo WAV file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "midi/score.h"

namespace legato::render {

// No soundfont, an unreadable one, or a file that cannot be written.
class AudioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The soundfonts looked for when none is given, best first: Debian's fluid-soundfont-gm
// (FluidR3, 140 MB, sounds best), then timgm6mb-soundfont (6 MB, what tools/setup.sh installs).
extern const char* const kSoundfontSearchPath[];
// `given` when not empty (it must exist), else the first of kSoundfontSearchPath that exists.
std::filesystem::path find_soundfont(const std::filesystem::path& given = {});

struct AudioOptions {
  std::filesystem::path soundfont;  // empty: find_soundfont()
  int sample_rate = 44100;
  double tail_seconds = 1.0;  // after the last note ends, for releases and reverb to die away
  double gain = 0.5;          // FluidSynth's master gain (its default 0.2 is quiet)
};

struct AudioResult {
  int64_t frames = 0;
  int sample_rate = 0;
  std::filesystem::path soundfont;
  double seconds() const { return double(frames) / sample_rate; }
};

// The WAV lasts exactly round((end of the last note + tail) × rate) frames. The file appears
// whole or not at all (written aside, then renamed).
AudioResult render_wav(const midi::Score& score, const std::filesystem::path& out, const AudioOptions& options = {});

}  // namespace legato::render
