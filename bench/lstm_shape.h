#pragma once
// What the GPU LSTM benchmarks share, with or without cuDNN: a stack's shape and one layer's
// weights on the host.
#include <vector>

namespace legato::bench {

struct LstmShape {
  int layers, input, hidden, batch, steps;
};

// One layer's weights in our (PyTorch) layout, host float32: w_ih [4H, in], w_hh [4H, H],
// b_ih, b_hh [4H], gates i, f, g, o.
struct HostLstmLayer {
  std::vector<float> w_ih, w_hh, b_ih, b_hh;
};

}  // namespace legato::bench
