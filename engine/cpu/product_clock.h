#pragma once
// The sums behind cpu::product_times() (products.h), for the files that run the products: a
// ProductClock adds the time from its construction to its end to one of them, in thread-seconds:
// once per thread of the OpenMP team that the work runs on (all of omp_get_max_threads() when
// called outside a parallel region, the calling thread alone inside one). Relaxed atomics: the
// sums are read between steps, never to order anything.
#include <omp.h>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace legato::cpu::detail {

enum class ProductWork { Products, Preparing };

std::atomic<int64_t>& product_nanoseconds(ProductWork work);

class ProductClock {
 public:
  explicit ProductClock(ProductWork work)
      : sum_(product_nanoseconds(work)),
        threads_(omp_in_parallel() ? 1 : omp_get_max_threads()),
        start_(std::chrono::steady_clock::now()) {}
  ~ProductClock() {
    const auto spent = std::chrono::steady_clock::now() - start_;
    sum_.fetch_add(threads_ * std::chrono::duration_cast<std::chrono::nanoseconds>(spent).count(),
                   std::memory_order_relaxed);
  }
  ProductClock(const ProductClock&) = delete;
  ProductClock& operator=(const ProductClock&) = delete;

 private:
  std::atomic<int64_t>& sum_;
  int64_t threads_;  // the threads the work runs on
  std::chrono::steady_clock::time_point start_;
};

}  // namespace legato::cpu::detail
