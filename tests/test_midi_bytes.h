// Builds Standard MIDI Files byte by byte, so the MIDI tests (and the fuzzer's seed corpus)
// need no committed binaries and every byte is visible in the test that uses it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <tuple>
#include <vector>

namespace midi_test {

using Bytes = std::vector<uint8_t>;

inline void append_vlq(Bytes& out, uint32_t v) {
  uint8_t buf[5];
  int n = 0;
  buf[n++] = v & 0x7F;
  while (v >>= 7) buf[n++] = 0x80 | (v & 0x7F);
  while (n) out.push_back(buf[--n]);
}

inline void append_be(Bytes& out, uint32_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(uint8_t(v >> (8 * i)));
}

// One MTrk body. Each call writes a delta time then the event; status bytes are explicit, so
// running status is written by leaving them out (raw()).
struct Track {
  Bytes body;
  Track& raw(uint32_t delta, std::initializer_list<uint8_t> bytes) {
    append_vlq(body, delta);
    body.insert(body.end(), bytes);
    return *this;
  }
  Track& on(uint32_t delta, int ch, int pitch, int vel = 100) {
    return raw(delta, {uint8_t(0x90 | ch), uint8_t(pitch), uint8_t(vel)});
  }
  Track& off(uint32_t delta, int ch, int pitch) { return raw(delta, {uint8_t(0x80 | ch), uint8_t(pitch), 64}); }
  Track& program(uint32_t delta, int ch, int program) { return raw(delta, {uint8_t(0xC0 | ch), uint8_t(program)}); }
  Track& cc(uint32_t delta, int ch, int controller, int value) {
    return raw(delta, {uint8_t(0xB0 | ch), uint8_t(controller), uint8_t(value)});
  }
  Track& meta(uint32_t delta, uint8_t type, const Bytes& data) {
    append_vlq(body, delta);
    body.push_back(0xFF);
    body.push_back(type);
    append_vlq(body, uint32_t(data.size()));
    body.insert(body.end(), data.begin(), data.end());
    return *this;
  }
  Track& tempo(uint32_t delta, uint32_t micros) {
    return meta(delta, 0x51, {uint8_t(micros >> 16), uint8_t(micros >> 8), uint8_t(micros)});
  }
  Track& end(uint32_t delta = 0) { return meta(delta, 0x2F, {}); }
};

inline Bytes chunk(const std::string& id, const Bytes& body) {
  Bytes out(id.begin(), id.end());
  append_be(out, uint32_t(body.size()), 4);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// A whole file: header (track count defaults to the number of tracks given) and MTrk chunks.
inline Bytes smf(int format, uint16_t division, const std::vector<Track>& tracks, int declared_tracks = -1) {
  Bytes out = {'M', 'T', 'h', 'd', 0, 0, 0, 6};
  append_be(out, uint32_t(format), 2);
  append_be(out, uint32_t(declared_tracks < 0 ? int(tracks.size()) : declared_tracks), 2);
  append_be(out, division, 2);
  for (const Track& t : tracks) {
    const Bytes c = chunk("MTrk", t.body);
    out.insert(out.end(), c.begin(), c.end());
  }
  return out;
}

// Damage, done to a whole file's bytes the way it happens to files in the wild.

// The offset of the k-th MTrk chunk (its tag).
inline size_t track_at(const Bytes& file, int k) {
  size_t pos = 14;
  for (int i = 0; i < k; ++i)
    pos += 8 + ((size_t(file[pos + 4]) << 24) | (size_t(file[pos + 5]) << 16) | (size_t(file[pos + 6]) << 8) |
                file[pos + 7]);
  return pos;
}

// The k-th track chunk's declared length changed by `delta` bytes (the body stays as it is).
inline Bytes with_track_length(Bytes file, int k, int delta) {
  const size_t at = track_at(file, k) + 4;
  uint32_t len =
      (uint32_t(file[at]) << 24) | (uint32_t(file[at + 1]) << 16) | (uint32_t(file[at + 2]) << 8) | file[at + 3];
  len = uint32_t(int64_t(len) + delta);
  for (int i = 0; i < 4; ++i) file[at + size_t(i)] = uint8_t(len >> (24 - 8 * i));
  return file;
}

// The file without its last n bytes, as a cut-off download leaves it.
inline Bytes cut_short(const Bytes& file, size_t n) { return Bytes(file.begin(), file.end() - long(n)); }

// The file with `extra` bytes after its last chunk.
inline Bytes with_trailing(Bytes file, const Bytes& extra) {
  file.insert(file.end(), extra.begin(), extra.end());
  return file;
}

// The file with `junk` inserted where the k-th track chunk starts.
inline Bytes with_junk_before_track(Bytes file, int k, const Bytes& junk) {
  file.insert(file.begin() + long(track_at(file, k)), junk.begin(), junk.end());
  return file;
}

// Every event but notes and ends of track, per track, with its tick: what an edit must keep
// (midi::with_notes). Reads files these helpers build (meta events shorter than 128 bytes).
inline std::vector<std::tuple<int, int64_t, Bytes>> other_events(const Bytes& file) {
  std::vector<std::tuple<int, int64_t, Bytes>> events;
  for (int k = 0; k < (file[10] << 8 | file[11]); ++k) {
    size_t p = track_at(file, k) + 8;
    int64_t tick = 0;
    uint8_t running = 0;
    for (bool ended = false; !ended;) {
      uint32_t delta = 0;
      do delta = delta << 7 | (file[p] & 0x7F);
      while (file[p++] & 0x80);
      tick += delta;
      uint8_t status = file[p] & 0x80 ? file[p++] : running;
      Bytes bytes{status};
      if (status == 0xFF) {
        const uint8_t type = file[p++], length = file[p++];  // short meta events only, in these files
        ended = type == 0x2F;
        bytes.insert(bytes.end(), {type, length});
        bytes.insert(bytes.end(), file.begin() + long(p), file.begin() + long(p + length));
        p += length;
      } else {
        running = status;
        const int n = (status & 0xF0) == 0xC0 || (status & 0xF0) == 0xD0 ? 1 : 2;
        bytes.insert(bytes.end(), file.begin() + long(p), file.begin() + long(p + size_t(n)));
        p += size_t(n);
      }
      const int kind = status & 0xF0;
      if (!ended && kind != 0x80 && kind != 0x90) events.emplace_back(k, tick, bytes);
    }
  }
  return events;
}

}  // namespace midi_test
