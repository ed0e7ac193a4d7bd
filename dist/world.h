#pragma once
// The processes that train one model together (data parallelism): the MPI job a launcher
// (mpirun, srun) started this process in, or a world of one that touches no MPI at all. Every
// wait on the other ranks has a watchdog: a rank that died or hangs makes the others exit.
#include <cstdint>
#include <string>
#include <vector>

namespace legato::dist {

// The exit code of a rank that gave up waiting for the others (EX_TEMPFAIL: the run can resume).
constexpr int kLostRankExit = 75;

class World {
 public:
  // The world of this process: joins the MPI job when the environment says a launcher started it
  // (OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_SIZE), else a world of one. The first call decides.
  // Throws std::runtime_error when started as a rank of a job by a build without MPI.
  static World& get();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }
  bool distributed() const { return size_ > 1; }
  // This rank's index among the ranks on its host (0 for the first): which GPU it takes.
  int local_rank() const { return local_rank_of(rank_); }
  int local_rank_of(int rank) const;
  // "ranks: 4 (MPI, Open MPI 4.1.4), rank 0 of 4 on host h" ("ranks: 1 (no MPI)" alone).
  std::string describe() const;

  // How long a rank waits for the others at any one meeting before it takes one for lost.
  void set_timeout(double seconds) { timeout_seconds_ = seconds; }
  double timeout() const { return timeout_seconds_; }

  // values [n]: summed over the ranks in place, the same bits on every rank (MPI_Allreduce's
  // order, fixed for a given world). After timeout() seconds without the others: a line on
  // stderr naming the ranks that are gone, and exit(kLostRankExit).
  void sum(float* values, int64_t n) const;
  void sum(double* values, int64_t n) const;
  // bytes [n] of rank 0 copied into every rank's `bytes` (the same n everywhere), waiting at most
  // `seconds` (ranks on this host that are gone are noticed at once); `waiting_for` as barrier's.
  void broadcast(void* bytes, int64_t n, double seconds, const char* waiting_for) const;
  // Every rank's `value`, in rank order (the checks at start compare them).
  std::vector<uint64_t> gather(uint64_t value) const;
  // Every rank's `text` (at most 255 bytes each), in rank order.
  std::vector<std::string> gather(const std::string& text) const;
  // Waits until every rank is here, at most `seconds` (ranks on this host that are gone are
  // noticed at once); `waiting_for` says for what in the message when it gives up.
  void barrier(double seconds, const char* waiting_for) const;
  // Waits for a pending MPI request (an MPI_Request*) as every meeting does; false when it gave up.
  bool wait_for(void* mpi_request, double seconds) const;

  // The host and process id of each rank, for messages.
  const std::vector<std::string>& hosts() const { return hosts_; }
  const std::vector<int64_t>& pids() const { return pids_; }
  // The ranks on this host whose process is gone (a kill -9, a crash): whom a timeout names.
  std::vector<int> gone_ranks() const;

  // Leaves the MPI job at the end of the program and returns `code`. Should a rank that failed
  // alone wait in MPI_Finalize for the others, it exits with `code` after timeout() seconds.
  int finish(int code);

  // A line on stderr naming the ranks that are gone (or saying that none on this host is), then
  // exit(kLostRankExit) without MPI_Finalize, which would wait for the lost rank.
  [[noreturn]] void give_up(const char* waiting_for) const;

  World(const World&) = delete;
  World& operator=(const World&) = delete;
  ~World();

 private:
  World();
  void join_mpi();

  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
  double timeout_seconds_ = 20;
  std::vector<std::string> hosts_;
  std::vector<int64_t> pids_;
};

}  // namespace legato::dist
