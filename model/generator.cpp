#include "model/generator.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/eigen_maps.h"
#include "engine/ops.h"
#include "engine/ops/lstm.h"

namespace legato::model {

int32_t sample_token(const float* logits, int64_t vocab, const SamplingOptions& o, std::mt19937_64& rng) {
  if (vocab <= 0) throw std::invalid_argument("sample: empty vocabulary");
  if (o.greedy) return static_cast<int32_t>(std::max_element(logits, logits + vocab) - logits);
  if (!(o.temperature > 0)) throw std::invalid_argument("sample: temperature must be positive");
  if (o.top_k < 0) throw std::invalid_argument("sample: top-k must be >= 0");
  if (!(o.top_p > 0 && o.top_p <= 1)) throw std::invalid_argument("sample: top-p must be in (0, 1]");
  // Candidates by descending logit; softmax at the temperature over the kept ones.
  std::vector<int32_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  size_t keep = o.top_k > 0 ? std::min<size_t>(static_cast<size_t>(o.top_k), order.size()) : order.size();
  std::vector<double> p(keep);
  const double top = logits[order[0]];
  double total = 0;
  for (size_t k = 0; k < keep; ++k) total += p[k] = std::exp((logits[order[k]] - top) / o.temperature);
  if (o.top_p < 1) {
    double mass = 0;
    size_t k = 0;
    while (k < keep && mass < o.top_p * total) mass += p[k++];
    keep = std::max<size_t>(k, 1);
    p.resize(keep);
  }
  std::discrete_distribution<size_t> pick(p.begin(), p.end());
  return order[pick(rng)];
}

Generator::Generator(const MusicLSTM& net) : net_(net) {
  const ModelConfig& c = net.config();
  const Device d = net.device();  // the state lives with the weights; logits_ on the host
  for (int k = 0; k < c.layers; ++k) {
    h_.push_back(Tensor::zeros({1, c.hidden}, c.dtype, d));
    c_.push_back(Tensor::zeros({1, c.hidden}, c.dtype, d));
    gates_.push_back(Tensor::empty({1, 4 * c.hidden}, c.dtype, d));
  }
  x_ = Tensor::zeros({1, c.input == InputKind::Embedding ? c.embedding_dim : 1}, c.dtype, d);
  hidden_ = Tensor::empty({1, c.dense}, c.dtype);
  logits_ = Tensor::empty({1, c.vocab}, c.dtype);
  if (c.dtype != DType::F32) throw std::invalid_argument("generator: float32 models only");
}

void Generator::reset() {
  for (size_t k = 0; k < h_.size(); ++k) {
    h_[k].fill(0);
    c_[k].fill(0);
  }
}

const Tensor& Generator::feed(int32_t token) {
  const ModelConfig& c = net_.config();
  if (token < 0 || token >= c.vocab)
    throw std::out_of_range("generator: token " + std::to_string(token) + " outside the vocabulary of " +
                            std::to_string(c.vocab));
  NoGradGuard guard;
  if (c.input == InputKind::Embedding) {
    x_.copy_from(net_.embedding().weight.rows(token, 1));
  } else {
    x_.fill(static_cast<double>(token) / static_cast<double>(c.vocab));
  }
  const Tensor* input = &x_;
  for (int k = 0; k < c.layers; ++k) {
    ops::lstm_step(*input, h_[k], c_[k], net_.lstm().layers[k], gates_[k]);
    input = &h_[k];
  }
  if (net_.device() != Device::CPU) {  // the dense layers as ops on the GPU, the logits copied back
    Tensor hidden = net_.dense1()(*input);
    if (c.dense_relu) hidden = ops::relu(hidden);
    logits_.copy_from(net_.dense2()(hidden));
    return logits_;
  }
  // The dense layers by hand: dense1 (+ ReLU), dense2; dropout is off at generation.
  const Tensor &w1 = net_.dense1().weight, &b1 = net_.dense1().bias, &w2 = net_.dense2().weight,
               &b2 = net_.dense2().bias;
  auto hid = as_matrix<float>(hidden_, 1);
  hid.noalias() = as_matrix<float>(*input, 1) * as_matrix<float>(w1, c.dense).transpose();
  hid += as_matrix<float>(b1, 1);
  if (c.dense_relu) hid = hid.cwiseMax(0.0f);
  auto out = as_matrix<float>(logits_, 1);
  out.noalias() = hid * as_matrix<float>(w2, c.vocab).transpose();
  out += as_matrix<float>(b2, 1);
  return logits_;
}

}  // namespace legato::model
