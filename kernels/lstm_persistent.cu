// The persistent generator (lstm_persistent.h): one cooperative launch composes a whole piece.
// Version 4 (bench/results/notes.md): one block per SM, weights in shared memory as float32 rows
// (strides without bank conflicts), the lanes of a row adding their sums by warp shuffles; each
// block publishes its part of every layer's h, of dense1's output (unless folded into dense2) and
// of the logits with a ready flag (ready_flags.cuh) that only the consumers wait for: L + 1 waits
// per token folded (4 for the seed network), L + 2 unfolded, no grid barrier; each layer's
// h_{t-1} is read between its release and its wait; sampling is repeated by every block on the
// same logits, so that the chosen token needs no further wait.
#if defined(__CUDACC__)
#include <cooperative_groups.h>
#endif

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "cuda_check.h"
#include "dynamic_shared.cuh"
#include "elementwise.h"
#include "launch.h"
#include "lstm.h"
#include "lstm_persistent.h"
#include "philox.h"
#include "ready_flags.cuh"
#include "sampling.h"

namespace legato::kernels {
namespace {

// What each block owns: `units` units of every layer, `dense_rows` rows of dense1, `vocab_rows`
// rows of dense2 (the last blocks may own fewer, or none).
struct Split {
  int units, dense_rows, vocab_rows;
};

// The threads that share one row in block_matvec, for `rows` rows on `threads` threads: the
// largest power of two that gives every row as many (1 when there are more rows than threads).
__host__ __device__ inline int row_share(int rows, int threads) {
  const int per_pass = rows < 1 ? 1 : (rows < threads ? rows : threads);
  int share = 1;
  while (2 * share * per_pass <= threads) share *= 2;
  return share;
}

// A row stride (in floats, at least `cols`) without bank conflicts for block_matvec's reads: the
// `share` lanes of a row read consecutive columns and a warp covers 32 / share rows, so rows that
// start `share` banks apart (stride = share mod 32) put the warp's 32 reads on 32 different banks
// (share 1: 32 rows, one column, stride odd; share 32 or more: one row, any stride).
__host__ __device__ inline int row_stride(int cols, int rows, int threads) {
  const int want = row_share(rows, threads) % 32;
  int stride = cols;
  while (stride % 32 != want) ++stride;
  return stride;
}

// Byte offsets into a block's dynamic shared memory; the host sizes the launch with the same function.
struct Layout {
  size_t weights, scan_a, scan_b;                          // double [sort_size], [threads], [threads]
  size_t keys, index, partial, red_value, red_index, pre;  // float / int scratch
  size_t x;                                                // float [max(I_0 + H, 2H, D)]: the block's input vector
  size_t w[kMaxGenerateLayers], b_ih[kMaxGenerateLayers], b_hh[kMaxGenerateLayers], c[kMaxGenerateLayers];
  size_t d1_w, d1_b, d2_w, d2_b;
  int stride_w[kMaxGenerateLayers], stride_d1, stride_d2;  // row strides (row_stride) of w, d1_w, d2_w
  size_t total;
  int sort_size;  // the vocabulary rounded up to a power of two (the bitonic sort's size)
};

// The size of dense2's input: dense1's output, or h of the last layer when the head is folded.
__host__ __device__ inline int head_input(const GenerateNetwork& n) { return n.head_folded ? n.hidden : n.dense; }

__host__ __device__ inline Layout layout_of(const GenerateNetwork& n, Split s, int threads) {
  Layout l{};
  size_t at = 0;
  auto take = [&](size_t count, size_t element) {
    const size_t offset = at;
    at += (count * element + 15) / 16 * 16;  // every array 16-byte aligned
    return offset;
  };
  l.sort_size = 1;
  while (l.sort_size < n.vocab) l.sort_size *= 2;
  l.weights = take(l.sort_size, sizeof(double));
  l.scan_a = take(threads, sizeof(double));
  l.scan_b = take(threads, sizeof(double));
  l.keys = take(l.sort_size, sizeof(float));
  l.index = take(l.sort_size, sizeof(int));
  l.partial = take(threads, sizeof(float));
  l.red_value = take(threads, sizeof(float));
  l.red_index = take(threads, sizeof(int));
  int rows = 4 * s.units;
  if (s.dense_rows > rows) rows = s.dense_rows;
  if (s.vocab_rows > rows) rows = s.vocab_rows;
  l.pre = take(rows, sizeof(float));
  int x = n.input + n.hidden;
  if (2 * n.hidden > x) x = 2 * n.hidden;
  if (n.dense > x) x = n.dense;
  l.x = take(x, sizeof(float));
  for (int k = 0; k < n.layers; ++k) {
    const int input = k == 0 ? n.input : n.hidden;
    l.stride_w[k] = row_stride(input + n.hidden, 4 * s.units, threads);
    l.w[k] = take(static_cast<size_t>(4 * s.units) * l.stride_w[k], sizeof(float));
    l.b_ih[k] = take(4 * s.units, sizeof(float));
    l.b_hh[k] = take(4 * s.units, sizeof(float));
    l.c[k] = take(s.units, sizeof(float));
  }
  l.stride_d1 = row_stride(n.hidden, s.dense_rows, threads);
  l.stride_d2 = row_stride(head_input(n), s.vocab_rows, threads);
  l.d1_w = take(static_cast<size_t>(s.dense_rows) * l.stride_d1, sizeof(float));
  l.d1_b = take(s.dense_rows, sizeof(float));
  l.d2_w = take(static_cast<size_t>(s.vocab_rows) * l.stride_d2, sizeof(float));
  l.d2_b = take(s.vocab_rows, sizeof(float));
  l.total = at;
  return l;
}

__device__ inline int clamp_rows(int total, int first, int per_block) {
  const int left = total - first;
  return left < 0 ? 0 : (left < per_block ? left : per_block);
}

// out [rows] = W [rows, cols] (row stride `stride`) x [cols], all in shared memory; partial
// [blockDim.x / 32] is scratch. row_share(rows) consecutive lanes share a row: each adds every
// share-th product on four independent accumulators (four loads in flight instead of one chain
// of dependent adds), then the lanes of a row add their sums by a butterfly of warp shuffles (a
// fixed tree: deterministic, and every lane ends with the same bits); rows shared by more than a
// warp add the warps' sums in warp order. Every thread of the block calls it.
__device__ void block_matvec(const float* w, int stride, int rows, int cols, const float* x, float* partial,
                             float* out) {
  const int threads = static_cast<int>(blockDim.x), t = static_cast<int>(threadIdx.x);
  const int share = row_share(rows, threads), per_pass = threads / share, r = t / share, s = t % share;
  const int width = share < 32 ? share : 32, warps_per_row = share / width;
  for (int base = 0; base < rows; base += per_pass) {
    const bool mine = base + r < rows;
    float acc = 0.0f;
    if (mine) {
      const float* row = w + static_cast<size_t>(base + r) * stride;
      float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
      int k = s;
      for (; k + 3 * share < cols; k += 4 * share) {
        a0 += row[k] * x[k];
        a1 += row[k + share] * x[k + share];
        a2 += row[k + 2 * share] * x[k + 2 * share];
        a3 += row[k + 3 * share] * x[k + 3 * share];
      }
      for (; k < cols; k += share) a0 += row[k] * x[k];
      acc = (a0 + a1) + (a2 + a3);
    }
    // Every lane takes part (a full mask), those without a row with zeros.
    for (int offset = width / 2; offset > 0; offset /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, offset, width);
    if (warps_per_row == 1) {
      if (mine && s == 0) out[base + r] = acc;
    } else {
      if (t % 32 == 0) partial[t / 32] = acc;
      __syncthreads();
      if (mine && s == 0) {
        float sum = 0.0f;
        for (int i = 0; i < warps_per_row; ++i) sum += partial[t / 32 + i];
        out[base + r] = sum;
      }
    }
    __syncthreads();
  }
}

// to [H] = from [H] (another block's h, through L2: __ldcg), or zeros when `from` is null (the
// state before the first step). Every thread of the block calls it.
__device__ inline void prefetch_h(float* to, const float* from, int H) {
  for (int i = static_cast<int>(threadIdx.x); i < H; i += static_cast<int>(blockDim.x))
    to[i] = from ? __ldcg(from + i) : 0.0f;
}

// True when (key a, index ia) comes before (b, ib) in descending order, ties by the lower index.
__device__ inline bool before(float a, int ia, float b, int ib) { return a > b || (a == b && ia < ib); }

// The index of the first largest of keys [n] (std::max_element's choice); every thread gets it.
__device__ int block_argmax(const float* keys, int n, float* red_value, int* red_index) {
  const int threads = static_cast<int>(blockDim.x), t = static_cast<int>(threadIdx.x);
  float best = -INFINITY;
  int best_index = n;
  for (int i = t; i < n; i += threads)
    if (best_index == n || keys[i] > best) best = keys[i], best_index = i;
  red_value[t] = best;
  red_index[t] = best_index;
  __syncthreads();
  for (int stride = threads / 2; stride > 0; stride /= 2) {
    if (t < stride && red_index[t + stride] < n &&
        (red_index[t] == n || before(red_value[t + stride], red_index[t + stride], red_value[t], red_index[t]))) {
      red_value[t] = red_value[t + stride];
      red_index[t] = red_index[t + stride];
    }
    __syncthreads();
  }
  const int result = red_index[0];
  __syncthreads();  // the scratch is reused next
  return result;
}

// The number of threads' `count`s summed over the block; every thread gets it.
__device__ int block_sum(int count, int* red_index) {
  const int t = static_cast<int>(threadIdx.x);
  red_index[t] = count;
  __syncthreads();
  for (int stride = static_cast<int>(blockDim.x) / 2; stride > 0; stride /= 2) {
    if (t < stride) red_index[t] += red_index[t + stride];
    __syncthreads();
  }
  const int result = red_index[0];
  __syncthreads();
  return result;
}

// Sorts (keys, index) [n], n a power of two, into descending order (ties: lower index first).
__device__ void bitonic_sort_descending(float* keys, int* index, int n) {
  const int threads = static_cast<int>(blockDim.x), t = static_cast<int>(threadIdx.x);
  for (int k = 2; k <= n; k *= 2)
    for (int j = k / 2; j > 0; j /= 2) {
      for (int i = t; i < n; i += threads) {
        const int p = i ^ j;
        if (p <= i) continue;
        const bool descending = (i & k) == 0;
        if (descending == before(keys[p], index[p], keys[i], index[i])) {
          const float key = keys[i];
          keys[i] = keys[p];
          keys[p] = key;
          const int id = index[i];
          index[i] = index[p];
          index[p] = id;
        }
      }
      __syncthreads();
    }
}

// w [n] becomes its inclusive prefix sums: each thread adds a contiguous chunk, the chunks' totals
// are scanned in a fixed tree (deterministic).
__device__ void block_inclusive_scan(double* w, int n, double* scan_a, double* scan_b) {
  const int threads = static_cast<int>(blockDim.x), t = static_cast<int>(threadIdx.x);
  const int chunk = (n + threads - 1) / threads, begin = t * chunk, end = begin + chunk < n ? begin + chunk : n;
  double local = 0;
  for (int i = begin; i < end; ++i) local += w[i];
  scan_a[t] = local;
  __syncthreads();
  double* src = scan_a;
  double* dst = scan_b;
  for (int offset = 1; offset < threads; offset *= 2) {
    dst[t] = src[t] + (t >= offset ? src[t - offset] : 0.0);
    __syncthreads();
    double* swap = src;
    src = dst;
    dst = swap;
  }
  double running = t > 0 ? src[t - 1] : 0.0;
  for (int i = begin; i < end; ++i) w[i] = running += w[i];
  __syncthreads();
}

// The next token from the logits [V] (global memory, written by every block), by
// model::sample_token's rules; every block computes the same one. Greedy: the first largest.
// Otherwise the candidates in descending order (sorted only when top-k or top-p need the order:
// for temperature alone any order gives the same distribution), weights relative to the top
// logit, top-k, then the nucleus, then the pick with Philox uniform (seed, token number).
__device__ int block_sample(const float* logits, const GenerateNetwork& net, const GenerateSampling& s,
                            const GenerateRun& run, int generated, const Layout& lay, unsigned char* smem) {
  const int threads = static_cast<int>(blockDim.x), t = static_cast<int>(threadIdx.x), vocab = net.vocab;
  float* keys = reinterpret_cast<float*>(smem + lay.keys);
  int* index = reinterpret_cast<int*>(smem + lay.index);
  float* red_value = reinterpret_cast<float*>(smem + lay.red_value);
  int* red_index = reinterpret_cast<int*>(smem + lay.red_index);
  double* w = reinterpret_cast<double*>(smem + lay.weights);
  for (int i = t; i < lay.sort_size; i += threads) {
    // Banned tokens as model::compose bans them on the CPU; the padding sorts last.
    keys[i] = i < vocab ? (run.banned && run.banned[i] ? -1e30f : __ldcg(logits + i)) : -INFINITY;
    index[i] = i;
  }
  __syncthreads();
  if (s.greedy) return block_argmax(keys, vocab, red_value, red_index);
  const bool sorted = s.top_k > 0 || s.top_p < 1;
  if (sorted) bitonic_sort_descending(keys, index, lay.sort_size);
  const double top = keys[sorted ? 0 : block_argmax(keys, vocab, red_value, red_index)];
  int keep = s.top_k > 0 && s.top_k < vocab ? s.top_k : vocab;
  for (int i = t; i < keep; i += threads) w[i] = sampling_weight(keys[i], top, s.temperature);
  __syncthreads();
  block_inclusive_scan(w, keep, reinterpret_cast<double*>(smem + lay.scan_a),
                       reinterpret_cast<double*>(smem + lay.scan_b));
  if (s.top_p < 1) {
    // model::sample_token keeps adding candidates while the nucleus is not reached: as many as
    // prefix sums short of it, plus the one that reaches it.
    const double total = w[keep - 1];
    int short_of = 0;
    for (int i = t; i < keep; i += threads) short_of += !nucleus_reached(w[i], s.top_p, total);
    const int k = block_sum(short_of, red_index) + 1;
    keep = k < keep ? k : keep;
  }
  const double target = philox_uniform(s.seed, 0, static_cast<uint64_t>(generated)) * w[keep - 1];
  int below = 0;  // candidates whose prefix sum is <= target: the pick is the first one past it
  for (int i = t; i < keep; i += threads) below += w[i] <= target;
  int pick = block_sum(below, red_index);
  if (pick > keep - 1) pick = keep - 1;
  return index[pick];
}

// The block's weights into shared memory, once for the whole piece: its units [u0, u0 + nu) of
// every layer, its rows [d0, d0 + nd) of dense1 and [v0, v0 + nv) of dense2; the cell state at zero.
__device__ void load_weights(const GenerateNetwork& net, const Layout& lay, unsigned char* smem, int u0, int nu, int d0,
                             int nd, int v0, int nv) {
  auto at = [&](size_t offset) { return reinterpret_cast<float*>(smem + offset); };
  const int t = static_cast<int>(threadIdx.x), threads = static_cast<int>(blockDim.x);
  const int H = net.hidden, L = net.layers, head_in = head_input(net);
  // Row r of a layer's slice is gate r / nu of unit u0 + r % nu: [w_ih row | w_hh row].
  for (int k = 0; k < L; ++k) {
    const int input = k == 0 ? net.input : H, cols = input + H, stride = lay.stride_w[k];
    float* w = at(lay.w[k]);
    for (int e = t; e < 4 * nu * cols; e += threads) {
      const int r = e / cols, col = e % cols, row = (r / nu) * H + u0 + r % nu;
      w[r * stride + col] = col < input ? net.layer[k].w_ih[static_cast<size_t>(row) * input + col]
                                        : net.layer[k].w_hh[static_cast<size_t>(row) * H + col - input];
    }
    for (int r = t; r < 4 * nu; r += threads) {
      const int row = (r / nu) * H + u0 + r % nu;
      at(lay.b_ih[k])[r] = net.layer[k].b_ih[row];
      at(lay.b_hh[k])[r] = net.layer[k].b_hh[row];
    }
    for (int j = t; j < nu; j += threads) at(lay.c[k])[j] = 0.0f;  // the state starts at zero
  }
  for (int e = t; e < nd * H; e += threads)
    at(lay.d1_w)[(e / H) * lay.stride_d1 + e % H] = net.dense1_w[static_cast<size_t>(d0) * H + e];
  for (int r = t; r < nd; r += threads) at(lay.d1_b)[r] = net.dense1_b[d0 + r];
  for (int e = t; e < nv * head_in; e += threads)
    at(lay.d2_w)[(e / head_in) * lay.stride_d2 + e % head_in] = net.dense2_w[static_cast<size_t>(v0) * head_in + e];
  for (int r = t; r < nv; r += threads) at(lay.d2_b)[r] = net.dense2_b[v0 + r];
}

// The ready flags in the workspace: int [L + 2][kMaxGenerateBlocks], row k < L for layer k's
// h, row L for dense1's output, row L + 1 for the logits; block b's flag of a row holds the
// number of steps whose part of it b has written (kernels/ready_flags.cuh). Every block owns
// units of every layer (plan_generation), so each one publishes every layer and every block
// waits for all of them each step: what a block read at step t - 1 is behind a flag the writer of
// step t + 1 has acquired (the double buffers' write-after-read order, without a grid barrier).
struct Flags {
  int* rows;
  int dense_blocks, vocab_blocks;  // the blocks that own dense1 rows, vocab rows

  __device__ int* row(int r) const { return rows + static_cast<size_t>(r) * kMaxGenerateBlocks; }
  // Every thread of the block, after writing its part of row r for `step`: marks it ready.
  __device__ void publish(int r, int step) const {
    __syncthreads();
    if (threadIdx.x == 0) flag_release(row(r) + blockIdx.x, step + 1);
  }
  // Every thread of the block: waits until the first `producers` blocks have published `step` of
  // row r (one thread per producer, then the block's barrier shares what they acquired).
  __device__ void await(int r, int producers, int step) const {
    for (int p = static_cast<int>(threadIdx.x); p < producers; p += static_cast<int>(blockDim.x))
      flag_wait(row(r) + p, step + 1);
    __syncthreads();
  }
};

// The head on the top layer's h_t (h_top [H], awaited here): dense1 into dense_out [D] (unless
// folded into dense2) and its flag, then the block's rows of the logits [V] (and of run.logits
// at `step`), published.
__device__ void head_forward(const GenerateNetwork& net, const Layout& lay, unsigned char* smem, const Flags& flags,
                             const float* h_top, float* dense_out, float* logits, const GenerateRun& run, int step,
                             int d0, int nd, int v0, int nv) {
  auto at = [&](size_t offset) { return reinterpret_cast<float*>(smem + offset); };
  const int t = static_cast<int>(threadIdx.x), threads = static_cast<int>(blockDim.x);
  const int H = net.hidden, head_in = head_input(net), L = net.layers;
  float* x = at(lay.x);
  float* pre = at(lay.pre);
  float* partial = at(lay.partial);
  flags.await(L - 1, static_cast<int>(gridDim.x), step);
  for (int i = t; i < H; i += threads) x[i] = __ldcg(h_top + i);
  __syncthreads();
  if (!net.head_folded) {  // dense1, whole before dense2 reads it; folded, dense2 reads h itself
    block_matvec(at(lay.d1_w), lay.stride_d1, nd, H, x, partial, pre);
    for (int r = t; r < nd; r += threads) {
      const float v = pre[r] + at(lay.d1_b)[r];
      dense_out[d0 + r] = net.dense_relu ? activate(UnaryKind::Relu, v) : v;
    }
    flags.publish(L, step);
    flags.await(L, flags.dense_blocks, step);
    for (int i = t; i < net.dense; i += threads) x[i] = __ldcg(dense_out + i);
    __syncthreads();
  }
  block_matvec(at(lay.d2_w), lay.stride_d2, nv, head_in, x, partial, pre);
  for (int r = t; r < nv; r += threads) {
    const float z = pre[r] + at(lay.d2_b)[r];
    logits[v0 + r] = z;
    if (run.logits) run.logits[static_cast<size_t>(step) * net.vocab + v0 + r] = z;
  }
  flags.publish(L + 1, step);
}

// Layer k's step for the block's units: [x | h_{t-1}] (x [input + H], h_{t-1} already in place
// but for the first layer's first step) through its rows, the cell, h_t into h_out [H] (its units),
// published; then the next layer's h_{t-1} (h_next_prev [H], null: zeros) read into x + H while
// the other blocks finish (block_matvec is done with x), before the wait for this layer's h_t.
__device__ void layer_forward(const GenerateNetwork& net, const Layout& lay, unsigned char* smem, const Flags& flags,
                              int k, int step, int u0, int nu, float* h_out, const float* h_next_prev) {
  auto at = [&](size_t offset) { return reinterpret_cast<float*>(smem + offset); };
  const int t = static_cast<int>(threadIdx.x), threads = static_cast<int>(blockDim.x);
  const int H = net.hidden, input = k == 0 ? net.input : H;
  float* x = at(lay.x);
  float* pre = at(lay.pre);
  block_matvec(at(lay.w[k]), lay.stride_w[k], 4 * nu, input + H, x, at(lay.partial), pre);
  for (int j = t; j < nu; j += threads) {  // a block may own more units, or rows below, than threads
    const float* b_ih = at(lay.b_ih[k]);
    const float* b_hh = at(lay.b_hh[k]);
    float a[4];
    for (int g = 0; g < 4; ++g) a[g] = pre[g * nu + j] + b_ih[g * nu + j] + b_hh[g * nu + j];
    float* c = at(lay.c[k]) + j;
    float h;
    lstm_cell_forward(a[0], a[1], a[2], a[3], *c, c, &h);
    h_out[u0 + j] = h;
  }
  flags.publish(k, step);
  if (k + 1 < net.layers) prefetch_h(x + H, h_next_prev, H);
}

// One launch for the piece; see lstm_persistent.h. Workspace: h [2][L][H] (double-buffered
// by step parity: other blocks may still read h_{t-1} while h_t is written), the dense1 output [D]
// and the logits [V], read by other blocks after their ready flags (through L2: __ldcg), then
// the flags (Flags). One grid barrier, after the flags are zeroed; none per token.
// At most kMaxGenerateThreads threads and one block per SM (the plan's): the compiler may then give
// each thread up to 255 registers, where a bound of 1024 capped them at 64 and spilled the layout.
__global__ void __launch_bounds__(kMaxGenerateThreads, 1)
    lstm_generate_kernel(GenerateNetwork net, GenerateSampling sampling, GenerateRun run, Split split) {
  LEGATO_DYNAMIC_SHARED(unsigned char, smem);
  const Layout lay = layout_of(net, split, static_cast<int>(blockDim.x));
  const int t = static_cast<int>(threadIdx.x), threads = static_cast<int>(blockDim.x), b = static_cast<int>(blockIdx.x);
  const int H = net.hidden, L = net.layers;
  const int u0 = b * split.units, nu = clamp_rows(H, u0, split.units);
  const int d0 = b * split.dense_rows, nd = clamp_rows(net.dense, d0, split.dense_rows);
  const int v0 = b * split.vocab_rows, nv = clamp_rows(net.vocab, v0, split.vocab_rows);
  auto h_of = [&](int layer, int parity) { return run.workspace + (static_cast<size_t>(parity) * L + layer) * H; };
  float* dense_out = run.workspace + static_cast<size_t>(2) * L * H;
  float* logits = dense_out + net.dense;
  const Flags flags{reinterpret_cast<int*>(logits + net.vocab),
                    split.dense_rows ? (net.dense + split.dense_rows - 1) / split.dense_rows : 0,
                    (net.vocab + split.vocab_rows - 1) / split.vocab_rows};

  load_weights(net, lay, smem, u0, nu, d0, nd, v0, nv);
  for (int r = t; r < L + 2; r += threads) flags.row(r)[b] = 0;  // a reused workspace holds old counts
  cooperative_groups::this_grid().sync();

  float* x = reinterpret_cast<float*>(smem + lay.x);
  int token = run.primer[0], generated = 0;
  for (int step = 0;; ++step) {
    const int cur = step & 1, prev = cur ^ 1;
    for (int k = 0; k < L; ++k) {
      const int input = k == 0 ? net.input : H;
      if (k > 0) {
        flags.await(k - 1, static_cast<int>(gridDim.x), step);  // layer k - 1's h_t, from every block
        for (int i = t; i < H; i += threads) x[i] = __ldcg(h_of(k - 1, cur) + i);
      } else if (net.embedding) {
        for (int i = t; i < input; i += threads) x[i] = net.embedding[static_cast<size_t>(token) * input + i];
      } else if (t == 0) {
        x[0] = static_cast<float>(scalar_token_input(token, net.vocab));
      }
      // x [input, input + H): the layer's h_{t-1}, read ahead (layer_forward) but for the first
      // layer's first step, when it is zero.
      if (k == 0 && step == 0)
        for (int i = t; i < H; i += threads) x[input + i] = 0.0f;
      __syncthreads();
      layer_forward(net, lay, smem, flags, k, step, u0, nu, h_of(k, cur), step == 0 ? nullptr : h_of(k + 1, prev));
    }
    head_forward(net, lay, smem, flags, h_of(L - 1, cur), dense_out, logits, run, step, d0, nd, v0, nv);
    // The first layer's h_t for the next step, read while the logits' producers finish (head_forward
    // is done with x; sampling does not touch it). Every block waited for it in this step.
    prefetch_h(x + net.input, h_of(0, cur), H);
    if (step + 1 < run.primer_length) {  // the primer's next token: the logits are not read
      token = run.primer[step + 1];
      continue;
    }
    if (generated >= run.length) break;
    flags.await(L + 1, flags.vocab_blocks, step);
    const int next = block_sample(logits, net, sampling, run, generated, lay, smem);
    if (next == run.eos) break;
    if (b == 0 && t == 0) {
      // The token first, then the count the host polls (mapped memory: fenced for the system).
      *static_cast<volatile int32_t*>(run.tokens + generated) = next;
      __threadfence_system();
      *static_cast<volatile int*>(run.produced) = generated + 1;
    }
    if (++generated == run.length) break;
    token = next;
  }
}

// One block: the next token from logits [V] by block_sample (the persistent kernel's rules and
// random numbers), numbered *counter (then raised); tokens [*counter] and x [1] (the scalar
// input of that token, for the next step) written. Its parameters never change, so that a CUDA
// graph replays it token after token.
__global__ void __launch_bounds__(kMaxGenerateThreads, 1)
    sample_kernel(const float* logits, int vocab, GenerateSampling sampling, int* counter, int32_t* tokens, float* x) {
  LEGATO_DYNAMIC_SHARED(unsigned char, smem);
  GenerateNetwork net;
  net.vocab = vocab;
  const GenerateRun run;  // nothing banned
  const Layout lay = layout_of(net, Split{0, 0, 0}, static_cast<int>(blockDim.x));
  const int generated = *counter;  // read by every thread before thread 0 raises it, barriers later
  const int next = block_sample(logits, net, sampling, run, generated, lay, smem);
  if (threadIdx.x == 0) {
    tokens[generated] = next;
    *x = static_cast<float>(scalar_token_input(next, vocab));
    *counter = generated + 1;
  }
}

Split split_of(const GeneratePlan& plan) { return Split{plan.units, plan.dense_rows, plan.vocab_rows}; }

int ceil_div(int a, int b) { return (a + b - 1) / b; }

}  // namespace

size_t generate_workspace_floats(const GenerateNetwork& n) {
  // h [2][L][H], dense1's output [D], the logits [V], then the ready flags (int [L + 2][blocks]).
  return static_cast<size_t>(2) * n.layers * n.hidden + n.dense + n.vocab +
         static_cast<size_t>(n.layers + 2) * kMaxGenerateBlocks;
}

GeneratePlan plan_generation(const GenerateNetwork& n, int sms, size_t max_shared, int threads) {
  GeneratePlan plan;
  auto refuse = [&](const std::string& why) {
    plan = GeneratePlan{};
    plan.why = why;
    return plan;
  };
  if (n.layers < 1 || n.layers > kMaxGenerateLayers)
    return refuse(std::to_string(n.layers) + " layers (the persistent kernel takes 1 to 4)");
  if (n.vocab < 2 || n.vocab > kMaxGenerateVocab)
    return refuse("a vocabulary of " + std::to_string(n.vocab) + " (the persistent kernel takes 2 to 2048)");
  if (n.input < 1 || n.hidden < 1 || n.dense < 1 || sms < 1) return refuse("empty sizes");
  if (n.head_folded && n.dense_relu) return refuse("a ReLU between dense1 and dense2 (the head cannot be folded)");
  if (threads != 0 && (threads < 32 || threads > kMaxGenerateThreads || (threads & (threads - 1))))
    return refuse("blocks of " + std::to_string(threads) + " threads (a power of two, 32 to " +
                  std::to_string(kMaxGenerateThreads) + ")");
  // At least kMinUnits units per block (16 gate rows: work for 256 threads), so that small
  // networks use fewer blocks: every wait for a layer's flags polls fewer of them.
  constexpr int kMinUnits = 4;
  const int most = std::min(std::min(sms, kMaxGenerateBlocks), ceil_div(n.hidden, kMinUnits));
  plan.units = ceil_div(n.hidden, most);
  // Every block owns units of every layer (the ready flags' order needs it: Flags), so as many
  // blocks as the units need; dense1's and dense2's rows are spread over those.
  plan.blocks = ceil_div(n.hidden, plan.units);
  plan.dense_rows = n.head_folded ? 0 : ceil_div(n.dense, plan.blocks);
  plan.vocab_rows = ceil_div(n.vocab, plan.blocks);
  const int head_in = head_input(n);
  if (threads == 0) {
    // Enough threads that each adds at most ~16 products of a row, 64 to 256: the seed network
    // gets 256; a small one fewer (its barriers then wait for fewer threads).
    const int work =
        std::max(4 * plan.units * ceil_div(n.input + n.hidden, 16),
                 std::max(plan.dense_rows * ceil_div(n.hidden, 16), plan.vocab_rows * ceil_div(head_in, 16)));
    threads = 64;
    while (threads < kMaxGenerateThreads && threads < work) threads *= 2;
  }
  plan.threads = threads;
  plan.shared_bytes = layout_of(n, split_of(plan), threads).total;
  if (plan.shared_bytes > max_shared)
    return refuse("the weights need " + std::to_string((plan.shared_bytes + 1023) / 1024) +
                  " KiB of shared memory per block on " + std::to_string(plan.blocks) + " blocks; the device has " +
                  std::to_string(max_shared / 1024) + " KiB");
  return plan;
}

std::string residency_problem(const GeneratePlan& plan, int blocks_per_sm, int sms) {
  if (plan.blocks < 1 || static_cast<int64_t>(blocks_per_sm) * sms >= plan.blocks) return "";
  return std::to_string(plan.blocks) + " blocks of " + std::to_string(plan.threads) + " threads and " +
         std::to_string((plan.shared_bytes + 1023) / 1024) + " KiB cannot all run at once (" +
         std::to_string(blocks_per_sm) + " per SM on " + std::to_string(sms) + " SMs)";
}

GeneratePlan plan_generation_on_device(const GenerateNetwork& n, int threads) {
  int device = 0, sms = 0, shared = 0, cooperative = 0;
  LEGATO_CUDA_CHECK(cudaGetDevice(&device));
  LEGATO_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  LEGATO_CUDA_CHECK(cudaDeviceGetAttribute(&shared, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  LEGATO_CUDA_CHECK(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, device));
  GeneratePlan plan;
  if (!cooperative) {
    plan.why = "the device cannot launch cooperative kernels";
    return plan;
  }
  plan = plan_generation(n, sms, static_cast<size_t>(shared), threads);
  if (plan.blocks < 1) return plan;
  // A cooperative launch needs every block resident at once: asked of the driver (registers, the
  // kernel's own shared memory and its limits included), not assumed from the SM count, so that a
  // plan the card cannot hold is stepped instead of failing at launch.
  const void* kernel = reinterpret_cast<const void*>(lstm_generate_kernel);
  LEGATO_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(plan.shared_bytes)));
  int per_sm = 0;
  LEGATO_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, plan.threads, plan.shared_bytes));
  if (std::string why = residency_problem(plan, per_sm, sms); !why.empty()) {
    plan = GeneratePlan{};
    plan.why = why;
  }
  return plan;
}

void sample_token_launch(const float* logits, int vocab, const GenerateSampling& sampling, int* counter,
                         int32_t* tokens, float* x, cudaStream_t stream) {
  if (vocab < 2 || vocab > kMaxGenerateVocab)
    throw std::invalid_argument("sample_token: a vocabulary of " + std::to_string(vocab) + " (2 to 2048)");
  GenerateNetwork net;
  net.vocab = vocab;
  const size_t shared = layout_of(net, Split{0, 0, 0}, kMaxGenerateThreads).total;
  LEGATO_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(sample_kernel),
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared)));
  LEGATO_LAUNCH(sample_kernel, 1, kMaxGenerateThreads, shared, stream, logits, vocab, sampling, counter, tokens, x);
}

void lstm_generate_launch(const GeneratePlan& plan, const GenerateNetwork& net, const GenerateSampling& sampling,
                          const GenerateRun& run, cudaStream_t stream) {
  if (plan.blocks < 1) throw std::invalid_argument("lstm_generate: the network does not fit: " + plan.why);
  if (run.primer_length < 1 || !run.primer) throw std::invalid_argument("lstm_generate: the primer is empty");
  if (run.length < 0 || (run.length > 0 && (!run.tokens || !run.produced)) || !run.workspace)
    throw std::invalid_argument("lstm_generate: tokens, produced and workspace must be given");
  // More than the default 48 KiB of dynamic shared memory is an opt-in per kernel.
  LEGATO_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(lstm_generate_kernel),
                                         cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(plan.shared_bytes)));
  LEGATO_LAUNCH_COOPERATIVE(lstm_generate_kernel, plan.blocks, plan.threads, plan.shared_bytes, stream, net, sampling,
                            run, split_of(plan));
}

}  // namespace legato::kernels
