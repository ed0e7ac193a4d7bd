#include "midi/tokenizer_seed.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <limits>

#include "midi/pitch_names.h"

namespace legato::midi {
namespace {

// A note or chord as music21 builds it from one track.
struct Element {
  int64_t onset12;  // quantized onset in twelfths of a quarter (1/4 and 1/3 grids both fit)
  bool grace;       // zero-length: music21 makes it a grace note, which sorts first
  int track;
  size_t order;      // position among the track's elements
  int first_pitch;   // the token of a single note
  int size;          // notes in it: more than one makes a chord
  uint16_t pc_mask;  // a chord's pitch classes, bit k for pitch class k
  int drums;         // how many of its notes are drum notes (which transposition leaves alone)
};

// The chord token of a pitch-class set. Worth caching: there are 4096 sets and tens of
// thousands of chords in a corpus.
const std::string& chord_token(uint16_t mask) {
  thread_local std::array<std::string, 4096> cache;
  std::string& token = cache[mask];
  if (token.empty()) {
    std::vector<int> pcs;
    for (int pc = 0; pc < 12; ++pc)
      if (mask & (1 << pc)) pcs.push_back(pc);
    for (int pc : normal_order(pcs)) {
      if (!token.empty()) token += '.';
      token += std::to_string(pc);
    }
  }
  return token;
}

// Stream.quantize with quarterLengthDivisors (4, 3) on one onset, exactly in integers.
// For each divisor d the nearest multiple of 1/d (halfway rounds down); the smallest error wins,
// then the negative signed error (rounded up), then the smaller value: music21 sorts its
// candidates as (error, signedError, match, divisor).
int64_t quantize_onset12(int64_t tick, int tpq) {
  struct Candidate {
    int64_t error, signed_error, match12;  // errors in units of 1/(12 tpq) quarter
  };
  Candidate best{std::numeric_limits<int64_t>::max(), 0, 0};
  for (const int d : {4, 3}) {
    const int64_t scaled = tick * d;  // the onset in units of 1/(d tpq)
    int64_t m = scaled / tpq;
    if (2 * (scaled - m * tpq) > tpq) ++m;
    const int64_t unit = 12 / d;
    const Candidate c{std::llabs(scaled - m * tpq) * unit, (scaled - m * tpq) * unit, m * unit};
    if (c.error < best.error ||
        (c.error == best.error &&
         (c.signed_error < best.signed_error || (c.signed_error == best.signed_error && c.match12 < best.match12))))
      best = c;
  }
  return best.match12;
}

// midiTrackToStream's chord gathering over one track's notes (in note-on order).
void gather_track(const std::vector<const Note*>& notes, int tpq, int track, std::vector<Element>& out) {
  std::vector<bool> gathered(notes.size(), false);
  size_t order = 0;
  for (size_t i = 0; i < notes.size(); ++i) {
    if (gathered[i]) continue;
    const Note& first = *notes[i];
    Element e{quantize_onset12(first.start_tick, tpq), first.duration_ticks == 0, track, order++, first.pitch, 1,
              uint16_t(1 << (first.pitch % 12)),       first.is_drum() ? 1 : 0};
    // Tolerance is 1/16 quarter; 16 * difference <= tpq keeps it in integers.
    for (size_t j = i + 1; j < notes.size(); ++j) {
      const Note& other = *notes[j];
      if (16 * (other.start_tick - first.start_tick) > tpq) break;
      // As in music21, a note already in an earlier chord can join this one too.
      if (16 * std::llabs(other.end_tick() - first.end_tick()) > tpq) continue;
      gathered[j] = true;
      ++e.size;
      e.drums += other.is_drum() ? 1 : 0;
      e.pc_mask |= uint16_t(1 << (other.pitch % 12));
    }
    out.push_back(std::move(e));
  }
}

// "4.9" -> {4, 9}, "7" -> {7}; empty unless the token is pitch classes 0..11 joined by '.'.
std::vector<int> parse_chord(std::string_view token) {
  std::vector<int> pcs;
  int value = -1;
  for (const char c : token) {
    if (c >= '0' && c <= '9') {
      value = (value < 0 ? 0 : value * 10) + (c - '0');
      if (value > 11) return {};
    } else if (c == '.' && value >= 0) {
      pcs.push_back(value);
      value = -1;
    } else {
      return {};
    }
  }
  if (value < 0) return {};
  pcs.push_back(value);
  return pcs;
}

}  // namespace

std::vector<std::string> SeedTokenizer::tokenize(const Score& score) const { return tokens_of(score, nullptr); }

TokenizedScore SeedTokenizer::tokenize_for_transposition(const Score& score) const {
  TokenizedScore out;
  out.tokens = tokens_of(score, &out);
  pitched_range(score, out);
  return out;
}

// A note's name or a chord's pitch classes, moved: pitch classes turn around the octave, and the
// chord's token is its moved set's normal order, as tokenize() would name it.
std::optional<std::string> SeedTokenizer::transpose_token(std::string_view token, int semitones) const {
  const std::vector<int> pcs = parse_chord(token);
  if (!pcs.empty()) {
    uint16_t mask = 0;
    for (const int pc : pcs) mask |= uint16_t(1 << (((pc + semitones) % 12 + 12) % 12));
    return chord_token(mask);
  }
  const auto pitch = parse_pitch_name(token);
  if (!pitch || *pitch + semitones < 0 || *pitch + semitones > 127) return std::nullopt;
  return pitch_name(*pitch + semitones);
}

std::vector<std::string> SeedTokenizer::tokens_of(const Score& score, TokenizedScore* detail) const {
  const int tpq = score.ticks_per_quarter;
  // Parts are tracks, or channels of a format-0 file when it is split (see the header).
  const bool by_channel = score.format == 0 && options_.split_format0_channels;
  auto part_of = [&](int track, int channel) { return by_channel ? channel : track; };
  int parts = by_channel ? 16 : std::max<int>(score.track_count, int(score.track_has_notes.size()));
  for (const Note& n : score.notes) parts = std::max(parts, part_of(n.track, n.channel) + 1);
  std::vector<std::vector<const Note*>> by_part(size_t(std::max(parts, 1)));
  for (const Note& n : score.notes) {
    const int p = part_of(n.track, n.channel);
    if (p >= 0 && size_t(p) < by_part.size()) by_part[size_t(p)].push_back(&n);
  }

  std::vector<Element> elements;
  for (size_t p = 0; p < by_part.size(); ++p) gather_track(by_part[p], tpq, int(p), elements);

  // music21's first instrument: parts are the tracks with notes in file order, then one part
  // for the note-less tracks; within a part, instruments by offset.
  auto has_notes = [&](int p) { return p >= 0 && size_t(p) < by_part.size() && !by_part[size_t(p)].empty(); };
  auto part_of_change = [&](const ProgramChange& pc) { return part_of(pc.track, pc.channel); };
  const ProgramChange* first = nullptr;
  for (const ProgramChange& pc : score.program_changes)  // in tick order, so the first per part is earliest
    if (has_notes(part_of_change(pc)) && (!first || part_of_change(pc) < part_of_change(*first))) first = &pc;
  if (!first)
    for (const ProgramChange& pc : score.program_changes)
      if (!has_notes(part_of_change(pc))) {
        first = &pc;
        break;
      }

  std::vector<const Element*> chosen;
  if (!first) {
    for (const Element& e : elements) chosen.push_back(&e);  // the seed's midi.flat.notes fallback
  } else {
    // Each program change opens a span in its part that lasts until the part's next one; an
    // element belongs to the first instrument's part if it begins inside such a span.
    std::vector<std::vector<const ProgramChange*>> changes(by_part.size());
    for (const ProgramChange& pc : score.program_changes) {
      const int p = part_of_change(pc);
      if (p >= 0 && size_t(p) < changes.size()) changes[size_t(p)].push_back(&pc);
    }
    for (const Element& e : elements) {
      const auto& list = changes[size_t(e.track)];
      // The last change at or before the element's (quantized) onset.
      auto after = std::upper_bound(list.begin(), list.end(), e.onset12 * tpq,
                                    [](int64_t onset, const ProgramChange* pc) { return onset < 12 * pc->tick; });
      if (after != list.begin() && (*(after - 1))->program == first->program) chosen.push_back(&e);
    }
  }
  std::stable_sort(chosen.begin(), chosen.end(), [](const Element* a, const Element* b) {
    if (a->onset12 != b->onset12) return a->onset12 < b->onset12;
    if (a->grace != b->grace) return a->grace;
    if (a->track != b->track) return a->track < b->track;
    return a->order < b->order;
  });

  std::vector<std::string> tokens;
  tokens.reserve(chosen.size());
  for (const Element* e : chosen) tokens.push_back(e->size == 1 ? pitch_name(e->first_pitch) : chord_token(e->pc_mask));
  if (detail) {
    detail->moves.reserve(chosen.size());
    for (const Element* e : chosen) {
      detail->moves.push_back(e->drums == 0);
      if (e->drums > 0 && e->drums < e->size) detail->transposable = false;
    }
  }
  return tokens;
}

Score SeedTokenizer::detokenize(std::span<const std::string> tokens) const {
  Score score;
  score.ticks_per_quarter = 480;
  score.track_count = 1;
  score.tempo_map.push_back({0, kDefaultMicrosPerQuarter, 0});
  int64_t offset = 0;
  for (const std::string& token : tokens) {
    std::vector<int> pitches = parse_chord(token);
    if (!pitches.empty()) {
      for (int& p : pitches) p += 60;  // octave 4, as music21's Note(int) places a pitch class
    } else if (auto p = parse_pitch_name(token)) {
      pitches.push_back(*p);
    }
    for (int p : pitches) {
      Note n;
      n.pitch = p;
      n.velocity = 90;  // music21's default velocity
      n.track = 0;
      n.start_tick = offset;
      n.duration_ticks = score.ticks_per_quarter;
      score.notes.push_back(n);
    }
    if (!pitches.empty()) offset += score.ticks_per_quarter / 2;
  }
  score.track_has_notes = {!score.notes.empty()};
  score.update_times();
  return score;
}

}  // namespace legato::midi
