// The LSTM on CUDA: the whole sequence as one autograd node over engine/cuda/lstm_sequence.cpp
// (cuBLAS products and the fused cell kernels), and the graph-free step of generation.
#include "engine/ops/lstm.h"
#include "engine/autograd.h"
#include "engine/cuda/common.h"
#include "engine/cuda/gemm.h"
#include "engine/cuda/lstm_sequence.h"
#include "kernels/elementwise.h"
#include "kernels/lstm.h"

namespace legato::cuda_ops {
namespace {

void check_all(const char* op, const Tensor& x, const Tensor& h0, const Tensor& c0, const ops::LstmWeights& w) {
  detail::check(op, x, "x");
  if (h0.defined()) detail::check(op, h0, "h0");
  if (c0.defined()) detail::check(op, c0, "c0");
  detail::check(op, w.w_ih, "W_ih");
  detail::check(op, w.w_hh, "W_hh");
  detail::check(op, w.b_ih, "b_ih");
  detail::check(op, w.b_hh, "b_hh");
}

// Where a gradient goes: the input's own buffer, or (when it takes none) a scratch of its shape
// that the kernels may write and nobody reads.
Tensor grad_or_scratch(const Tensor& input) {
  Tensor g = grad_buffer(input);
  return g.defined() ? g : Tensor::zeros(input.shape(), DType::F32, Device::CUDA);
}

}  // namespace

ops::LstmOutputs lstm(const Tensor& x, const Tensor& h0, const Tensor& c0, const ops::LstmWeights& w, bool last_only,
                      Precision precision) {
  const char* op = "lstm";
  check_all(op, x, h0, c0, w);
  const int64_t steps = x.dim(0), batch = x.dim(1), hidden = w.hidden(), G = 4 * hidden;
  const cuda::LstmDims dims{detail::as_int(op, steps), detail::as_int(op, batch), detail::as_int(op, x.dim(2)),
                            detail::as_int(op, hidden)};
  detail::as_int(op, steps * batch * G);  // the cuBLAS products index the whole gate cache
  Tensor gate_cache = Tensor::empty({steps, batch, G}, DType::F32, Device::CUDA);  // activated i, f, g, o
  Tensor hs = Tensor::empty({steps, batch, hidden}, DType::F32, Device::CUDA);     // h_t for every step
  Tensor cs = Tensor::empty({steps, batch, hidden}, DType::F32, Device::CUDA);     // c_t for every step
  detail::with_context(op, {x, w.w_ih, w.w_hh}, [&] {
    cuda::lstm_forward_cuda(cuda::blas(precision), cuda::stream(), dims, detail::f32(x), detail::f32_or_null(h0),
                            detail::f32_or_null(c0), detail::f32(w.w_ih), detail::f32(w.w_hh), detail::f32(w.b_ih),
                            detail::f32(w.b_hh), detail::f32(gate_cache), detail::f32(hs), detail::f32(cs));
  });

  const ops::LstmOutputs out = ops::sequence_outputs(hs, cs, last_only);

  record(op, {x, h0, c0, w.w_ih, w.w_hh, w.b_ih, w.b_hh}, {out.y, out.h_n, out.c_n},
         [=](const std::vector<Tensor>& grads) {
           const Tensor &gy = grads[0], &gh_n = grads[1], &gc_n = grads[2];
           detail::with_context(op, {x, w.w_ih, w.w_hh}, [&] {
             // With last_only, y is h_n: its gradient joins h_n's as the carry into the last step.
             Tensor dh_last = gh_n;
             if (last_only && gy.defined()) {
               dh_last = gy.clone();
               if (gh_n.defined()) legato::accumulate(dh_last, gh_n);
             }
             const Tensor dy = last_only ? Tensor() : gy;  // [T, B, H] or none
             Tensor dgates = Tensor::empty({steps, batch, G}, DType::F32, Device::CUDA);
             Tensor dh = Tensor::empty({batch, hidden}, DType::F32, Device::CUDA);
             Tensor dc = Tensor::empty({batch, hidden}, DType::F32, Device::CUDA);
             // The kernels write dx, dh0 and dc0 and add into the weights' gradients; the engine's
             // rule is to add, so the written ones land in scratch first.
             Tensor dx = x.requires_grad() ? Tensor::empty(x.shape(), DType::F32, Device::CUDA) : Tensor();
             Tensor dh0 = h0.requires_grad() ? Tensor::empty(h0.shape(), DType::F32, Device::CUDA) : Tensor();
             Tensor dc0 = c0.requires_grad() ? Tensor::empty(c0.shape(), DType::F32, Device::CUDA) : Tensor();
             Tensor dw_ih = grad_or_scratch(w.w_ih), dw_hh = grad_or_scratch(w.w_hh);
             Tensor db = Tensor::zeros({G}, DType::F32, Device::CUDA);  // shared by b_ih and b_hh
             auto ptr = [](Tensor& t) { return t.defined() ? detail::f32(t) : nullptr; };
             cuda::lstm_backward_cuda(cuda::blas(precision), cuda::stream(), dims, detail::f32(x),
                                      detail::f32_or_null(h0), detail::f32_or_null(c0), detail::f32(w.w_ih),
                                      detail::f32(w.w_hh), detail::f32(gate_cache), detail::f32(hs), detail::f32(cs),
                                      detail::f32_or_null(dy), detail::f32_or_null(dh_last), detail::f32_or_null(gc_n),
                                      ptr(dx), ptr(dh0), ptr(dc0), detail::f32(dw_ih), detail::f32(dw_hh),
                                      detail::f32(db), detail::f32(dgates), detail::f32(dh), detail::f32(dc));
             for (const Tensor* b : {&w.b_ih, &w.b_hh})
               if (Tensor g = grad_buffer(*b); g.defined()) legato::accumulate(g, db);
             if (Tensor g = grad_buffer(x); g.defined()) legato::accumulate(g, dx);
             if (Tensor g = grad_buffer(h0); g.defined()) legato::accumulate(g, dh0);
             if (Tensor g = grad_buffer(c0); g.defined()) legato::accumulate(g, dc0);
           });
         });
  return out;
}

void lstm_step(const Tensor& x, Tensor& h, Tensor& c, const ops::LstmWeights& w, Tensor& gates, Precision precision) {
  const char* op = "lstm_step";
  check_all(op, x, h, c, w);
  detail::check(op, gates, "gates");
  const int batch = detail::as_int(op, x.dim(0)), input = detail::as_int(op, x.dim(1)),
            hidden = detail::as_int(op, w.hidden()), G = 4 * hidden;
  detail::with_context(op, {x, h, w.w_ih}, [&] {
    // gates [B, 4H] = x W_ih^T + h W_hh^T; the cell kernel adds both biases and updates c and h in place.
    cuda::gemm_rm(cuda::blas(precision), false, true, batch, G, input, 1.0f, detail::f32(x), input, detail::f32(w.w_ih),
                  input, 0.0f, detail::f32(gates), G);
    cuda::gemm_rm(cuda::blas(precision), false, true, batch, G, hidden, 1.0f, detail::f32(h), hidden,
                  detail::f32(w.w_hh), hidden, 1.0f, detail::f32(gates), G);
    kernels::lstm_cell_forward_launch(detail::f32(gates), detail::f32(w.b_ih), detail::f32(w.b_hh), detail::f32(c),
                                      detail::f32(gates), detail::f32(c), detail::f32(h), batch, hidden,
                                      cuda::stream());
  });
}

}  // namespace legato::cuda_ops
