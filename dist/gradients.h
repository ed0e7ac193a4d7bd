#pragma once
// The all-reduce of a data-parallel step: every rank's gradients, weighted by its share of the
// global batch, summed over the ranks in one flat buffer, so that every rank then takes the same
// optimiser step. A few scalars (the loss, the stop flags) ride in the same buffer. On the CPU the
// buffer is in host memory and MPI sums it; on GPUs it is in device memory and NCCL sums it
// (engine/device_sum.h), on the engine's stream after the backward pass.
#include <memory>
#include <vector>

#include "dist/world.h"
#include "engine/device_sum.h"
#include "engine/nn/layers.h"

namespace legato::dist {

class GradientSum {
 public:
  // params: the model's parameters, float32, all on the CPU or all on the GPU (the flat buffer's
  // layout follows their order). On the GPU every rank joins one NCCL communicator here, rank 0's
  // id passed to the others through MPI. Throws std::invalid_argument for other parameters,
  // std::runtime_error when NCCL fails (naming the call).
  GradientSum(const World& world, nn::ParameterList params);
  // Each parameter's gradient g becomes the sum over ranks of weight_r * g_r (every rank builds
  // the same graph: a parameter the backward pass did not reach is left alone); extra [k] is summed alongside (the same
  // k on every rank). weight: this rank's share of the batch, windows / global batch (the loss is a mean over this
  // rank's windows).
  void sum(float weight, std::vector<float>& extra);
  int64_t values() const { return gradient_values_ + extras_; }  // the buffer, extras included

 private:
  void sum_on_host(float weight, std::vector<float>& extra);
  void sum_on_device(float weight, std::vector<float>& extra);
  void sum_device_buffer();

  const World& world_;
  nn::ParameterList params_;
  Device device_ = Device::CPU;
  int64_t gradient_values_ = 0, extras_ = 0;
  std::vector<float> flat_;                // on the CPU: [sum of the parameters' sizes + extras]
  Tensor flat_device_;                     // on the GPU: the same, float32 in device memory
  std::unique_ptr<DeviceSum> device_sum_;  // on the GPU: the ranks' NCCL communicator
};

}  // namespace legato::dist
