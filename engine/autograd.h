#pragma once
// Define-by-run reverse mode. Each op that sees an input requiring a gradient records a Node:
// its inputs and a closure that adds (+=) the input gradients given the output gradients.
// Tensor::backward() orders the nodes topologically, runs them in reverse and frees the graph.
#include <functional>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace legato {

// grad_outputs[k] is the gradient of the node's output k; undefined when nothing reached it.
using BackwardFn = std::function<void(const std::vector<Tensor>& grad_outputs)>;

struct Node {
  std::string op;
  std::vector<Tensor> inputs;
  std::vector<std::weak_ptr<TensorImpl>> outputs;
  BackwardFn backward;
};

// True unless a NoGradGuard is alive on this thread.
bool grad_enabled();

// Inference: ops record nothing while a guard lives.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Whether an op over these inputs must record a node.
bool needs_grad(const std::vector<Tensor>& inputs);

// Records the node that produced `outputs` from `inputs` when a gradient is needed. The closure
// must not capture the outputs themselves (a cycle); capture out.detach() instead.
void record(const std::string& op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
            BackwardFn backward);

// dst += src (same shape and dtype, one device): the backward of ops that pass a gradient on unchanged.
void accumulate(Tensor& dst, const Tensor& src);

// The gradient buffer of `input`, created as zeros on first use; undefined when `input` takes
// no gradient. Closures add into it (+=) so that a value used twice gets both contributions.
Tensor grad_buffer(const Tensor& input);
// The same, but on first use the buffer is left unwritten and *fresh is set (else cleared): the
// caller then writes every element (=) instead of adding (+=), which spares zeroing it and
// reading the zeros back (13 MB each for the seed network's [T, B, H] activations). Write
// 0 + v, not v, to keep the sign of a zero as the addition to zeros had it.
Tensor grad_buffer(const Tensor& input, bool* fresh);

}  // namespace legato
