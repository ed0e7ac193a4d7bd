#include "render/player.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>

namespace legato::render {

using Clock = std::chrono::steady_clock;

namespace {
// The stop flag is looked at least this often while waiting.
constexpr auto kPollInterval = std::chrono::milliseconds(20);
}  // namespace

Player::Player(MidiOutput& output, const std::atomic<bool>* stop, double lead_seconds)
    : output_(output),
      stop_(stop),
      start_(Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(lead_seconds))) {
  thread_ = std::thread([this] { run(); });
}

Player::~Player() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Player::schedule(std::vector<TimedMessage> messages) {
  {
    std::lock_guard lock(mutex_);
    if (!messages.empty()) {
      double earliest = messages.front().seconds;
      for (const TimedMessage& m : messages) earliest = std::min(earliest, m.seconds);
      const auto late = Clock::now() -
                        (start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(earliest)));
      if (late > Clock::duration::zero()) {  // the generator fell behind: keep the rhythm from here
        start_ += late;
        stats_.shifted_seconds += std::chrono::duration<double>(late).count();
      }
    }
    for (const TimedMessage& m : messages) queue_.emplace(std::tuple{m.seconds, int(order_of(m)), arrivals_++}, m);
  }
  wake_.notify_all();
}

PlayStats Player::finish() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  return stats_;
}

void Player::run() {
  // Real-time priority where the system allows it (root, or an audio group's rtprio limit), as
  // JACK clients do: a busy machine then cannot make the notes late. The thread mostly sleeps.
  sched_param priority{};
  priority.sched_priority = std::min(20, sched_get_priority_max(SCHED_FIFO));
  pthread_setschedparam(pthread_self(), SCHED_FIFO, &priority);  // without the right, it simply stays normal
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stop_ && stop_->load()) {
      lock.unlock();
      output_.silence();
      stats_.interrupted = true;
      return;
    }
    if (queue_.empty()) {
      if (done_) return;
      wake_.wait_for(lock, kPollInterval);
      continue;
    }
    const auto first = queue_.begin();
    const auto due =
        start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(first->second.seconds));
    const auto now = Clock::now();
    if (due > now) {
      // Wakes early for a new, earlier message or the stop flag; otherwise right on time.
      const auto until = std::min(due, now + kPollInterval);
      wake_.wait_until(lock, until);
      stats_.late_wakeup_seconds =
          std::max(stats_.late_wakeup_seconds, std::chrono::duration<double>(Clock::now() - until).count());
      continue;
    }
    const TimedMessage message = first->second;
    queue_.erase(first);
    lock.unlock();
    output_.send(message.bytes.data(), size_t(message.size));
    ++stats_.sent;
    lock.lock();
  }
}

PlayStats play(const midi::Score& score, MidiOutput& output, const std::atomic<bool>* stop) {
  Player player(output, stop);
  player.schedule(perform(score));
  return player.finish();
}

}  // namespace legato::render
