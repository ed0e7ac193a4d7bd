#include "midi/reader.h"

#include "midi/note_pairing.h"
#include "midi/paths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

namespace legato::midi {
namespace {

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
  const uint8_t* data() const { return bytes_.data(); }
  bool at_end(size_t limit) const { return pos_ >= limit; }
  void seek(size_t pos) { pos_ = pos; }

  [[noreturn]] void fail(size_t offset, const std::string& what) const { throw MidiError(name_, offset, what); }
  // Out of line and cold, so the byte readers inline into the event loop.
  [[noreturn, gnu::noinline, gnu::cold]] void cut_off(const char* before, const char* what, const char* after) const {
    throw CutOff(name_, pos_, std::string(before) + what + after);
  }
  uint8_t u8(size_t limit, const char* what) {
    if (pos_ >= limit) [[unlikely]]
      cut_off("truncated: file ends inside ", what, "");
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
    if (n > limit - pos_) [[unlikely]]
      cut_off("truncated: ", what, " runs past the end of its chunk");
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

bool is_track_tag(std::span<const uint8_t> id) { return std::memcmp(id.data(), "MTrk", 4) == 0; }

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

struct PedalEvent {
  int64_t tick;
  bool down;
};
using Pedals = std::array<std::vector<PedalEvent>, 16>;

using detail::NoteSlot;
using detail::NoteSlots;

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
              Score& score, NoteSlots& notes, Pedals& pedals)
      : in_(in),
        name_(name),
        options_(options),
        track_(track),
        max_tick_(max_tick),
        score_(score),
        notes_(notes),
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
      read_channel_events_fast(limit);
      if (in_.at_end(limit)) break;
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

  // Most of a file is channel events well inside their chunk: this reads them with no bounds
  // checks and the cursor in a register while at least one whole event's worth of bytes (a 4-byte
  // delta, a status, 2 data bytes) is left. It stops before the first event of another kind and
  // before anything the checked path must report (a bad byte, a tick past the limit), and leaves
  // that event to the checked path, which reads it as it always has.
  void read_channel_events_fast(size_t limit) {
    const uint8_t* const bytes = in_.data();
    size_t p = in_.pos();
    int64_t tick = tick_;
    uint8_t running = running_;
    while (limit - p >= 8) {
      size_t q = p;
      uint32_t delta = 0;
      uint8_t b;
      int i = 0;
      do {
        b = bytes[q++];
        delta = (delta << 7) | (b & 0x7F);
      } while ((b & 0x80) && ++i < 4);
      uint8_t status = bytes[q];
      if ((b & 0x80) || tick + delta > max_tick_ || status >= 0xF0 || (status < 0x80 && !running)) break;
      if (status >= 0x80) ++q;
      if (status < 0x80) status = running;
      const bool two = channel_data_bytes(status) == 2;
      const uint8_t d0 = bytes[q], d1 = two ? bytes[q + 1] : 0;
      if ((d0 | d1) & 0x80) break;
      p = q + (two ? 2 : 1);
      tick += delta;
      running = status;
      channel_event(status, d0, d1, tick);
    }
    in_.seek(p);
    tick_ = tick;
    running_ = running;
  }

  void read_channel_event(uint8_t status, size_t limit) {
    uint8_t d[2] = {0, 0};
    for (int i = 0; i < channel_data_bytes(status); ++i) {
      const size_t at = in_.pos();
      d[i] = in_.u8(limit, "a channel event");
      if (d[i] & 0x80) in_.fail(at, "data byte with its top bit set inside a channel event");
    }
    channel_event(status, d[0], d[1], tick_);
  }

  // What a channel event with data bytes d0, d1 (0 where it has one) at `tick` does to the score.
  // Inlined into the fast loop: a call per event cost a fifth of its time in saved registers.
  [[gnu::always_inline]] void channel_event(uint8_t status, uint8_t d0, uint8_t d1, int64_t tick) {
    const int kind = status & 0xF0, channel = status & 0x0F;
    switch (kind) {
      case 0x90:
        if (d1 > 0) {
          notes_.note_on(channel, d0, d1, program_[size_t(channel)], tick);
          break;
        }
        [[fallthrough]];  // note-on with velocity 0 is a note-off
      case 0x80: notes_.note_off(channel, d0, tick, score_.zero_length_notes); break;
      case 0xB0:  // the sustain pedal's moves, kept only where they will be applied
        if (d0 == 64 && options_.sustain_pedal) pedals_[size_t(channel)].push_back({tick, d1 >= 64});
        break;
      case 0xC0:
        program_[size_t(channel)] = d0;
        score_.program_changes.push_back({tick, track_, channel, d0});
        break;
      default: break;  // aftertouch, pitch bend: not part of the score
    }
  }

  // A track cut short by damage: what a player sounded until the end sounds until the end. Notes
  // that began at the very end would have no length and stay dropped.
  int close_sounding() {
    int closed = 0;
    notes_.take_sounding([&](NoteSlot& s) {
      if (s.start_tick < tick_) {
        notes_.end_at(s, tick_);
        ++closed;
      } else {
        ++score_.unreleased_notes;
      }
    });
    return closed;
  }

  // Notes never released are dropped, as music21 and pretty_midi do (the seed tokens depend on
  // it); they are counted so `miditool info` can show them.
  void drop_unreleased() {
    notes_.take_sounding([&](NoteSlot&) { ++score_.unreleased_notes; });
  }

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
  NoteSlots& notes_;
  Pedals& pedals_;
  std::array<int, 16> program_{};  // program in force per channel (0 until a change)
  int64_t tick_ = 0, tick_before_event_ = 0;
  size_t event_at_ = 0;
  uint8_t running_ = 0;
  bool ended_ = false;
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
      : bytes_(bytes),
        name_(name),
        options_(options),
        in_(bytes, name),
        size_(bytes.size()),
        notes_(options.pairing, bytes.size()) {}

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
      // The messages are made only when needed: a file has a chunk per track, and most are whole.
      auto overrun = [&] {
        return "chunk '" + four_cc(id) + "' length " + std::to_string(len) + " runs past the end of the file";
      };
      const std::string not_a_chunk = "expected a track chunk, found bytes that are not a chunk name";
      if (options_.strict) {
        if (len > size_ - body)
          in_.fail(chunk_at + 4, overrun() + " (" + std::to_string(size_ - body) + " bytes left)");
        if (!is_chunk_name(id)) in_.fail(chunk_at, not_a_chunk);
      }
      if (!is_chunk_name(id)) {
        resynchronise(chunk_at + 1, chunk_at, not_a_chunk, not_a_chunk);
      } else if (!is_track_tag(id)) {
        // Unknown chunk types are skipped, as the specification asks.
        if (len > size_ - body)
          resynchronise(body, chunk_at + 4, overrun(), overrun());
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
    notes_.begin_track();
    const size_t ended_before = notes_.ended();
    TrackReader track(in_, name_, options_, int(found_), max_tick_, score_, notes_, pedals_);
    const TrackEnd end = track.read(limit, damaged_end);
    score_.track_has_notes[found_] = notes_.ended() > ended_before;
    ++found_;
    return end;
  }

  // A track chunk whose declared length fits in the file. Its length is trusted where the next
  // chunk starts right after it or the end-of-track event agrees; otherwise the end-of-track event
  // is trusted where a chunk starts after it, and failing that the reader resynchronises on the
  // next MTrk tag.
  void read_track_chunk(size_t chunk_at, size_t end) {
    const size_t body = chunk_at + 8;
    if (options_.strict) {
      read_events(body, end, false);
      in_.seek(end);
      return;
    }
    if (starts_chunk(end)) {
      // The chunk's end ends the track, as it always has, whether an end-of-track event comes
      // first (what follows it is padding) or not; only an event cut in half by it is damage. No
      // walk ahead for the end-of-track event is needed: the common case costs one reading.
      const TrackEnd r = read_events(body, end, false);
      if (r.cut_at) warn(*r.cut_at, "the track ends inside an event: dropped it" + closed_text(r));
      in_.seek(end);
      return;
    }
    const std::string declared = "track chunk length " + std::to_string(end - body);
    const auto eot = find_end_of_track(bytes_, body, end);
    if (eot && *eot == end) {
      read_events(body, end, false);
      in_.seek(end);
    } else if (eot) {
      read_events(body, *eot, false);
      const std::string what =
          declared + " runs past its end-of-track event, which ends the track at byte " + std::to_string(*eot);
      continue_at(*eot, chunk_at + 4, what);
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
    if (is_track_tag(id)) return true;
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
    auto by_tick = [](const auto& a, const auto& b) { return a.tick < b.tick; };
    std::stable_sort(score_.tempo_map.begin(), score_.tempo_map.end(), by_tick);
    std::stable_sort(score_.time_signatures.begin(), score_.time_signatures.end(), by_tick);
    std::stable_sort(score_.key_signatures.begin(), score_.key_signatures.end(), by_tick);
    std::stable_sort(score_.program_changes.begin(), score_.program_changes.end(), by_tick);
    std::stable_sort(score_.warnings.begin(), score_.warnings.end(),
                     [](const MidiWarning& a, const MidiWarning& b) { return a.offset < b.offset; });
    // Notes in start order; ties keep track order, then the order of note-ons in the track.
    detail::assemble_notes(notes_, score_);
    // The pedal changes lengths, not starts: the order stands.
    if (options_.sustain_pedal) apply_sustain(score_.notes, pedals_);
    score_.update_times();
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
  Pedals pedals_;
  NoteSlots notes_;
};

}  // namespace

Score read_midi(std::span<const uint8_t> bytes, const std::string& name, const ReadOptions& options) {
  return FileReader(bytes, name, options).read();
}

namespace {

// Calls use(bytes) with the whole file at `path` read. One open, fstat and read into a buffer that
// is not zeroed first: a corpus is read a file at a time, and a stream's setup and a zeroed buffer
// cost a quarter of the parsing (issue 28).
template <class F>
auto with_file_bytes(const std::filesystem::path& path, F&& use) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const std::string problem = input_file_problem(path);
    throw MidiError(path.string(), 0, problem.empty() ? "cannot open the file" : problem);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  // A folder opens too, as a file whose size is no size at all.
  if (::fstat(fd, &st) != 0) throw MidiError(path.string(), 0, "cannot read the file");
  if (S_ISDIR(st.st_mode)) throw MidiError(path.string(), 0, "is a folder, not a file");
  const size_t size = size_t(st.st_size);
  const std::unique_ptr<uint8_t[]> bytes(new uint8_t[std::max<size_t>(size, 1)]);
  for (size_t got = 0; got < size;) {
    const ssize_t n = ::read(fd, bytes.get() + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw MidiError(path.string(), 0, "cannot read the file");
    got += size_t(n);
  }
  return use(std::span<const uint8_t>{bytes.get(), size});
}

}  // namespace

Score read_midi_file(const std::filesystem::path& path, const ReadOptions& options) {
  return with_file_bytes(path,
                         [&](std::span<const uint8_t> bytes) { return read_midi(bytes, path.string(), options); });
}

std::vector<uint8_t> midi_file_bytes(const std::filesystem::path& path) {
  return with_file_bytes(
      path, [](std::span<const uint8_t> bytes) { return std::vector<uint8_t>(bytes.begin(), bytes.end()); });
}

}  // namespace legato::midi
