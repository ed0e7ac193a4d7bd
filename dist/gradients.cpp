#include "dist/gradients.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "engine/ops.h"

namespace legato::dist {
namespace {

// Every parameter float32 and on one device, which the sum is then done on.
Device device_of(const nn::ParameterList& params) {
  const Device device = params.empty() ? Device::CPU : params.front().tensor.device();
  for (const nn::NamedTensor& p : params)
    if (p.tensor.dtype() != DType::F32 || p.tensor.device() != device)
      throw std::invalid_argument("gradient sum: " + p.name + " is " + p.tensor.describe() + " on " +
                                  to_string(p.tensor.device()) +
                                  "; the ranks sum float32 gradients all on the CPU "
                                  "(MPI) or all on the GPU (NCCL)");
  return device;
}

// Rank 0's NCCL id, made there and passed to every rank through MPI.
std::string shared_device_sum_id(const World& world) {
  std::string id = world.root() ? make_device_sum_id() : std::string();
  int64_t size = static_cast<int64_t>(id.size());
  world.broadcast(&size, sizeof size, world.timeout(), "passing NCCL's id");
  id.resize(static_cast<size_t>(size));
  world.broadcast(id.data(), size, world.timeout(), "passing NCCL's id");
  return id;
}

}  // namespace

GradientSum::GradientSum(const World& world, nn::ParameterList params)
    : world_(world), params_(std::move(params)), device_(device_of(params_)) {
  for (const nn::NamedTensor& p : params_) gradient_values_ += p.tensor.numel();
  if (device_ == Device::CPU) return;
  if (const std::string problem = device_sum_problem(); !problem.empty())
    throw std::runtime_error("gradient sum on GPUs: " + problem);
  device_sum_ = join_device_sum(shared_device_sum_id(world_), world_.rank(), world_.size());
}

void GradientSum::sum(float weight, std::vector<float>& extra) {
  extras_ = static_cast<int64_t>(extra.size());
  if (device_ == Device::CPU)
    sum_on_host(weight, extra);
  else
    sum_on_device(weight, extra);
}

void GradientSum::sum_on_host(float weight, std::vector<float>& extra) {
  flat_.resize(static_cast<size_t>(values()));
  float* at = flat_.data();
  for (const nn::NamedTensor& p : params_) {
    const Tensor g = p.tensor.grad();
    if (g.defined())
      std::transform(g.data<float>(), g.data<float>() + g.numel(), at, [weight](float v) { return weight * v; });
    else
      std::fill(at, at + p.tensor.numel(), 0.0f);
    at += p.tensor.numel();
  }
  std::copy(extra.begin(), extra.end(), at);
  world_.sum(flat_.data(), values());
  at = flat_.data();
  for (const nn::NamedTensor& p : params_) {
    // Every rank builds the same graph, so a parameter without a gradient has none anywhere.
    if (Tensor g = p.tensor.grad(); g.defined()) std::copy(at, at + p.tensor.numel(), g.data<float>());
    at += p.tensor.numel();
  }
  std::copy(at, at + extra.size(), extra.begin());
}

// As on the host, with the flat buffer in device memory: each gradient scaled into its place by the
// engine's ops (queued on its stream after the backward pass), the extras copied up, NCCL's sum on
// the same stream, the gradients copied back into place and the extras down (which waits for it).
void GradientSum::sum_on_device(float weight, std::vector<float>& extra) {
  if (!flat_device_.defined() || flat_device_.numel() != values())
    flat_device_ = Tensor::empty({values()}, DType::F32, device_);
  int64_t at = 0;
  for (const nn::NamedTensor& p : params_) {
    const int64_t n = p.tensor.numel();
    Tensor slot = flat_device_.rows(at, n).view(p.tensor.shape());
    if (const Tensor g = p.tensor.grad(); g.defined())
      slot.copy_from(ops::scale(g, weight));
    else
      slot.fill(0.0);
    at += n;
  }
  Tensor host_extra = Tensor::empty({extras_});
  std::copy(extra.begin(), extra.end(), host_extra.data<float>());
  if (extras_ > 0) flat_device_.rows(at, extras_).copy_from(host_extra);
  sum_device_buffer();
  at = 0;
  for (const nn::NamedTensor& p : params_) {
    if (Tensor g = p.tensor.grad(); g.defined()) g.copy_from(flat_device_.rows(at, p.tensor.numel()).view(g.shape()));
    at += p.tensor.numel();
  }
  if (extras_ > 0) host_extra.copy_from(flat_device_.rows(at, extras_));
  std::copy(host_extra.data<float>(), host_extra.data<float>() + extras_, extra.begin());
}

// NCCL's sum of the whole buffer, watched as every wait on the others is (dist/world.h): a rank on
// this host that is gone, or no answer within the world's timeout, ends this rank naming it.
void GradientSum::sum_device_buffer() {
  const auto start = std::chrono::steady_clock::now();
  double looked = 0;  // when gone_ranks() was last asked
  bool lost = false;
  auto keep_waiting = [&] {
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited - looked >= 1) {
      looked = waited;
      lost = !world_.gone_ranks().empty();
    }
    lost = lost || waited > world_.timeout();
    return !lost;
  };
  try {
    device_sum_->sum(flat_device_.data<float>(), values(), keep_waiting);
  } catch (const std::runtime_error&) {
    // NCCL may itself report a peer's end (ncclRemoteError) before the watchdog looked.
    if (lost || !world_.gone_ranks().empty()) world_.give_up("summing gradients (NCCL)");
    throw;
  }
}

}  // namespace legato::dist
