#include "midi/score.h"

#include <algorithm>

namespace legato::midi {

double Score::seconds_at(int64_t tick) const {
  if (smpte) return double(tick) / smpte_ticks_per_second;
  // Last tempo change at or before tick; before the first one the default tempo holds.
  auto after = std::upper_bound(tempo_map.begin(), tempo_map.end(), tick,
                                [](int64_t t, const TempoChange& c) { return t < c.tick; });
  int64_t base_tick = 0;
  double base_seconds = 0;
  int micros = kDefaultMicrosPerQuarter;
  if (after != tempo_map.begin()) {
    const TempoChange& c = *(after - 1);
    base_tick = c.tick;
    base_seconds = c.seconds;
    micros = c.micros_per_quarter;
  }
  return base_seconds + double(tick - base_tick) * micros * 1e-6 / ticks_per_quarter;
}

void Score::update_tempo_seconds() {
  int64_t tick = 0;
  double seconds = 0;
  int micros = kDefaultMicrosPerQuarter;
  for (TempoChange& c : tempo_map) {
    seconds += smpte ? double(c.tick - tick) / smpte_ticks_per_second
                     : double(c.tick - tick) * micros * 1e-6 / ticks_per_quarter;
    tick = c.tick;
    micros = c.micros_per_quarter;
    c.seconds = seconds;
  }
}

void Score::update_times() {
  update_tempo_seconds();
  NoteTimes times(*this);
  for (Note& n : notes) times.set(n);
}

const TempoChange* SecondsAt::search(int64_t tick) {
  const auto& map = score_.tempo_map;
  after_ = size_t(
      std::upper_bound(map.begin(), map.end(), tick, [](int64_t t, const TempoChange& c) { return t < c.tick; }) -
      map.begin());
  return after_ ? &map[after_ - 1] : nullptr;
}

int64_t Score::end_tick() const {
  int64_t end = 0;
  for (const Note& n : notes) end = std::max(end, n.end_tick());
  return end;
}

}  // namespace legato::midi
