// Training with bf16 products (engine/cpu/products.h) against the same run in fp32.
#include <doctest/doctest.h>

#include <cmath>
#include <regex>
#include <sstream>
#include <string>

#include "engine/cpu/products.h"
#include "small_corpus.h"
#include "small_training.h"
#include "train/trainer.h"

using namespace legato;

namespace {

double final_val_loss(const std::string& log) {
  const std::regex line("epoch [0-9]+/[0-9]+: train loss [0-9.]+, val loss ([0-9.]+)");
  double last = NAN;
  for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it) last = std::stod((*it)[1]);
  return last;
}

}  // namespace

TEST_CASE("bf16: the tiny preset trains as well as fp32 (validation loss within 1%)") {
  std::string why;
  if (!cpu::bf16_supported(&why)) {
    MESSAGE("SKIPPED bf16 training: " << why);
    return;
  }
  const auto data = testing::write_small_corpus("bf16_training");
  double loss[2];
  for (int bf16 : {0, 1}) {
    const auto out = testing::temp_dir(bf16 ? "bf16_run" : "fp32_run");
    model::TrainOptions o = testing::small_training(data, out);
    o.recipe.model.hidden = 32;  // products of some size, still a fast test
    o.recipe.model.dense = 16;
    o.recipe.epochs = 3;
    o.precision = bf16 ? Precision::BF16 : Precision::FP32;
    std::ostringstream log;
    REQUIRE(model::train(o, log) == 0);
    loss[bf16] = final_val_loss(log.str());
    std::filesystem::remove_all(out);
  }
  std::filesystem::remove_all(data);
  INFO("fp32 val loss " << loss[0] << ", bf16 " << loss[1]);
  REQUIRE(std::isfinite(loss[0]));
  CHECK(std::abs(loss[1] - loss[0]) <= 0.01 * loss[0]);
  CHECK(loss[1] != loss[0]);  // not the same run twice
}
