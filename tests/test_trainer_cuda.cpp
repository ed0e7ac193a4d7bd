// train() with --device cuda: the training loop's own device handling (the model moved before the
// optimiser is built, targets moved per batch, validation, checkpoints written from the GPU, a
// resume that switches devices) for both recipes: the seed's (scalar input, RMSprop, Keras loss on
// probabilities, last-step objective) and ours (embedding, Adam, clipping, every-step objective).
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gpu.h"
#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "small_corpus.h"
#include "small_training.h"
#include "train/trainer.h"

using namespace legato;

namespace {

// The training loss of the batches run so far, from the state file (what --resume reads).
double trained_loss(const std::filesystem::path& out) {
  const auto state = model::load_safetensors(model::train_state_file(out));
  const auto j = nlohmann::json::parse(state.metadata.at("legato.train_state"));
  return j.at("loss_sum").get<double>() / j.at("loss_count").get<double>();
}

}  // namespace

TEST_CASE("cuda: train() on the GPU: the first batch's loss is the CPU's, checkpoints load, resume switches devices") {
  SKIP_WITHOUT_GPU();
  const auto data = testing::write_small_corpus("train_cuda");
  for (const char* preset : {"seed", "tiny"}) {
    CAPTURE(preset);
    std::ostringstream log;
    const auto on_cpu = data / (std::string(preset) + "-cpu"), on_gpu = data / (std::string(preset) + "-gpu");
    auto run = [&](const std::filesystem::path& out, Device device) {
      model::TrainOptions o = testing::small_training(data, out, preset, device);
      o.recipe.epochs = 1;
      return o;
    };

    // One batch each: its loss is computed before any update, from the same initial weights, so
    // the two agree to float32 rounding: 1e-5 relative.
    model::TrainOptions cpu = run(on_cpu, Device::CPU), gpu = run(on_gpu, Device::CUDA);
    cpu.stop_after_batches = gpu.stop_after_batches = 1;
    REQUIRE(model::train(cpu, log) == 130);
    REQUIRE(model::train(gpu, log) == 130);
    CHECK(trained_loss(on_gpu) == doctest::Approx(trained_loss(on_cpu)).epsilon(1e-5));
    // The checkpoint written from the GPU is an ordinary one: it loads on the CPU, same shapes.
    const auto from_gpu = model::load_checkpoint(model::last_checkpoint(on_gpu));
    const auto from_cpu = model::load_checkpoint(model::last_checkpoint(on_cpu));
    const auto pg = from_gpu.net->parameters(), pc = from_cpu.net->parameters();
    REQUIRE(pg.size() == pc.size());
    for (size_t k = 0; k < pg.size(); ++k) {
      CAPTURE(pg[k].name);
      CHECK(pg[k].tensor.device() == Device::CPU);
      CHECK(pg[k].tensor.shape() == pc[k].tensor.shape());
    }

    // Resume across devices both ways, to the end of the epoch (validation included).
    model::TrainOptions gpu_on = run(on_cpu, Device::CUDA);  // the CPU run, on the GPU
    gpu_on.resume = true;
    REQUIRE(model::train(gpu_on, log) == 0);
    model::TrainOptions cpu_on = run(on_gpu, Device::CPU);  // the GPU run, on the CPU
    cpu_on.resume = true;
    REQUIRE(model::train(cpu_on, log) == 0);
    CHECK(log.str().find("epoch 1/1: train loss") != std::string::npos);
    CHECK(log.str().find("perplexity") != std::string::npos);
    for (const auto& dir : {on_cpu, on_gpu}) CHECK(std::filesystem::exists(model::best_checkpoint(dir)));
  }
  std::filesystem::remove_all(data);
}
