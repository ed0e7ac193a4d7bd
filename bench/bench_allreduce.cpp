// The all-reduce of a data-parallel step (dist/): the seed network's gradients (its parameter
// count, float32) summed over the ranks of an MPI job, as the trainer does once per step.
//   mpirun -np 2 build/bin/bench_allreduce [--values N] [--reps R] [--blocking]
// --blocking times MPI_Allreduce itself instead of the trainer's polled MPI_Iallreduce (what the
// watchdog costs).
// Rank 0 prints the median, fastest and slowest time of R sums and the bus bandwidth
// (2 (N - 1) / N * bytes / time, as NCCL's tests report it).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <mpi.h>
#include <CLI/CLI.hpp>

#include "dist/world.h"
#include "model/checkpoint.h"
#include "model/music_lstm.h"
#include "model/presets.h"

int main(int argc, char** argv) {
  CLI::App app{"Times the all-reduce of the seed network's gradients over the ranks of an MPI job.", "bench_allreduce"};
  int64_t values = 0;  // 0: the seed network's parameter count
  int reps = 20;
  app.add_option("--values", values, "Floats to sum (default: the seed network's parameters)");
  app.add_option("--reps", reps, "Sums timed (after 3 untimed)")->check(CLI::Range(1, 100000));
  bool blocking = false;
  app.add_flag("--blocking", blocking, "Time MPI_Allreduce itself, not the trainer's polled sum");
  CLI11_PARSE(app, argc, argv);
  using namespace legato;
  dist::World& world = dist::World::get();
  if (values == 0) {
    model::ModelConfig config = model::preset("seed").model;
    config.vocab = 90;  // the seed corpus's vocabulary, near enough: the LSTM dominates
    for (const auto& p : model::MusicLSTM(config, nn::Init::Uninitialised).parameters()) values += p.tensor.numel();
  }
  std::vector<float> buffer(static_cast<size_t>(values), 1.0f);
  std::vector<double> seconds;
  for (int k = 0; k < reps + 3; ++k) {
    world.barrier(world.timeout(), "starting a sum");
    const auto t0 = std::chrono::steady_clock::now();
    if (blocking)
      MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(values), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    else
      world.sum(buffer.data(), values);
    if (k >= 3) seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2], bytes = 4.0 * static_cast<double>(values);
  const double n = world.size();
  if (world.root())
    std::printf(
        "%s\n%s all-reduce of %lld floats (%.1f MB): median %.2f ms (fastest %.2f, slowest %.2f) over %d; "
        "bus bandwidth %.2f GB/s\n",
        world.describe().c_str(), blocking ? "blocking" : "polled", static_cast<long long>(values), bytes / 1e6,
        1e3 * median, 1e3 * seconds[0], 1e3 * seconds.back(), reps, 2 * (n - 1) / n * bytes / median / 1e9);
  return world.finish(0);
}
