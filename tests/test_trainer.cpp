// Training end to end on small MIDI files written here: outputs, interruption and --resume
// ending exactly where an uninterrupted run ends, and bad input.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "small_corpus.h"
#include "small_training.h"
#include "train/trainer.h"

using namespace legato;
using legato::testing::temp_dir;

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
  // Interrupted in the first epoch: no best checkpoint yet, and the line says so.
  CHECK(log.str().find("no " + model::best_checkpoint(resumed).string() + " yet") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(model::best_checkpoint(resumed)));
  model::TrainOptions second = testing::small_training(data, resumed);
  second.resume = true;
  REQUIRE(model::train(second, log) == 0);
  CHECK(testing::weights_of(straight / "last.safetensors") == testing::weights_of(resumed / "last.safetensors"));
  CHECK(testing::weights_of(straight / "best.safetensors") == testing::weights_of(resumed / "best.safetensors"));
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
  model::TrainOptions bad_music = testing::small_training(data, out);
  bad_music.eval_every = -1;
  CHECK_THROWS_WITH_AS(model::train(bad_music, log), doctest::Contains("bad music-metric values"), model::InputError);
  model::TrainOptions no_state = testing::small_training(data, out);
  no_state.resume = true;
  CHECK_THROWS_WITH_AS(model::train(no_state, log), doctest::Contains("holds no run to resume"), model::InputError);
  for (const auto& dir : {data, out}) std::filesystem::remove_all(dir);
}

TEST_CASE("trainer: composed pieces are measured against the validation pieces at epochs and every N steps") {
  const auto data = testing::write_small_corpus("music_corpus", 6);
  const auto out = temp_dir("music");
  model::TrainOptions o = testing::small_training(data, out);  // 2 of the 6 pieces held out
  o.eval_pieces = 3;
  o.eval_length = 60;
  o.eval_every = 4;
  std::ostringstream log;
  REQUIRE(model::train(o, log) == 0);
  INFO(log.str());
  // Mid-epoch, as at an epoch's end: the validation loss (which `best` follows) and the music.
  const size_t mid = log.str().find("epoch 0.");
  REQUIRE(mid != std::string::npos);
  const std::string mid_line = log.str().substr(mid, log.str().find('\n', mid) - mid);
  CHECK(mid_line.find("val loss ") != std::string::npos);
  CHECK(mid_line.find("mean OA 0.") != std::string::npos);
  CHECK(log.str().find("epoch 2/2: train loss") != std::string::npos);
  const size_t last_epoch = log.str().find("epoch 2/2:");
  CHECK(log.str().find("mean OA 0.", last_epoch) != std::string::npos);
  // metrics.csv: the epochs' rows and the mid-epoch rows, each with a mean OA in [0, 1].
  std::ifstream csv(out / "metrics.csv");
  std::string header, line;
  std::getline(csv, header);
  CHECK(header.find(",mean_oa,pitch_class_entropy,scale_consistency,polyphony,empty_beat_rate,groove_consistency") !=
        std::string::npos);
  int rows = 0;
  while (std::getline(csv, line)) {
    CAPTURE(line);
    std::vector<std::string> cells;
    std::stringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    REQUIRE(cells.size() >= 8);
    const double oa = std::stod(cells[7]);
    CHECK(oa >= 0);
    CHECK(oa <= 1);
    ++rows;
  }
  CHECK(rows > 2);  // two epochs and at least one row every 4 steps
  // validation.txt names the held-out files, for comparisons by hand.
  std::ifstream held_out(out / "validation.txt");
  int held = 0;
  for (std::string name; std::getline(held_out, name); ++held) CHECK(std::filesystem::exists(name));
  CHECK(held == 2);
  std::ifstream svg(out / "loss.svg");
  const std::string picture((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  CHECK(picture.find("class=\"mean-oa\"") != std::string::npos);
  for (const auto& dir : {data, out}) std::filesystem::remove_all(dir);
}

namespace {

// metrics.csv's mean OA column (NaN where a row has none), row by row.
std::vector<double> mean_oa_column(const std::filesystem::path& csv_path) {
  std::ifstream csv(csv_path);
  std::string line;
  std::getline(csv, line);  // the header
  std::vector<double> oa;
  while (std::getline(csv, line)) {
    std::vector<std::string> cells;
    std::stringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    oa.push_back(cells.size() > 7 && !cells[7].empty() ? std::stod(cells[7]) : NAN);
  }
  return oa;
}

}  // namespace

TEST_CASE("trainer: --best-by music keeps the model whose last 3 measurements of music scored highest") {
  const auto data = testing::write_small_corpus("best_music_corpus", 6);
  const auto straight = temp_dir("best_music"), resumed = temp_dir("best_music_resumed");
  auto options = [&](const std::filesystem::path& out) {
    model::TrainOptions o = testing::small_training(data, out);
    o.recipe.best_by = "music";
    o.recipe.epochs = 3;
    o.eval_pieces = 3;
    o.eval_length = 60;
    o.eval_every = 2;
    return o;
  };
  std::ostringstream log;
  REQUIRE(model::train(options(straight), log) == 0);
  INFO(log.str());
  // Each epoch line is marked (best) exactly where the mean of the last three mean OAs (fewer at
  // the start) beats every earlier such mean.
  const std::vector<double> oa = mean_oa_column(straight / "metrics.csv");
  std::vector<bool> expected;
  double best = -1;
  for (size_t k = 0; k < oa.size(); ++k) {
    double sum = 0;
    int count = 0;
    for (size_t j = k + 1; j-- > 0 && count < 3;)
      if (!std::isnan(oa[j])) sum += oa[j], ++count;
    // metrics.csv keeps 6 digits: a mean within them of the best so far is the trainer's tie
    // (model::kMusicTie) or too close to tell from the file; the OAs here are far apart or equal.
    const bool improved = count > 0 && sum / count > best + 1e-5;
    if (improved) best = sum / count;
    expected.push_back(improved);
  }
  std::vector<bool> marked;
  std::istringstream lines(log.str());
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("epoch ", 0) == 0 && line.find(": train loss") != std::string::npos)
      marked.push_back(line.size() > 7 && line.substr(line.size() - 6) == "(best)");
  REQUIRE(oa.size() > 3);
  CHECK(marked == expected);
  CHECK(std::count(expected.begin(), expected.end(), true) >= 1);
  CHECK((testing::weights_of(straight / "best.safetensors") == testing::weights_of(straight / "last.safetensors")) ==
        expected.back());
  // --resume carries the record: interrupted half-way, the run keeps the same best model.
  model::TrainOptions first = options(resumed);
  first.stop_after_batches = 9;
  REQUIRE(model::train(first, log) == 130);
  model::TrainOptions second = options(resumed);
  second.resume = true;
  REQUIRE(model::train(second, log) == 0);
  CHECK(testing::weights_of(straight / "best.safetensors") == testing::weights_of(resumed / "best.safetensors"));

  model::TrainOptions bad = options(straight);
  bad.recipe.best_by = "beauty";
  CHECK_THROWS_WITH_AS(model::train(bad, log), doctest::Contains("bad best-by 'beauty'"), model::InputError);
  for (const auto& dir : {data, straight, resumed}) std::filesystem::remove_all(dir);
}
