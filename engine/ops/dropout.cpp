// Inverted dropout with a counter-based mask (kernels/philox.h): the mask depends only on
// (seed, offset, element index), so CPU and GPU draw the same one and a gradient check can fix it.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "engine/allocator.h"
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/eigen_maps.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "kernels/philox.h"

namespace legato::ops {
namespace {

// Mask elements keep[0, n) (1 where the element is kept, else 0) from the stream's elements
// [start, start + n), and the output out[i] = x[i] · its multiplier in the same pass (x, out
// [n]): the product is exact either way, and a separate pass would read x back from memory on
// one thread. A byte per element, not the float multiplier: the backward reads a quarter as much.
template <class T>
void draw_mask(uint8_t* keep, const T* x, T* out, int64_t n, int64_t start, uint64_t seed, T p) {
  // One Philox call yields the uniforms of four consecutive stream elements (see philox.h):
  // walk the stream by counter, not by element. The counters whose four elements all lie in
  // the tensor run as SIMD lanes (Philox is 32-bit integer arithmetic: sixteen counters per
  // AVX-512 instruction) split across threads; the at most two counters at the ends that hold
  // elements outside it run one by one.
  const int64_t first = start >> 2, last = (start + n + 3) >> 2;
  const int64_t whole_first = std::min((start + 3) >> 2, last), whole_last = std::max((start + n) >> 2, whole_first);
  const auto draw = [&](int64_t counter, int lane, uint32_t word) {
    const int64_t i = counter * 4 + lane - start;
    const bool kept = kernels::dropout_keeps(kernels::uniform_from_word(word), p);
    out[i] = x[i] * kernels::dropout_kept_multiplier(kept, p);
    return uint32_t{kept} << (8 * lane);
  };
#pragma omp parallel for simd schedule(simd : static) if (n >= 65536)
  for (int64_t counter = whole_first; counter < whole_last; ++counter) {
    const kernels::Philox4 r = kernels::philox4x32_10(static_cast<uint64_t>(counter), seed);
    // The counter's four keep bytes in one 4-byte store (x86 is little-endian): four byte
    // stores a lane apart kept GCC from vectorising this loop at all (Philox ran scalar).
    uint32_t bytes = 0;
    for (int lane = 0; lane < 4; ++lane) bytes |= draw(counter, lane, r.v[lane]);
    std::memcpy(keep + counter * 4 - start, &bytes, sizeof bytes);
  }
  const auto partial = [&](int64_t counter) {
    const kernels::Philox4 r = kernels::philox4x32_10(static_cast<uint64_t>(counter), seed);
    for (int lane = 0; lane < 4; ++lane)
      if (const int64_t i = counter * 4 + lane - start; i >= 0 && i < n) keep[i] = draw(counter, lane, r.v[lane]) != 0;
  };
  for (int64_t counter = first; counter < whole_first; ++counter) partial(counter);
  for (int64_t counter = whole_last; counter < last; ++counter) partial(counter);
}

// The mask of x [..., local, F] (slice: which part of the batch), each run of local * F elements
// drawn where it lies in the whole batch's stream: one run when x is the whole batch; out = x · m.
template <class T>
void draw_sliced_mask(uint8_t* keep, const Tensor& x, T* out, int64_t offset, uint64_t seed, T p,
                      const BatchSlice& slice) {
  const T* xs = x.data<T>();
  if (slice.whole()) return draw_mask(keep, xs, out, x.numel(), offset, seed, p);
  const int64_t inner = x.dim(x.ndim() - 1), span = slice.local * inner;
  for (int64_t row = 0; row * span < x.numel(); ++row)
    draw_mask(keep + row * span, xs + row * span, out + row * span, span,
              offset + static_cast<int64_t>(slice.whole_index(static_cast<uint64_t>(row * span), inner)), seed, p);
}

// gx [n] += g [n] · m [n] (m: keep [n]'s multipliers), split across threads (one thread would
// leave the other core idle over the whole [T, B, H] gradient); fresh: gx is unwritten, and
// gets 0 + g · m, what the addition to a zeroed buffer gave, without the zeroing and its read.
template <class T>
void accumulate_masked(T* gx, const T* g, const uint8_t* keep, int64_t n, T p, bool fresh) {
  if (fresh) {
#pragma omp parallel for simd schedule(static) if (n >= 65536)
    for (int64_t i = 0; i < n; ++i) gx[i] = T(0) + g[i] * kernels::dropout_kept_multiplier(keep[i] != 0, p);
    return;
  }
#pragma omp parallel for simd schedule(static) if (n >= 65536)
  for (int64_t i = 0; i < n; ++i) gx[i] += g[i] * kernels::dropout_kept_multiplier(keep[i] != 0, p);
}

void check_slice(const Tensor& x, const BatchSlice& slice) {
  const bool fits = slice.local > 0 && slice.first >= 0 && slice.first + slice.local <= slice.global;
  if (!fits || (!slice.whole() && (x.ndim() == 0 || x.numel() % (slice.local * x.dim(x.ndim() - 1)) != 0)))
    throw std::invalid_argument("dropout: x " + x.describe() + " is not windows [" + std::to_string(slice.first) +
                                ", " + std::to_string(slice.first + slice.local) + ") of a batch of " +
                                std::to_string(slice.global));
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, uint64_t seed, uint64_t offset, const BatchSlice& slice) {
  const char* op = "dropout";
  if (!(p >= 0.0 && p < 1.0)) throw std::invalid_argument("dropout: p must be in [0, 1), got " + std::to_string(p));
  if (!x.defined()) throw std::invalid_argument("dropout: x is undefined");
  if (!training || p == 0.0) return x;
  check_slice(x, slice);
  LEGATO_ROUTE_TO_CUDA(x, cuda_ops::dropout(x, p, seed, offset, slice));
  detail::check_cpu(op, x, "x");
  // Which elements were kept, in the tensors' block cache (a training step's masks are the same
  // size every step: no pages are faulted in after the first).
  const size_t keep_bytes = static_cast<size_t>(std::max<int64_t>(x.numel(), 1));
  std::shared_ptr<uint8_t> keep(static_cast<uint8_t*>(host_allocate(keep_bytes)),
                                [keep_bytes](uint8_t* block) { host_release(block, keep_bytes); });
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    draw_sliced_mask(keep.get(), x, out.data<T>(), static_cast<int64_t>(offset), seed, T(p), slice);
  });
  record(op, {x}, {out}, [=](const std::vector<Tensor>& grads) {
    bool fresh = false;
    Tensor gx = grad_buffer(x, &fresh);
    dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      accumulate_masked(gx.data<T>(), grads[0].data<T>(), keep.get(), gx.numel(), T(p), fresh);
    });
  });
  return out;
}

}  // namespace legato::ops
