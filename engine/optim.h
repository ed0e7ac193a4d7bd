#pragma once
// Optimisers over a named parameter list, and global-norm gradient clipping. The per-element
// rules live in kernels/optim.h, shared with the fused CUDA update.
#include <vector>

#include "engine/nn/layers.h"

namespace legato::optim {

class Optimizer {
 public:
  explicit Optimizer(nn::ParameterList params);
  virtual ~Optimizer() = default;
  // Applies one update from the accumulated gradients; parameters without one are left alone.
  virtual void step() = 0;
  void zero_grad();
  const nn::ParameterList& parameters() const { return params_; }
  // Per-parameter state (for checkpoints): one list of tensors per slot, parallel to parameters().
  virtual std::vector<nn::ParameterList> state() const = 0;
  long steps_taken() const { return steps_; }
  // For resuming: the update count (Adam's bias correction depends on it).
  void set_steps_taken(long steps) { steps_ = steps; }

 protected:
  nn::ParameterList params_;
  long steps_ = 0;
};

// Keras semantics: v = rho*v + (1-rho)*g^2;  w -= lr * g / (sqrt(v) + eps).
struct RmspropOptions {
  double lr = 0.001, rho = 0.9, eps = 1e-7;
};

class Rmsprop : public Optimizer {
 public:
  Rmsprop(nn::ParameterList params, RmspropOptions options = {});
  void step() override;
  std::vector<nn::ParameterList> state() const override;

 private:
  RmspropOptions options_;
  std::vector<Tensor> mean_square_;  // v, one per parameter
};

struct AdamOptions {
  double lr = 0.001, beta1 = 0.9, beta2 = 0.999, eps = 1e-7;
};

class Adam : public Optimizer {
 public:
  Adam(nn::ParameterList params, AdamOptions options = {});
  void step() override;
  std::vector<nn::ParameterList> state() const override;

 private:
  AdamOptions options_;
  std::vector<Tensor> first_moment_, second_moment_;
};

// Scales every gradient by max_norm / norm when the global L2 norm exceeds max_norm. Returns the
// norm before clipping.
double clip_grad_norm(const nn::ParameterList& params, double max_norm);

}  // namespace legato::optim

// The optimisers' fused steps on CUDA tensors (engine/cuda/optim.cpp): every parameter that has a
// gradient updated in one launch. params [P] and the slot lists parallel to it (Adam's first
// moments m, the mean squares v).
namespace legato::cuda_ops {

void rmsprop_step(const std::vector<Tensor>& params, const std::vector<Tensor>& v, double lr, double rho, double eps);
void adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& m, const std::vector<Tensor>& v,
               double lr_t, double beta1, double beta2, double eps);
// The global L2 norm of the gradients (one launch, read back), and every gradient scaled by
// max_norm / norm when it is larger. Returns the norm before clipping.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace legato::cuda_ops
