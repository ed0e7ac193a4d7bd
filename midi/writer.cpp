#include "midi/writer.h"

#include "midi/paths.h"
#include "midi/smf_bytes.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <stdexcept>

namespace legato::midi {
namespace {

using detail::Event;
using detail::put_be;
using detail::put_track;

uint8_t clamp7(int v, int lo) { return uint8_t(std::clamp(v, lo, 127)); }

// A track of the file: one instrument's notes (or some of them, see assign_tracks).
struct Track {
  int channel, program;
  std::array<int64_t, 128> last_end;  // per pitch, the end of the latest note placed here
};

// One track per instrument (channel, program), in the order instruments first sound. Notes of
// one pitch share a track only where both note pairings read them back the same: one after the
// other, or ending together. A note that starts while another of its pitch sounds and ends at
// another time (possible when the score merged several tracks) goes to a further track of the
// same instrument, since pretty_midi's pairing would end both at the first note-off.
// track_of_note[i]: the track of score.notes[i].
std::vector<Track> assign_tracks(const Score& score, std::vector<size_t>& track_of_note) {
  std::vector<Track> tracks_out;
  std::map<std::pair<int, int>, std::vector<size_t>> tracks_of;  // instrument -> its tracks
  std::vector<size_t> order(score.notes.size());
  track_of_note.assign(score.notes.size(), 0);
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Note &x = score.notes[a], &y = score.notes[b];
    return x.start_tick != y.start_tick ? x.start_tick < y.start_tick : x.duration_ticks < y.duration_ticks;
  });
  for (size_t i : order) {
    const Note& n = score.notes[i];
    const int channel = n.channel & 15, program = n.program & 127, pitch = clamp7(n.pitch, 0);
    auto& candidates = tracks_of[{channel, program}];
    size_t chosen = tracks_out.size();
    for (size_t t : candidates)
      if (const int64_t last = tracks_out[t].last_end[size_t(pitch)]; last <= n.start_tick || last == n.end_tick()) {
        chosen = t;
        break;
      }
    if (chosen == tracks_out.size()) {
      tracks_out.push_back({channel, program, {}});
      tracks_out.back().last_end.fill(-1);
      candidates.push_back(chosen);
    }
    tracks_out[chosen].last_end[size_t(pitch)] = n.end_tick();
    track_of_note[i] = chosen;
  }
  return tracks_out;
}

// The tempo map, time signatures and key signatures: the file's first track.
void put_tempo_track(std::vector<uint8_t>& file, const Score& score) {
  std::vector<Event> tempo_track;
  for (const TempoChange& t : score.tempo_map) {
    const uint32_t m = uint32_t(std::clamp(t.micros_per_quarter, 1, 0xFFFFFF));
    tempo_track.push_back({t.tick, 0, 0, {0xFF, 0x51, 0x03, uint8_t(m >> 16), uint8_t(m >> 8), uint8_t(m)}});
  }
  for (const TimeSignature& ts : score.time_signatures) {
    int log2 = 0;
    while ((1 << log2) < ts.denominator && log2 < 6) ++log2;
    tempo_track.push_back({ts.tick, 0, 0, {0xFF, 0x58, 0x04, uint8_t(ts.numerator), uint8_t(log2), 24, 8}});
  }
  for (const KeySignature& k : score.key_signatures)
    tempo_track.push_back({k.tick, 0, 0, {0xFF, 0x59, 0x02, uint8_t(int8_t(k.sharps)), uint8_t(k.minor)}});
  put_track(file, std::move(tempo_track));
}

}  // namespace

std::vector<uint8_t> write_midi(const Score& score) {
  if (score.smpte) throw std::invalid_argument("write_midi: SMPTE division is not supported; use ticks per quarter");
  if (score.ticks_per_quarter <= 0 || score.ticks_per_quarter > 0x7FFF)
    throw std::invalid_argument("write_midi: ticks_per_quarter " + std::to_string(score.ticks_per_quarter) +
                                " does not fit the header");
  std::vector<size_t> track_of_note;
  const std::vector<Track> tracks_out = assign_tracks(score, track_of_note);

  std::vector<uint8_t> file = {'M', 'T', 'h', 'd'};
  put_be(file, 6, 4);
  put_be(file, 1, 2);
  if (tracks_out.size() + 1 > 0xFFFF) throw std::invalid_argument("write_midi: more than 65535 tracks needed");
  put_be(file, uint32_t(tracks_out.size() + 1), 2);
  put_be(file, uint32_t(score.ticks_per_quarter), 2);

  put_tempo_track(file, score);

  std::vector<std::vector<Event>> tracks(tracks_out.size());
  for (size_t i = 0; i < tracks_out.size(); ++i) {
    if (const auto name = score.channel_names.find(tracks_out[i].channel); name != score.channel_names.end()) {
      const std::string text = name->second.substr(0, 127);  // its length in one byte of the meta event
      std::vector<uint8_t> meta = {0xFF, 0x03, uint8_t(text.size())};
      meta.insert(meta.end(), text.begin(), text.end());
      tracks[i].push_back({0, -2, 0, std::move(meta)});  // before the program change
    }
    tracks[i].push_back({0, -1, 0, {uint8_t(0xC0 | tracks_out[i].channel), uint8_t(tracks_out[i].program)}});
  }
  // At one tick: note-offs of sounding notes first, then note-ons, then the offs of zero-length
  // notes, so that the reader gives back the same notes.
  for (size_t i = 0; i < score.notes.size(); ++i) {
    const Note& n = score.notes[i];
    auto& events = tracks[track_of_note[i]];
    const uint8_t ch = uint8_t(n.channel & 15), pitch = clamp7(n.pitch, 0);
    events.push_back({n.start_tick, 1, n.duration_ticks, {uint8_t(0x90 | ch), pitch, clamp7(n.velocity, 1)}});
    events.push_back({n.end_tick(), n.duration_ticks > 0 ? 0 : 2, 0, {uint8_t(0x80 | ch), pitch, 0x40}});
  }
  for (auto& t : tracks) put_track(file, std::move(t));
  return file;
}

void write_midi_file(const Score& score, const std::filesystem::path& path) {
  write_midi_bytes(write_midi(score), path);
}

void write_midi_bytes(const std::vector<uint8_t>& bytes, const std::filesystem::path& path) {
  std::ofstream f(path, std::ios::binary);
  if (!f) {
    const std::string problem = output_file_problem(path);
    throw std::runtime_error("cannot write " + path.string() + (problem.empty() ? "" : ": " + problem));
  }
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path.string() + ": the disk may be full");
}

}  // namespace legato::midi
