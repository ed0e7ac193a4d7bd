#pragma once
// The real-time side of a Session for a program (a plugin's host calls tick() itself): a thread
// at real-time priority where the system allows it, as JACK clients run, that ticks the session
// on the steady clock, sleeping until the next note is due and waking at least every half
// millisecond for new ones.
#include <atomic>
#include <thread>

#include "live/session.h"

namespace legato::live {

// Seconds on the steady clock, the time base of midi_in() and tick() in programs.
double steady_seconds();

class SendThread {
 public:
  SendThread(Session& session, MidiSink& sink);
  ~SendThread();  // stops ticking (Session::silence is the caller's)
  SendThread(const SendThread&) = delete;
  SendThread& operator=(const SendThread&) = delete;

 private:
  void run();

  Session& session_;
  MidiSink& sink_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace legato::live
