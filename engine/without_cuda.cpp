// What the engine's device seams answer in a build without the CUDA backend (linked instead of
// engine/cuda/, so that no file needs an #if): no GPU, and no CUDA tensor can be made.
#include <stdexcept>

#include "engine/backend.h"
#include "engine/device.h"
#include "engine/generate.h"

namespace legato {
namespace {

constexpr const char* kNoBackend = "this build has no CUDA backend (configure with -DLEGATO_CUDA=ON where nvcc exists)";

// Refuses the first step of every CUDA tensor (its storage); nothing else can be reached.
class AbsentDevice final : public DeviceInterface {
 public:
  void* allocate(size_t) override { throw std::invalid_argument(std::string("tensor: ") + kNoBackend); }
  void release(void*, size_t) override {}
  void copy_bytes(void*, Device, const void*, Device, size_t) override { allocate(0); }
  void zero_bytes(void*, size_t) override { allocate(0); }
  void fill_f32(float*, int64_t, float) override { allocate(0); }
};

}  // namespace

DeviceInterface& cuda_device_interface() {
  static AbsentDevice device;
  return device;
}

bool cuda_built() { return false; }
int cuda_device_count() { return 0; }
void use_cuda_device(int) { throw std::invalid_argument(std::string("use_cuda_device: ") + kNoBackend); }
std::string device_description() { return "cpu"; }
void synchronize_device() {}

std::string generation_problem(const GenerateWeights&, kernels::GeneratePlan*) {
  return "this build has no CUDA backend";
}

std::vector<int32_t> generate_on_device(const GenerateWeights&, const kernels::GeneratePlan&,
                                        const std::vector<int32_t>&, int64_t, const kernels::GenerateSampling&,
                                        const std::vector<int32_t>&, int32_t,
                                        const std::function<bool(const std::vector<int32_t>&)>&, std::vector<float>*) {
  throw std::logic_error(std::string("generate_on_device: ") + kNoBackend);
}

}  // namespace legato
