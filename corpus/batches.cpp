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
  write_batch(batch, seq_len, all_steps, tokens, targets,
              [&](int64_t b, int64_t t) { return pieces[examples[b].piece][examples[b].start + t]; });
}

}  // namespace legato::model
