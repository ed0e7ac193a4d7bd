// tools/openmp_waits.h: the programs start themselves again, once, with GOMP_SPINCOUNT=1000,
// unless the user chose how OpenMP waits. A forked child calls it with this test binary's own
// arguments for the probe below, which writes what the restarted process sees.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tools/openmp_waits.h"

namespace {

// "exec:<GOMP_SPINCOUNT>" from the restarted process, "direct:<...>" where there was no restart.
void write_probe(const char* how) {
  const char* value = std::getenv("GOMP_SPINCOUNT");
  std::ofstream(std::getenv("LEGATO_OPENMP_PROBE")) << how << ':' << (value ? value : "");
}

std::string run_child(const char* name, const char* value) {
  const std::string probe =
      (std::filesystem::temp_directory_path() / ("legato_openmp_probe_" + std::to_string(::getpid()))).string();
  std::filesystem::remove(probe);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::unsetenv("GOMP_SPINCOUNT");
    ::unsetenv("OMP_WAIT_POLICY");
    if (name) ::setenv(name, value, 1);
    ::setenv("LEGATO_OPENMP_PROBE", probe.c_str(), 1);
    if (!std::freopen("/dev/null", "w", stdout)) ::_exit(3);  // the restarted doctest's report
    char* args[] = {const_cast<char*>("legato_tests"), const_cast<char*>("-tc=openmp waits: probe"), nullptr};
    legato::tools::shorten_openmp_waits(args);
    write_probe("direct");
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  std::string seen;
  std::getline(std::ifstream(probe), seen);
  std::filesystem::remove(probe);
  return seen;
}

}  // namespace

TEST_CASE("openmp waits: probe") {  // does something only in the child processes below
  if (std::getenv("LEGATO_OPENMP_PROBE")) write_probe("exec");
}

TEST_CASE("openmp waits: a program restarts once with GOMP_SPINCOUNT=1000 unless the user chose a policy") {
  CHECK(run_child(nullptr, nullptr) == "exec:1000");
  CHECK(run_child("GOMP_SPINCOUNT", "5000") == "direct:5000");  // the user's count, no restart
  CHECK(run_child("OMP_WAIT_POLICY", "passive") == "direct:");  // the user's policy, no count added
}
