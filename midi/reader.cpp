#include "midi/reader.h"

#include <algorithm>
#include <array>
#include <fstream>

namespace legato::midi {
namespace {

// Bounds-checked cursor over the file; every failure names the offset where it happened.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  size_t pos() const { return pos_; }
  size_t size() const { return bytes_.size(); }
  bool at_end(size_t limit) const { return pos_ >= limit; }

  [[noreturn]] void fail(size_t offset, const std::string& what) const {
    throw MidiError(name_, offset, what);
  }
  uint8_t u8(size_t limit, const char* what) {
    if (pos_ >= limit) fail(pos_, std::string("truncated: file ends inside ") + what);
    return bytes_[pos_++];
  }
  uint32_t be(int n, size_t limit, const char* what) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | u8(limit, what);
    return v;
  }
  // Variable-length quantity: at most 4 bytes (28 bits), as the SMF specification allows.
  uint32_t vlq(size_t limit, const char* what) {
    const size_t start = pos_;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const uint8_t b = u8(limit, what);
      v = (v << 7) | (b & 0x7F);
      if (!(b & 0x80)) return v;
    }
    fail(start, std::string("bad variable-length quantity in ") + what + " (longer than 4 bytes)");
  }
  void skip(size_t n, size_t limit, const char* what) {
    if (n > limit - pos_) fail(pos_, std::string("truncated: ") + what + " runs past the end of its chunk");
    pos_ += n;
  }
  std::span<const uint8_t> take(size_t n, size_t limit, const char* what) {
    const size_t at = pos_;
    skip(n, limit, what);
    return bytes_.subspan(at, n);
  }
  void unread() { --pos_; }

 private:
  std::span<const uint8_t> bytes_;
  const std::string& name_;
  size_t pos_ = 0;
};

std::string four_cc(std::span<const uint8_t> b) {
  std::string s;
  for (uint8_t c : b) s += (c >= 32 && c < 127) ? char(c) : '?';
  return s;
}

struct OpenNote {
  int64_t tick;
  int velocity, program;
  size_t order;  // position among the track's note-ons, so notes keep their file order
};

struct PedalEvent {
  int64_t tick;
  bool down;
};

struct TrackNotes {
  std::vector<Note> notes;
  std::vector<size_t> order;
};

// Notes sounding, per (channel, pitch), oldest first: a note-off ends the oldest (FIFO), so
// repeated and overlapping notes of one pitch pair up in order. Reused across tracks.
struct OpenNotes {
  std::vector<std::vector<OpenNote>> queue = std::vector<std::vector<OpenNote>>(16 * 128);
  std::vector<uint32_t> head = std::vector<uint32_t>(16 * 128, 0);
  std::vector<int> used;  // keys with notes queued, to find leftovers without scanning all 2048

  void push(int key, const OpenNote& n) {
    if (queue[size_t(key)].empty()) used.push_back(key);
    queue[size_t(key)].push_back(n);
  }
  bool pop(int key, OpenNote& out) {
    auto& q = queue[size_t(key)];
    uint32_t& h = head[size_t(key)];
    if (h >= q.size()) return false;
    out = q[h++];
    if (h == q.size()) {
      q.clear();
      h = 0;
    }
    return true;
  }
};

// Reads one MTrk chunk body [cursor.pos(), end) into notes and the shared maps.
void read_track(Cursor& in, size_t end, int track, int64_t max_tick, Score& score, TrackNotes& out,
                OpenNotes& open, std::array<std::vector<PedalEvent>, 16>& pedals) {
  std::array<int, 16> program{};  // program in force per channel (0 until a change)
  int64_t tick = 0;
  uint8_t running = 0;
  size_t note_ons = 0;
  auto close = [&](int channel, int pitch, int64_t at) {
    OpenNote o;
    if (!open.pop(channel * 128 + pitch, o)) return;  // stray note-off: nothing to end
    Note n;
    n.pitch = pitch;
    n.velocity = o.velocity;
    n.channel = channel;
    n.program = o.program;
    n.track = track;
    n.start_tick = o.tick;
    n.duration_ticks = at - o.tick;
    out.notes.push_back(n);
    out.order.push_back(o.order);
  };

  bool ended = false;
  while (!ended && !in.at_end(end)) {
    const size_t event_at = in.pos();
    const uint32_t delta = in.vlq(end, "a delta time");
    tick += delta;
    if (tick > max_tick)
      in.fail(event_at, "delta time " + std::to_string(delta) + " puts an event at tick " +
                            std::to_string(tick) + ", past the limit of " +
                            std::to_string(kMaxQuarters) + " quarter notes");
    const size_t status_at = in.pos();
    uint8_t status = in.u8(end, "an event");
    if (status < 0x80) {
      // Running status: the byte just read is the first data byte of a repeated status.
      if (running == 0) in.fail(status_at, "data byte without a status (running status not set)");
      status = running;
      in.unread();
    }
    if (status == 0xFF) {
      const uint8_t type = in.u8(end, "a meta event");
      const uint32_t len = in.vlq(end, "a meta event length");
      const size_t data_at = in.pos();
      const auto data = in.take(len, end, "meta event");
      auto need = [&](size_t n, const char* what) {
        if (len < n)
          in.fail(data_at, std::string(what) + " meta event has length " + std::to_string(len) +
                               ", needs " + std::to_string(n));
      };
      if (type == 0x2F) {
        ended = true;  // end of track: anything after it in the chunk is padding
        continue;
      }
      if (type == 0x51) {
        need(3, "tempo");
        const int micros = (data[0] << 16) | (data[1] << 8) | data[2];
        if (micros == 0) in.fail(data_at, "tempo of 0 microseconds per quarter note");
        score.tempo_map.push_back({tick, micros, 0});
      } else if (type == 0x58) {
        need(2, "time signature");
        if (data[1] > 6) in.fail(data_at + 1, "time signature denominator 2^" + std::to_string(data[1]) + " is absurd");
        score.time_signatures.push_back({tick, data[0], 1 << data[1]});
      } else if (type == 0x59) {
        need(2, "key signature");
        score.key_signatures.push_back({tick, int(int8_t(data[0])), data[1] != 0});
      }
      // Every other meta event (names, text, markers, ports, unknown types) is skipped by length.
      continue;
    }
    if (status == 0xF0 || status == 0xF7) {
      // SysEx (or its continuation / escape): a length and that many bytes, skipped.
      const uint32_t len = in.vlq(end, "a sysex length");
      in.skip(len, end, "sysex event");
      continue;
    }
    if (status >= 0xF0) in.fail(status_at, "status byte 0x" + [&] {
      const char* hex = "0123456789ABCDEF";
      return std::string{hex[status >> 4], hex[status & 15]};
    }() + " is not allowed in a MIDI file");
    running = status;
    const int kind = status & 0xF0, channel = status & 0x0F;
    const int data_count = (kind == 0xC0 || kind == 0xD0) ? 1 : 2;
    uint8_t d[2] = {0, 0};
    for (int i = 0; i < data_count; ++i) {
      const size_t at = in.pos();
      d[i] = in.u8(end, "a channel event");
      if (d[i] & 0x80) in.fail(at, "data byte with its top bit set inside a channel event");
    }
    switch (kind) {
      case 0x90:
        if (d[1] > 0) {
          open.push(channel * 128 + d[0], {tick, d[1], program[channel], note_ons++});
          break;
        }
        [[fallthrough]];  // note-on with velocity 0 is a note-off
      case 0x80:
        close(channel, d[0], tick);
        break;
      case 0xB0:
        if (d[0] == 64) pedals[channel].push_back({tick, d[1] >= 64});
        break;
      case 0xC0:
        program[channel] = d[0];
        score.program_changes.push_back({tick, track, channel, d[0]});
        break;
      default:
        break;  // aftertouch, pitch bend: not part of the score
    }
  }
  // Notes never released are dropped, as music21 and pretty_midi do (the seed tokens depend on
  // it); they are counted so `miditool info` can show them.
  for (const int key : open.used) {
    OpenNote o;
    while (open.pop(key, o)) ++score.unreleased_notes;
  }
  open.used.clear();
}

// A note released while the pedal is down sounds on until the pedal lifts, but no later than
// the next start of the same pitch on the same channel (a key struck again restarts the sound).
void apply_sustain(std::vector<Note>& notes, std::array<std::vector<PedalEvent>, 16>& pedals) {
  for (auto& p : pedals)
    std::stable_sort(p.begin(), p.end(), [](auto& a, auto& b) { return a.tick < b.tick; });
  std::vector<size_t> idx(notes.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    const Note &x = notes[a], &y = notes[b];
    if (x.channel != y.channel) return x.channel < y.channel;
    if (x.pitch != y.pitch) return x.pitch < y.pitch;
    return x.start_tick < y.start_tick;
  });
  for (size_t k = 0; k < idx.size(); ++k) {
    Note& n = notes[idx[k]];
    const auto& ped = pedals[n.channel];
    if (ped.empty()) continue;
    const int64_t release = n.end_tick();
    auto it = std::upper_bound(ped.begin(), ped.end(), release,
                               [](int64_t t, const PedalEvent& e) { return t < e.tick; });
    if (it == ped.begin() || !(it - 1)->down) continue;
    int64_t lift = -1;
    for (; it != ped.end(); ++it)
      if (!it->down) { lift = it->tick; break; }
    if (lift < 0) continue;  // never lifted: keep the written length
    if (k + 1 < idx.size()) {
      const Note& next = notes[idx[k + 1]];
      if (next.channel == n.channel && next.pitch == n.pitch && next.start_tick >= n.start_tick)
        lift = std::min(lift, std::max(release, next.start_tick));
    }
    n.duration_ticks = lift - n.start_tick;
  }
}

}  // namespace

Score read_midi(std::span<const uint8_t> bytes, const std::string& name, const ReadOptions& options) {
  Cursor in(bytes, name);
  const size_t size = bytes.size();
  if (size < 14) in.fail(size, "truncated: " + std::to_string(size) + " bytes is too short for a MIDI header");
  const auto magic = in.take(4, size, "header");
  if (four_cc(magic) != "MThd") in.fail(0, "not a Standard MIDI File: expected 'MThd', found '" + four_cc(magic) + "'");
  const uint32_t header_len = in.be(4, size, "the header length");
  if (header_len < 6) in.fail(4, "header length " + std::to_string(header_len) + " is shorter than 6");
  if (header_len > size - 8) in.fail(4, "header length " + std::to_string(header_len) + " runs past the end of the file");
  const size_t header_end = 8 + header_len;

  Score score;
  score.format = int(in.be(2, size, "the header"));
  if (score.format > 2) in.fail(8, "unknown format " + std::to_string(score.format));
  const uint32_t ntracks = in.be(2, size, "the header");
  if (ntracks == 0) in.fail(10, "the header declares no tracks");
  // Each track needs at least its 8-byte chunk header.
  if (uint64_t(ntracks) * 8 > size - header_end)
    in.fail(10, "the header declares " + std::to_string(ntracks) + " tracks but only " +
                    std::to_string(size - header_end) + " bytes follow");
  const uint32_t division = in.be(2, size, "the header");
  if (division & 0x8000) {
    const int fps = -int(int8_t(division >> 8));
    const int per_frame = division & 0xFF;
    if ((fps != 24 && fps != 25 && fps != 29 && fps != 30) || per_frame == 0)
      in.fail(12, "bad SMPTE division: " + std::to_string(fps) + " frames/s, " +
                      std::to_string(per_frame) + " ticks/frame");
    score.smpte = true;
    score.smpte_ticks_per_second = fps * per_frame;
    score.ticks_per_quarter = std::max(1, score.smpte_ticks_per_second / 2);
  } else {
    if (division == 0) in.fail(12, "division of 0 ticks per quarter note");
    score.ticks_per_quarter = int(division);
  }
  in.skip(header_end - in.pos(), size, "header");
  const int64_t max_tick = kMaxQuarters * score.ticks_per_quarter;

  score.track_count = int(ntracks);
  score.track_has_notes.assign(ntracks, false);
  std::vector<TrackNotes> tracks(ntracks);
  std::array<std::vector<PedalEvent>, 16> pedals;
  OpenNotes open;
  uint32_t found = 0;
  while (found < ntracks) {
    const size_t chunk_at = in.pos();
    if (size - chunk_at < 8)
      in.fail(chunk_at, "truncated: expected " + std::to_string(ntracks) + " tracks, found " + std::to_string(found));
    const auto id = in.take(4, size, "chunk header");
    const uint32_t len = in.be(4, size, "chunk header");
    if (len > size - in.pos())
      in.fail(chunk_at + 4, "chunk '" + four_cc(id) + "' length " + std::to_string(len) +
                                " runs past the end of the file (" + std::to_string(size - in.pos()) + " bytes left)");
    const size_t end = in.pos() + len;
    if (four_cc(id) == "MTrk") {
      read_track(in, end, int(found), max_tick, score, tracks[found], open, pedals);
      score.track_has_notes[found] = !tracks[found].notes.empty();
      ++found;
    } else if (!std::all_of(id.begin(), id.end(), [](uint8_t c) { return c >= 32 && c < 127; })) {
      in.fail(chunk_at, "expected a track chunk, found bytes that are not a chunk name");
    }
    // Unknown chunk types are skipped, as the specification asks.
    in.skip(end - in.pos(), size, "chunk");
  }
  // Whatever follows the last track must itself be well-formed chunks, else it is garbage.
  while (in.pos() < size) {
    const size_t chunk_at = in.pos();
    if (size - chunk_at < 8) in.fail(chunk_at, "garbage after the last track (" + std::to_string(size - chunk_at) + " bytes)");
    const auto id = in.take(4, size, "chunk header");
    const uint32_t len = in.be(4, size, "chunk header");
    if (!std::all_of(id.begin(), id.end(), [](uint8_t c) { return c >= 32 && c < 127; }) ||
        len > size - in.pos())
      in.fail(chunk_at, "garbage after the last track (" + std::to_string(size - chunk_at) + " bytes)");
    in.skip(len, size, "chunk");
  }

  // Notes in start order; ties keep track order, then the order of note-ons in the track.
  for (auto& t : tracks) {
    std::vector<size_t> perm(t.notes.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
    std::sort(perm.begin(), perm.end(), [&](size_t a, size_t b) { return t.order[a] < t.order[b]; });
    for (size_t i : perm) score.notes.push_back(t.notes[i]);
  }
  if (options.sustain_pedal) apply_sustain(score.notes, pedals);
  std::stable_sort(score.notes.begin(), score.notes.end(),
                   [](const Note& a, const Note& b) { return a.start_tick < b.start_tick; });
  auto by_tick = [](const auto& a, const auto& b) { return a.tick < b.tick; };
  std::stable_sort(score.tempo_map.begin(), score.tempo_map.end(), by_tick);
  std::stable_sort(score.time_signatures.begin(), score.time_signatures.end(), by_tick);
  std::stable_sort(score.key_signatures.begin(), score.key_signatures.end(), by_tick);
  std::stable_sort(score.program_changes.begin(), score.program_changes.end(), by_tick);
  score.update_times();
  return score;
}

Score read_midi_file(const std::filesystem::path& path, const ReadOptions& options) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw MidiError(path.string(), 0, "cannot open the file");
  std::vector<uint8_t> bytes(size_t(f.tellg()));
  f.seekg(0);
  if (!f.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size())))
    throw MidiError(path.string(), 0, "cannot read the file");
  return read_midi(bytes, path.string(), options);
}

}  // namespace legato::midi
