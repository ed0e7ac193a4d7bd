#pragma once
// A whole piece in one cooperative launch (lstm_persistent.cu): batch-1 generation with every
// layer's weights held in shared memory for the whole piece. Each block owns a slice of the units
// of every LSTM layer (all four gate rows of each, input and recurrent weights), of dense1's rows
// and of dense2's rows. Per token: the layers in order, each block publishing its part of each
// layer's h with a ready flag that the next layer waits for (no grid barrier), dense1 (+ ReLU)
// and its flags unless the head is folded into one matrix, dense2 and its flags, then every block
// samples the same token from the logits (temperature, top-k, top-p or greedy, model::sample_token's rules,
// kernels/sampling.h) with Philox random numbers, and feeds it back. Only tokens leave the device, into mapped host
// memory as they are made.
//
// When the network does not fit on chip (plan_generation says why), callers fall back to stepping
// the network with cuBLAS and sampling on the host (model::Generator on the GPU).
// All pointers are device memory owned by the caller (tokens and produced: mapped host memory or
// device memory), float32, row-major. The header needs no CUDA header.
#include <cstddef>
#include <cstdint>
#include <string>

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

constexpr int kMaxGenerateLayers = 4;
constexpr int kMaxGenerateVocab = 2048;   // sampling sorts the logits in one block's shared memory
constexpr int kMaxGenerateThreads = 256;  // the kernel's __launch_bounds__
constexpr int kMaxGenerateBlocks = 1024;  // the workspace's ready flags per row (one per block)

struct GenerateLayer {
  const float* w_ih;  // [4H, I_l], gate rows i, f, g, o (I_0: the input size, I_l = H after)
  const float* w_hh;  // [4H, H]
  const float* b_ih;  // [4H]
  const float* b_hh;  // [4H]
};

struct GenerateNetwork {
  int layers = 0;  // 1..kMaxGenerateLayers
  int input = 0;   // I_0: 1 for the scalar input token / V, else the embedding size E
  int hidden = 0;  // H
  int dense = 0;   // D
  int vocab = 0;   // V, 2..kMaxGenerateVocab
  bool dense_relu = false;
  // dense1 folded into dense2 (only where no activation lies between them: dense_relu false, as in
  // the seed preset): dense2_w is W2 W1 [V, H], dense2_b is W2 b1 + b2, dense1_* are unused, and a
  // token takes one grid barrier fewer.
  bool head_folded = false;
  const float* embedding = nullptr;  // [V, E]; null: scalar input
  GenerateLayer layer[kMaxGenerateLayers] = {};
  const float* dense1_w = nullptr;  // [D, H]
  const float* dense1_b = nullptr;  // [D]
  const float* dense2_w = nullptr;  // [V, D]; folded: [V, H]
  const float* dense2_b = nullptr;  // [V]
};

// model::SamplingOptions, checked by the caller; the random numbers are Philox (seed, token index).
struct GenerateSampling {
  double temperature = 1.0;
  int top_k = 0;
  double top_p = 1.0;
  bool greedy = false;
  uint64_t seed = 0;
};

// How the network is split over the grid. blocks == 0: it does not fit (`why` says what).
struct GeneratePlan {
  int blocks = 0, threads = 0;
  int units = 0;            // LSTM units per block, each layer (all four gate rows of each)
  int dense_rows = 0;       // dense1 rows per block (0 with a folded head)
  int vocab_rows = 0;       // dense2 rows per block
  size_t shared_bytes = 0;  // dynamic shared memory per block
  std::string why;
};

// The split for a device with `sms` multiprocessors and `max_shared` bytes of (opt-in) shared
// memory per block, at most one block per SM (and kMaxGenerateBlocks), at least 4 units per
// block, every block owning units; blocks of `threads`
// (a power of two, 32..kMaxGenerateThreads), or 0: chosen by the work per row (64 to 256; 256 for
// the seed).
GeneratePlan plan_generation(const GenerateNetwork& net, int sms, size_t max_shared, int threads = 0);
// The same for the current device (its SM count and opt-in shared memory per block; blocks == 0
// also when it cannot launch cooperatively, or when the driver's occupancy says the plan's blocks
// cannot all be resident at once: residency_problem's line).
GeneratePlan plan_generation_on_device(const GenerateNetwork& net, int threads = 0);
// Why `plan` cannot run as one cooperative grid with `blocks_per_sm` of its blocks per SM on `sms`
// SMs ("" when it can).
std::string residency_problem(const GeneratePlan& plan, int blocks_per_sm, int sms);

struct GenerateRun {
  const int32_t* primer = nullptr;  // [primer_length], fed first (at least one token)
  int primer_length = 0;
  int length = 0;                   // tokens to sample at most
  int eos = -1;                     // sampling it ends the piece (not written); -1: none
  const int32_t* banned = nullptr;  // [V], nonzero: never sampled (its logit taken as -1e30); may be null
  int32_t* tokens = nullptr;        // [length]: the sampled tokens (mapped host memory for live use)
  int* produced = nullptr;          // tokens written so far, raised after each (mapped host memory)
  float* logits = nullptr;          // [primer_length + length, V]: every step's logits; may be null
  float* workspace = nullptr;       // [generate_workspace_floats(net)]
};

size_t generate_workspace_floats(const GenerateNetwork& net);

// Runs the whole piece on `stream` (asynchronous: poll *produced, then synchronise).
void lstm_generate_launch(const GeneratePlan& plan, const GenerateNetwork& net, const GenerateSampling& sampling,
                          const GenerateRun& run, cudaStream_t stream);

// The persistent kernel's sampling alone, in one block on `stream`, for the stepped baseline in
// bench (captured in a CUDA graph): the token numbered *counter (device int, then raised) from
// logits [V] (device), into tokens [*counter] (device), and its scalar input (scalar_token_input)
// into x [1] (device) for the next step. Nothing banned.
void sample_token_launch(const float* logits, int vocab, const GenerateSampling& sampling, int* counter,
                         int32_t* tokens, float* x, cudaStream_t stream);

}  // namespace legato::kernels
