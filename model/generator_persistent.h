#pragma once
// Composing on the GPU in one launch: the persistent kernel (kernels/lstm_persistent.h) runs
// the primer and the whole piece on the device, sampling there, and only tokens come back (into
// mapped host memory, handed to `on_token` as they are made). Used by model::compose whenever the
// network is on the GPU and fits on chip; otherwise the network is stepped token by token
// (model::Generator: cuBLAS products per layer, logits copied back, sampled on the host).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/generator.h"
#include "model/music_lstm.h"

namespace legato::model {

// How `net` would generate: "persistent kernel: 128 blocks x 256 threads, 171 KiB of shared
// memory each" or "stepped token by token: <why the persistent kernel does not apply>".
std::string device_generation(const MusicLSTM& net);

// As compose (model/composition.h) with the random numbers drawn on the device from `seed`.
// Empty when the persistent kernel does not apply (a CPU network, a build without CUDA, a network
// too large for the chip). `logits`, when given, receives every step's logits [steps, V] (tests).
std::optional<std::vector<int32_t>> compose_persistent(
    const MusicLSTM& net, const std::vector<int32_t>& primer, int64_t length, const SamplingOptions& sampling,
    const std::vector<int32_t>& banned, int32_t eos, uint64_t seed,
    const std::function<bool(const std::vector<int32_t>&)>& on_token = {}, std::vector<float>* logits = nullptr);

}  // namespace legato::model
