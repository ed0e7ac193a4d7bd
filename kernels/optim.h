#pragma once
// Per-parameter update rules, shared by the CPU optimisers and the fused CUDA update.
// Below them: the launchers of optim.cu, for the host code in engine/cuda/ (declarations only, no
// CUDA header needed: the CPU build compiles this file too).
#include <cmath>
#include <cstdint>

#include "hd.h"

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

// RMSprop as Keras: v = rho*v + (1-rho)*g^2;  w -= lr * g / (sqrt(v) + eps).
template <class T>
LEGATO_HD void rmsprop_update(T* w, T* v, T g, T lr, T rho, T eps) {
  using std::sqrt;
  *v = rho * *v + (T(1) - rho) * g * g;
  *w -= lr * g / (sqrt(*v) + eps);
}

// Adam (Kingma & Ba) with bias correction folded into the step size:
// m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;  w -= lr_t * m / (sqrt(v) + eps),
// lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)  (the Keras form, eps outside the correction).
template <class T>
LEGATO_HD void adam_update(T* w, T* m, T* v, T g, T lr_t, T beta1, T beta2, T eps) {
  using std::sqrt;
  *m = beta1 * *m + (T(1) - beta1) * g;
  *v = beta2 * *v + (T(1) - beta2) * g * g;
  *w -= lr_t * *m / (sqrt(*v) + eps);
}

}  // namespace legato::kernels

// ---- the launchers of optim.cu, behind engine/cuda/optim.cpp (their conventions: launch.h) ----
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
// above. slots: a host array of count entries (passed to the kernel by value).
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
