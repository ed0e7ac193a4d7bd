#pragma once
// The activations the tests loop over (gradient checks, float32 against float64, the GPU against
// the CPU): adding an activation adds its row here, and every one of those checks covers it.
#include <vector>

#include "engine/ops.h"

namespace legato::testing {

struct ActivationCase {
  const char* name;
  Tensor (*apply)(const Tensor&);
};

inline const std::vector<ActivationCase>& activations() {
  static const std::vector<ActivationCase> list = {{"sigmoid", ops::sigmoid}, {"tanh", ops::tanh}, {"relu", ops::relu}};
  return list;
}

}  // namespace legato::testing
