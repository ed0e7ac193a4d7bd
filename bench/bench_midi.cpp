// The MIDI reader's speed (issue 28): every file of a folder, read from memory on one core into
// notes (paired, times converted), by today's reader (`read_folder_fast`) and, side by side in the
// same run, by the reader as it was before (`read_folder_reference`,
// tests/test_midi_reference_reader.h); and `load_folder_fast`, the same from the files on disk. MB/s counts
// the files' bytes; notes/s the notes built. Each benchmark first checks that both readers build
// the same notes from every file, so a figure never stands for different work.
//   bench_midi [--benchmark_...] [FOLDER]   (or LEGATO_MIDI_DIR=FOLDER; e.g. ../shared/data/seed-midi)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "midi/loader.h"
#include "midi/reader.h"
#include "test_midi_reference_reader.h"

using namespace legato;

namespace {

struct File {
  std::string name;
  std::vector<uint8_t> bytes;
};

// The folder's MIDI files in memory, so the benchmark times the reader, not the disk.
std::vector<File>& corpus() {
  static std::vector<File> files;
  return files;
}
std::filesystem::path& folder() {
  static std::filesystem::path path;
  return path;
}

std::vector<File> load(const std::filesystem::path& folder) {
  std::vector<File> files;
  for (const auto& path : midi::find_midi_files({folder})) {
    std::ifstream in(path, std::ios::binary);
    files.push_back({path.string(), {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()}});
  }
  return files;
}

// Reads every file once with `read`; files the reader refuses count their bytes but no notes.
template <class Read>
int64_t read_all(Read&& read) {
  int64_t notes = 0;
  for (const File& f : corpus()) {
    try {
      const midi::Score score = read(f);
      notes += int64_t(score.notes.size());
      benchmark::DoNotOptimize(score.notes.data());
    } catch (const midi::MidiError&) {
    }
  }
  return notes;
}

bool same_notes(const midi::Score& a, const midi::Score& b) {
  if (a.notes.size() != b.notes.size()) return false;
  for (size_t i = 0; i < a.notes.size(); ++i) {
    const midi::Note &x = a.notes[i], &y = b.notes[i];
    if (x.pitch != y.pitch || x.velocity != y.velocity || x.channel != y.channel || x.program != y.program ||
        x.track != y.track || x.start_tick != y.start_tick || x.duration_ticks != y.duration_ticks ||
        x.start_seconds != y.start_seconds || x.duration_seconds != y.duration_seconds)
      return false;
  }
  return true;
}

// The first file whose notes the two readers disagree on, or "" (tests/test_midi_speed.cpp checks
// far more than notes; this only keeps a benchmark honest on the folder it times).
std::string first_disagreement() {
  for (const File& f : corpus()) {
    try {
      if (!same_notes(midi::read_midi(f.bytes, f.name), midi::reference::read_midi(f.bytes, f.name))) return f.name;
    } catch (const midi::MidiError&) {
    }
  }
  return "";
}

template <class Read>
void run(benchmark::State& state, Read&& read) {
  if (const std::string bad = first_disagreement(); !bad.empty()) {
    state.SkipWithError(("the readers disagree on " + bad).c_str());
    return;
  }
  int64_t bytes = 0, notes = 0;
  for (const File& f : corpus()) bytes += int64_t(f.bytes.size());
  for (auto _ : state) notes = read_all(read);
  state.SetBytesProcessed(state.iterations() * bytes);  // shown in MiB/s (bytes_per_second)
  // MB/s of 10^6 bytes, as issue 28 counts them (symusic's 700 MB/s, the 350 MB/s goal).
  state.counters["MB"] = benchmark::Counter(double(bytes) * 1e-6, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["notes/s"] = benchmark::Counter(double(notes), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["files"] = double(corpus().size());
  state.counters["notes"] = double(notes);
}

void BM_read_folder_fast(benchmark::State& state) {
  run(state, [](const File& f) { return midi::read_midi(f.bytes, f.name); });
}
void BM_read_folder_reference(benchmark::State& state) {
  run(state, [](const File& f) { return midi::reference::read_midi(f.bytes, f.name); });
}
// What a program (or legato.read_folder) does: the folder searched, each file read from disk (the
// page cache, after the first run), every score kept until the end, as a corpus load keeps them.
void BM_load_folder_fast(benchmark::State& state) {
  int64_t bytes = 0, notes = 0;
  for (const File& f : corpus()) bytes += int64_t(f.bytes.size());
  for (auto _ : state) {
    std::vector<midi::Score> scores;
    for (const auto& path : midi::find_midi_files({folder()})) {
      try {
        scores.push_back(midi::read_midi_file(path));
      } catch (const midi::MidiError&) {
      }
    }
    notes = 0;
    for (const auto& s : scores) notes += int64_t(s.notes.size());
  }
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["MB"] = benchmark::Counter(double(bytes) * 1e-6, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["notes/s"] = benchmark::Counter(double(notes), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_read_folder_fast)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_load_folder_fast)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_read_folder_reference)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  for (int k = 1; k < argc; ++k)
    if (std::string_view(argv[k]) == "--help" || std::string_view(argv[k]) == "-h") {
      std::printf(
          "bench_midi [--benchmark_...] [FOLDER]\n"
          "  Reads every .mid/.midi file under FOLDER (or $LEGATO_MIDI_DIR) from memory with the MIDI\n"
          "  reader and with the reference (pre-issue-28) reader; reports MB/s and notes/s.\n");
      return 0;
    }
  benchmark::Initialize(&argc, argv);
  const char* env = std::getenv("LEGATO_MIDI_DIR");
  if (argc > 2 || (argc < 2 && !env)) {
    std::fprintf(stderr, "bench_midi: name one folder of MIDI files (argument or LEGATO_MIDI_DIR); see --help\n");
    return 2;
  }
  folder() = argc == 2 ? argv[1] : env;
  try {
    corpus() = load(folder());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_midi: %s\n", e.what());
    return 2;
  }
  if (corpus().empty()) {
    std::fprintf(stderr, "bench_midi: %s holds no .mid or .midi file\n", folder().c_str());
    return 2;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
