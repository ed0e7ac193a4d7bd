// Training end to end on small MIDI files written here: outputs, interruption and --resume
// ending exactly where an uninterrupted run ends, and bad input.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "model/checkpoint.h"
#include "model/trainer.h"
#include "small_corpus.h"
#include "small_training.h"

using namespace legato;
using legato::testing::temp_dir;

namespace {

std::vector<std::vector<double>> weights_of(const std::filesystem::path& checkpoint) {
  std::vector<std::vector<double>> out;
  for (const auto& p : model::load_checkpoint(checkpoint).net->parameters()) out.push_back(p.tensor.to_vector());
  return out;
}

}  // namespace

TEST_CASE("trainer: outputs, and an interrupted run resumed ends where an uninterrupted one ends") {
  const auto data = testing::write_small_corpus("corpus");
  const auto straight = temp_dir("straight"), resumed = temp_dir("resumed");
  std::ostringstream log;
  REQUIRE(model::train(testing::small_training(data, straight), log) == 0);
  for (const char* f : {"last.safetensors", "best.safetensors", "last.state.safetensors", "metrics.csv", "loss.svg"})
    CHECK_MESSAGE(std::filesystem::exists(straight / f), f);
  CHECK(log.str().find("epoch 2/2: train loss") != std::string::npos);
  CHECK(log.str().find("perplexity") != std::string::npos);

  model::TrainOptions first = testing::small_training(data, resumed);
  first.stop_after_batches = 5;  // mid-way through the first epoch
  REQUIRE(model::train(first, log) == 130);
  CHECK(log.str().find("interrupted: checkpoint written") != std::string::npos);
  model::TrainOptions second = testing::small_training(data, resumed);
  second.resume = true;
  REQUIRE(model::train(second, log) == 0);
  CHECK(weights_of(straight / "last.safetensors") == weights_of(resumed / "last.safetensors"));
  CHECK(weights_of(straight / "best.safetensors") == weights_of(resumed / "best.safetensors"));
  for (const auto& dir : {data, straight, resumed}) std::filesystem::remove_all(dir);
}

TEST_CASE("trainer: bad input is an InputError naming the problem") {
  const auto data = testing::write_small_corpus("corpus");
  const auto out = temp_dir("bad");
  std::ostringstream log;
  model::TrainOptions too_long = testing::small_training(data, out);
  too_long.recipe.seq_len = 100000;
  CHECK_THROWS_WITH_AS(model::train(too_long, log), doctest::Contains("shorter than one window"), model::InputError);
  model::TrainOptions empty = testing::small_training(out, out);  // a folder with no MIDI
  CHECK_THROWS_WITH_AS(model::train(empty, log), doctest::Contains("no readable MIDI"), model::InputError);
  model::TrainOptions missing = testing::small_training(data / "nope", out);
  CHECK_THROWS_WITH_AS(model::train(missing, log), doctest::Contains("no such file or folder"), model::InputError);
  model::TrainOptions no_state = testing::small_training(data, out);
  no_state.resume = true;
  CHECK_THROWS_WITH_AS(model::train(no_state, log), doctest::Contains("--resume: no"), model::InputError);
  for (const auto& dir : {data, out}) std::filesystem::remove_all(dir);
}
