#include "model/generator.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/ops/lstm.h"
#include "kernels/sampling.h"

namespace legato::model {

void check_sampling(const SamplingOptions& o) {
  if (o.greedy) return;  // argmax needs none of them
  if (!(o.temperature > 0)) throw std::invalid_argument("sample: temperature must be positive");
  if (o.top_k < 0) throw std::invalid_argument("sample: top-k must be >= 0");
  if (!(o.top_p > 0 && o.top_p <= 1)) throw std::invalid_argument("sample: top-p must be in (0, 1]");
}

int32_t sample_token(const float* logits, int64_t vocab, const SamplingOptions& o, std::mt19937_64& rng) {
  if (vocab <= 0) throw std::invalid_argument("sample: empty vocabulary");
  if (o.greedy) return static_cast<int32_t>(std::max_element(logits, logits + vocab) - logits);
  check_sampling(o);
  // Candidates by descending logit; softmax at the temperature over the kept ones.
  std::vector<int32_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  size_t keep = o.top_k > 0 ? std::min<size_t>(static_cast<size_t>(o.top_k), order.size()) : order.size();
  std::vector<double> p(keep);
  const double top = logits[order[0]];
  double total = 0;
  for (size_t k = 0; k < keep; ++k) total += p[k] = kernels::sampling_weight(logits[order[k]], top, o.temperature);
  if (o.top_p < 1) {
    double mass = 0;
    size_t k = 0;
    while (k < keep && !kernels::nucleus_reached(mass, o.top_p, total)) mass += p[k++];
    keep = std::max<size_t>(k, 1);
    p.resize(keep);
  }
  std::discrete_distribution<size_t> pick(p.begin(), p.end());
  return order[pick(rng)];
}

Generator::Generator(const MusicLSTM& net)
    : net_(net),
      dense1_(net.dense1().weight, net.dense1().bias, 1, net.precision()),
      dense2_(net.dense2().weight, net.dense2().bias, 1, net.precision()) {
  const ModelConfig& c = net.config();
  if (c.dtype != DType::F32) throw std::invalid_argument("generator: float32 models only");
  const Device d = net.device();  // the state lives with the weights
  for (int k = 0; k < c.layers; ++k) {
    h_.push_back(Tensor::zeros({1, c.hidden}, c.dtype, d));
    c_.push_back(Tensor::zeros({1, c.hidden}, c.dtype, d));
    gates_.push_back(Tensor::empty({1, 4 * c.hidden}, c.dtype, d));
    layers_.emplace_back(net.lstm().layers[k], 1,
                         net.precision());  // packed once for every token, at the model's precision
  }
  logits_ = Tensor::empty({1, c.vocab}, c.dtype);
}

void Generator::reset() {
  for (size_t k = 0; k < h_.size(); ++k) {
    h_[k].fill(0);
    c_[k].fill(0);
  }
}

void Generator::save(State& into) const {
  if (into.h.size() != h_.size()) {
    into.h.clear(), into.c.clear();
    for (size_t k = 0; k < h_.size(); ++k) into.h.push_back(h_[k].clone()), into.c.push_back(c_[k].clone());
    into.logits = logits_.clone();
    return;
  }
  for (size_t k = 0; k < h_.size(); ++k) into.h[k].copy_from(h_[k]), into.c[k].copy_from(c_[k]);
  into.logits.copy_from(logits_);
}

void Generator::restore(const State& from) {
  if (from.h.size() != h_.size()) throw std::invalid_argument("generator: restore of a state never saved");
  for (size_t k = 0; k < h_.size(); ++k) h_[k].copy_from(from.h[k]), c_[k].copy_from(from.c[k]);
  // A copy of its own: feed() replaces logits_ rather than writing into it, so the saved one stays.
  logits_ = from.logits.clone();
}

const Tensor& Generator::feed(int32_t token) {
  NoGradGuard guard;
  Tensor x = net_.embed_token(token);
  for (size_t k = 0; k < h_.size(); ++k) {
    ops::lstm_step(x, h_[k], c_[k], layers_[k], gates_[k]);
    x = h_[k];
  }
  DropoutStream unused;  // dropout is off at generation
  Tensor logits = net_.head(x, false, unused, std::cref(dense1_), std::cref(dense2_));
  logits_ = logits.device() == Device::CPU ? logits : logits.to(Device::CPU);  // sampling reads them on the host
  return logits_;
}

}  // namespace legato::model
