// The densities MGEval compares (Yang & Lerch 2018, mgeval/utils.py): a Gaussian kernel density
// estimate of a list of distances with Scott's bandwidth (scipy.stats.gaussian_kde), the
// overlapped area of two such densities and their Kullback-Leibler divergence.
#pragma once

#include <vector>

namespace legato::eval {

// scipy.stats.gaussian_kde in one dimension: the mean of Gaussians of standard deviation
// h = sd(data, ddof 1) * n^(-1/5) (Scott's factor) centred on the data.
class GaussianKde {
 public:
  // `fallback_bandwidth` (> 0) is used where Scott's rule gives none: one value, or all alike
  // (SciPy refuses those; a list of equal distances is a narrow peak, not an error). Throws
  // std::invalid_argument for no data or a non-finite value.
  explicit GaussianKde(std::vector<double> data, double fallback_bandwidth = 1e-3);
  double operator()(double x) const;
  double bandwidth() const { return h_; }
  double min() const { return data_.front(); }
  double max() const { return data_.back(); }
  const std::vector<double>& data() const { return data_; }  // sorted

 private:
  std::vector<double> data_;
  double h_ = 0;
};

// The sample standard deviation (ddof 1); 0 for fewer than two values.
double sample_sd(const std::vector<double>& v);

// MGEval overlap_area: the integral of min(p, q). MGEval integrates over [min, max] of the data
// alone, which cuts off the kernels' tails so that a set compared with itself scores below 1;
// here the integral runs over the whole line (to 12 bandwidths past the data, beyond which less
// than 1e-30 of either density lies), so identical sets have an overlap of 1.
double overlapped_area(const GaussianKde& p, const GaussianKde& q);

// MGEval kl_dist: p sampled at `samples` points evenly over p's data range, q over q's, both
// normalised to sum 1, then scipy.stats.entropy: sum p log(p / q) in nats (infinite where q
// underflows to 0 and p does not).
double kl_divergence(const GaussianKde& p, const GaussianKde& q, int samples = 1000);

}  // namespace legato::eval
