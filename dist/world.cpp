#include "dist/world.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#ifdef LEGATO_HAVE_MPI
#include <mpi.h>
#endif

namespace legato::dist {
namespace {

// The size a launcher gave this process in its environment: 0 when none started it.
int launched_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (const char* value = std::getenv(name)) return std::max(1, std::atoi(value));
  return std::getenv("PMIX_RANK") ? 1 : 0;
}

std::string host_name() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

// Whether process `pid` of this host has ended: gone, or a zombie not yet reaped by its parent.
bool process_gone(int64_t pid) {
  if (kill(static_cast<pid_t>(pid), 0) != 0) return errno == ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

#ifdef LEGATO_HAVE_MPI
// "Open MPI 4.1.4" from "Open MPI v4.1.4, package: ...".
std::string library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string version(text, static_cast<size_t>(length));
  version = version.substr(0, version.find_first_of(",\n"));
  if (const size_t v = version.find(" v"); v != std::string::npos) version.erase(v + 1, 1);
  return version;
}

#endif

}  // namespace

#ifdef LEGATO_HAVE_MPI
// Waits for `request` at most `seconds`, yielding the CPU (ranks may share cores: --oversubscribe),
// so that a lost rank is noticed rather than waited for forever: at once (within a second) when
// its process on this host is gone, after `seconds` otherwise. False on timeout or an MPI error.
bool World::wait_for(void* mpi_request, double seconds) const {
  MPI_Request& request = *static_cast<MPI_Request*>(mpi_request);
  const auto start = std::chrono::steady_clock::now();
  double looked = 0;  // when gone_ranks() was last asked
  for (int polls = 0;; ++polls) {
    int done = 0;
    if (MPI_Test(&request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return false;
    if (done) return true;
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited > seconds) return false;
    if (waited - looked >= 1) {
      looked = waited;
      if (!gone_ranks().empty()) return false;
    }
    if (polls < 1000)
      std::this_thread::yield();
    else  // a long wait (the others evaluate or write): poll less often
      std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}
#endif

World& World::get() {
  static World world;
  return world;
}

World::World() : hosts_{host_name()}, pids_{static_cast<int64_t>(getpid())} {
  const int size = launched_size();
  if (size == 0) return;
#ifdef LEGATO_HAVE_MPI
  join_mpi();
#else
  if (size > 1)
    throw std::runtime_error("started as one of " + std::to_string(size) +
                             " ranks, but this build has no MPI (install libopenmpi-dev and build again)");
#endif
}

World::~World() { finish(0); }

int World::finish(int code) {
#ifdef LEGATO_HAVE_MPI
  if (!mpi_) return code;
  mpi_ = false;
  const double seconds = timeout_seconds_;
  std::thread([code, seconds] {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    std::_Exit(code);
  }).detach();
  MPI_Finalize();
#endif
  return code;
}

void World::join_mpi() {
#ifdef LEGATO_HAVE_MPI
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);  // OpenMP threads never call MPI
  mpi_ = true;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);  // a broken link: our message, not an abort
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  const std::vector<uint64_t> pids = gather(static_cast<uint64_t>(getpid()));
  pids_.assign(pids.begin(), pids.end());
  hosts_ = gather(host_name());
#endif
}

std::string World::describe() const {
  if (!mpi_) return "ranks: 1 (no MPI)";
  std::string version = "MPI";
#ifdef LEGATO_HAVE_MPI
  version = "MPI, " + library_version();
#endif
  return "ranks: " + std::to_string(size_) + " (" + version + "), rank " + std::to_string(rank_) + " of " +
         std::to_string(size_) + " on host " + hosts_[static_cast<size_t>(rank_)];
}

int World::local_rank_of(int rank) const {
  return static_cast<int>(std::count(hosts_.begin(), hosts_.begin() + rank, hosts_[static_cast<size_t>(rank)]));
}

std::vector<int> World::gone_ranks() const {
  std::vector<int> gone;
  for (int r = 0; r < size_; ++r)
    if (r != rank_ && hosts_[static_cast<size_t>(r)] == hosts_[static_cast<size_t>(rank_)] &&
        process_gone(pids_[static_cast<size_t>(r)]))
      gone.push_back(r);
  return gone;
}

void World::give_up(const char* waiting_for) const {
  std::string gone;
  for (int r : gone_ranks())
    gone += (gone.empty() ? "" : ", ") + std::string("rank ") + std::to_string(r) + " (pid " +
            std::to_string(pids_[static_cast<size_t>(r)]) + " on " + hosts_[static_cast<size_t>(r)] + ")";
  const std::string why = !gone.empty() ? gone + " is gone"
                                        : "no answer within " + std::to_string(static_cast<int>(timeout_seconds_)) +
                                              " s and no rank on this host is gone (one on another host, or the "
                                              "network, failed)";
  std::fprintf(stderr,
               "\ntrainer: rank %d: stopped waiting for the other ranks while %s: %s; resume from the last "
               "checkpoint with --resume\n",
               rank_, waiting_for, why.c_str());
  std::fflush(stderr);
  // mpirun forwards a rank's output through a pipe it stops reading once the rank is gone: give
  // it a moment to pass the line on.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::_Exit(kLostRankExit);  // no MPI_Finalize: it would wait for the lost rank
}

#ifdef LEGATO_HAVE_MPI
namespace {
template <class T>
void sum_in_place(const World& world, T* values, int64_t n, MPI_Datatype type, bool mpi) {
  if (!mpi || world.size() == 1) return;
  for (int64_t done = 0; done < n;) {  // MPI counts are int: at most 2^30 values at a time
    const int count = static_cast<int>(std::min<int64_t>(n - done, int64_t{1} << 30));
    MPI_Request request;
    if (MPI_Iallreduce(MPI_IN_PLACE, values + done, count, type, MPI_SUM, MPI_COMM_WORLD, &request) != MPI_SUCCESS ||
        !world.wait_for(&request, world.timeout()))
      throw std::runtime_error("sum");
    done += count;
  }
}
}  // namespace
#endif

void World::sum(float* values, int64_t n) const {
#ifdef LEGATO_HAVE_MPI
  try {
    sum_in_place(*this, values, n, MPI_FLOAT, mpi_);
  } catch (const std::runtime_error&) {
    give_up("summing gradients");
  }
#endif
  (void)values, (void)n;
}

void World::sum(double* values, int64_t n) const {
#ifdef LEGATO_HAVE_MPI
  try {
    sum_in_place(*this, values, n, MPI_DOUBLE, mpi_);
  } catch (const std::runtime_error&) {
    give_up("summing");
  }
#endif
  (void)values, (void)n;
}

std::vector<uint64_t> World::gather(uint64_t value) const {
  std::vector<uint64_t> all(static_cast<size_t>(size_), value);
#ifdef LEGATO_HAVE_MPI
  MPI_Request request;
  if (mpi_ &&
      (MPI_Iallgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD, &request) != MPI_SUCCESS ||
       !wait_for(&request, timeout_seconds_)))
    give_up("comparing the ranks' setups");
#endif
  return all;
}

std::vector<std::string> World::gather(const std::string& text) const {
  constexpr size_t kWidth = 256;
  std::vector<char> mine(kWidth, '\0'), all(kWidth * static_cast<size_t>(size_), '\0');
  std::memcpy(mine.data(), text.data(), std::min(text.size(), kWidth - 1));
  std::copy(mine.begin(), mine.end(), all.begin());
#ifdef LEGATO_HAVE_MPI
  MPI_Request request;
  if (mpi_ && (MPI_Iallgather(mine.data(), kWidth, MPI_CHAR, all.data(), kWidth, MPI_CHAR, MPI_COMM_WORLD, &request) !=
                   MPI_SUCCESS ||
               !wait_for(&request, timeout_seconds_)))
    give_up("comparing the ranks' setups");
#endif
  std::vector<std::string> texts;
  for (int r = 0; r < size_; ++r) texts.emplace_back(all.data() + kWidth * static_cast<size_t>(r));
  return texts;
}

void World::broadcast(void* bytes, int64_t n, double seconds, const char* waiting_for) const {
#ifdef LEGATO_HAVE_MPI
  auto* at = static_cast<char*>(bytes);
  for (int64_t done = 0; mpi_ && done < n;) {  // MPI counts are int
    const int count = static_cast<int>(std::min<int64_t>(n - done, int64_t{1} << 30));
    MPI_Request request;
    if (MPI_Ibcast(at + done, count, MPI_BYTE, 0, MPI_COMM_WORLD, &request) != MPI_SUCCESS ||
        !wait_for(&request, seconds))
      give_up(waiting_for);
    done += count;
  }
#endif
  (void)bytes, (void)n, (void)seconds, (void)waiting_for;
}

void World::barrier(double seconds, const char* waiting_for) const {
#ifdef LEGATO_HAVE_MPI
  MPI_Request request;
  if (mpi_ && (MPI_Ibarrier(MPI_COMM_WORLD, &request) != MPI_SUCCESS || !wait_for(&request, seconds)))
    give_up(waiting_for);
#endif
  (void)seconds, (void)waiting_for;
}

}  // namespace legato::dist
