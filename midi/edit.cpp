#include "midi/edit.h"

#include <algorithm>
#include <stdexcept>

#include "midi/smf_bytes.h"

namespace legato::midi {
namespace {

using detail::Event;

// A strict walk over the file's bytes: every fault ends it (Fault), since the file is then one the
// lenient reader repaired, and a repaired file is written anew rather than edited.
struct Fault {
  std::string what;
};

class Bytes {
 public:
  Bytes(std::span<const uint8_t> b, size_t at, size_t end) : b_(b), at_(at), end_(end) {}
  bool done() const { return at_ >= end_; }
  size_t at() const { return at_; }
  uint8_t u8() {
    if (at_ >= end_) throw Fault{"the data ends inside an event at byte " + std::to_string(at_)};
    return b_[at_++];
  }
  uint8_t peek() const {
    if (at_ >= end_) throw Fault{"the data ends inside an event at byte " + std::to_string(at_)};
    return b_[at_];
  }
  uint32_t be(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = v << 8 | u8();
    return v;
  }
  uint32_t vlq() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const uint8_t c = u8();
      v = v << 7 | (c & 0x7F);
      if (!(c & 0x80)) return v;
    }
    throw Fault{"a variable-length quantity longer than 4 bytes at byte " + std::to_string(at_)};
  }
  std::span<const uint8_t> take(size_t n) {
    if (n > end_ - at_) throw Fault{"a length past the data's end at byte " + std::to_string(at_)};
    at_ += n;
    return b_.subspan(at_ - n, n);
  }

 private:
  std::span<const uint8_t> b_;
  size_t at_, end_;
};

// Ranks at one tick: the added notes' note-offs, the file's events in their order, the added
// notes' note-ons (put_track sorts by them).
constexpr int kNoteOff = 0, kKept = 1, kNoteOn = 2, kZeroLengthOff = 3;

// A note of the file still sounding: when it started, whether it goes.
struct Sounding {
  int64_t start_tick;
  bool removed;
};

struct Track {
  std::vector<Event> events;                      // every event but the end of track, and the notes that go
  std::vector<std::pair<int64_t, int>> programs;  // (tick, channel · 128 + program), in order
  int64_t end_tick = 0;                           // its end-of-track event's
};

// Whether a note-off of a key at `tick` stays: the notes it ends (pretty_midi's rule, as
// NoteSlots::note_off: every note begun before it, or, when the oldest began at its own tick, all
// of them) are taken from `sounding`; it goes only where it ends notes and all of them go.
bool note_off_stays(std::vector<Sounding>& sounding, int64_t tick) {
  if (sounding.empty()) return true;  // a stray note-off: as it was
  size_t ends = sounding.size();
  if (sounding.front().start_tick != tick)
    ends =
        size_t(std::find_if(sounding.begin(), sounding.end(), [&](const Sounding& s) { return s.start_tick >= tick; }) -
               sounding.begin());
  const bool stays =
      std::any_of(sounding.begin(), sounding.begin() + long(ends), [](const Sounding& s) { return !s.removed; });
  sounding.erase(sounding.begin(), sounding.begin() + long(ends));
  return stays;
}

// One MTrk chunk's events, but its end of track and the notes that go.
Track walk_track(Bytes in, int track_index, const NoteEdit& edit) {
  Track track;
  std::vector<std::vector<Sounding>> sounding(16 * 128);  // per key, oldest first
  int64_t tick = 0;
  uint8_t running = 0;  // the last channel status, for running status (kept across meta events, as the reader does)
  for (int64_t index = 0; !in.done(); ++index) {
    tick += in.vlq();
    uint8_t status = in.peek();
    if (status & 0x80)
      in.u8();
    else if (running)
      status = running;
    else
      throw Fault{"a data byte where an event begins, at byte " + std::to_string(in.at())};
    std::vector<uint8_t> bytes{status};
    if (status == 0xFF) {
      const uint8_t type = in.u8();
      const std::span<const uint8_t> data = in.take(in.vlq());
      if (type == 0x2F) {  // end of track: the chunk must end with it
        if (!in.done()) throw Fault{"events after the end of track at byte " + std::to_string(in.at())};
        track.end_tick = tick;
        return track;
      }
      bytes.push_back(type);
      detail::put_vlq(bytes, uint32_t(data.size()));
      bytes.insert(bytes.end(), data.begin(), data.end());
    } else if (status == 0xF0 || status == 0xF7) {
      const std::span<const uint8_t> data = in.take(in.vlq());
      detail::put_vlq(bytes, uint32_t(data.size()));
      bytes.insert(bytes.end(), data.begin(), data.end());
    } else if (status > 0xF0) {
      throw Fault{"a system message inside a track at byte " + std::to_string(in.at() - 1)};
    } else {
      running = status;
      const int kind = status & 0xF0, channel = status & 0x0F, length = kind == 0xC0 || kind == 0xD0 ? 1 : 2;
      for (int k = 0; k < length; ++k) {
        const uint8_t data = in.u8();
        if (data & 0x80) throw Fault{"a status byte inside a channel message at byte " + std::to_string(in.at() - 1)};
        bytes.push_back(data);
      }
      if (kind == 0x90 || kind == 0x80) {
        std::vector<Sounding>& key = sounding[size_t(channel * 128 + bytes[1])];
        if (kind == 0x90 && bytes[2] > 0) {
          const bool removed = edit.removed && edit.removed(track_index, channel, bytes[1], tick);
          key.push_back({tick, removed});
          if (removed) continue;
        } else if (!note_off_stays(key, tick)) {
          continue;
        }
      }
      if (kind == 0xC0) track.programs.emplace_back(tick, channel * 128 + bytes[1]);
    }
    track.events.push_back({tick, kKept, index, std::move(bytes)});
  }
  throw Fault{"a track without its end-of-track event"};
}

// The program in force on `channel` after the track's events at `tick` (0 before any change, as
// the reader has it).
int program_at(const Track& track, int channel, int64_t tick) {
  int program = 0;
  for (const auto& [at, change] : track.programs) {
    if (at > tick) break;
    if (change / 128 == channel) program = change % 128;
  }
  return program;
}

// The added note n into its track: a note-on after the file's events at its start (between program
// changes to its program and back where the channel plays another there), a note-off before the
// file's events at its end. `order` keeps each added note's events together at one tick.
void add_note(Track& track, const Note& n, int64_t order) {
  const uint8_t channel = uint8_t(n.channel & 15), pitch = uint8_t(std::clamp(n.pitch, 0, 127));
  const int in_force = program_at(track, channel, n.start_tick), program = std::clamp(n.program, 0, 127);
  const bool switch_program = !n.is_drum() && in_force != program;
  if (switch_program)
    track.events.push_back({n.start_tick, kNoteOn, 3 * order, {uint8_t(0xC0 | channel), uint8_t(program)}});
  track.events.push_back({n.start_tick,
                          kNoteOn,
                          3 * order + 1,
                          {uint8_t(0x90 | channel), pitch, uint8_t(std::clamp(n.velocity, 1, 127))}});
  if (switch_program)
    track.events.push_back({n.start_tick, kNoteOn, 3 * order + 2, {uint8_t(0xC0 | channel), uint8_t(in_force)}});
  track.events.push_back(
      {n.end_tick(), n.duration_ticks > 0 ? kNoteOff : kZeroLengthOff, order, {uint8_t(0x80 | channel), pitch, 0x40}});
}

std::vector<uint8_t> edited(std::span<const uint8_t> file, const NoteEdit& edit) {
  Bytes in(file, 0, file.size());
  const std::span<const uint8_t> tag = in.take(4);
  if (std::string(tag.begin(), tag.end()) != "MThd") throw Fault{"no MThd header"};
  const uint32_t header_length = in.be(4);
  if (header_length < 6) throw Fault{"a header shorter than 6 bytes"};
  const std::span<const uint8_t> header = in.take(header_length);
  const int track_count = header[2] << 8 | header[3];
  std::vector<uint8_t> out = {'M', 'T', 'h', 'd'};
  detail::put_be(out, 6, 4);
  out.insert(out.end(), header.begin(), header.begin() + 6);  // format, track count, division as they were

  std::vector<Track> tracks;
  std::vector<std::span<const uint8_t>> chunks;  // in the file's order; empty: the next track
  while (!in.done()) {
    const size_t chunk_at = in.at();
    const std::span<const uint8_t> id = in.take(4);
    const uint32_t length = in.be(4);
    const size_t at = in.at();
    in.take(length);
    const bool is_track = std::string(id.begin(), id.end()) == "MTrk";
    if (is_track) tracks.push_back(walk_track(Bytes(file, at, at + length), int(tracks.size()), edit));
    chunks.push_back(is_track ? std::span<const uint8_t>{} : file.subspan(chunk_at, at + length - chunk_at));
  }
  if (int(tracks.size()) != track_count)
    throw Fault{"the header says " + std::to_string(track_count) + " tracks, the file has " +
                std::to_string(tracks.size())};
  for (size_t k = 0; k < edit.added.size(); ++k) {
    const Note& n = edit.added[k];
    if (n.track < 0 || n.track >= track_count)
      throw std::invalid_argument("with_notes: a note of track " + std::to_string(n.track) + " in a file of " +
                                  std::to_string(track_count) + " tracks");
    add_note(tracks[size_t(n.track)], n, int64_t(k));
  }
  size_t next = 0;
  for (const std::span<const uint8_t> chunk : chunks) {  // a chunk that is not a track stays as it was
    if (chunk.empty())
      detail::put_track(out, std::move(tracks[next].events), tracks[next].end_tick), ++next;
    else
      out.insert(out.end(), chunk.begin(), chunk.end());
  }
  return out;
}

}  // namespace

std::optional<std::vector<uint8_t>> with_notes(std::span<const uint8_t> original, const NoteEdit& edit,
                                               std::string& why) {
  try {
    return edited(original, edit);
  } catch (const Fault& f) {
    why = f.what;
    return std::nullopt;
  }
}

}  // namespace legato::midi
