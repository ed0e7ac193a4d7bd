#include "render/instruments.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <stdexcept>

namespace legato::render {

namespace {
// The General MIDI 1 sound set, programs 0..127.
const char* const kProgramNames[128] = {
    "Acoustic Grand Piano",
    "Bright Acoustic Piano",
    "Electric Grand Piano",
    "Honky-tonk Piano",
    "Electric Piano 1",
    "Electric Piano 2",
    "Harpsichord",
    "Clavinet",
    "Celesta",
    "Glockenspiel",
    "Music Box",
    "Vibraphone",
    "Marimba",
    "Xylophone",
    "Tubular Bells",
    "Dulcimer",
    "Drawbar Organ",
    "Percussive Organ",
    "Rock Organ",
    "Church Organ",
    "Reed Organ",
    "Accordion",
    "Harmonica",
    "Tango Accordion",
    "Acoustic Guitar (nylon)",
    "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)",
    "Electric Guitar (clean)",
    "Electric Guitar (muted)",
    "Overdriven Guitar",
    "Distortion Guitar",
    "Guitar Harmonics",
    "Acoustic Bass",
    "Electric Bass (finger)",
    "Electric Bass (pick)",
    "Fretless Bass",
    "Slap Bass 1",
    "Slap Bass 2",
    "Synth Bass 1",
    "Synth Bass 2",
    "Violin",
    "Viola",
    "Cello",
    "Contrabass",
    "Tremolo Strings",
    "Pizzicato Strings",
    "Orchestral Harp",
    "Timpani",
    "String Ensemble 1",
    "String Ensemble 2",
    "Synth Strings 1",
    "Synth Strings 2",
    "Choir Aahs",
    "Voice Oohs",
    "Synth Voice",
    "Orchestra Hit",
    "Trumpet",
    "Trombone",
    "Tuba",
    "Muted Trumpet",
    "French Horn",
    "Brass Section",
    "Synth Brass 1",
    "Synth Brass 2",
    "Soprano Sax",
    "Alto Sax",
    "Tenor Sax",
    "Baritone Sax",
    "Oboe",
    "English Horn",
    "Bassoon",
    "Clarinet",
    "Piccolo",
    "Flute",
    "Recorder",
    "Pan Flute",
    "Blown Bottle",
    "Shakuhachi",
    "Whistle",
    "Ocarina",
    "Lead 1 (square)",
    "Lead 2 (sawtooth)",
    "Lead 3 (calliope)",
    "Lead 4 (chiff)",
    "Lead 5 (charang)",
    "Lead 6 (voice)",
    "Lead 7 (fifths)",
    "Lead 8 (bass + lead)",
    "Pad 1 (new age)",
    "Pad 2 (warm)",
    "Pad 3 (polysynth)",
    "Pad 4 (choir)",
    "Pad 5 (bowed)",
    "Pad 6 (metallic)",
    "Pad 7 (halo)",
    "Pad 8 (sweep)",
    "FX 1 (rain)",
    "FX 2 (soundtrack)",
    "FX 3 (crystal)",
    "FX 4 (atmosphere)",
    "FX 5 (brightness)",
    "FX 6 (goblins)",
    "FX 7 (echoes)",
    "FX 8 (sci-fi)",
    "Sitar",
    "Banjo",
    "Shamisen",
    "Koto",
    "Kalimba",
    "Bagpipe",
    "Fiddle",
    "Shanai",
    "Tinkle Bell",
    "Agogo",
    "Steel Drums",
    "Woodblock",
    "Taiko Drum",
    "Melodic Tom",
    "Synth Drum",
    "Reverse Cymbal",
    "Guitar Fret Noise",
    "Breath Noise",
    "Seashore",
    "Bird Tweet",
    "Telephone Ring",
    "Helicopter",
    "Applause",
    "Gunshot",
};
}  // namespace

const char* gm_program_name(int program) { return kProgramNames[std::clamp(program, 0, 127)]; }

std::string instrument_name(int program, bool drums) { return drums ? "Drums" : gm_program_name(program); }

namespace {

// The short names a musician says, for the usual member of each family.
struct Alias {
  const char* name;
  int program;
};
constexpr Alias kAliases[] = {{"piano", 0}, {"organ", 16},   {"guitar", 24},
                              {"bass", 32}, {"strings", 48}, {"drums", -1}};

std::string lower_trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int parse_instrument(std::string_view text) {
  const std::string name = lower_trimmed(text);
  int number = 0;
  const auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
  if (!name.empty() && ec == std::errc() && ptr == name.data() + name.size() && number >= 0 && number <= 127)
    return number;
  for (const Alias& a : kAliases)
    if (name == a.name) return a.program;
  for (int p = 0; p < 128; ++p)
    if (name == lower_trimmed(kProgramNames[p])) return p;
  std::string known = "unknown instrument '" + name + "' (known: program numbers 0-127";
  for (const Alias& a : kAliases) known += std::string(", ") + a.name;
  for (const char* n : kProgramNames) known += std::string(", ") + n;
  throw std::invalid_argument(known + ")");
}

}  // namespace

std::vector<int> parse_instruments(std::string_view list) {
  std::vector<int> out;
  while (true) {
    const size_t comma = list.find(',');
    out.push_back(parse_instrument(list.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

void name_parts(midi::Score& score) {
  struct Part {
    int program = 0;
    bool drums = false;
    double pitch_sum = 0;
    int notes = 0;
  };
  std::map<int, Part> parts;  // by channel
  for (const midi::Note& n : score.notes) {
    Part& p = parts[n.channel];
    p.program = n.program;
    p.drums = n.is_drum();
    p.pitch_sum += n.pitch;
    ++p.notes;
  }
  std::map<int, std::vector<int>> channels_of;  // pitched program -> its channels
  for (const auto& [channel, p] : parts) {
    score.channel_names[channel] = instrument_name(p.program, p.drums);
    if (!p.drums) channels_of[p.program].push_back(channel);
  }
  for (const auto& [program, channels] : channels_of) {
    if (program > 7 || channels.size() != 2) continue;  // two hands are pianos' only
    const auto mean = [&](int c) { return parts[c].pitch_sum / parts[c].notes; };
    const bool first_higher = mean(channels[0]) >= mean(channels[1]);
    score.channel_names[channels[first_higher ? 0 : 1]] += " (right hand)";
    score.channel_names[channels[first_higher ? 1 : 0]] += " (left hand)";
  }
}

std::string ensemble_names(const std::vector<int>& instruments) {
  std::string out;
  for (int i : instruments) out += (out.empty() ? "" : ", ") + instrument_name(i, i < 0);
  return out;
}

}  // namespace legato::render
