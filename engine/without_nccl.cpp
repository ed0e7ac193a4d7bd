// engine/device_sum.h in a build without NCCL (linked instead of engine/cuda/nccl.cpp).
#include <stdexcept>

#include "engine/device_sum.h"

namespace legato {
namespace {
constexpr const char* kNoNccl =
    "this build has no NCCL (install NCCL, which comes with the CUDA toolkit, and build again)";
}

std::string device_sum_problem() { return kNoNccl; }
std::string device_sum_version() { return ""; }
std::string make_device_sum_id() { throw std::logic_error(kNoNccl); }
std::unique_ptr<DeviceSum> join_device_sum(const std::string&, int, int) { throw std::logic_error(kNoNccl); }

}  // namespace legato
