#include "live/send_thread.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <chrono>

namespace legato::live {

namespace {
constexpr double kLongestSleep = 0.0005;  // seconds: how soon a newly scheduled note is seen
}  // namespace

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

SendThread::SendThread(Session& session, MidiSink& sink) : session_(session), sink_(sink) {
  thread_ = std::thread([this] { run(); });
}

SendThread::~SendThread() {
  done_ = true;
  thread_.join();
}

void SendThread::run() {
  sched_param priority{};
  priority.sched_priority = std::min(2, sched_get_priority_max(SCHED_FIFO));
  pthread_setschedparam(pthread_self(), SCHED_FIFO, &priority);  // without the right it stays normal
  while (!done_.load()) {
    const double now = steady_seconds();
    session_.tick(now, sink_);
    const double until = std::min(session_.next_due(), now + kLongestSleep);
    // steady_clock is CLOCK_MONOTONIC on Linux: the same seconds.
    timespec wake{};
    wake.tv_sec = time_t(until);
    wake.tv_nsec = long((until - double(wake.tv_sec)) * 1e9);
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, nullptr);
  }
}

}  // namespace legato::live
