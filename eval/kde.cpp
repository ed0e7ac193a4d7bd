#include "eval/kde.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <stdexcept>

namespace legato::eval {

double sample_sd(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  double mean = 0;
  for (double x : v) mean += x;
  mean /= double(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / double(v.size() - 1));
}

GaussianKde::GaussianKde(std::vector<double> data, double fallback_bandwidth) : data_(std::move(data)) {
  if (data_.empty()) throw std::invalid_argument("kde: no data");
  for (double x : data_)
    if (!std::isfinite(x)) throw std::invalid_argument("kde: a value is not finite");
  if (!(fallback_bandwidth > 0)) throw std::invalid_argument("kde: the fallback bandwidth must be positive");
  std::sort(data_.begin(), data_.end());
  h_ = sample_sd(data_) * std::pow(double(data_.size()), -0.2);  // Scott: n^(-1/(d+4)), d = 1
  if (!(h_ > 0)) h_ = fallback_bandwidth;
}

double GaussianKde::operator()(double x) const {
  // Kernels further than 40 bandwidths contribute exp(-800): nothing in double precision.
  const auto from = std::lower_bound(data_.begin(), data_.end(), x - 40 * h_);
  const auto to = std::upper_bound(data_.begin(), data_.end(), x + 40 * h_);
  double sum = 0;
  for (auto it = from; it != to; ++it) {
    const double z = (x - *it) / h_;
    sum += std::exp(-0.5 * z * z);
  }
  return sum / (double(data_.size()) * h_ * std::sqrt(2 * std::numbers::pi));
}

namespace {

// Adaptive Simpson's rule: splits where the two halves disagree with the whole.
double simpson(const std::function<double(double)>& f, double a, double b, double fa, double fm, double fb,
               double whole, double tolerance, int depth) {
  const double m = 0.5 * (a + b), lm = 0.5 * (a + m), rm = 0.5 * (m + b);
  const double flm = f(lm), frm = f(rm);
  const double left = (m - a) / 6 * (fa + 4 * flm + fm), right = (b - m) / 6 * (fm + 4 * frm + fb);
  if (depth <= 0 || std::abs(left + right - whole) <= 15 * tolerance) return left + right + (left + right - whole) / 15;
  return simpson(f, a, m, fa, flm, fm, left, tolerance / 2, depth - 1) +
         simpson(f, m, b, fm, frm, fb, right, tolerance / 2, depth - 1);
}

double integrate(const std::function<double(double)>& f, double a, double b, double tolerance) {
  const double fa = f(a), fb = f(b), fm = f(0.5 * (a + b));
  return simpson(f, a, b, fa, fm, fb, (b - a) / 6 * (fa + 4 * fm + fb), tolerance, 50);
}

}  // namespace

double overlapped_area(const GaussianKde& p, const GaussianKde& q) {
  const double reach = 12 * std::max(p.bandwidth(), q.bandwidth());
  const double lo = std::min(p.min(), q.min()) - reach, hi = std::max(p.max(), q.max()) + reach;
  // The densities change fastest near their data: the integral is split there (at most about
  // 256 pieces, at quantiles of the data) so that no narrow peak falls between two samples.
  std::vector<double> cuts = p.data();
  cuts.insert(cuts.end(), q.data().begin(), q.data().end());
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<double> points{lo};
  const size_t stride = std::max<size_t>(1, cuts.size() / 256);
  for (size_t k = 0; k < cuts.size(); k += stride) points.push_back(cuts[k]);
  points.push_back(cuts.back());
  points.push_back(hi);
  const auto overlap = [&](double x) { return std::min(p(x), q(x)); };
  double area = 0;
  for (size_t k = 0; k + 1 < points.size(); ++k)
    if (points[k + 1] > points[k])
      area += integrate(overlap, points[k], points[k + 1], 1e-12 * (points[k + 1] - points[k]) / (hi - lo));
  return std::clamp(area, 0.0, 1.0);
}

double kl_divergence(const GaussianKde& p, const GaussianKde& q, int samples) {
  if (samples < 2) throw std::invalid_argument("kl: need at least 2 samples");
  std::vector<double> ps(static_cast<size_t>(samples)), qs(ps.size());
  double p_total = 0, q_total = 0;
  for (int k = 0; k < samples; ++k) {  // numpy.linspace: both ends included
    const double t = double(k) / (samples - 1);
    p_total += ps[static_cast<size_t>(k)] = p(p.min() + t * (p.max() - p.min()));
    q_total += qs[static_cast<size_t>(k)] = q(q.min() + t * (q.max() - q.min()));
  }
  double kl = 0;
  for (size_t k = 0; k < ps.size(); ++k) {
    const double a = ps[k] / p_total, b = qs[k] / q_total;
    if (a > 0) kl += b > 0 ? a * std::log(a / b) : std::numeric_limits<double>::infinity();
  }
  return kl;
}

}  // namespace legato::eval
