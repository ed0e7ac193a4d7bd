#include "corpus/batches.h"

#include <stdexcept>

namespace legato::model {

std::vector<Example> make_examples(const Pieces& pieces, int64_t seq_len, bool all_steps, int64_t stride) {
  if (seq_len <= 0 || stride <= 0) throw std::invalid_argument("examples: sequence length and stride must be positive");
  std::vector<Example> out;
  for (size_t p = 0; p < pieces.size(); ++p) {
    const int64_t n = static_cast<int64_t>(pieces[p].size());
    const int64_t step = all_steps ? seq_len : stride;
    for (int64_t s = 0; s + seq_len + 1 <= n; s += step) out.push_back({static_cast<int32_t>(p), s});
  }
  return out;
}

void fill_batch(const Pieces& pieces, const Example* examples, int64_t batch, int64_t seq_len, bool all_steps,
                Tensor& tokens, Tensor& targets) {
  if (!tokens.defined() || tokens.shape() != Shape{seq_len, batch} || tokens.dtype() != DType::I32)
    tokens = Tensor::empty({seq_len, batch}, DType::I32);
  const Shape target_shape = all_steps ? Shape{seq_len * batch} : Shape{batch};
  if (!targets.defined() || targets.shape() != target_shape || targets.dtype() != DType::I32)
    targets = Tensor::empty(target_shape, DType::I32);
  int32_t* x = tokens.data<int32_t>();
  int32_t* y = targets.data<int32_t>();
  for (int64_t b = 0; b < batch; ++b) {
    const int32_t* ids = pieces[examples[b].piece].data() + examples[b].start;
    for (int64_t t = 0; t < seq_len; ++t) {
      x[t * batch + b] = ids[t];
      if (all_steps) y[t * batch + b] = ids[t + 1];
    }
    if (!all_steps) y[b] = ids[seq_len];
  }
}

}  // namespace legato::model
