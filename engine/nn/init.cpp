#include "engine/nn/init.h"

#include <Eigen/QR>
#include <cmath>

#include "engine/eigen_maps.h"

namespace legato::nn {

Tensor glorot_uniform(int64_t fan_out, int64_t fan_in, uint64_t seed, DType dtype) {
  const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return Tensor::uniform({fan_out, fan_in}, -limit, limit, seed, dtype);
}

Tensor orthogonal(int64_t rows, int64_t cols, uint64_t seed, DType dtype) {
  const bool tall = rows >= cols;
  const int64_t r = tall ? rows : cols, c = tall ? cols : rows;  // decompose the tall orientation
  Tensor normal = Tensor::normal({r, c}, 0.0, 1.0, seed, DType::F64);
  Eigen::MatrixXd a = as_matrix<double>(normal, r);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(r, c);
  const Eigen::MatrixXd upper = qr.matrixQR().topLeftCorner(c, c);
  for (int64_t k = 0; k < c; ++k)
    if (upper(k, k) < 0) q.col(k) *= -1.0;  // a unique Q: R's diagonal positive
  Tensor out = Tensor::empty({rows, cols}, DType::F64);
  auto m = as_matrix<double>(out, rows);
  if (tall)
    m = q;
  else
    m = q.transpose();
  return out.to(dtype);
}

}  // namespace legato::nn
