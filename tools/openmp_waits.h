#pragma once
// How long OpenMP's threads spin before they sleep, chosen before libgomp starts.
//
// At the end of every parallel region (each product, each pointwise pass: thousands per training
// step, ten per composed token) a thread that is done spins, waiting for the others: libgomp's
// default is 300,000 turns (GOMP_SPINCOUNT), about a millisecond, before it sleeps. On a machine
// where another process is busy, the spinning thread holds a core that its partner needs to
// finish, and every region waits for the scheduler: measured on the 2-core development machine
// beside a one-thread trainer and two compilers, the bf16 training step took 7.1 s against 1.0 s
// with 1,000 turns, and composer 1.1–3.5 s against 0.95 s. Idle, 1,000 turns cost 1–2% (the step
// 688 against 679 ms). libgomp reads its settings once, when it is loaded, before main(), so the
// program starts itself again, once, with GOMP_SPINCOUNT=1000 in its environment; a user who set
// GOMP_SPINCOUNT or OMP_WAIT_POLICY keeps theirs.
#include <unistd.h>

#include <cstdlib>

namespace legato::tools {

inline void shorten_openmp_waits(char** argv) {
  if (std::getenv("GOMP_SPINCOUNT") || std::getenv("OMP_WAIT_POLICY")) return;  // the user's, or done
  if (::setenv("GOMP_SPINCOUNT", "1000", 1) != 0) return;
  ::execv("/proc/self/exe", argv);  // returns only on failure (no /proc): run on with the defaults
  ::unsetenv("GOMP_SPINCOUNT");
}

}  // namespace legato::tools
