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

// The tensor seen as a [rows, numel / rows] matrix.
template <class T>
MatMap<T> as_matrix(Tensor& t, int64_t rows) {
  return MatMap<T>(t.data<T>(), rows, rows ? t.numel() / rows : 0);
}
template <class T>
ConstMatMap<T> as_matrix(const Tensor& t, int64_t rows) {
  return ConstMatMap<T>(t.data<T>(), rows, rows ? t.numel() / rows : 0);
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
