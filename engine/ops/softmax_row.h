#pragma once
// The CPU's Row for kernels/softmax.h's body, shared by the softmax ops and the softmax
// cross-entropy: the whole row at once as Eigen arrays, so that Eigen's vectorised exp computes
// it. The exponentials are kept in the output between the sum and the write.
#include <cmath>

#include <Eigen/Core>

#include "kernels/softmax.h"

namespace legato::ops::detail {

// In, Out: Eigen row blocks of the same length (the input row x [cols] and the output row y [cols],
// not overlapping).
template <class In, class Out>
struct EigenSoftmaxRow {
  using Scalar = typename Out::Scalar;
  In x;
  Out y;

  Scalar max() const { return x.maxCoeff(); }
  template <class F>
  Scalar sum(F shifted) {
    y.array() = shifted(x.array());
    return y.sum();
  }
  template <class F, class G>
  void write(F /*kept in y by sum*/, G g) {
    y.array() = g(x.array(), y.array());
  }
  template <class V>
  static auto exp(const Eigen::ArrayBase<V>& v) {
    return v.derived().exp();
  }
  static Scalar log(Scalar s) { return std::log(s); }
};

// softmax (log: log-softmax) of the row x into y; returns its maximum and sum of exponentials.
template <class In, class Out>
kernels::SoftmaxStats<typename Out::Scalar> softmax_row(const In& x, Out y, bool log) {
  EigenSoftmaxRow<In, Out> row{x, y};
  return kernels::softmax_row(row, log);
}

}  // namespace legato::ops::detail
