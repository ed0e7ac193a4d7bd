// The trainer's loss curves (train/metrics.cpp) as drawn: the SVG is parsed and every point of
// each polyline is checked against the epoch and loss it stands for.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "test_render_svg.h"
#include "train/metrics.h"

using namespace legato;
using legato::testing::SvgElement;

namespace {

struct Axes {
  double left, right, top, bottom;  // the plot area from the two axis lines
};

Axes axes_of(const std::vector<SvgElement>& svg) {
  const auto lines = testing::select(svg, "line", "axis");
  REQUIRE(lines.size() == 2);
  Axes a{1e9, -1e9, 1e9, -1e9};
  for (const SvgElement& l : lines)
    for (const char* xk : {"x1", "x2"})
      a.left = std::min(a.left, l.number(xk)), a.right = std::max(a.right, l.number(xk));
  for (const SvgElement& l : lines)
    for (const char* yk : {"y1", "y2"})
      a.top = std::min(a.top, l.number(yk)), a.bottom = std::max(a.bottom, l.number(yk));
  return a;
}

// Checks that the points are (epoch, loss) under one linear map shared by all curves:
// x = ax + bx·epoch with bx > 0 (time runs right), y = ay + by·loss with by < 0 (loss goes up).
void check_curve(const std::vector<std::pair<double, double>>& points, const std::vector<double>& epochs,
                 const std::vector<double>& losses, double bx, double ax, double by, double ay, const Axes& axes) {
  REQUIRE(points.size() == epochs.size());
  for (size_t k = 0; k < points.size(); ++k) {
    CAPTURE(k);
    CHECK(points[k].first == doctest::Approx(ax + bx * epochs[k]).epsilon(1e-4));
    CHECK(points[k].second == doctest::Approx(ay + by * losses[k]).epsilon(1e-4));
    CHECK(points[k].first >= axes.left - 1e-6);
    CHECK(points[k].first <= axes.right + 1e-6);
    CHECK(points[k].second >= axes.top - 1e-6);
    CHECK(points[k].second <= axes.bottom + 1e-6);
  }
}

}  // namespace

TEST_CASE("render: loss curves draw one point per epoch for training and validation") {
  const std::vector<double> epochs = {1, 2, 3, 4, 5};
  const std::vector<double> train = {3.0, 2.5, 2.2, 2.0, 1.9}, val = {3.2, 2.8, 2.6, 2.6, 2.7};
  std::vector<model::EpochMetrics> rows;
  for (size_t k = 0; k < epochs.size(); ++k) {
    model::EpochMetrics r;
    r.epoch = epochs[k];
    r.step = int64_t(10 * (k + 1));
    r.train_loss = train[k];
    r.val_loss = val[k];
    rows.push_back(r);
  }
  const auto svg = testing::parse_svg(model::loss_svg(rows));
  const Axes axes = axes_of(svg);
  const auto train_lines = testing::select(svg, "polyline", "train");
  const auto val_lines = testing::select(svg, "polyline", "validation");
  REQUIRE(train_lines.size() == 1);
  REQUIRE(val_lines.size() == 1);
  const auto tp = testing::polyline_points(train_lines[0]), vp = testing::polyline_points(val_lines[0]);
  REQUIRE(tp.size() == 5);
  REQUIRE(vp.size() == 5);
  // The map, from two training points; every other point of both curves must follow it.
  const double bx = (tp[4].first - tp[0].first) / (epochs[4] - epochs[0]), ax = tp[0].first - bx * epochs[0];
  const double by = (tp[4].second - tp[0].second) / (train[4] - train[0]), ay = tp[0].second - by * train[0];
  CHECK(bx > 0);
  CHECK(by < 0);
  check_curve(tp, epochs, train, bx, ax, by, ay, axes);
  check_curve(vp, epochs, val, bx, ax, by, ay, axes);
  // The highest loss sits near the top of the plot and the lowest well above the x axis.
  CHECK(vp[0].second - axes.top < 0.2 * (axes.bottom - axes.top));
  CHECK(tp[4].second < axes.bottom);
  // A legend names both curves in their colours.
  int legend = 0;
  for (const SvgElement& e : svg)
    if (e.name == "text" && (e.text == "train" || e.text == "validation")) {
      CHECK(e.at("fill") == (e.text == "train" ? train_lines[0] : val_lines[0]).at("stroke"));
      ++legend;
    }
  CHECK(legend == 2);
}

TEST_CASE("render: loss curves without a validation set draw the training curve alone") {
  std::vector<model::EpochMetrics> rows;
  for (int k = 0; k < 3; ++k) {
    model::EpochMetrics r;
    r.epoch = 0.5 * (k + 1);  // fractional epochs, as after an interrupted run
    r.train_loss = 4.0 - k;
    rows.push_back(r);  // val_loss stays NaN
  }
  const auto svg = testing::parse_svg(model::loss_svg(rows));
  CHECK(testing::select(svg, "polyline", "validation").empty());
  const auto train_lines = testing::select(svg, "polyline", "train");
  REQUIRE(train_lines.size() == 1);
  const auto tp = testing::polyline_points(train_lines[0]);
  REQUIRE(tp.size() == 3);
  // Equal steps in epoch and in loss give equal steps on the page.
  CHECK(tp[1].first - tp[0].first == doctest::Approx(tp[2].first - tp[1].first).epsilon(1e-4));
  CHECK(tp[1].second - tp[0].second == doctest::Approx(tp[2].second - tp[1].second).epsilon(1e-4));
  CHECK(tp[1].second > tp[0].second);  // lower loss is drawn lower
  const Axes axes = axes_of(svg);
  for (const auto& [x, y] : tp) {
    CHECK(x > axes.left);
    CHECK(x <= axes.right + 1e-6);
    CHECK(y >= axes.top - 1e-6);
    CHECK(y < axes.bottom);
  }
}

TEST_CASE("render: the mean OA has its own curve on a 0-1 axis at the right") {
  std::vector<model::EpochMetrics> rows;
  const std::vector<double> oa = {0.5, 0.75, 1.0};
  for (int k = 0; k < 3; ++k) {
    model::EpochMetrics r;
    r.epoch = k + 1;
    r.train_loss = 3.0 - 0.5 * k;
    r.mean_oa = oa[static_cast<size_t>(k)];
    rows.push_back(r);
  }
  model::EpochMetrics mid;  // a row without music metrics draws no OA point
  mid.epoch = 3.5;
  mid.train_loss = 1.9;
  rows.push_back(mid);
  const auto svg = testing::parse_svg(model::loss_svg(rows));
  const Axes axes = axes_of(svg);
  const auto oa_axis = testing::select(svg, "line", "oa-axis");
  REQUIRE(oa_axis.size() == 1);
  const double top = oa_axis[0].number("y1"), bottom = oa_axis[0].number("y2");
  CHECK(top == doctest::Approx(axes.top));
  CHECK(bottom == doctest::Approx(axes.bottom));
  const auto lines = testing::select(svg, "polyline", "mean-oa");
  REQUIRE(lines.size() == 1);
  const auto points = testing::polyline_points(lines[0]),
             train = testing::polyline_points(testing::select(svg, "polyline", "train")[0]);
  REQUIRE(points.size() == 3);
  for (size_t k = 0; k < 3; ++k) {
    CHECK(points[k].first == doctest::Approx(train[k].first));  // the same epoch axis as the losses
    CHECK(points[k].second == doctest::Approx(bottom - (bottom - top) * oa[k]));
  }
  int legend = 0;
  for (const SvgElement& e : svg) legend += e.name == "text" && e.text == "mean OA";
  CHECK(legend == 1);
}

// Issue 31: ticks at round values (a step of 1, 2, 2.5 or 5 times a power of ten, not 6.25, 18.8
// and 0.397), a label on each axis, and the epoch axis starting at 1, where the first row is.
TEST_CASE("render: loss.svg has round ticks, axis labels and epochs from 1") {
  std::vector<model::EpochMetrics> rows;
  for (int k = 1; k <= 20; ++k) {
    model::EpochMetrics r;
    r.epoch = k;
    r.train_loss = 0.397 + 6.0 / k;
    r.val_loss = 0.5 + 5.853 / k;
    rows.push_back(r);
  }
  const auto svg = testing::parse_svg(model::loss_svg(rows));
  const Axes axes = axes_of(svg);
  auto is_round_step = [](double step) {
    const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
    for (double m : {1.0, 2.0, 2.5, 5.0})
      if (std::fabs(mantissa - m) < 1e-9) return true;
    return false;
  };
  for (const char* axis : {"y-tick", "x-tick"}) {
    CAPTURE(axis);
    const auto ticks = testing::select(svg, "text", axis);
    REQUIRE(ticks.size() >= 3);
    std::vector<double> values;
    for (const SvgElement& t : ticks) values.push_back(std::stod(t.text));
    const size_t from = axis == std::string("x-tick") ? 1 : 0;  // the epoch axis: 1, then multiples of the step
    const double step = values[from + 1] - values[from];
    CHECK(is_round_step(step));
    for (size_t k = from; k < values.size(); ++k) {
      CAPTURE(values[k]);
      CHECK(std::fabs(values[k] / step - std::round(values[k] / step)) < 1e-6);  // a multiple of the step
      if (k > from) CHECK(values[k] - values[k - 1] == doctest::Approx(step));
    }
  }
  const auto x_ticks = testing::select(svg, "text", "x-tick");
  CHECK(x_ticks[0].text == "1");
  CHECK(x_ticks[0].number("x") == doctest::Approx(axes.left));
  const auto points = testing::polyline_points(testing::select(svg, "polyline", "train").at(0));
  CHECK(points[0].first == doctest::Approx(axes.left));  // epoch 1 on the loss axis
  // Every loss lies within the labelled range.
  const auto y_ticks = testing::select(svg, "text", "y-tick");
  CHECK(std::stod(y_ticks.front().text) <= 0.397 + 6.0 / 20);
  CHECK(std::stod(y_ticks.back().text) >= 0.397 + 6.0);
  std::vector<std::string> labels;
  for (const SvgElement& t : testing::select(svg, "text", "axis-label")) labels.push_back(t.text);
  CHECK(labels.size() == 2);
  CHECK(std::find(labels.begin(), labels.end(), "epoch") != labels.end());
  CHECK(std::count_if(labels.begin(), labels.end(), [](const std::string& l) { return l.rfind("loss", 0) == 0; }) == 1);
}
