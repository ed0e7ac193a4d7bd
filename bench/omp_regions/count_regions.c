// Counts OpenMP parallel regions (libgomp's GOMP_parallel calls, the program's and oneDNN's) by
// their outlined function, without OMPT: preloaded by bench/omp_regions.sh, which names them.
// At exit each process writes "count object offset" lines to $COUNT_REGIONS_OUT.<pid> (one file
// per process: the benchmark starts helper processes that must not overwrite its counts).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_FUNCTIONS 4096
static void* functions[MAX_FUNCTIONS];
static long counts[MAX_FUNCTIONS];
static int used;
static void (*real_parallel)(void (*)(void*), void*, unsigned, unsigned);

void GOMP_parallel(void (*fn)(void*), void* data, unsigned threads, unsigned flags) {
  if (!real_parallel) real_parallel = (void (*)(void (*)(void*), void*, unsigned, unsigned))dlsym(RTLD_NEXT, "GOMP_parallel");
  int i = 0;
  while (i < used && functions[i] != (void*)fn) ++i;
  if (i == used && used < MAX_FUNCTIONS) functions[used++] = (void*)fn;  // regions open from one thread
  if (i < MAX_FUNCTIONS) __atomic_fetch_add(&counts[i], 1, __ATOMIC_RELAXED);
  real_parallel(fn, data, threads, flags);
}

__attribute__((destructor)) static void write_counts(void) {
  if (!used) return;
  const char* out = getenv("COUNT_REGIONS_OUT");
  char name[4096];
  snprintf(name, sizeof name, "%s.%d", out ? out : "/tmp/omp_regions", (int)getpid());
  FILE* f = fopen(name, "w");
  if (!f) return;
  for (int i = 0; i < used; ++i) {
    Dl_info info;
    if (!dladdr(functions[i], &info)) continue;
    fprintf(f, "%ld %s %lx\n", counts[i], info.dli_fname, (unsigned long)((char*)functions[i] - (char*)info.dli_fbase));
  }
  fclose(f);
}
