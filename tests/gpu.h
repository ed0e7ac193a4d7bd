#pragma once
// What the CUDA tests share: whether there is a GPU to run on (SKIP_WITHOUT_GPU ends a test case
// visibly where there is none), copies of CPU tensors as the CUDA backend takes them, and the one
// comparison of a CUDA result with its CPU reference, within atol + rtol * |reference|.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/tensor.h"

namespace legato::testing {

// A build with the CUDA backend and a GPU this process can use.
inline bool gpu_available() { return legato::cuda_device_count() > 0; }

// A CPU tensor as the CUDA backend takes it: float32 (int32 indices stay int32) on the GPU, taking
// a gradient when the original does. Undefined stays undefined (an optional LSTM state).
inline Tensor to_gpu(const Tensor& t) {
  if (!t.defined()) return Tensor();
  Tensor g = (t.dtype() == DType::I32 ? t : t.to(DType::F32)).to(Device::CUDA);
  if (t.requires_grad()) g.set_requires_grad(true);
  return g;
}

// |got - ref| <= atol + rtol * |ref|, element by element.
struct Tolerance {
  double atol = 0, rtol = 0;
};

// Checks every element; on failure reports how many are outside and the worst one (relative to
// what it was allowed), with the tolerance. NaN on either side counts as outside.
inline void check_close(const std::string& what, const std::vector<double>& got, const std::vector<double>& ref,
                        Tolerance tol) {
  INFO(what);
  REQUIRE(got.size() == ref.size());
  size_t worst = 0, bad = 0;
  double worst_ratio = 0;  // |got - ref| / allowed; infinite for NaN or where nothing was allowed
  for (size_t k = 0; k < got.size(); ++k) {
    const double err = std::abs(got[k] - ref[k]), allowed = tol.atol + tol.rtol * std::abs(ref[k]);
    const bool ok = err <= allowed;
    const double ratio =
        ok ? (allowed > 0 ? err / allowed : 0.0) : (allowed > 0 && !std::isnan(err) ? err / allowed : INFINITY);
    if (!ok) ++bad;
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = k;
    }
  }
  std::ostringstream report;
  report.precision(9);
  if (!got.empty())
    report << "worst element " << worst << " of " << got.size() << ": got " << got[worst] << ", expected " << ref[worst]
           << ", |diff| " << std::abs(got[worst] - ref[worst]) << " (allowed " << tol.atol << " + " << tol.rtol
           << " * |expected|); " << bad << " element(s) outside";
  const std::string text = report.str();
  INFO(text);
  CHECK(bad == 0);
}

}  // namespace legato::testing

// Ends the test case, visibly, where there is nothing to run the CUDA code on.
#define SKIP_WITHOUT_GPU()                                                       \
  do {                                                                           \
    if (!::legato::testing::gpu_available()) {                                   \
      MESSAGE("SKIPPED: no CUDA GPU on this machine (or a build without CUDA)"); \
      return;                                                                    \
    }                                                                            \
  } while (0)
