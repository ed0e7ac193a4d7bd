#pragma once
// The device seam's collective: a float32 buffer in GPU memory summed over the ranks of a job
// (data parallelism on GPUs, dist/), through NCCL where the build found it (engine/cuda/nccl.cpp;
// engine/without_nccl.cpp refuses elsewhere). The ranks meet through an id that one rank makes and
// the caller hands to the others (dist/ passes it through MPI): the engine knows no MPI.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace legato {

// Why this build cannot sum device buffers over ranks ("this build has no NCCL ..."); "" when it can.
std::string device_sum_problem();
// "NCCL 2.28.9" (the library's own version), for the trainer's first lines; "" without one.
std::string device_sum_version();
// NCCL's unique id (ncclGetUniqueId) as bytes: made by one rank, handed to every rank.
std::string make_device_sum_id();

class DeviceSum {
 public:
  virtual ~DeviceSum() = default;
  // values [n] float32 on this rank's GPU: replaced by their sum over the ranks, queued on the
  // engine's stream after the work that wrote them. Waits until the sum is done, calling
  // keep_waiting() about every millisecond: when it returns false (a rank is lost) the
  // communicator is aborted and a std::runtime_error thrown. A failing call throws, naming it.
  virtual void sum(float* values, int64_t n, const std::function<bool()>& keep_waiting) = 0;
};

// Joins communicator `id` as `rank` of `ranks` on the current GPU (use_cuda_device); returns
// when every rank has joined. Throws std::runtime_error naming the failing call.
std::unique_ptr<DeviceSum> join_device_sum(const std::string& id, int rank, int ranks);

}  // namespace legato
