#include "engine/nn/layers.h"

#include <stdexcept>

#include "engine/nn/init.h"
#include "engine/ops.h"

namespace legato::nn {
namespace {

// A trainable parameter: made by `random` unless the caller will overwrite it.
template <class Make>
Tensor parameter(Init init, const Shape& shape, DType dtype, Make random) {
  return (init == Init::Random ? random() : Tensor::empty(shape, dtype)).set_requires_grad(true);
}

}  // namespace

StackedLstm::StackedLstm(int64_t input, int64_t hidden, int num_layers, uint64_t seed, DType dtype, Init init) {
  if (input <= 0 || hidden <= 0 || num_layers <= 0)
    throw std::invalid_argument("lstm: input, hidden and layers must be positive, got " + std::to_string(input) + ", " +
                                std::to_string(hidden) + ", " + std::to_string(num_layers));
  for (int k = 0; k < num_layers; ++k) {
    const int64_t in = k == 0 ? input : hidden;
    ops::LstmWeights w;
    w.w_ih =
        parameter(init, {4 * hidden, in}, dtype, [&] { return glorot_uniform(4 * hidden, in, seed + 2 * k, dtype); });
    w.w_hh = parameter(init, {4 * hidden, hidden}, dtype,
                       [&] { return orthogonal(4 * hidden, hidden, seed + 2 * k + 1, dtype); });
    w.b_ih = parameter(init, {4 * hidden}, dtype, [&] {
      Tensor b = Tensor::zeros({4 * hidden}, dtype);
      b.rows(hidden, hidden).fill(1.0);  // forget gate starts open so early training keeps the cell state
      return b;
    });
    w.b_hh = parameter(init, {4 * hidden}, dtype, [&] { return Tensor::zeros({4 * hidden}, dtype); });
    layers.push_back(w);
  }
}

ParameterList StackedLstm::parameters(const std::string& prefix) const {
  ParameterList list;
  for (size_t k = 0; k < layers.size(); ++k) {
    const std::string l = "_l" + std::to_string(k);
    list.push_back({prefix + "weight_ih" + l, layers[k].w_ih});
    list.push_back({prefix + "weight_hh" + l, layers[k].w_hh});
    list.push_back({prefix + "bias_ih" + l, layers[k].b_ih});
    list.push_back({prefix + "bias_hh" + l, layers[k].b_hh});
  }
  return list;
}

Linear::Linear(int64_t in, int64_t out, uint64_t seed, DType dtype, Init init)
    : weight(parameter(init, {out, in}, dtype, [&] { return glorot_uniform(out, in, seed, dtype); })),
      bias(parameter(init, {out}, dtype, [&] { return Tensor::zeros({out}, dtype); })) {}

Tensor Linear::operator()(const Tensor& x, Precision precision) const {
  return ops::linear(x, weight, bias, precision);
}

ParameterList Linear::parameters(const std::string& prefix) const {
  return {{prefix + "weight", weight}, {prefix + "bias", bias}};
}

Embedding::Embedding(int64_t vocab, int64_t width, uint64_t seed, DType dtype, Init init)
    : weight(parameter(init, {vocab, width}, dtype, [&] {
        return Tensor::uniform({vocab, width}, -0.05, 0.05, seed, dtype);
      })) {}

Tensor Embedding::operator()(const Tensor& indices) const { return ops::embedding(weight, indices); }

ParameterList Embedding::parameters(const std::string& prefix) const { return {{prefix + "weight", weight}}; }

}  // namespace legato::nn
