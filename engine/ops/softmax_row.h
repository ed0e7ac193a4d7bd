#pragma once
// The CPU's Rows for kernels/softmax.h's bodies, forward (shared by the softmax ops and the
// softmax cross-entropy) and backward: the whole row at once as Eigen arrays, so that Eigen's vectorised exp computes
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

// The CPU's backward Row: the whole row at once as Eigen arrays. Y, Dy, Dx: Eigen row blocks of
// one length (the output y, the gradient reaching it, the input's gradient, added to).
template <class Y, class Dy, class Dx>
struct EigenSoftmaxBackwardRow {
  using Scalar = typename Dx::Scalar;
  Y y;
  Dy dy;
  Dx dx;

  template <class F>
  Scalar sum(F f) const {
    return f(y.array(), dy.array()).sum();
  }
  template <class F>
  void add(F f) {
    dx.array() += f(y.array(), dy.array());
  }
  template <class V>
  static auto exp(const Eigen::ArrayBase<V>& v) {
    return v.derived().exp();
  }
};

// dx += the gradient of softmax (log: log-softmax) of one row, from its output y and dy.
template <class Y, class Dy, class Dx>
void softmax_backward_row(const Y& y, const Dy& dy, Dx dx, bool log) {
  EigenSoftmaxBackwardRow<Y, Dy, Dx> row{y, dy, dx};
  kernels::softmax_backward_row(row, log);
}

}  // namespace legato::ops::detail
