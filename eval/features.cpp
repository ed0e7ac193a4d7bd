#include "eval/features.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

namespace legato::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Shannon entropy in bits of a histogram of counts; NaN when it is empty (MusPy's _entropy).
template <size_t N>
double entropy_bits(const std::array<double, N>& counts) {
  double total = 0, h = 0;
  for (double c : counts) total += c;
  if (total < 1) return kNaN;
  for (double c : counts)
    if (c > 0) h -= c / total * std::log2(c / total);
  return h;
}

template <size_t N>
void normalise(std::array<double, N>& v) {
  double total = 0;
  for (double x : v) total += x;
  if (total > 0)
    for (double& x : v) x /= total;
}

// The pitched notes of each part, in grid order.
std::vector<std::vector<const GridNote*>> parts_of(const Grid& g) {
  std::vector<std::vector<const GridNote*>> parts;
  for (const GridNote& n : g.notes) {
    if (n.drum) continue;
    if (static_cast<size_t>(n.instrument) >= parts.size()) parts.resize(static_cast<size_t>(n.instrument) + 1);
    parts[static_cast<size_t>(n.instrument)].push_back(&n);
  }
  return parts;
}

// How many distinct pitches sound over time, as MusPy's binary piano roll of pitched notes
// (a pitch struck again while it sounds is still one pitch): a list of (from, count) steps.
std::vector<std::pair<int64_t, int>> sounding_pitches(const Grid& g) {
  std::vector<std::pair<int64_t, int>> events;  // (time, +1 or -1)
  std::array<std::vector<std::pair<int64_t, int64_t>>, 128> spans;
  for (const GridNote& n : g.notes)
    if (!n.drum && n.end > n.start) spans[static_cast<size_t>(n.pitch)].emplace_back(n.start, n.end);
  for (auto& list : spans) {  // merge the overlapping spans of one pitch
    std::sort(list.begin(), list.end());
    for (size_t k = 0; k < list.size();) {
      int64_t from = list[k].first, to = list[k].second;
      for (++k; k < list.size() && list[k].first <= to; ++k) to = std::max(to, list[k].second);
      events.emplace_back(from, +1);
      events.emplace_back(to, -1);
    }
  }
  std::sort(events.begin(), events.end());
  std::vector<std::pair<int64_t, int>> steps;
  int count = 0;
  for (size_t k = 0; k < events.size(); ++k) {
    count += events[k].second;
    if (k + 1 == events.size() || events[k + 1].first != events[k].first) steps.emplace_back(events[k].first, count);
  }
  return steps;
}

}  // namespace

int64_t Grid::end() const {
  int64_t end = 0;
  for (const GridNote& n : notes) end = std::max(end, n.end);
  return end;
}

Grid to_grid(const midi::Score& score, int resolution) {
  Grid g;
  g.resolution = resolution;
  const double steps_per_tick = double(resolution) / score.ticks_per_quarter;
  if (!score.time_signatures.empty()) {
    const midi::TimeSignature& t = score.time_signatures.front();
    g.bar = std::max<int64_t>(1, std::llround(4.0 * resolution * t.numerator / t.denominator));
  } else {
    g.bar = 4 * resolution;
  }
  std::map<std::tuple<int, int, int>, int> parts;  // (track, channel, program): a part, as pretty_midi's instruments
  for (const midi::Note& n : score.notes) {
    GridNote q;
    q.pitch = n.pitch;
    q.start = std::llround(double(n.start_tick) * steps_per_tick);
    q.end = std::max<int64_t>(q.start, std::llround(double(n.end_tick()) * steps_per_tick));
    q.drum = n.is_drum();
    q.instrument = parts.emplace(std::make_tuple(n.track, n.channel, n.program), int(parts.size())).first->second;
    g.notes.push_back(q);
  }
  std::stable_sort(g.notes.begin(), g.notes.end(), [](const GridNote& a, const GridNote& b) {
    return std::tie(a.start, a.pitch) < std::tie(b.start, b.pitch);
  });
  return g;
}

// MusPy n_pitches_used: distinct pitches of the pitched notes.
int n_pitches_used(const Grid& g) {
  std::array<bool, 128> used{};
  for (const GridNote& n : g.notes)
    if (!n.drum) used[static_cast<size_t>(n.pitch)] = true;
  return static_cast<int>(std::count(used.begin(), used.end(), true));
}

// MusPy n_pitch_classes_used.
int n_pitch_classes_used(const Grid& g) {
  std::array<bool, 12> used{};
  for (const GridNote& n : g.notes)
    if (!n.drum) used[static_cast<size_t>(n.pitch % 12)] = true;
  return static_cast<int>(std::count(used.begin(), used.end(), true));
}

// MusPy pitch_range: highest minus lowest pitched note, 0 without one (MusPy would give -127
// for a piece of drums alone; 0 says the same thing without the artefact).
int pitch_range(const Grid& g) {
  int lo = 128, hi = -1;
  for (const GridNote& n : g.notes)
    if (!n.drum) lo = std::min(lo, n.pitch), hi = std::max(hi, n.pitch);
  return hi < 0 ? 0 : hi - lo;
}

// MusPy pitch_entropy: -sum p log2 p over the 128 pitches' note counts.
double pitch_entropy(const Grid& g) {
  std::array<double, 128> counts{};
  for (const GridNote& n : g.notes)
    if (!n.drum) counts[static_cast<size_t>(n.pitch)] += 1;
  return entropy_bits(counts);
}

// MusPy pitch_class_entropy: the same over the 12 pitch classes.
double pitch_class_entropy(const Grid& g) {
  std::array<double, 12> counts{};
  for (const GridNote& n : g.notes)
    if (!n.drum) counts[static_cast<size_t>(n.pitch % 12)] += 1;
  return entropy_bits(counts);
}

// MGEval total_pitch_class_histogram sums a piano roll, so a pitch class counts by how long it
// sounds; normalised to sum 1 (all zero without pitched notes).
std::array<double, 12> pitch_class_histogram(const Grid& g) {
  std::array<double, 12> h{};
  for (const GridNote& n : g.notes)
    if (!n.drum) h[static_cast<size_t>(n.pitch % 12)] += double(n.end - n.start);
  normalise(h);
  return h;
}

// MGEval pitch_class_transition_matrix is pretty_midi's: within each part, every ordered pair
// (a, b) with |end(a) - start(b)| < 50 ms counts a transition from a's pitch class to b's. Here
// the window is in quarter notes (0.1 = 50 ms at 120 bpm) because generated pieces have no tempo
// of their own; and the matrix is normalised by its sum (MGEval's normalize=2), because raw
// counts would compare the pieces' lengths, not their harmony.
std::array<double, 144> pitch_class_transition_matrix(const Grid& g, double threshold_quarters) {
  std::array<double, 144> m{};
  const double window = threshold_quarters * g.resolution;
  for (const auto& part : parts_of(g)) {
    // part is by start: the notes b starting near end(a) are one contiguous run.
    for (const GridNote* a : part) {
      const auto first = std::lower_bound(part.begin(), part.end(), double(a->end) - window,
                                          [](const GridNote* n, double t) { return double(n->start) <= t; });
      for (auto b = first; b != part.end() && double((*b)->start) < double(a->end) + window; ++b)
        m[static_cast<size_t>(a->pitch % 12 * 12 + (*b)->pitch % 12)] += 1;
    }
  }
  normalise(m);
  return m;
}

// MGEval avg_pitch_shift: mean |interval| between consecutive notes (onset order) of a part,
// over all parts; NaN without two pitched notes in one part.
double average_pitch_interval(const Grid& g) {
  double sum = 0;
  int64_t count = 0;
  for (const auto& part : parts_of(g))
    for (size_t k = 1; k < part.size(); ++k, ++count) sum += std::abs(part[k]->pitch - part[k - 1]->pitch);
  return count ? sum / double(count) : kNaN;
}

// MGEval total_used_note: every note-on.
int n_notes(const Grid& g) { return static_cast<int>(g.notes.size()); }

// MGEval avg_IOI: the mean difference of pretty_midi's sorted onsets (every note, chords giving
// zero intervals), in quarter notes rather than seconds (generated pieces have no tempo of their
// own); NaN with fewer than two notes.
double average_ioi(const Grid& g) {
  if (g.notes.size() < 2) return kNaN;
  // The notes are by start, so the mean of the differences is (last - first) / (n - 1).
  return double(g.notes.back().start - g.notes.front().start) / double(g.notes.size() - 1) / g.resolution;
}

// MGEval note_length_hist: lengths in units of bar/96, each put in the class nearest to it (the
// first in MGEval's order on a tie). Drums are left out: their lengths mean nothing.
std::array<double, 12> note_length_histogram(const Grid& g) {
  static constexpr double kClasses[12] = {96, 48, 24, 12, 6, 72, 36, 18, 9, 32, 16, 8};
  const double unit = double(g.bar) / 96;
  std::array<double, 12> h{};
  for (const GridNote& n : g.notes) {
    if (n.drum) continue;
    size_t best = 0;
    for (size_t c = 1; c < 12; ++c)
      if (std::abs(kClasses[c] * unit - double(n.end - n.start)) <
          std::abs(kClasses[best] * unit - double(n.end - n.start)))
        best = c;
    h[best] += 1;
  }
  normalise(h);
  return h;
}

// MusPy empty_beat_rate: beats (one per quarter) from 0 to the last note's end; a note marks
// every beat from its start's to its end's, that one included; drums count. NaN when empty.
double empty_beat_rate(const Grid& g) {
  const int64_t length = g.end();
  if (length < 1) return kNaN;
  const int64_t beats = length / g.resolution + 1;
  std::vector<bool> sounding(static_cast<size_t>(beats), false);
  for (const GridNote& n : g.notes)
    for (int64_t b = n.start / g.resolution; b <= n.end / g.resolution; ++b) sounding[static_cast<size_t>(b)] = true;
  return 1.0 - double(std::count(sounding.begin(), sounding.end(), true)) / double(beats);
}

// MusPy groove_consistency: 1 - the mean Hamming distance between the onset patterns of
// neighbouring bars, per step of the bar; every note counts. NaN for fewer than two bars.
double groove_consistency(const Grid& g, int64_t bar) {
  if (bar < 1) return kNaN;
  const int64_t bars = g.end() / bar + 1;
  if (bars < 2) return kNaN;
  std::vector<bool> onsets(static_cast<size_t>(bars * bar), false);
  for (const GridNote& n : g.notes) onsets[static_cast<size_t>(n.start)] = true;
  int64_t distance = 0;
  for (int64_t k = bar; k < bars * bar; ++k)
    distance += onsets[static_cast<size_t>(k)] != onsets[static_cast<size_t>(k - bar)];
  return 1.0 - double(distance) / double(bar * (bars - 1));
}

// MusPy polyphony: pitches sounding per step, averaged over the steps where one sounds at least.
double polyphony(const Grid& g) {
  const auto steps = sounding_pitches(g);
  double pitch_steps = 0, busy_steps = 0;
  for (size_t k = 0; k + 1 < steps.size(); ++k) {
    const double span = double(steps[k + 1].first - steps[k].first);
    pitch_steps += span * steps[k].second;
    if (steps[k].second > 0) busy_steps += span;
  }
  return busy_steps > 0 ? pitch_steps / busy_steps : kNaN;
}

// MusPy polyphony_rate: the share of all steps (to the last note's end) where more than
// `threshold` pitches sound. MusPy's code counts `> threshold` with threshold 2, though its text
// says "multiple pitches": we follow the code, so that the values agree with MusPy's.
double polyphony_rate(const Grid& g, int threshold) {
  const int64_t length = g.end();
  if (length < 1) return kNaN;
  const auto steps = sounding_pitches(g);
  double crowded = 0;
  for (size_t k = 0; k + 1 < steps.size(); ++k)
    if (steps[k].second > threshold) crowded += double(steps[k + 1].first - steps[k].first);
  return crowded / double(length);
}

// MusPy scale_consistency: the largest share of pitched notes inside one major or minor scale
// (24 keys); NaN without pitched notes.
double scale_consistency(const Grid& g) {
  static constexpr int kMajor[12] = {1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1};
  static constexpr int kMinor[12] = {1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0};
  std::array<double, 12> counts{};
  double total = 0;
  for (const GridNote& n : g.notes)
    if (!n.drum) counts[static_cast<size_t>(n.pitch % 12)] += 1, total += 1;
  if (total < 1) return kNaN;
  double best = 0;
  for (const int* scale : {kMajor, kMinor})
    for (int root = 0; root < 12; ++root) {
      double inside = 0;
      for (int pc = 0; pc < 12; ++pc)
        if (scale[(pc - root + 12) % 12]) inside += counts[static_cast<size_t>(pc)];
      best = std::max(best, inside / total);
    }
  return best;
}

Features features_of(const Grid& g) {
  Features f;
  f.n_pitches_used = n_pitches_used(g);
  f.n_pitch_classes_used = n_pitch_classes_used(g);
  f.pitch_range = pitch_range(g);
  f.pitch_entropy = pitch_entropy(g);
  f.pitch_class_entropy = pitch_class_entropy(g);
  f.average_pitch_interval = average_pitch_interval(g);
  f.n_notes = n_notes(g);
  f.average_ioi = average_ioi(g);
  f.empty_beat_rate = empty_beat_rate(g);
  f.groove_consistency = groove_consistency(g, g.bar);
  f.polyphony = polyphony(g);
  f.polyphony_rate = polyphony_rate(g);
  f.scale_consistency = scale_consistency(g);
  f.pitch_class_histogram = pitch_class_histogram(g);
  f.note_length_histogram = note_length_histogram(g);
  f.pitch_class_transition_matrix = pitch_class_transition_matrix(g);
  return f;
}

}  // namespace legato::eval
