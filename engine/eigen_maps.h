#pragma once
// Eigen views over tensor storage: no copies. Row-major like the tensors.
#include <Eigen/Core>

#include "engine/tensor.h"

namespace legato {

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MatMap = Eigen::Map<RowMatrix<T>>;
template <class T>
using ConstMatMap = Eigen::Map<const RowMatrix<T>>;
template <class T>
using VecMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstVecMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// The columns of t seen as a [rows, cols] matrix: numel / rows. An empty t (a batch of 0, say)
// still has its columns, which the products around it need (a [0, K] x [K, N] product is [0, N]):
// those of the dims after the shortest leading run of dims whose product is rows.
inline int64_t matrix_cols(const Tensor& t, int64_t rows) {
  if (rows != 0) return t.numel() / rows;
  int64_t lead = 1, cols = 1;
  int k = 0;
  while (k < t.ndim() && lead != 0) lead *= t.dim(k++);
  for (; k < t.ndim(); ++k) cols *= t.dim(k);
  return cols;
}

// The tensor seen as a [rows, matrix_cols] matrix.
template <class T>
MatMap<T> as_matrix(Tensor& t, int64_t rows) {
  return MatMap<T>(t.data<T>(), rows, matrix_cols(t, rows));
}
template <class T>
ConstMatMap<T> as_matrix(const Tensor& t, int64_t rows) {
  return ConstMatMap<T>(t.data<T>(), rows, matrix_cols(t, rows));
}
template <class T>
VecMap<T> as_array(Tensor& t) {
  return VecMap<T>(t.data<T>(), t.numel());
}
template <class T>
ConstVecMap<T> as_array(const Tensor& t) {
  return ConstVecMap<T>(t.data<T>(), t.numel());
}

}  // namespace legato
