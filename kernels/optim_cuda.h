#pragma once
// Launchers of the fused optimiser kernels (optim.cu), behind engine/cuda/optim.cpp.
// The conventions of every launcher: kernels/launch.h.
#include <cstdint>

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

// One parameter of the fused optimiser step: weights, its gradient and the optimiser's slots
// (RMSprop uses v only; Adam m and v), all [n].
struct OptimSlot {
  float* w = nullptr;
  float* g = nullptr;  // written only by scale_grads_multi_launch
  float* m = nullptr;
  float* v = nullptr;
  int64_t n = 0;
};

// Every parameter updated by one launch (a few when there are very many), the per-element rules
// of optim_update.h. slots: a host array of count entries (passed to the kernel by value).
void rmsprop_multi_launch(const OptimSlot* slots, int count, float lr, float rho, float eps, cudaStream_t stream);
void adam_multi_launch(const OptimSlot* slots, int count, float lr_t, float beta1, float beta2, float eps,
                       cudaStream_t stream);
// *out = sum over all slots of sum(g^2) (writes), in one launch and a fixed-order final sum.
// partials: device scratch [sum_of_squares_partials(slots, count)] (the caller's: kernels/ holds
// no allocator), one sum per block, read by the final sum.
int64_t sum_of_squares_partials(const OptimSlot* slots, int count);
void sum_of_squares_multi_launch(const OptimSlot* slots, int count, float* partials, float* out, cudaStream_t stream);
// g *= factor for every slot's gradient (the clipping of a global norm).
void scale_grads_multi_launch(const OptimSlot* slots, int count, float factor, cudaStream_t stream);

}  // namespace legato::kernels
