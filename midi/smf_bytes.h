// Encoding a Standard MIDI File's tracks, shared by the writer (a file made from a Score) and the
// editor (a file's own events with its notes replaced): events with absolute ticks become an MTrk
// chunk of delta times, ordered at equal ticks by rank, then by sub.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace legato::midi::detail {

struct Event {
  int64_t tick;
  int rank;     // order at equal ticks (the writer's and the editor's own)
  int64_t sub;  // then by this (the writer: shorter notes' note-ons first, so same-pitch notes pair in order)
  std::vector<uint8_t> bytes;  // the whole event, status byte included (no running status)
};

inline void put_be(std::vector<uint8_t>& out, uint32_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(uint8_t(v >> (8 * i)));
}

inline void put_vlq(std::vector<uint8_t>& out, uint32_t v) {
  uint8_t buf[5];
  int n = 0;
  buf[n++] = v & 0x7F;
  while (v >>= 7) buf[n++] = 0x80 | (v & 0x7F);
  while (n) out.push_back(buf[--n]);
}

// Appends the track's chunk to `file`, its events sorted (stable: equal keys keep their order), an
// end of track at `end_tick` or right after the last event, whichever is later.
inline void put_track(std::vector<uint8_t>& file, std::vector<Event> events, int64_t end_tick = 0) {
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.tick != b.tick) return a.tick < b.tick;
    return a.rank != b.rank ? a.rank < b.rank : a.sub < b.sub;
  });
  std::vector<uint8_t> body;
  int64_t now = 0;
  constexpr int64_t kMaxDelta = 0x0FFFFFFF;  // a delta time has at most 4 bytes (28 bits)
  const auto advance_to = [&](int64_t tick) {
    // A longer gap (possible with many ticks per quarter) is bridged by empty text events.
    for (; tick - now > kMaxDelta; now += kMaxDelta) {
      put_vlq(body, uint32_t(kMaxDelta));
      body.insert(body.end(), {0xFF, 0x01, 0x00});
    }
    put_vlq(body, uint32_t(tick - now));
    now = tick;
  };
  for (const Event& e : events) {
    advance_to(e.tick);
    body.insert(body.end(), e.bytes.begin(), e.bytes.end());
  }
  advance_to(std::max(now, end_tick));
  body.insert(body.end(), {0xFF, 0x2F, 0x00});  // end of track
  file.insert(file.end(), {'M', 'T', 'r', 'k'});
  put_be(file, uint32_t(body.size()), 4);
  file.insert(file.end(), body.begin(), body.end());
}

}  // namespace legato::midi::detail
