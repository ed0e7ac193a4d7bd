#include "model/bar_rests.h"

#include <algorithm>
#include <cmath>

#include "midi/tokenizer_event.h"

namespace legato::model {
namespace {

const midi::EventTokenizer kGrid;  // the event scheme's grid: what a grid step is in ticks

}  // namespace

std::vector<int64_t> bar_lines(const midi::Score& score, int64_t to, size_t count) {
  std::vector<int64_t> lines;
  int64_t tick = 0;
  int numerator = 4, denominator = 4;
  size_t next = 0;
  while (lines.size() < count) {
    const int64_t step = kGrid.to_steps(tick, score.ticks_per_quarter);
    if (step > to) break;
    lines.push_back(step);
    for (; next < score.time_signatures.size() && score.time_signatures[next].tick <= tick; ++next)
      numerator = score.time_signatures[next].numerator, denominator = score.time_signatures[next].denominator;
    tick += std::max<int64_t>(1, int64_t(score.ticks_per_quarter) * 4 * numerator / denominator);
  }
  return lines;
}

std::vector<LineRest> line_rests(const midi::Score& score, const std::vector<int64_t>& lines, int64_t from, int64_t to,
                                 int64_t skip_from, int64_t skip_to) {
  std::vector<int64_t> onsets;  // the pitched notes' onsets in grid steps, ascending, each once
  for (const midi::Note& n : score.notes)
    if (!n.is_drum()) onsets.push_back(kGrid.to_steps(n.start_tick, score.ticks_per_quarter));
  std::sort(onsets.begin(), onsets.end());
  onsets.erase(std::unique(onsets.begin(), onsets.end()), onsets.end());
  std::vector<LineRest> rests;
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    const int64_t before = lines[i - 1], line = lines[i], after = lines[i + 1];
    const auto outside = [&](int64_t a, int64_t b) { return a >= from && b <= to && (b <= skip_from || a >= skip_to); };
    if (!outside(before, line)) continue;
    LineRest r{line, {}, -1};
    const auto at = std::lower_bound(onsets.begin(), onsets.end(), line);  // the first onset at or after the line
    for (auto o = at; o != onsets.begin() && *(o - 1) >= before; --o) r.struck.push_back(line - *(o - 1));
    if (outside(line, after) && at != onsets.end() && *at < after) r.next = *at - line;
    rests.push_back(std::move(r));
  }
  return rests;
}

RestCounts rest_counts(const std::vector<LineRest>& rests, int64_t after) {
  RestCounts counts;
  const auto add = [](std::vector<double>& to, int64_t R) {
    if (to.size() <= static_cast<size_t>(R)) to.resize(static_cast<size_t>(R) + 1);
    to[static_cast<size_t>(R)] += 1;
  };
  for (const LineRest& r : rests) {
    if (r.struck.empty() || (after >= 0 && r.next < 0)) continue;
    const int64_t moved = after >= 0 ? r.next - after : 0;
    if (r.rest() + moved < 1) continue;
    add(counts.last, r.rest() + moved);
    for (const int64_t R : r.struck) add(counts.struck, R + moved);
  }
  counts.last.resize(counts.struck.size());
  return counts;
}

double rest_hazard(const RestCounts& counts, int64_t R, double p, double strength) {
  double lines = 0, nearer = 0;  // the lines counted, and those whose rest was R or less
  for (size_t r = 1; r < counts.last.size(); ++r) {
    lines += counts.last[r];
    if (static_cast<int64_t>(r) <= R) nearer += counts.last[r];
  }
  double piece = p;
  if (static_cast<size_t>(R) < counts.struck.size() && counts.struck[static_cast<size_t>(R)] > 0)
    piece = (counts.last[static_cast<size_t>(R)] + p) / (counts.struck[static_cast<size_t>(R)] + 1);
  else if (lines > 0 && nearer <= 0)
    piece = (lines + p) / (lines + 1);
  return p + strength * (piece - p);
}

void RestGuide::bias(float* logits, int64_t vocab, const midi::EventGrammar& grammar, int64_t last_onset) const {
  const int64_t now = grammar.now();
  if (!active() || last_onset != now) return;
  const auto line = std::find_if(lines_.begin(), lines_.end(), [&](const Line& l) { return l.step > now; });
  if (line == lines_.end()) return;
  const int64_t R = line->step - now;
  // The shifts' probabilities, relative to their largest logit: the one that lands on the line,
  // those past it, and those short of it.
  double top = -INFINITY;
  for (int32_t id = 0; id < vocab; ++id)
    if (grammar.shift_of(id) > 0 && logits[id] > -1e29f) top = std::max(top, double(logits[id]));
  if (!std::isfinite(top)) return;
  double land = 0, past = 0, stay = 0;
  int32_t land_id = -1;
  for (int32_t id = 0; id < vocab; ++id) {
    const int shift = grammar.shift_of(id);
    if (shift <= 0 || logits[id] <= -1e29f) continue;
    const double e = std::exp(double(logits[id]) - top);
    (shift == R ? land : shift > R ? past : stay) += e;
    if (shift == R) land_id = id;
  }
  const double total = land + past + stay;
  const double p = (land + past) / total;
  if (land_id < 0 || stay <= 0) return;  // no choice to steer
  const double h = std::clamp(rest_hazard(line->counts, R, p, strength_), 1e-4, 1 - 1e-4);
  // Less to reach the line: all that reach it in proportion. More: the shift that lands on it takes
  // the difference, so that the piece's rest before the line does not become the network's rest
  // after it (the shifts past the line keep what the network gave them: empty beats as often).
  const double scale_stay = (1 - h) / (1 - p), scale_reach = h < p ? h / p : 1.0;
  for (int32_t id = 0; id < vocab; ++id) {
    const int shift = grammar.shift_of(id);
    if (shift > 0 && logits[id] > -1e29f)
      logits[id] += static_cast<float>(std::log(shift < R ? scale_stay : scale_reach));
  }
  if (h > p) logits[land_id] = static_cast<float>(top + std::log(land + (h - p) * total));
}

}  // namespace legato::model
