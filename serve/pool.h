#pragma once
// The worker pool: at most `workers` compositions at once (one per core), the others waiting in a
// queue of at most `places`, taken strictly in the order they came. A job can be cancelled while it
// waits (it is dropped) or while it runs (its progress callback says stop).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/request.h"

namespace legato::serve {

struct Job {
  enum class State { queued, running, done, failed, cancelled };
  uint64_t id = 0;  // in order of arrival
  ComposeRequest request;
  std::atomic<bool> cancel{false};
  // Guarded by the pool's mutex (read them through Pool::snapshot).
  State state = State::queued;
  uint64_t started = 0;   // 1 for the first job any worker took, 2 for the next...
  int64_t tokens = 0;     // generated so far
  nlohmann::json result;  // the piece's summary when done
  std::string error;      // one line when failed
  int error_status = 500;
};

// What a client is told about its job: the state, its place in the queue (1: next) and progress.
struct JobView {
  Job::State state;
  int64_t place = 0;
  int64_t tokens = 0;
  uint64_t started = 0;
  nlohmann::json result;
  std::string error;
  int error_status = 500;
  uint64_t version = 0;  // changes whenever anything above may have changed
};

class Pool {
 public:
  // `work` composes one job, reporting tokens through its callback (false: stop).
  using Work = std::function<nlohmann::json(Job& job, const std::function<bool(int64_t)>& progress)>;
  Pool(int workers, int places, Work work);
  ~Pool();  // stop()

  // Queues a request; RequestError 503 when every place is taken or the pool has stopped.
  std::shared_ptr<Job> submit(ComposeRequest request);
  // Marks the job cancelled: dropped from the queue, or stopped at its next token.
  void cancel(const std::shared_ptr<Job>& job);
  // Waits until the job's view changes from `seen_version` or `timeout_ms` passes.
  JobView wait(const std::shared_ptr<Job>& job, uint64_t seen_version, int timeout_ms);
  // Cancels every job and joins the workers; pieces already written stay.
  void stop();

  int workers() const { return static_cast<int>(threads_.size()); }

 private:
  void run_worker();
  void finish(Job& job, Job::State state);
  JobView view_locked(const Job& job) const;

  Work work_;
  int places_;
  std::mutex mutex_;
  std::condition_variable queued_, changed_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::shared_ptr<Job>> running_;
  std::vector<std::thread> threads_;
  uint64_t next_id_ = 1, next_start_ = 1, version_ = 1;
  bool stopping_ = false;
};

}  // namespace legato::serve
