#include "midi/restrike.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

namespace legato::midi {

int end_restruck_notes(Score& score) {
  // Each key's notes (channel, program, pitch), by start, the longest first at a shared start.
  std::map<std::tuple<int, int, int>, std::vector<size_t>> strikes;
  for (size_t i = 0; i < score.notes.size(); ++i) {
    const Note& n = score.notes[i];
    strikes[{n.channel, n.program, n.pitch}].push_back(i);
  }
  std::vector<bool> dropped(score.notes.size(), false);
  int changed = 0;
  for (auto& [key, notes] : strikes) {
    std::stable_sort(notes.begin(), notes.end(), [&](size_t a, size_t b) {
      const Note &x = score.notes[a], &y = score.notes[b];
      return x.start_tick != y.start_tick ? x.start_tick < y.start_tick : x.duration_ticks > y.duration_ticks;
    });
    for (size_t k = 0; k + 1 < notes.size(); ++k) {
      Note& held = score.notes[notes[k]];
      const Note& next = score.notes[notes[k + 1]];
      if (held.end_tick() <= next.start_tick) continue;
      ++changed;
      if (next.start_tick == held.start_tick) {
        dropped[notes[k + 1]] = true;       // the same key struck twice at once: one strike, the longer
        std::swap(notes[k], notes[k + 1]);  // the kept note goes on to meet the following strike
      } else {
        held.duration_ticks = next.start_tick - held.start_tick;
      }
    }
  }
  if (changed == 0) return 0;
  size_t kept = 0;
  for (size_t i = 0; i < score.notes.size(); ++i)
    if (!dropped[i]) score.notes[kept++] = score.notes[i];
  score.notes.resize(kept);
  score.update_times();
  return changed;
}

}  // namespace legato::midi
