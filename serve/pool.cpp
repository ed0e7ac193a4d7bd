#include "serve/pool.h"

#include <omp.h>

#include <algorithm>
#include <chrono>

#include "serve/studio.h"

namespace legato::serve {

Pool::Pool(int workers, int places, Work work) : work_(std::move(work)), places_(places) {
  for (int k = 0; k < std::max(1, workers); ++k) threads_.emplace_back([this] { run_worker(); });
}

Pool::~Pool() { stop(); }

std::shared_ptr<Job> Pool::submit(ComposeRequest request) {
  auto job = std::make_shared<Job>();
  job->request = std::move(request);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw RequestError(503, "the server is stopping");
    if (static_cast<int>(queue_.size()) >= places_)
      throw RequestError(503, "the queue is full (" + std::to_string(places_) + " waiting): try again in a moment");
    job->id = next_id_++;
    queue_.push_back(job);
    ++version_;
  }
  queued_.notify_one();
  changed_.notify_all();
  return job;
}

void Pool::cancel(const std::shared_ptr<Job>& job) {
  job->cancel = true;
  std::lock_guard lock(mutex_);
  const auto it = std::find(queue_.begin(), queue_.end(), job);
  if (it != queue_.end()) {
    queue_.erase(it);  // the places behind it move up
    job->state = Job::State::cancelled;
    ++version_;
    changed_.notify_all();
  }
}

JobView Pool::view_locked(const Job& job) const {
  JobView v{job.state, 0, job.tokens, job.started, job.result, job.error, job.error_status, version_};
  if (job.state == Job::State::queued) {
    const auto it = std::find_if(queue_.begin(), queue_.end(), [&](const auto& j) { return j.get() == &job; });
    v.place = it - queue_.begin() + 1;
  }
  return v;
}

JobView Pool::wait(const std::shared_ptr<Job>& job, uint64_t seen_version, int timeout_ms) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return version_ != seen_version; });
  return view_locked(*job);
}

void Pool::finish(Job& job, Job::State state) {
  std::lock_guard lock(mutex_);
  job.state = state;
  running_.erase(std::find_if(running_.begin(), running_.end(), [&](const auto& j) { return j.get() == &job; }));
  ++version_;
  changed_.notify_all();
}

void Pool::run_worker() {
  omp_set_num_threads(1);  // one composition per core: the workers are the parallelism
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = queue_.front();
      queue_.pop_front();
      job->state = Job::State::running;
      job->started = next_start_++;
      running_.push_back(job);
      ++version_;
    }
    changed_.notify_all();
    auto progress = [&](int64_t tokens) {
      if (tokens % 32 == 0) {  // every token would wake every waiting client thousands of times a second
        {
          std::lock_guard lock(mutex_);
          job->tokens = tokens;
          ++version_;
        }
        changed_.notify_all();
      }
      return !job->cancel.load();
    };
    try {
      nlohmann::json result = work_(*job, progress);
      std::lock_guard lock(mutex_);
      job->result = std::move(result);
    } catch (const Cancelled&) {
      finish(*job, Job::State::cancelled);
      continue;
    } catch (const RequestError& e) {
      std::lock_guard lock(mutex_);
      job->error = e.what(), job->error_status = e.status;
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      job->error = std::string("composing failed: ") + e.what();
    }
    finish(*job, job->error.empty() ? Job::State::done : Job::State::failed);
  }
}

void Pool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    for (auto& job : queue_) job->cancel = true, job->state = Job::State::cancelled;
    queue_.clear();
    for (auto& job : running_) job->cancel = true;
    ++version_;
  }
  queued_.notify_all();
  changed_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace legato::serve
