// make_corpus: a deterministic synthetic corpus of N MIDI files for bench/corpus_scale.sh, with
// no download. Each file splices two stretches of source pieces, re-timed (tempo scaled by
// 0.8..1.25) and transposed (-5..+5 semitones, where the notes stay in range). The sources are
// the MIDI files of --from (the seed corpus, when the machine has it), or else pieces this
// program composes itself from a seeded random walk. File k depends only on k and the sources.
//   make_corpus N OUT_DIR [--from DIR]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "midi/loader.h"
#include "midi/tokenizer.h"
#include "midi/writer.h"

using namespace legato;

namespace {

// A piano piece with a drum part: a melody walking a scale, chords every beat, a kick and a hat.
midi::Score composed(uint64_t seed) {
  std::mt19937_64 rng(seed);
  midi::Score score;
  score.ticks_per_quarter = 480;
  int pitch = 60 + static_cast<int>(rng() % 12);
  for (int k = 0; k < 1200; ++k) {
    const int64_t t = 240 * k;
    pitch = std::clamp(pitch + static_cast<int>(rng() % 7) - 3, 40, 88);
    score.notes.push_back(
        {pitch, 70 + static_cast<int>(rng() % 40), 0, 0, 0, t, 240 * (1 + static_cast<int>(rng() % 2))});
    if (k % 2 == 0)
      for (const int step : {-12, -8, -5}) score.notes.push_back({pitch + step, 60, 1, 48, 0, t, 480});
    if (k % 4 == 0) score.notes.push_back({36, 100, midi::kDrumChannel, 0, 0, t, 120});
    score.notes.push_back({42, 60, midi::kDrumChannel, 0, 0, t, 60});
  }
  std::sort(score.notes.begin(), score.notes.end(),
            [](const midi::Note& a, const midi::Note& b) { return a.start_tick < b.start_tick; });
  score.update_times();
  return score;
}

// Notes [first, first + count) of the source, shifted to start at `at`, re-timed by num/den.
void splice(const midi::Score& from, size_t first, size_t count, int64_t at, int num, int den, int shift,
            midi::Score& into) {
  if (from.notes.empty()) return;
  first = std::min(first, from.notes.size() - 1);
  const size_t last = std::min(from.notes.size(), first + count);
  const int64_t origin = from.notes[first].start_tick;
  const double ticks = 480.0 / from.ticks_per_quarter;
  for (size_t k = first; k < last; ++k) {
    midi::Note n = from.notes[k];
    n.start_tick = at + static_cast<int64_t>(static_cast<double>(n.start_tick - origin) * ticks * num / den);
    n.duration_ticks =
        std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(n.duration_ticks) * ticks * num / den));
    if (!n.is_drum()) n.pitch = std::clamp(n.pitch + shift, 0, 127);
    into.notes.push_back(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && !(argc == 5 && std::string(argv[3]) == "--from")) {
    std::cerr << "usage: make_corpus N OUT_DIR [--from DIR]\n";
    return 2;
  }
  const long n = std::strtol(argv[1], nullptr, 10);
  if (n < 1 || n > 10000000) {
    std::cerr << "make_corpus: N must be 1..10000000\n";
    return 2;
  }
  const std::filesystem::path out = argv[2];
  std::vector<midi::Score> sources;
  if (argc == 5 && std::filesystem::is_directory(argv[4])) {
    std::ostringstream ignored;
    for (auto& s : midi::load_midi_files({argv[4]}, ignored).scores)
      if (s.score.notes.size() >= 50) sources.push_back(std::move(s.score));
  }
  if (sources.empty())
    for (uint64_t k = 0; k < 16; ++k) sources.push_back(composed(k));
  std::filesystem::create_directories(out);
  for (long k = 0; k < n; ++k) {
    std::mt19937_64 rng(static_cast<uint64_t>(k) * 0x9E3779B97F4A7C15ull + 16);
    const midi::Score& a = sources[rng() % sources.size()];
    const midi::Score& b = sources[rng() % sources.size()];
    midi::Score score;
    score.ticks_per_quarter = 480;
    const int num = 4 + static_cast<int>(rng() % 2), den = 4 + static_cast<int>(rng() % 2);  // 0.8 .. 1.25
    const int shift = static_cast<int>(rng() % 11) - 5;
    const size_t count = 150 + rng() % 300;
    splice(a, rng() % a.notes.size(), count, 0, num, den, shift, score);
    const int64_t end = score.notes.empty() ? 0 : score.notes.back().start_tick + 480;
    splice(b, rng() % b.notes.size(), count, end, num, den, shift, score);
    std::stable_sort(score.notes.begin(), score.notes.end(),
                     [](const midi::Note& x, const midi::Note& y) { return x.start_tick < y.start_tick; });
    score.update_times();
    char name[32];
    std::snprintf(name, sizeof name, "%03ld/%07ld.mid", k / 1000, k);
    std::filesystem::create_directories((out / name).parent_path());  // 1,000 files a folder
    midi::write_midi_file(score, out / name);
  }
  std::cout << "make_corpus: " << n << " files in " << out.string() << " (" << sources.size()
            << (argc == 5 ? " source pieces)\n" : " composed source pieces)\n");
  return 0;
}
