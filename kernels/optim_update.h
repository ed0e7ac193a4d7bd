#pragma once
// Per-parameter update rules, shared by the CPU optimisers and the fused CUDA update.
#include <cmath>

#include "hd.h"

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
