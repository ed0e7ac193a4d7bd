#include "train/evaluate.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/eigen_maps.h"
#include "engine/ops.h"

namespace legato::model {

EvalResult evaluate(const MusicLSTM& net, const Pieces& pieces, int64_t seq_len, int64_t batch, int64_t max_windows) {
  // Window k * n / count of the n stride-1 windows, found by walking the pieces (a list of all n
  // would cost 16 bytes per validation token).
  int64_t n = 0;
  for (const auto& p : pieces) n += std::max<int64_t>(0, static_cast<int64_t>(p.size()) - seq_len);
  const int64_t count = std::min(n, max_windows);
  std::vector<Example> windows;
  size_t piece = 0;
  int64_t before = 0;  // windows in the pieces before `piece`
  for (int64_t k = 0; k < count; ++k) {
    const int64_t wanted = k * n / count;
    auto windows_of = [&](size_t p) { return std::max<int64_t>(0, static_cast<int64_t>(pieces[p].size()) - seq_len); };
    while (wanted >= before + windows_of(piece)) before += windows_of(piece++);
    windows.push_back({static_cast<int32_t>(piece), wanted - before});
  }
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
