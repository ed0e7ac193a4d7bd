#include "render/piece_files.h"

#include <cstdio>

#include "midi/reader.h"
#include "midi/writer.h"
#include "render/piano_roll.h"
#ifdef LEGATO_HAVE_FLUIDSYNTH
#include "render/audio.h"
#endif

namespace legato::render {

std::vector<std::string> write_piece_files(const midi::Score& score, const PieceFiles& files) {
  if (files.mid.has_parent_path()) std::filesystem::create_directories(files.mid.parent_path());
  if (files.mid_bytes.empty())
    midi::write_midi_file(score, files.mid);
  else
    midi::write_midi_bytes(files.mid_bytes, files.mid);
  std::vector<std::string> rendered;
  if (!files.svg.empty()) {
    RollOptions roll;
    roll.title = files.title;
    write_text_file(files.svg, piano_roll_svg(score, roll));
    rendered.push_back(files.svg.string() + ": piano roll of " + std::to_string(score.notes.size()) + " notes");
  }
#ifdef LEGATO_HAVE_FLUIDSYNTH  // without it the programs refuse a WAV before composing
  if (!files.wav.empty()) {
    AudioOptions audio;
    audio.soundfont = files.soundfont;
    // An edited file sounds with its sustain pedal, as a player plays it: the notes the pedal holds
    // sound until it lifts (the score, for the roll and the summary, keeps them as written).
    midi::ReadOptions pedal;
    pedal.sustain_pedal = true;
    const AudioResult result =
        render_wav(files.mid_bytes.empty() ? score : midi::read_midi(files.mid_bytes, files.mid.string(), pedal),
                   files.wav, audio);
    char line[512];
    std::snprintf(line, sizeof line, "%s: %.2f s, %d Hz stereo, %zu notes, soundfont %s", files.wav.c_str(),
                  result.seconds(), result.sample_rate, score.notes.size(), result.soundfont.c_str());
    rendered.push_back(line);
  }
#endif
  return rendered;
}

}  // namespace legato::render
