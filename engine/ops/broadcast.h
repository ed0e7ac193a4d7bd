#pragma once
// NumPy broadcasting of two operands: the result's shape and, per result axis, where each operand
// is read (stride 0 along the axes it is broadcast over). Shared by the CPU and CUDA elementwise ops.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace legato::ops::detail {

struct Broadcast {
  Shape out;
  std::vector<int64_t> stride_a, stride_b;
};

// Strides of a tensor of shape `in` read at every index of `out` (right-aligned, as NumPy does).
inline std::vector<int64_t> aligned_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t stride = 1;
  for (size_t k = 0; k < in.size(); ++k) {
    const size_t in_axis = in.size() - 1 - k, out_axis = out.size() - 1 - k;
    strides[out_axis] = in[in_axis] == 1 ? 0 : stride;
    stride *= in[in_axis];
  }
  return strides;
}

inline Broadcast broadcast(const char* op, const Tensor& a, const Tensor& b) {
  const Shape &sa = a.shape(), &sb = b.shape();
  Broadcast bc;
  bc.out.assign(std::max(sa.size(), sb.size()), 1);
  for (size_t k = 0; k < bc.out.size(); ++k) {
    const int64_t da = k < sa.size() ? sa[sa.size() - 1 - k] : 1;
    const int64_t db = k < sb.size() ? sb[sb.size() - 1 - k] : 1;
    if (da != db && da != 1 && db != 1)
      throw std::invalid_argument(std::string(op) + ": shapes " + to_string(sa) + " and " + to_string(sb) +
                                  " do not broadcast");
    bc.out[bc.out.size() - 1 - k] = da == 1 ? db : da;
  }
  bc.stride_a = aligned_strides(sa, bc.out);
  bc.stride_b = aligned_strides(sb, bc.out);
  return bc;
}

}  // namespace legato::ops::detail
