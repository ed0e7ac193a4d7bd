// The emulator's streams and events (emulator.h, "Streams and events"): created streams, blocking
// or not, queue their work and run it later, interleaved across streams in an order drawn from the
// seed, so a missing cudaStreamWaitEvent (a fork or a join) gives a wrong result under some seed,
// as it would on a GPU. The legacy default stream runs its work at once, after the blocking
// streams' queued work (CUDA's implicit synchronisation of the legacy stream).
#include <cuda_runtime.h>

#include <chrono>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/cuda_emulator/emulator.h"

namespace {

// An event's records: `recorded` counts cudaEventRecord calls, `completed` those whose place in
// their stream has been reached. A wait captures `recorded` when it is queued, as CUDA does.
struct EventState {
  uint64_t recorded = 0, completed = 0;
};

struct Work {
  std::function<void()> run;          // null for a wait
  std::shared_ptr<EventState> event;  // a wait's event
  uint64_t target = 0;                // the wait is over once event->completed reaches it
  std::function<bool()> outside;      // a wait for another process (defer_outside_wait): over once it holds
  bool ready() const {
    if (outside) return outside();
    return !event || event->completed >= target;
  }
};

}  // namespace

// The opaque types of the CUDA headers, defined here.
struct CUstream_st {
  bool deferred = false;  // a created stream: its work is queued (the legacy stream's runs at once)
  bool blocking = false;  // created without cudaStreamNonBlocking: the legacy stream waits for it
  std::deque<Work> queue;
};
struct CUevent_st {
  std::shared_ptr<EventState> state = std::make_shared<EventState>();
};

namespace {

struct Streams {
  CUstream_st legacy;                // the legacy default stream (0): runs now
  std::list<CUstream_st*> deferred;  // the live created streams
  uint64_t picks = 0;                // draws so far, for the interleaving's random numbers
  std::vector<std::unique_ptr<CUstream_st>> owned;
};
// Never destroyed: a cudaFree at exit (a static allocator's cache given back) still synchronises.
Streams& streams() {
  static Streams* s = new Streams;
  return *s;
}

CUstream_st* resolve(cudaStream_t stream) { return stream ? stream : &streams().legacy; }

// A failing call is also the runtime's last error.
cudaError_t invalid() {
  legato::emu::record_error(cudaErrorInvalidValue);
  return cudaErrorInvalidValue;
}

// Whether some stream waits, first in its queue, for another process: what only time can free.
bool waiting_outside() {
  for (CUstream_st* q : streams().deferred)
    if (!q->queue.empty() && q->queue.front().outside) return true;
  return false;
}

// Runs queued work, one item of a stream at a time, the stream drawn among those whose next item
// may run, until done() holds (true) or, where `block` is false, until only waits for other
// processes hold it back (false: cudaStreamQuery's cudaErrorNotReady). Blocking, such a wait is
// polled until it is over, as a GPU's stream waits for its peers. Nothing may run otherwise: a
// wait on an event never recorded, or a cycle of waits; that is the runtime's deadlock, reported.
bool drain_until(const std::function<bool()>& done, bool block = true) {
  Streams& s = streams();
  std::vector<CUstream_st*> ready;
  while (!done()) {
    ready.clear();
    for (CUstream_st* q : s.deferred)
      if (!q->queue.empty() && q->queue.front().ready()) ready.push_back(q);
    if (ready.empty() && waiting_outside()) {
      if (!block) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(50));  // the other ranks share the cores
      continue;
    }
    if (ready.empty())
      throw std::logic_error("emulated streams: waiting for work that can never run (a cycle of waits)");
    std::seed_seq seq{legato::emu::seed(), s.picks++, uint64_t{0x5743}};
    std::mt19937_64 rng(seq);
    CUstream_st* q = ready[std::uniform_int_distribution<size_t>(0, ready.size() - 1)(rng)];
    Work w = std::move(q->queue.front());
    q->queue.pop_front();
    if (w.run) w.run();
  }
  return true;
}

void drain_stream(CUstream_st* q) {
  drain_until([q] { return q->queue.empty(); });
}

// What the legacy stream waits for before its own work: every blocking stream's queued work.
void drain_blocking() {
  drain_until([] {
    for (CUstream_st* q : streams().deferred)
      if (q->blocking && !q->queue.empty()) return false;
    return true;
  });
}

void drain_all() {
  drain_until([] {
    for (CUstream_st* q : streams().deferred)
      if (!q->queue.empty()) return false;
    return true;
  });
}

}  // namespace

namespace legato::emu {

bool defer(cudaStream_t stream, std::function<void()> work) {
  CUstream_st* q = resolve(stream);
  if (!q->deferred) {
    drain_blocking();  // the legacy stream's work follows the blocking streams'
    return false;
  }
  q->queue.push_back(Work{std::move(work), nullptr, 0, nullptr});
  return true;
}

void defer_outside_wait(cudaStream_t stream, std::function<bool()> finished) {
  CUstream_st* q = resolve(stream);
  if (q->deferred) {
    q->queue.push_back(Work{nullptr, nullptr, 0, std::move(finished)});
    return;
  }
  drain_blocking();  // the legacy stream waits in host order
  while (!finished()) std::this_thread::sleep_for(std::chrono::microseconds(50));
}

void synchronize_all() { drain_all(); }
void synchronize_legacy() { drain_blocking(); }

size_t pending_work() {
  size_t n = 0;
  for (CUstream_st* q : streams().deferred) n += q->queue.size();
  return n;
}

}  // namespace legato::emu

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (!stream || (flags & ~cudaStreamNonBlocking)) return invalid();
  Streams& s = streams();
  auto q = std::make_unique<CUstream_st>();
  q->deferred = true;
  q->blocking = (flags & cudaStreamNonBlocking) == 0;
  s.deferred.push_back(q.get());
  *stream = q.get();
  s.owned.push_back(std::move(q));
  return cudaSuccess;
}
// CUDA lets queued work finish after the destroy returns; here it runs first.
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (!stream) return invalid();
  Streams& s = streams();
  drain_stream(stream);
  s.deferred.remove(stream);
  for (auto& q : s.owned)
    if (q.get() == stream) q.reset();
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (stream)
    drain_stream(stream);
  else
    drain_blocking();  // the legacy stream's work has run, after the blocking streams' before it
  return cudaSuccess;
}
// The emulator's GPU makes progress only while the host waits: a query runs what it can, and is
// not ready only where a wait for another process (the emulated NCCL's) holds the stream back.
cudaError_t cudaStreamQuery(cudaStream_t stream) {
  if (!stream) {
    drain_blocking();
    return cudaSuccess;
  }
  return drain_until([stream] { return stream->queue.empty(); }, false) ? cudaSuccess : cudaErrorNotReady;
}
cudaError_t cudaDeviceSynchronize(void) {
  drain_all();
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int) {
  if (!event) return invalid();
  *event = new CUevent_st;
  return cudaSuccess;
}
// Queued records and waits keep the event's state alive after the destroy, as CUDA allows.
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  if (!event) return invalid();
  delete event;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event) return invalid();
  const std::shared_ptr<EventState> state = event->state;
  const uint64_t number = ++state->recorded;
  if (!legato::emu::defer(stream, [state, number] { state->completed = number; })) state->completed = number;
  return cudaSuccess;
}
// Waits for the event's latest record at the time of the call (none yet: no wait).
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  if (!event || flags != 0) return invalid();
  CUstream_st* q = resolve(stream);
  const std::shared_ptr<EventState> state = event->state;
  const uint64_t target = state->recorded;
  if (q->deferred)
    q->queue.push_back(Work{nullptr, state, target, nullptr});
  else
    drain_until([&] { return state->completed >= target; });  // the legacy stream runs in host order
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (!event) return invalid();
  const std::shared_ptr<EventState> state = event->state;
  drain_until([&] { return state->completed >= state->recorded; });
  return cudaSuccess;
}
