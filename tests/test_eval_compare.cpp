// MGEval's set comparison (eval/kde.h, eval/compare.h): the densities, overlapped area and KL
// divergence against SciPy's answers (tools/make_kde_reference.py wrote them once), and the
// comparison on hand-made sets whose outcome is known.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "eval/compare.h"
#include "eval/kde.h"
#include "eval/report.h"
#include "score_builder.h"

using namespace legato;
using testing::make_note;

namespace {

// A piano piece of chords and melody, different for each seed: what a corpus looks like.
midi::Score piano_piece(unsigned seed) {
  std::mt19937 rng(seed);
  midi::Score s;
  s.ticks_per_quarter = 480;
  int pitch = 60 + static_cast<int>(rng() % 12);
  int64_t tick = 0;
  static constexpr int kSteps[] = {-5, -3, -2, -1, 1, 2, 3, 4, 7};
  for (int k = 0; k < 120; ++k) {
    pitch = std::clamp(pitch + kSteps[rng() % 9], 48, 84);
    const int64_t length = 120 * (1 + static_cast<int64_t>(rng() % 4));
    s.notes.push_back(make_note(pitch, tick, length));
    if (rng() % 3 == 0) s.notes.push_back(make_note(pitch - 12 - static_cast<int>(rng() % 5), tick, 2 * length));
    tick += length;
  }
  s.update_times();
  return s;
}

// One pitch struck over and over, in a rhythm that varies from piece to piece.
midi::Score repeated_note(unsigned seed) {
  std::mt19937 rng(seed);
  midi::Score s;
  s.ticks_per_quarter = 480;
  int64_t tick = 0;
  for (int k = 0; k < 100; ++k) {
    const int64_t length = 120 * (1 + static_cast<int64_t>(rng() % 4));
    s.notes.push_back(make_note(60, tick, length));
    tick += length;
  }
  s.update_times();
  return s;
}

std::vector<eval::NamedFeatures> set_of(midi::Score (*make)(unsigned), unsigned first, int count) {
  std::vector<eval::NamedFeatures> set;
  for (int k = 0; k < count; ++k)
    set.push_back({"piece" + std::to_string(first + k), eval::features_of(make(first + static_cast<unsigned>(k)))});
  return set;
}

}  // namespace

TEST_CASE("eval: KDE, overlapped area and KL agree with SciPy on fixed inputs") {
  std::ifstream in(std::string(LEGATO_TEST_DATA) + "/kde_reference.json");
  REQUIRE(in);
  const auto reference = nlohmann::json::parse(in);
  REQUIRE(reference.at("cases").size() == 4);
  for (const auto& c : reference.at("cases")) {
    CAPTURE(c.at("name").get<std::string>());
    const eval::GaussianKde a(c.at("a").get<std::vector<double>>()), b(c.at("b").get<std::vector<double>>());
    CHECK(a.bandwidth() == doctest::Approx(c.at("bandwidth_a").get<double>()).epsilon(1e-12));
    CHECK(b.bandwidth() == doctest::Approx(c.at("bandwidth_b").get<double>()).epsilon(1e-12));
    const auto xs = c.at("x").get<std::vector<double>>();
    for (size_t k = 0; k < xs.size(); ++k) {
      CHECK(std::abs(a(xs[k]) - c.at("pdf_a")[k].get<double>()) < 1e-12);
      CHECK(std::abs(b(xs[k]) - c.at("pdf_b")[k].get<double>()) < 1e-12);
    }
    CHECK(std::abs(eval::overlapped_area(a, b) - c.at("oa").get<double>()) < 1e-6);
    CHECK(std::abs(eval::kl_divergence(a, b) - c.at("kl").get<double>()) < 1e-6);
  }
}

TEST_CASE("eval: equal values make a narrow peak, not an error") {
  const eval::GaussianKde peak({2, 2, 2}, 1e-3), same({2, 2}, 1e-3), far({5, 5.5, 6}, 1e-3);
  CHECK(peak.bandwidth() == 1e-3);
  CHECK(eval::overlapped_area(peak, same) == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(eval::overlapped_area(peak, far) < 1e-6);
  CHECK_THROWS_AS(eval::GaussianKde({}), std::invalid_argument);
  CHECK_THROWS_AS(eval::GaussianKde({1.0, std::nan("")}), std::invalid_argument);
}

TEST_CASE("eval: a feature the corpus never varies is a point mass: its OA is the share of distances there") {
  // 25 corpus pieces without an empty beat (the original bars of 4-bar gaps): the intra-set
  // distances are all 0. Of 50 generated pieces, k have one empty beat in 16.
  const auto named = [](double empty_beats, size_t count) {
    std::vector<eval::NamedFeatures> out(count);
    for (auto& piece : out) piece.features.empty_beat_rate = empty_beats;
    return out;
  };
  const auto empty_beat_oa = [&](size_t k) {
    auto generated = named(0.0, 50 - k), odd = named(1.0 / 16, k);
    generated.insert(generated.end(), odd.begin(), odd.end());
    const eval::Comparison c = eval::compare_sets(generated, named(0.0, 25));
    for (const auto& f : c.features)
      if (f.name == "empty_beat_rate") return f.oa;
    return std::nan("");
  };
  CHECK(empty_beat_oa(0) == 1.0);
  CHECK(empty_beat_oa(1) == doctest::Approx(49.0 / 50).epsilon(1e-12));  // a narrow peak gave 0.01
  CHECK(empty_beat_oa(10) == doctest::Approx(40.0 / 50).epsilon(1e-12));
  CHECK(empty_beat_oa(50) == 0.0);
  // Every other feature is 0 in both sets: two point masses at one place overlap wholly.
  auto generated = named(0.0, 49), odd = named(1.0 / 16, 1);
  generated.insert(generated.end(), odd.begin(), odd.end());
  const eval::Comparison c = eval::compare_sets(generated, named(0.0, 25));
  CHECK(c.mean_oa == doctest::Approx((15 + 49.0 / 50) / 16).epsilon(1e-12));
}

TEST_CASE("eval: a corpus compared with itself overlaps on every feature") {
  const auto corpus = set_of(piano_piece, 1, 12);
  const eval::Comparison c = eval::compare_sets(corpus, corpus);
  REQUIRE(c.features.size() == eval::feature_defs().size());
  for (const auto& f : c.features) {
    CAPTURE(f.name);
    CHECK(f.intra.size() == 12 * 11);
    CHECK(f.inter.size() == 12 * 11);  // a piece is not compared with itself
    CHECK(f.oa >= 0.95);
  }
  CHECK(c.mean_oa >= 0.95);
}

TEST_CASE("eval: other pieces of the same kind overlap, a repeated note does not on pitch features") {
  const auto corpus = set_of(repeated_note, 1, 10), piano = set_of(piano_piece, 100, 10);
  const eval::Comparison c = eval::compare_sets(piano, corpus);
  for (size_t k = 0; k < c.features.size(); ++k) {
    CAPTURE(c.features[k].name);
    CHECK(c.features[k].inter.size() == 100);
    if (eval::feature_defs()[k].pitch) CHECK(c.features[k].oa < 0.02);
  }
  // The same piano pieces against other piano pieces: no feature is far off.
  const eval::Comparison same_kind = eval::compare_sets(piano, set_of(piano_piece, 200, 10));
  CHECK(same_kind.mean_oa > 0.6);
  CHECK(same_kind.mean_oa > c.mean_oa + 0.3);
}

TEST_CASE("eval: the reports: a table ending in the mean OA, JSON, and the densities drawn") {
  const eval::Comparison c = eval::compare_sets(set_of(piano_piece, 1, 3), set_of(piano_piece, 10, 4));
  const std::string table = eval::comparison_table(c);
  char last[64];
  std::snprintf(last, sizeof last, "mean OA %.3f\n", c.mean_oa);
  CHECK(table.size() > std::string(last).size());
  CHECK(table.substr(table.size() - std::string(last).size()) == last);
  const auto json = nlohmann::json::parse(eval::comparison_json(c));
  CHECK(json.at("mean_oa").get<double>() == doctest::Approx(c.mean_oa));
  CHECK(json.at("features").size() == eval::feature_defs().size());
  CHECK(json.at("features").at("polyphony").at("oa").get<double>() == doctest::Approx(c.features[14].oa));
  const std::string svg = eval::comparison_svg(c);
  size_t groups = 0;
  for (size_t at = svg.find("class=\"feature\""); at != std::string::npos; at = svg.find("class=\"feature\"", at + 1))
    ++groups;
  CHECK(groups == eval::feature_defs().size());
  CHECK(svg.find("class=\"intra\"") != std::string::npos);
  CHECK(svg.find("class=\"inter\"") != std::string::npos);
  CHECK_THROWS_WITH_AS(eval::compare_sets(set_of(piano_piece, 1, 2), set_of(piano_piece, 1, 1)),
                       doctest::Contains("at least 2"), std::invalid_argument);
}
