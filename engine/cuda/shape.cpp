// Block copies for slice and concat on CUDA (kernels/shape.cu for the gradient's adds).
#include "kernels/shape.h"
#include "engine/autograd.h"
#include "engine/cuda/common.h"
#include "engine/ops.h"
#include "kernels/cuda_check.h"

namespace legato::cuda_ops {

void copy_block(const Tensor& src, int64_t src_size, int64_t src_start, Tensor& dst, int64_t dst_size,
                int64_t dst_start, int64_t outer, int64_t count, int64_t inner, bool add) {
  const char* op = add ? "slice/concat backward" : "slice/concat";
  detail::check(op, src, "source");
  detail::check(op, dst, "destination");
  if (outer == 0 || count == 0 || inner == 0) return;
  const float* from = detail::f32(src) + src_start * inner;
  float* to = detail::f32(dst) + dst_start * inner;
  detail::with_context(op, {src, dst}, [&] {
    if (add) {
      kernels::add_2d_launch(to, dst_size * inner, from, src_size * inner, outer, count * inner, cuda::stream());
    } else {
      // outer rows of count * inner elements, each row at its own pitch: one 2-D copy.
      const size_t f = sizeof(float);
      LEGATO_CUDA_CHECK(cudaMemcpy2DAsync(to, static_cast<size_t>(dst_size * inner) * f, from,
                                          static_cast<size_t>(src_size * inner) * f,
                                          static_cast<size_t>(count * inner) * f, static_cast<size_t>(outer),
                                          cudaMemcpyDeviceToDevice, cuda::stream()));
    }
  });
}

}  // namespace legato::cuda_ops
