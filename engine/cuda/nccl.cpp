// engine/device_sum.h on NCCL (the build's, or the emulator's stand-in in tests/cuda_emulator/nccl.cpp):
// one communicator per rank over the ranks' GPUs, the sum queued on the engine's stream.
#include <nccl.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "engine/cuda/runtime.h"
#include "engine/device_sum.h"
#include "kernels/cuda_check.h"

namespace legato {
namespace {

// Every NCCL call goes through this: a failure throws one line naming the call and NCCL's words,
// with the communicator's own last message where there is one.
void nccl_check(ncclResult_t result, const char* call, ncclComm_t comm = nullptr) {
  if (result == ncclSuccess) return;
  std::string why = ncclGetErrorString(result);
  if (const char* last = ncclGetLastError(comm); last != nullptr && last[0] != '\0')
    why += " (" + std::string(last) + ")";
  throw std::runtime_error(std::string("NCCL: ") + call + " failed: " + why);
}

class NcclSum final : public DeviceSum {
 public:
  NcclSum(const std::string& id, int rank, int ranks) {
    ncclUniqueId unique{};
    if (id.size() != sizeof unique.internal)
      throw std::invalid_argument("NCCL: an id of " + std::to_string(id.size()) + " bytes, not " +
                                  std::to_string(sizeof unique.internal) + " (not made by make_device_sum_id)");
    std::memcpy(unique.internal, id.data(), id.size());
    cuda::stream();  // the engine's stream, and with it the device's context, before NCCL's
    nccl_check(ncclCommInitRank(&comm_, ranks, unique, rank), "ncclCommInitRank");
  }
  ~NcclSum() override {
    if (comm_ != nullptr) ncclCommDestroy(comm_);  // nothing to say about a failure at exit
  }
  NcclSum(const NcclSum&) = delete;
  NcclSum& operator=(const NcclSum&) = delete;

  void sum(float* values, int64_t n, const std::function<bool()>& keep_waiting) override {
    const cudaStream_t stream = cuda::stream();
    nccl_check(ncclAllReduce(values, values, static_cast<size_t>(n), ncclFloat32, ncclSum, comm_, stream),
               "ncclAllReduce", comm_);
    wait(stream, keep_waiting);
  }

 private:
  // Polls the stream rather than blocking in it: a lost rank would leave NCCL's kernel waiting forever.
  void wait(cudaStream_t stream, const std::function<bool()>& keep_waiting) {
    for (int polls = 0;; ++polls) {
      const cudaError_t done = cudaStreamQuery(stream);
      if (done == cudaSuccess) return;
      if (done != cudaErrorNotReady) LEGATO_CUDA_CHECK(done);
      ncclResult_t async = ncclSuccess;
      nccl_check(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError", comm_);
      if (async != ncclInProgress) nccl_check(async, "ncclAllReduce (asynchronously)", comm_);
      if (!keep_waiting()) {
        ncclCommAbort(comm_);  // frees the stream of the kernel that waits for the lost rank
        comm_ = nullptr;
        throw std::runtime_error("NCCL: ncclAllReduce abandoned: a rank is lost");
      }
      if (polls > 1000) std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  ncclComm_t comm_ = nullptr;
};

}  // namespace

std::string device_sum_problem() {
  int version = 0;
  if (const ncclResult_t r = ncclGetVersion(&version); r != ncclSuccess)
    return std::string("NCCL does not answer (ncclGetVersion: ") + ncclGetErrorString(r) + ")";
  return "";
}

std::string device_sum_version() {
  int v = 0;
  if (ncclGetVersion(&v) != ncclSuccess) return "";
  // NCCL_VERSION(X, Y, Z) is X * 10000 + Y * 100 + Z since 2.9.
  return "NCCL " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

std::string make_device_sum_id() {
  ncclUniqueId id{};
  nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
  return std::string(id.internal, sizeof id.internal);
}

std::unique_ptr<DeviceSum> join_device_sum(const std::string& id, int rank, int ranks) {
  return std::make_unique<NcclSum>(id, rank, ranks);
}

}  // namespace legato
