// NCCL's sum of a device buffer (engine/device_sum.h), what the trainer's ranks on GPUs sum their
// gradients with: one rank on one GPU (tools/gpu_check.sh's nccl step runs this case on the card;
// the emulated suite on the emulator's NCCL). Several ranks are the MPI tests' (test_trainer_mpi.cpp).
// Skipped, with the reason, without a GPU or without NCCL.
#include <doctest/doctest.h>

#include <string>

#include "engine/device_sum.h"
#include "engine/ops.h"
#include "gpu.h"

using namespace legato;

namespace {

// A rank's part of the test: false, with the reason, where there is nothing to run it on.
bool nccl_here() {
  if (!testing::gpu_available()) {
    MESSAGE("skipped: no GPU (or no CUDA backend)");
    return false;
  }
  if (const std::string problem = device_sum_problem(); !problem.empty()) {
    MESSAGE("skipped: " << problem);
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("cuda: NCCL sums a device buffer over one rank on the engine's stream, and names a failing call") {
  if (!nccl_here()) return;
  MESSAGE(device_sum_version());
  CHECK(device_sum_version().rfind("NCCL 2.", 0) == 0);
  const std::string id = make_device_sum_id();
  CHECK(id.size() == 128);            // NCCL_UNIQUE_ID_BYTES
  CHECK(make_device_sum_id() != id);  // another id for another communicator
  const auto sum = join_device_sum(id, 0, 1);
  // An odd count (no whole vector of NCCL's), the buffer written on the stream just before: the
  // sum must wait for it. Over one rank the sum is the rank's own buffer, bit for bit.
  constexpr int64_t n = (int64_t{1} << 20) + 77;
  const Tensor values = Tensor::uniform({n}, -1, 1, 7);
  Tensor buffer = ops::scale(values.to(Device::CUDA), 2.0);  // x2: exact in float32
  int polls = 0;
  sum->sum(buffer.data<float>(), n, [&] { return ++polls > 0; });
  const Tensor back = buffer.to(Device::CPU);
  int64_t differing = 0;
  for (int64_t k = 0; k < n; ++k) differing += back.data<float>()[k] != 2 * values.data<float>()[k];
  CHECK(differing == 0);
  MESSAGE("polls while NCCL ran: " << polls);

  CHECK_THROWS_WITH_AS(join_device_sum("short", 0, 1), doctest::Contains("NCCL: an id of 5 bytes, not 128"),
                       std::invalid_argument);
  // Rank 1 of a communicator of 1: NCCL refuses it, and the error names the call.
  CHECK_THROWS_WITH_AS(join_device_sum(make_device_sum_id(), 1, 1),
                       doctest::Contains("NCCL: ncclCommInitRank failed: invalid argument"), std::runtime_error);
}
