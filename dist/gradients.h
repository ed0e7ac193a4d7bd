#pragma once
// The all-reduce of a data-parallel step: every rank's gradients, weighted by its share of the
// global batch, summed over the ranks in one flat buffer, so that every rank then takes the same
// optimiser step. A few scalars (the loss, the stop flags) ride in the same buffer.
#include <vector>

#include "dist/world.h"
#include "engine/nn/layers.h"

namespace legato::dist {

class GradientSum {
 public:
  // params: the model's parameters, float32 on the CPU (the flat buffer's layout follows their order).
  GradientSum(const World& world, nn::ParameterList params);
  // Each parameter's gradient g becomes the sum over ranks of weight_r * g_r (every rank builds
  // the same graph: a parameter the backward pass did not reach is left alone); extra [k] is summed alongside (the same
  // k on every rank). weight: this rank's share of the batch, windows / global batch (the loss is a mean over this
  // rank's windows).
  void sum(float weight, std::vector<float>& extra);
  int64_t values() const { return static_cast<int64_t>(flat_.size()); }  // the buffer, extras included

 private:
  const World& world_;
  nn::ParameterList params_;
  int64_t gradient_values_ = 0;
  std::vector<float> flat_;  // [sum of the parameters' sizes + extras]
};

}  // namespace legato::dist
