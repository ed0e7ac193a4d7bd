// The MIDI reader as it was before issue 28 made it faster (midi/reader.cpp and Score's time
// conversion at commit 09e8857), kept verbatim as the reference the fast reader must agree with:
// the same notes, maps, counts, warnings and refusals on every input (tests/test_midi_speed.cpp,
// and bench_midi reads with both side by side). Only its namespace changed. Not for use elsewhere.
#pragma once

#include <algorithm>
#include <array>
#include <fstream>
#include <optional>

#include "midi/paths.h"
#include "midi/reader.h"

namespace legato::midi::reference {
namespace {

inline double seconds_at(const Score& s, int64_t tick) {
  if (s.smpte) return double(tick) / s.smpte_ticks_per_second;
  // Last tempo change at or before tick; before the first one the default tempo holds.
  auto after = std::upper_bound(s.tempo_map.begin(), s.tempo_map.end(), tick,
                                [](int64_t t, const TempoChange& c) { return t < c.tick; });
  int64_t base_tick = 0;
  double base_seconds = 0;
  int micros = kDefaultMicrosPerQuarter;
  if (after != s.tempo_map.begin()) {
    const TempoChange& c = *(after - 1);
    base_tick = c.tick;
    base_seconds = c.seconds;
    micros = c.micros_per_quarter;
  }
  return base_seconds + double(tick - base_tick) * micros * 1e-6 / s.ticks_per_quarter;
}

inline void update_times(Score& s) {
  int64_t tick = 0;
  double seconds = 0;
  int micros = kDefaultMicrosPerQuarter;
  for (TempoChange& c : s.tempo_map) {
    seconds += s.smpte ? double(c.tick - tick) / s.smpte_ticks_per_second
                       : double(c.tick - tick) * micros * 1e-6 / s.ticks_per_quarter;
    tick = c.tick;
    micros = c.micros_per_quarter;
    c.seconds = seconds;
  }
  for (Note& n : s.notes) {
    n.start_quarters = s.quarters_at(n.start_tick);
    n.duration_quarters = double(n.duration_ticks) / s.ticks_per_quarter;
    n.start_seconds = seconds_at(s, n.start_tick);
    n.duration_seconds = seconds_at(s, n.end_tick()) - n.start_seconds;
  }
}

// An event that runs past the bytes its track may use. Strict reading lets it out as the
// MidiError it is; lenient reading catches it, drops the cut event and keeps the track before it.
class CutOff : public MidiError {
 public:
  using MidiError::MidiError;
};

// Bounds-checked cursor over the file; every failure names the offset where it happened.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  size_t pos() const { return pos_; }
  bool at_end(size_t limit) const { return pos_ >= limit; }
  void seek(size_t pos) { pos_ = pos; }

  [[noreturn]] void fail(size_t offset, const std::string& what) const { throw MidiError(name_, offset, what); }
  uint8_t u8(size_t limit, const char* what) {
    if (pos_ >= limit) throw CutOff(name_, pos_, std::string("truncated: file ends inside ") + what);
    return bytes_[pos_++];
  }
  // True if a data byte (top bit clear) comes next before `limit`.
  bool data_byte_next(size_t limit) const { return pos_ < limit && bytes_[pos_] < 0x80; }
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
    if (n > limit - pos_)
      throw CutOff(name_, pos_, std::string("truncated: ") + what + " runs past the end of its chunk");
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

bool is_chunk_name(std::span<const uint8_t> id) {
  return std::all_of(id.begin(), id.end(), [](uint8_t c) { return c >= 32 && c < 127; });
}

std::string hex(uint8_t b) {
  const char* digits = "0123456789ABCDEF";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

std::string plural(int64_t n, const std::string& word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

// System common and real-time messages (0xF1-0xFE but 0xF7 and 0xFF) belong on a MIDI cable, not
// in a file; players skip them with the data bytes the protocol gives them.
bool is_system_message(uint8_t status) { return status > 0xF0 && status != 0xF7 && status != 0xFF; }
int system_data_bytes(uint8_t status) {
  if (status == 0xF2) return 2;                     // song position pointer
  return status == 0xF1 || status == 0xF3 ? 1 : 0;  // time code quarter frame, song select
}
int channel_data_bytes(uint8_t status) {
  const int kind = status & 0xF0;
  return kind == 0xC0 || kind == 0xD0 ? 1 : 2;
}

// Where the end-of-track event of the events in [from, limit) ends, found by walking the events'
// structure only; nullopt where the walk meets a malformed or cut event before one.
std::optional<size_t> find_end_of_track(std::span<const uint8_t> b, size_t from, size_t limit) {
  size_t p = from;
  auto vlq = [&](uint32_t& v) {
    v = 0;
    for (int i = 0; i < 4 && p < limit; ++i) {
      v = (v << 7) | (b[p] & 0x7F);
      if (!(b[p++] & 0x80)) return true;
    }
    return false;
  };
  auto skip_data = [&](int n, bool required) {
    for (; n > 0 && p < limit && b[p] < 0x80; --n) ++p;
    return !required || n == 0;
  };
  uint8_t running = 0;
  uint32_t v = 0;
  while (p < limit) {
    if (!vlq(v) || p >= limit) return std::nullopt;  // the delta time
    uint8_t status = b[p];
    if (status < 0x80) {
      if (!running) return std::nullopt;
      status = running;
    } else {
      ++p;
    }
    if (status == 0xFF) {
      if (p >= limit) return std::nullopt;
      const uint8_t type = b[p++];
      if (!vlq(v) || v > limit - p) return std::nullopt;
      p += v;
      if (type == 0x2F) return p;
    } else if (status == 0xF0 || status == 0xF7) {
      if (!vlq(v) || v > limit - p) return std::nullopt;
      p += v;
    } else if (is_system_message(status)) {
      skip_data(system_data_bytes(status), false);
    } else {
      running = status;
      if (!skip_data(channel_data_bytes(status), true)) return std::nullopt;
    }
  }
  return std::nullopt;
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
using Pedals = std::array<std::vector<PedalEvent>, 16>;

struct TrackNotes {
  std::vector<Note> notes;
  std::vector<size_t> order;
};

// Notes sounding, per (channel, pitch) key, oldest first. Reused across tracks.
class OpenNotes {
 public:
  explicit OpenNotes(NotePairing pairing) : pairing_(pairing) {}

  void push(int key, const OpenNote& n) {
    if (sounding_[size_t(key)].empty()) used_.push_back(key);
    sounding_[size_t(key)].push_back(n);
  }
  // Moves the notes a note-off at `tick` ends into `ended`, oldest first; counts in `dropped` the
  // zero-length notes pretty_midi's rule drops.
  void end(int key, int64_t tick, std::vector<OpenNote>& ended, int& dropped) {
    auto& q = sounding_[size_t(key)];
    ended.clear();
    if (q.empty()) return;  // a stray note-off: nothing to end
    if (pairing_ == NotePairing::fifo) {
      ended.push_back(q.front());
      q.erase(q.begin());
      return;
    }
    // Tracks are in time order, so notes of this tick are the newest: they stay at the back.
    const auto same_tick = std::find_if(q.begin(), q.end(), [&](const OpenNote& n) { return n.tick == tick; });
    ended.assign(q.begin(), same_tick);
    if (ended.empty()) {
      dropped += int(q.size());  // began at the note-off's own tick and ended nothing earlier
      q.clear();
    } else {
      q.erase(q.begin(), same_tick);  // a re-strike at the tick of the note-off: it sounds on
    }
  }
  // Every note still sounding, in key order, and forgets them.
  std::vector<std::pair<int, OpenNote>> take_all() {
    std::vector<std::pair<int, OpenNote>> all;
    for (const int key : used_) {
      for (const OpenNote& n : sounding_[size_t(key)]) all.push_back({key, n});
      sounding_[size_t(key)].clear();
    }
    used_.clear();
    return all;
  }

 private:
  NotePairing pairing_;
  std::vector<std::vector<OpenNote>> sounding_ = std::vector<std::vector<OpenNote>>(16 * 128);
  std::vector<int> used_;  // keys with notes sounding, to find leftovers without scanning all 2048
};

// How a track's events ended.
struct TrackEnd {
  bool end_of_track = false;     // its end-of-track event was read
  std::optional<size_t> cut_at;  // where an event cut off by the track's limit began (dropped)
  int closed_at_end = 0;         // notes still sounding at a damaged end, closed there
};

// Reads one track's events into notes and the score's shared maps.
class TrackReader {
 public:
  TrackReader(Cursor& in, const std::string& name, const ReadOptions& options, int track, int64_t max_tick,
              Score& score, TrackNotes& out, OpenNotes& open, Pedals& pedals)
      : in_(in),
        name_(name),
        options_(options),
        track_(track),
        max_tick_(max_tick),
        score_(score),
        out_(out),
        open_(open),
        pedals_(pedals) {}

  // Reads up to `limit`. Lenient reading drops an event cut off by the limit; notes still sounding
  // when a damaged track ends (`damaged_end`, or a cut) are closed there, other leftovers dropped.
  TrackEnd read(size_t limit, bool damaged_end) {
    TrackEnd result;
    try {
      read_events(limit);
    } catch (const CutOff&) {
      if (options_.strict) throw;
      result.cut_at = event_at_;
      tick_ = tick_before_event_;  // the cut event's delta time goes with it
    }
    result.end_of_track = ended_;
    if (!ended_ && (damaged_end || result.cut_at)) result.closed_at_end = close_sounding();
    drop_unreleased();
    report_system_messages();
    return result;
  }

 private:
  void read_events(size_t limit) {
    while (!ended_ && !in_.at_end(limit)) {
      event_at_ = in_.pos();
      tick_before_event_ = tick_;
      const uint32_t delta = in_.vlq(limit, "a delta time");
      tick_ += delta;
      if (tick_ > max_tick_)
        in_.fail(event_at_, "delta time " + std::to_string(delta) + " puts an event at tick " + std::to_string(tick_) +
                                ", past the limit of " + std::to_string(kMaxQuarters) + " quarter notes");
      read_event(limit);
    }
  }

  void read_event(size_t limit) {
    const size_t status_at = in_.pos();
    uint8_t status = in_.u8(limit, "an event");
    if (status < 0x80) {
      // Running status: the byte just read is the first data byte of a repeated status.
      if (running_ == 0) in_.fail(status_at, "data byte without a status (running status not set)");
      status = running_;
      in_.unread();
    }
    if (status == 0xFF) return read_meta(limit);
    if (status == 0xF0 || status == 0xF7) {
      // SysEx (or its continuation / escape): a length and that many bytes, skipped.
      const uint32_t len = in_.vlq(limit, "a sysex length");
      in_.skip(len, limit, "sysex event");
      return;
    }
    if (status >= 0xF0) return skip_system_message(status, status_at, limit);
    running_ = status;
    read_channel_event(status, limit);
  }

  void read_meta(size_t limit) {
    const uint8_t type = in_.u8(limit, "a meta event");
    const uint32_t len = in_.vlq(limit, "a meta event length");
    const size_t data_at = in_.pos();
    const auto data = in_.take(len, limit, "meta event");
    auto need = [&](size_t n, const char* what) {
      if (len < n)
        in_.fail(data_at,
                 std::string(what) + " meta event has length " + std::to_string(len) + ", needs " + std::to_string(n));
    };
    if (type == 0x2F) {
      ended_ = true;  // end of track: anything after it in the chunk is padding
    } else if (type == 0x51) {
      need(3, "tempo");
      const int micros = (data[0] << 16) | (data[1] << 8) | data[2];
      if (micros == 0) in_.fail(data_at, "tempo of 0 microseconds per quarter note");
      score_.tempo_map.push_back({tick_, micros, 0});
    } else if (type == 0x58) {
      need(2, "time signature");
      if (data[1] > 6) in_.fail(data_at + 1, "time signature denominator 2^" + std::to_string(data[1]) + " is absurd");
      score_.time_signatures.push_back({tick_, data[0], 1 << data[1]});
    } else if (type == 0x59) {
      need(2, "key signature");
      score_.key_signatures.push_back({tick_, int(int8_t(data[0])), data[1] != 0});
    }
    // Every other meta event (names, text, markers, ports, unknown types) is skipped by length.
  }

  // Skipped with its data bytes, leaving running status alone, as players do; one warning per
  // track tells how many there were.
  void skip_system_message(uint8_t status, size_t status_at, size_t limit) {
    if (options_.strict) in_.fail(status_at, "status byte " + hex(status) + " is not allowed in a MIDI file");
    if (system_messages_++ == 0) {
      first_system_at_ = status_at;
      first_system_status_ = status;
    }
    for (int n = system_data_bytes(status); n > 0 && in_.data_byte_next(limit); --n) in_.u8(limit, "an event");
  }

  void read_channel_event(uint8_t status, size_t limit) {
    const int kind = status & 0xF0, channel = status & 0x0F;
    uint8_t d[2] = {0, 0};
    for (int i = 0; i < channel_data_bytes(status); ++i) {
      const size_t at = in_.pos();
      d[i] = in_.u8(limit, "a channel event");
      if (d[i] & 0x80) in_.fail(at, "data byte with its top bit set inside a channel event");
    }
    switch (kind) {
      case 0x90:
        if (d[1] > 0) {
          open_.push(channel * 128 + d[0], {tick_, d[1], program_[size_t(channel)], note_ons_++});
          break;
        }
        [[fallthrough]];  // note-on with velocity 0 is a note-off
      case 0x80:
        open_.end(channel * 128 + d[0], tick_, ended_notes_, score_.zero_length_notes);
        for (const OpenNote& o : ended_notes_) emit(channel * 128 + d[0], o, tick_);
        break;
      case 0xB0:
        if (d[0] == 64) pedals_[size_t(channel)].push_back({tick_, d[1] >= 64});
        break;
      case 0xC0:
        program_[size_t(channel)] = d[0];
        score_.program_changes.push_back({tick_, track_, channel, d[0]});
        break;
      default: break;  // aftertouch, pitch bend: not part of the score
    }
  }

  void emit(int key, const OpenNote& o, int64_t end_tick) {
    Note n;
    n.pitch = key % 128;
    n.velocity = o.velocity;
    n.channel = key / 128;
    n.program = o.program;
    n.track = track_;
    n.start_tick = o.tick;
    n.duration_ticks = end_tick - o.tick;
    out_.notes.push_back(n);
    out_.order.push_back(o.order);
  }

  // A track cut short by damage: what a player sounded until the end sounds until the end. Notes
  // that began at the very end would have no length and stay dropped.
  int close_sounding() {
    int closed = 0;
    for (const auto& [key, o] : open_.take_all()) {
      if (o.tick < tick_) {
        emit(key, o, tick_);
        ++closed;
      } else {
        ++score_.unreleased_notes;
      }
    }
    return closed;
  }

  // Notes never released are dropped, as music21 and pretty_midi do (the seed tokens depend on
  // it); they are counted so `miditool info` can show them.
  void drop_unreleased() { score_.unreleased_notes += int(open_.take_all().size()); }

  void report_system_messages() {
    if (system_messages_ == 0) return;
    score_.warnings.push_back({name_, first_system_at_,
                               "skipped " + plural(system_messages_, "system message") + " (" +
                                   hex(first_system_status_) + (system_messages_ > 1 ? " first" : "") +
                                   ") that a file may not hold, with their data bytes, keeping running status"});
  }

  Cursor& in_;
  const std::string& name_;
  const ReadOptions& options_;
  int track_;
  int64_t max_tick_;
  Score& score_;
  TrackNotes& out_;
  OpenNotes& open_;
  Pedals& pedals_;
  std::array<int, 16> program_{};  // program in force per channel (0 until a change)
  int64_t tick_ = 0, tick_before_event_ = 0;
  size_t event_at_ = 0;
  uint8_t running_ = 0;
  size_t note_ons_ = 0;
  bool ended_ = false;
  std::vector<OpenNote> ended_notes_;
  int system_messages_ = 0;
  size_t first_system_at_ = 0;
  uint8_t first_system_status_ = 0;
};

// A note released while the pedal is down sounds on until the pedal lifts, but no later than
// the next start of the same pitch on the same channel (a key struck again restarts the sound).
void apply_sustain(std::vector<Note>& notes, Pedals& pedals) {
  for (auto& p : pedals) std::stable_sort(p.begin(), p.end(), [](auto& a, auto& b) { return a.tick < b.tick; });
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
    const auto& ped = pedals[size_t(n.channel)];
    if (ped.empty()) continue;
    const int64_t release = n.end_tick();
    auto it =
        std::upper_bound(ped.begin(), ped.end(), release, [](int64_t t, const PedalEvent& e) { return t < e.tick; });
    if (it == ped.begin() || !(it - 1)->down) continue;
    int64_t lift = -1;
    for (; it != ped.end(); ++it)
      if (!it->down) {
        lift = it->tick;
        break;
      }
    if (lift < 0) continue;  // never lifted: keep the written length
    if (k + 1 < idx.size()) {
      const Note& next = notes[idx[k + 1]];
      if (next.channel == n.channel && next.pitch == n.pitch && next.start_tick >= n.start_tick)
        lift = std::min(lift, std::max(release, next.start_tick));
    }
    n.duration_ticks = lift - n.start_tick;
  }
}

// The whole file: header, track chunks, what follows them. Strict reading refuses every fault;
// lenient reading repairs what a player would play through, with one warning per repair.
class FileReader {
 public:
  FileReader(std::span<const uint8_t> bytes, const std::string& name, const ReadOptions& options)
      : bytes_(bytes), name_(name), options_(options), in_(bytes, name), size_(bytes.size()), open_(options.pairing) {}

  Score read() {
    read_header();
    read_tracks();
    read_trailer();
    return finish();
  }

 private:
  void warn(size_t at, const std::string& what) { score_.warnings.push_back({name_, at, what}); }

  void read_header() {
    if (size_ < 14) in_.fail(size_, "truncated: " + std::to_string(size_) + " bytes is too short for a MIDI header");
    const auto magic = in_.take(4, size_, "header");
    if (four_cc(magic) != "MThd")
      in_.fail(0, "not a Standard MIDI File: expected 'MThd', found '" + four_cc(magic) + "'");
    const uint32_t header_len = in_.be(4, size_, "the header length");
    if (header_len < 6) in_.fail(4, "header length " + std::to_string(header_len) + " is shorter than 6");
    if (header_len > size_ - 8)
      in_.fail(4, "header length " + std::to_string(header_len) + " runs past the end of the file");
    const size_t header_end = 8 + header_len;
    score_.format = int(in_.be(2, size_, "the header"));
    if (score_.format > 2) in_.fail(8, "unknown format " + std::to_string(score_.format));
    ntracks_ = in_.be(2, size_, "the header");
    if (ntracks_ == 0) in_.fail(10, "the header declares no tracks");
    // Each track needs at least its 8-byte chunk header. Lenient reading reads what is there.
    if (options_.strict && uint64_t(ntracks_) * 8 > size_ - header_end)
      in_.fail(10, "the header declares " + std::to_string(ntracks_) + " tracks but only " +
                       std::to_string(size_ - header_end) + " bytes follow");
    read_division(in_.be(2, size_, "the header"));
    in_.seek(header_end);
    max_tick_ = kMaxQuarters * score_.ticks_per_quarter;
    score_.track_count = int(ntracks_);
    score_.track_has_notes.assign(ntracks_, false);
    tracks_.resize(ntracks_);
  }

  void read_division(uint32_t division) {
    if (division & 0x8000) {
      const int fps = -int(int8_t(division >> 8));
      const int per_frame = division & 0xFF;
      if ((fps != 24 && fps != 25 && fps != 29 && fps != 30) || per_frame == 0)
        in_.fail(12, "bad SMPTE division: " + std::to_string(fps) + " frames/s, " + std::to_string(per_frame) +
                         " ticks/frame");
      score_.smpte = true;
      score_.smpte_ticks_per_second = fps * per_frame;
      score_.ticks_per_quarter = std::max(1, score_.smpte_ticks_per_second / 2);
    } else {
      if (division == 0) in_.fail(12, "division of 0 ticks per quarter note");
      score_.ticks_per_quarter = int(division);
    }
  }

  void read_tracks() {
    while (found_ < ntracks_ && !stopped_) {
      const size_t chunk_at = in_.pos();
      if (size_ - chunk_at < 8) {
        const std::string refusal =
            "truncated: expected " + std::to_string(ntracks_) + " tracks, found " + std::to_string(found_);
        if (options_.strict || found_ == 0) in_.fail(chunk_at, refusal);
        warn(chunk_at,
             "the file ends after " + std::to_string(found_) + " of the " + plural(ntracks_, "declared track") +
                 (chunk_at < size_ ? " (ignored the last " + plural(int64_t(size_ - chunk_at), "byte") + ")" : ""));
        in_.seek(size_);
        break;
      }
      const auto id = in_.take(4, size_, "chunk header");
      const uint32_t len = in_.be(4, size_, "chunk header");
      const size_t body = in_.pos();
      const std::string overrun =
          "chunk '" + four_cc(id) + "' length " + std::to_string(len) + " runs past the end of the file";
      const std::string not_a_chunk = "expected a track chunk, found bytes that are not a chunk name";
      if (options_.strict) {
        if (len > size_ - body) in_.fail(chunk_at + 4, overrun + " (" + std::to_string(size_ - body) + " bytes left)");
        if (!is_chunk_name(id)) in_.fail(chunk_at, not_a_chunk);
      }
      if (!is_chunk_name(id)) {
        resynchronise(chunk_at + 1, chunk_at, not_a_chunk, not_a_chunk);
      } else if (four_cc(id) != "MTrk") {
        // Unknown chunk types are skipped, as the specification asks.
        if (len > size_ - body)
          resynchronise(body, chunk_at + 4, overrun, overrun);
        else
          in_.seek(body + len);
      } else if (len > size_ - body) {
        read_overrunning_track(chunk_at, len);
      } else {
        read_track_chunk(chunk_at, body + len);
      }
    }
  }

  // Reads the next track's events from `body` up to `limit`.
  TrackEnd read_events(size_t body, size_t limit, bool damaged_end) {
    in_.seek(body);
    TrackReader track(in_, name_, options_, int(found_), max_tick_, score_, tracks_[found_], open_, pedals_);
    const TrackEnd end = track.read(limit, damaged_end);
    score_.track_has_notes[found_] = !tracks_[found_].notes.empty();
    ++found_;
    return end;
  }

  // A track chunk whose declared length fits in the file. Its length is trusted where the
  // end-of-track event agrees or the next chunk starts right after it; otherwise the end-of-track
  // event is trusted where a chunk starts after it, and failing that the reader resynchronises on
  // the next MTrk tag.
  void read_track_chunk(size_t chunk_at, size_t end) {
    const size_t body = chunk_at + 8;
    if (options_.strict) {
      read_events(body, end, false);
      in_.seek(end);
      return;
    }
    const std::string declared = "track chunk length " + std::to_string(end - body);
    const auto eot = find_end_of_track(bytes_, body, end);
    if (eot && (*eot == end || starts_chunk(end))) {
      read_events(body, end, false);  // bytes after the end-of-track event are padding
      in_.seek(end);
    } else if (eot) {
      read_events(body, *eot, false);
      const std::string what =
          declared + " runs past its end-of-track event, which ends the track at byte " + std::to_string(*eot);
      continue_at(*eot, chunk_at + 4, what);
    } else if (starts_chunk(end)) {
      // No end-of-track event, but the next chunk starts where the length says: the chunk's end
      // ends the track, as it always has; only an event cut in half by it is damage.
      const TrackEnd r = read_events(body, end, false);
      if (r.cut_at) warn(*r.cut_at, "the track ends inside an event: dropped it" + closed_text(r));
      in_.seek(end);
    } else if (const auto later = find_end_of_track(bytes_, body, size_); later && starts_chunk(*later)) {
      read_events(body, *later, false);
      warn(chunk_at + 4,
           declared + " ends before its end-of-track event: read up to that event, at byte " + std::to_string(*later));
      in_.seek(*later);
    } else {
      const TrackEnd r = read_events(body, end, true);
      const std::string what =
          declared + " agrees with neither its events nor the next chunk: kept the events inside it" +
          (r.cut_at ? ", dropped the event cut off at byte " + std::to_string(*r.cut_at) : "") + closed_text(r);
      resynchronise(end, chunk_at + 4, what, what);
    }
  }

  // A track chunk longer than the rest of the file: a whole track with a wrong length if its
  // end-of-track event is there, else a file cut short, read to its end.
  void read_overrunning_track(size_t chunk_at, uint32_t len) {
    const size_t body = chunk_at + 8;
    const std::string declared = "track chunk length " + std::to_string(len) + " runs past the end of the file (" +
                                 plural(int64_t(size_ - body), "byte") + " left)";
    if (const auto eot = find_end_of_track(bytes_, body, size_)) {
      read_events(body, *eot, false);
      continue_at(*eot, chunk_at + 4,
                  declared + "; its end-of-track event ends the track at byte " + std::to_string(*eot));
      return;
    }
    const TrackEnd r = read_events(body, size_, true);
    std::string what = declared + ": read to the end";
    if (r.cut_at) what += ", dropped the event cut off at byte " + std::to_string(*r.cut_at);
    what += ", closed " + plural(r.closed_at_end, "note") + " still sounding there";
    if (found_ < ntracks_) what += "; the other " + plural(ntracks_ - found_, "declared track") + " are missing";
    warn(chunk_at + 4, what);
    in_.seek(size_);
    stopped_ = true;
  }

  static std::string closed_text(const TrackEnd& r) {
    return r.closed_at_end ? ", closed " + plural(r.closed_at_end, "note") + " still sounding there" : "";
  }

  // After a track that its end-of-track event ended at `at`: go on there if a chunk starts there,
  // else resynchronise.
  void continue_at(size_t at, size_t warn_at, const std::string& what) {
    if (starts_chunk(at)) {
      warn(warn_at, what);
      in_.seek(at);
    } else {
      resynchronise(at, warn_at, what, what);
    }
  }

  // Goes on at the next MTrk tag from `from`; with none the rest of the file is ignored, or the
  // file refused with `refusal` if no track was read.
  void resynchronise(size_t from, size_t warn_at, const std::string& what, const std::string& refusal) {
    static const std::string tag = "MTrk";
    auto next = std::search(bytes_.begin() + long(std::min(from, size_)), bytes_.end(), tag.begin(), tag.end());
    while (next != bytes_.end() && bytes_.end() - next < 8) next = bytes_.end();
    if (next == bytes_.end()) {
      if (found_ == 0) in_.fail(warn_at, refusal);
      warn(warn_at, what + "; no track chunk follows, so the rest of the file is ignored");
      in_.seek(size_);
      stopped_ = true;
      return;
    }
    const size_t at = size_t(next - bytes_.begin());
    warn(warn_at, what + "; went on at the next track chunk, at byte " + std::to_string(at));
    in_.seek(at);
  }

  // True if a chunk plausibly starts at `p` (or the file ends there): an MTrk tag, or four
  // printable bytes whose length fits in the file.
  bool starts_chunk(size_t p) const {
    if (p == size_) return true;
    if (p > size_ || size_ - p < 8) return false;
    const auto id = bytes_.subspan(p, 4);
    if (four_cc(id) == "MTrk") return true;
    return is_chunk_name(id) && read_be32(p + 4) <= size_ - p - 8;
  }

  // Whatever follows the last track must itself be whole chunks, else it is garbage: refused
  // when strict, ignored with a warning otherwise.
  void read_trailer() {
    while (in_.pos() < size_) {
      const size_t chunk_at = in_.pos();
      const size_t left = size_ - chunk_at;
      const uint32_t len = left < 8 ? 0 : read_be32(chunk_at + 4);
      if (left < 8 || !is_chunk_name(bytes_.subspan(chunk_at, 4)) || len > left - 8) {
        if (options_.strict) in_.fail(chunk_at, "garbage after the last track (" + std::to_string(left) + " bytes)");
        warn(chunk_at, "ignored " + plural(int64_t(left), "byte") + " after the last track (not a chunk)");
        return;
      }
      in_.seek(chunk_at + 8 + len);
    }
  }

  uint32_t read_be32(size_t p) const {
    return (uint32_t(bytes_[p]) << 24) | (uint32_t(bytes_[p + 1]) << 16) | (uint32_t(bytes_[p + 2]) << 8) |
           bytes_[p + 3];
  }

  Score finish() {
    // Tracks the header declared but the file does not hold are not counted.
    score_.track_count = int(found_);
    score_.track_has_notes.resize(found_);
    // Notes in start order; ties keep track order, then the order of note-ons in the track.
    for (auto& t : tracks_) {
      std::vector<size_t> perm(t.notes.size());
      for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
      std::sort(perm.begin(), perm.end(), [&](size_t a, size_t b) { return t.order[a] < t.order[b]; });
      for (size_t i : perm) score_.notes.push_back(t.notes[i]);
    }
    if (options_.sustain_pedal) apply_sustain(score_.notes, pedals_);
    std::stable_sort(score_.notes.begin(), score_.notes.end(),
                     [](const Note& a, const Note& b) { return a.start_tick < b.start_tick; });
    auto by_tick = [](const auto& a, const auto& b) { return a.tick < b.tick; };
    std::stable_sort(score_.tempo_map.begin(), score_.tempo_map.end(), by_tick);
    std::stable_sort(score_.time_signatures.begin(), score_.time_signatures.end(), by_tick);
    std::stable_sort(score_.key_signatures.begin(), score_.key_signatures.end(), by_tick);
    std::stable_sort(score_.program_changes.begin(), score_.program_changes.end(), by_tick);
    std::stable_sort(score_.warnings.begin(), score_.warnings.end(),
                     [](const MidiWarning& a, const MidiWarning& b) { return a.offset < b.offset; });
    update_times(score_);
    return std::move(score_);
  }

  std::span<const uint8_t> bytes_;
  const std::string& name_;
  const ReadOptions& options_;
  Cursor in_;
  size_t size_;
  Score score_;
  uint32_t ntracks_ = 0, found_ = 0;
  bool stopped_ = false;  // a repair ended the reading of tracks (the file is over or unreadable)
  int64_t max_tick_ = 0;
  std::vector<TrackNotes> tracks_;
  Pedals pedals_;
  OpenNotes open_;
};

}  // namespace

inline Score read_midi(std::span<const uint8_t> bytes, const std::string& name, const ReadOptions& options = {}) {
  return FileReader(bytes, name, options).read();
}

inline Score read_midi_file(const std::filesystem::path& path, const ReadOptions& options = {}) {
  // A folder opens as a stream whose size is no size at all.
  if (const std::string problem = input_file_problem(path); !problem.empty())
    throw MidiError(path.string(), 0, problem);
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw MidiError(path.string(), 0, "cannot open the file");
  std::vector<uint8_t> bytes(size_t(f.tellg()));
  f.seekg(0);
  if (!f.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size())))
    throw MidiError(path.string(), 0, "cannot read the file");
  return reference::read_midi(bytes, path.string(), options);
}

}  // namespace legato::midi::reference
