#include "model/evaluate.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/eigen_maps.h"
#include "engine/ops.h"

namespace legato::model {

EvalResult evaluate(const MusicLSTM& net, const Pieces& pieces, int64_t seq_len, int64_t batch, int64_t max_windows) {
  std::vector<Example> all = make_examples(pieces, seq_len, false, 1);
  std::vector<Example> windows;
  const int64_t n = static_cast<int64_t>(all.size());
  const int64_t count = std::min(n, max_windows);
  for (int64_t k = 0; k < count; ++k) windows.push_back(all[static_cast<size_t>(k * n / count)]);
  EvalResult result;
  if (windows.empty()) return result;
  NoGradGuard guard;
  DropoutStream unused;
  Tensor tokens, targets;
  double total_loss = 0;
  int64_t correct = 0;
  for (size_t at = 0; at < windows.size(); at += static_cast<size_t>(batch)) {
    const int64_t b = std::min<int64_t>(batch, static_cast<int64_t>(windows.size() - at));
    fill_batch(pieces, windows.data() + at, b, seq_len, false, tokens, targets);
    const Tensor logits = net.forward(tokens, true, false, unused);  // on the model's device
    const Tensor loss =
        ops::cross_entropy_logits(logits, net.device() == Device::CPU ? targets : targets.to(net.device()));
    total_loss += loss.item() * static_cast<double>(b);
    const Tensor host_logits = logits.device() == Device::CPU ? logits : logits.to(Device::CPU);
    auto z = as_matrix<float>(host_logits, b);
    for (int64_t r = 0; r < b; ++r) {
      Eigen::Index best;
      z.row(r).maxCoeff(&best);
      correct += best == targets.data<int32_t>()[r];
    }
  }
  result.predictions = static_cast<int64_t>(windows.size());
  result.loss = total_loss / static_cast<double>(result.predictions);
  result.perplexity = std::exp(result.loss);
  result.accuracy = static_cast<double>(correct) / static_cast<double>(result.predictions);
  return result;
}

}  // namespace legato::model
