// A stack of LSTM layers with dropout between them (engine/ops/lstm.h). The CPU has no wavefront
// to run: it is lstm() per layer and dropout() after each but the top, the graph those two ops
// record; on CUDA tensors the whole stack is one node (engine/cuda/lstm_stack.cpp).
#include <stdexcept>
#include <string>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/lstm.h"

namespace legato::ops {

Tensor lstm_stack(const Tensor& x, const std::vector<LstmWeights>& layers, const LstmStackOptions& options) {
  if (!x.defined()) throw std::invalid_argument("lstm_stack: x is undefined");
  if (layers.empty()) throw std::invalid_argument("lstm_stack: no layers");
  if (!(options.dropout >= 0 && options.dropout < 1))
    throw std::invalid_argument("lstm_stack: dropout must be in [0, 1), got " + std::to_string(options.dropout));
  if (options.chunk < 1) throw std::invalid_argument("lstm_stack: chunk must be positive");
  if (x.ndim() != 3) throw std::invalid_argument("lstm_stack: x must be [T, B, I], got " + x.describe());
  for (size_t l = 1; l < layers.size(); ++l)
    if (layers[l].input() != layers[l - 1].hidden())
      throw std::invalid_argument("lstm_stack: layer " + std::to_string(l) + "'s W_ih is " + layers[l].w_ih.describe() +
                                  " but the layer below has hidden size " + std::to_string(layers[l - 1].hidden()));
  const BatchSlice& part = options.slice;  // both devices draw the masks at these windows' places
  if (!part.whole() && (x.dim(1) != part.local || part.first < 0 || part.first + part.local > part.global))
    throw std::invalid_argument("lstm_stack: x " + x.describe() + " is not windows [" + std::to_string(part.first) +
                                ", " + std::to_string(part.first + part.local) + ") of a batch of " +
                                std::to_string(part.global));
  LEGATO_ROUTE_TO_CUDA(x, cuda_ops::lstm_stack(x, layers, options));
  Tensor y = x;
  const int num_layers = static_cast<int>(layers.size());
  uint64_t offset = options.offset;
  for (int l = 0; l < num_layers; ++l) {
    const bool top = l + 1 == num_layers;
    y = lstm(y, Tensor(), Tensor(), layers[static_cast<size_t>(l)], top && options.last_only, options.precision).y;
    if (!top && options.dropout > 0) {
      y = dropout(y, options.dropout, true, options.seed, offset, options.slice);
      offset += options.slice.whole_numel(y.numel());
    }
  }
  return y;
}

}  // namespace legato::ops
