#pragma once
// Thread count of the CPU engine (OpenMP, which the OpenMP build of OpenBLAS shares).
#include <omp.h>

namespace legato {

// Runs the enclosed work on one thread. For batch-1 work such as generating a token, where each
// product is a small matrix-vector product: waking the other threads costs more than they save,
// and on a busy machine their spinning can make a token take milliseconds instead of microseconds.
class SingleThreadScope {
 public:
  SingleThreadScope() : previous_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleThreadScope() { omp_set_num_threads(previous_); }
  SingleThreadScope(const SingleThreadScope&) = delete;
  SingleThreadScope& operator=(const SingleThreadScope&) = delete;

 private:
  int previous_;
};

}  // namespace legato
