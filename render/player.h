// Real-time playback: a thread sends each message when its time comes, on the steady clock.
// Messages may arrive in batches while the music is already playing (the composer feeds notes
// as it generates them).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "midi/score.h"
#include "render/midi_out.h"
#include "render/performance.h"

namespace legato::render {

struct PlayStats {
  size_t sent = 0;
  double shifted_seconds = 0;  // how far the clock was pushed back because notes came late
  // The longest the system let the player's thread sleep past the time it asked to wake up at: a
  // delay no timing of ours can make up for (a busy machine that ignores real-time priority).
  double late_wakeup_seconds = 0;
  bool interrupted = false;
};

class Player {
 public:
  // The music starts `lead_seconds` from now. `stop` (may be null) is polled: when it turns true
  // the player silences every channel and ends early (a SIGINT handler sets it).
  Player(MidiOutput& output, const std::atomic<bool>* stop = nullptr, double lead_seconds = 0.05);
  ~Player();
  Player(const Player&) = delete;
  Player& operator=(const Player&) = delete;

  // Adds messages (any order; times in seconds from the start of the music). When a batch comes
  // after its earliest time has passed, the clock moves back by the delay, so the rhythm of what
  // follows is kept rather than rushed.
  void schedule(std::vector<TimedMessage> messages);
  // No more messages will come: returns once the last one has been sent (or on stop).
  PlayStats finish();

 private:
  void run();

  MidiOutput& output_;
  const std::atomic<bool>* stop_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  // By time, then note-offs before program changes before note-ons, then order of arrival.
  std::map<std::tuple<double, int, uint64_t>, TimedMessage> queue_;
  uint64_t arrivals_ = 0;
  bool done_ = false;
  PlayStats stats_;
  std::thread thread_;
};

// Plays a whole score and returns when it is over (or stopped).
PlayStats play(const midi::Score& score, MidiOutput& output, const std::atomic<bool>* stop = nullptr);

}  // namespace legato::render
