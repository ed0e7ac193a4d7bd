#include "engine/autograd.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

#include "engine/dispatch.h"
#include "engine/eigen_maps.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"

namespace legato {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  return std::any_of(inputs.begin(), inputs.end(), [](const Tensor& t) { return t.requires_grad(); });
}

void record(const std::string& op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
            BackwardFn backward) {
  if (!needs_grad(inputs)) return;
  auto node = std::make_shared<Node>();
  node->op = op;
  node->backward = std::move(backward);
  for (const Tensor& in : inputs)
    if (in.requires_grad()) node->inputs.push_back(in);
  for (size_t k = 0; k < outputs.size(); ++k) {
    TensorImpl* impl = outputs[k].impl();
    impl->requires_grad = true;
    impl->grad_fn = node;
    impl->output_index = static_cast<int>(k);
    node->outputs.push_back(outputs[k].impl_ptr());
  }
}

Tensor grad_buffer(const Tensor& input) {
  if (!input.requires_grad()) return Tensor();
  TensorImpl* impl = input.impl();
  if (!impl->grad) impl->grad = Tensor::zeros(impl->shape, impl->dtype, input.device()).impl_ptr();
  return Tensor(impl->grad);
}

Tensor grad_buffer(const Tensor& input, bool* fresh) {
  *fresh = false;
  if (!input.requires_grad()) return Tensor();
  TensorImpl* impl = input.impl();
  if (!impl->grad) {
    impl->grad = Tensor::empty(impl->shape, impl->dtype, input.device()).impl_ptr();
    *fresh = true;
  }
  return Tensor(impl->grad);
}

void accumulate(Tensor& dst, const Tensor& src) {
  LEGATO_ROUTE_TO_CUDA(dst, cuda_ops::accumulate(dst, src));
  ops::detail::check_same_device("accumulate", dst, "the gradient", src, "the addend");
  if (dst.shape() != src.shape() || dst.dtype() != src.dtype())
    throw std::invalid_argument("accumulate: " + src.describe() + " into " + dst.describe());
  dispatch_float(dst.dtype(), "accumulate", [&](auto tag) {
    using T = decltype(tag);
    as_array<T>(dst) += as_array<T>(src);
  });
}

void Tensor::backward(const Tensor& seed) const {
  check_defined("backward()");
  if (!requires_grad()) throw std::logic_error("backward: tensor " + describe() + " does not require a gradient");
  if (seed.defined()) {
    if (seed.shape() != shape())
      throw std::invalid_argument("backward: seed gradient " + seed.describe() + " for a tensor " + describe());
  } else if (numel() != 1) {
    throw std::invalid_argument("backward: tensor " + describe() + " is not a scalar; pass a seed gradient");
  }
  Tensor root_grad = grad_buffer(*this);
  if (seed.defined())
    accumulate(root_grad, seed.dtype() == dtype() && seed.device() == device() ? seed : seed.to(dtype()).to(device()));
  else
    accumulate(root_grad, Tensor::full(shape(), 1.0, dtype(), device()));
  if (!impl_->grad_fn) return;  // a leaf: its gradient is the seed

  // Topological order by an iterative depth-first search (graphs of long sequences are deep).
  // The order holds the nodes, so none is freed while it runs.
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{impl_->grad_fn, 0}};
  seen.insert(impl_->grad_fn.get());
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      std::shared_ptr<Node> child = node->inputs[next++].impl()->grad_fn;
      if (child && seen.insert(child.get()).second) stack.push_back({std::move(child), 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }

  // Hold every tensor of the graph while we run it: a node's outputs may be referenced only by
  // the consumers' saved inputs, which are released as soon as those consumers have run.
  std::vector<Tensor> alive;
  for (const auto& node : order) alive.insert(alive.end(), node->inputs.begin(), node->inputs.end());
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = it->get();
    std::vector<Tensor> grad_outputs;
    grad_outputs.reserve(node->outputs.size());
    for (auto& weak : node->outputs) {
      auto out = weak.lock();
      grad_outputs.push_back(out ? Tensor(out->grad) : Tensor());
    }
    if (std::any_of(grad_outputs.begin(), grad_outputs.end(), [](const Tensor& g) { return g.defined(); }))
      node->backward(grad_outputs);
    // Free this part of the graph: intermediate gradients, saved tensors and the closure.
    for (auto& weak : node->outputs)
      if (auto out = weak.lock()) {
        out->grad.reset();
        out->grad_fn.reset();
      }
    node->backward = nullptr;
    node->inputs.clear();
  }
}

}  // namespace legato
