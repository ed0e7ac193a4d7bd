// The emulator's launch (emulator.h): validation as the driver does it, then the blocks in a
// shuffled order, each block's threads as fibers that meet at barriers.
#include <boost/context/fiber.hpp>
#include <boost/context/fixedsize_stack.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/cuda_emulator/cross_block.h"
#include "tests/cuda_emulator/emulator.h"
#include "tests/cuda_emulator/shared_race.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

namespace legato::emu {
namespace {

namespace bc = boost::context;

// Kernel frames are small; AddressSanitizer's redzones make them larger.
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kStackBytes = 256 * 1024;
#else
constexpr size_t kStackBytes = 64 * 1024;
#endif

// Spinning: waits at a ready flag (wait_flag), resumed in a phase that finds the flag reached.
enum class Status { Runnable, AtBarrier, AtGridSync, AtWarp, Spinning, Done };

// A lane's call of a warp-level primitive, and what it gets back.
struct WarpCall {
  WarpOp op = WarpOp::Sync;
  unsigned mask = 0;
  uint64_t value = 0;
  int arg = 0, width = 32;
  uint64_t result = 0;
};

const char* name_of(WarpOp op) {
  switch (op) {
    case WarpOp::Sync: return "__syncwarp";
    case WarpOp::Shfl: return "__shfl_sync";
    case WarpOp::ShflUp: return "__shfl_up_sync";
    case WarpOp::ShflDown: return "__shfl_down_sync";
    case WarpOp::ShflXor: return "__shfl_xor_sync";
    case WarpOp::Ballot: return "__ballot_sync";
    case WarpOp::Any: return "__any_sync";
    case WarpOp::All: return "__all_sync";
  }
  return "?";
}

// Thrown into a suspended thread to unwind it when its launch fails.
struct Aborted {};

// One fiber that runs emulated threads one after the other: given a thread (its state), it runs
// the kernel for it, yields at every barrier, and yields Done at the end, ready for the next.
struct Worker {
  bc::fiber fiber;  // where the scheduler resumes it
  bc::fiber sink;   // inside the fiber: the scheduler to return to
  ThreadState state;
  Status status = Status::Done;
  size_t block = 0;           // among the blocks running together
  uint32_t thread = 0;        // linear index in its block
  WarpCall warp;              // its last warp-level primitive
  const int* flag = nullptr;  // the ready flag it spins on (Spinning), and the value it waits for
  int flag_value = 0;
  bool abort = false;
  bool in_kernel = false;  // suspended inside the kernel (not merely assigned to a thread)
  std::exception_ptr error;
  bc::stack_context stack;
  void* fake_stack = nullptr;  // AddressSanitizer's bookkeeping of this fiber's stack
};

// What the running launch is, for the workers.
struct Run {
  const Kernel* kernel = nullptr;
  size_t threads_per_block = 0;
  std::vector<char*>* dynamic = nullptr;  // per block running together: its dynamic shared memory
  SharedRace* race = nullptr;             // the shared-memory race check's shadow, when it is on
};

struct Emulator {
  std::vector<std::unique_ptr<Worker>> pool;
  Worker* running = nullptr;  // the worker on the CPU now, null in the scheduler
  const Run* run = nullptr;
  uint64_t seed = 1;
  uint64_t launch_number = 0;
  Counters counters;
  bool shared_race = false;                          // the shared-memory race check (emulator.h)
  std::map<const void*, size_t> max_dynamic_shared;  // cudaFuncAttributeMaxDynamicSharedMemorySize per kernel
  const void* main_stack_bottom = nullptr;           // the scheduler's stack, for AddressSanitizer
  size_t main_stack_size = 0;
  bc::protected_fixedsize_stack stacks{kStackBytes};  // the first kGuardedFibers workers' (emulator.h)
  bc::fixedsize_stack unguarded_stacks{kStackBytes};  // the others': plain heap, no guard page

  Emulator() {
    if (const char* env = std::getenv("LEGATO_EMU_SEED")) seed = std::strtoull(env, nullptr, 10);
    const char* race = std::getenv("LEGATO_EMU_SHARED_RACE");
    shared_race = race && *race && std::strcmp(race, "0") != 0;
  }
};

Emulator& emulator() {
  // One per OS thread: launches from different threads never share fibers. Never destroyed:
  // destroying a suspended fiber unwinds it by switching stacks inside Boost, out of sight of
  // AddressSanitizer's fiber annotations; the workers simply live as long as the process.
  static thread_local Emulator* instance = new Emulator;
  return *instance;
}

// ---- Switching stacks, announced to AddressSanitizer when it watches -----------------------

void enter_fiber(Worker& w) {
#if defined(__SANITIZE_ADDRESS__)
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, static_cast<char*>(w.stack.sp) - w.stack.size, w.stack.size);
  w.fiber = std::move(w.fiber).resume();
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
  w.fiber = std::move(w.fiber).resume();
#endif
}

// From inside the worker's fiber back to the scheduler; returns when resumed.
void leave_fiber(Worker& w) {
  Emulator& e = emulator();
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_start_switch_fiber(&w.fake_stack, e.main_stack_bottom, e.main_stack_size);
  w.sink = std::move(w.sink).resume();
  __sanitizer_finish_switch_fiber(w.fake_stack, &e.main_stack_bottom, &e.main_stack_size);
#else
  (void)e;
  w.sink = std::move(w.sink).resume();
#endif
}

void worker_loop(Worker& w) {
  for (;;) {
    w.in_kernel = true;
    try {
      emulator().run->kernel->run(emulator().run->kernel->params);
    } catch (const bc::detail::forced_unwind&) {
      throw;  // the fiber itself is being destroyed: let Boost unwind it
    } catch (const Aborted&) {
    } catch (...) {
      w.error = std::current_exception();
    }
    w.in_kernel = false;
    w.status = Status::Done;
    leave_fiber(w);  // resumed with the next thread to run
  }
}

Worker& worker(size_t index) {
  Emulator& e = emulator();
  while (e.pool.size() <= index) {
    auto w = std::make_unique<Worker>();
    Worker* raw = w.get();
    const bool guarded = e.pool.size() < kGuardedFibers;
    raw->stack = guarded ? e.stacks.allocate() : e.unguarded_stacks.allocate();
    // The allocator given to the fiber would free its stack; workers are never destroyed (emulator()).
    raw->fiber = bc::fiber(std::allocator_arg, bc::preallocated(raw->stack.sp, raw->stack.size, raw->stack), e.stacks,
                           [raw](bc::fiber&& sink) {
#if defined(__SANITIZE_ADDRESS__)
                             Emulator& em = emulator();
                             __sanitizer_finish_switch_fiber(nullptr, &em.main_stack_bottom, &em.main_stack_size);
#endif
                             raw->sink = std::move(sink);
                             worker_loop(*raw);
                             return std::move(raw->sink);  // not reached: the loop never ends
                           });
    e.pool.push_back(std::move(w));
  }
  return *e.pool[index];
}

// Called by a running emulated thread: suspend it with this status until the scheduler resumes it.
void wait(Status status, const char* what) {
  Emulator& e = emulator();
  if (!e.running) throw std::logic_error(std::string(what) + " called outside a kernel");
  Worker& w = *e.running;
  w.status = status;
  leave_fiber(w);
  if (w.abort) throw Aborted{};
}

// ---- Validation, as the driver does it --------------------------------------------------------

cudaError_t validate(const Kernel& k, dim3 grid, dim3 block, size_t shared_bytes) {
  const unsigned g[3] = {grid.x, grid.y, grid.z}, b[3] = {block.x, block.y, block.z};
  for (int d = 0; d < 3; ++d) {
    if (g[d] == 0 || b[d] == 0 || g[d] > kMaxGridDim[d] || b[d] > kMaxBlockDim[d]) return cudaErrorInvalidConfiguration;
  }
  if (static_cast<uint64_t>(block.x) * block.y * block.z > kMaxThreadsPerBlock) return cudaErrorInvalidConfiguration;
  // The dynamic shared memory a launch may ask for is the kernel's
  // cudaFuncAttributeMaxDynamicSharedMemorySize: 48 KiB less its static shared memory until
  // cudaFuncSetAttribute raises it, and static + that attribute within the card's opt-in limit.
  const auto opt_in = emulator().max_dynamic_shared.find(k.function);
  const size_t static_bytes = k.shared.size();
  const size_t allowed = opt_in != emulator().max_dynamic_shared.end()
                             ? opt_in->second
                             : kMaxSharedBytes - std::min(kMaxSharedBytes, static_bytes);
  if (static_bytes > kMaxSharedBytes || shared_bytes > allowed || static_bytes + allowed > kMaxSharedBytesOptIn)
    return cudaErrorInvalidConfiguration;
  if (k.cooperative && static_cast<uint64_t>(grid.x) * grid.y * grid.z > sms())
    return cudaErrorCooperativeLaunchTooLarge;
  return cudaSuccess;
}

std::string triple(const uint3& v) {
  char text[48];  // snprintf: "(" + std::string trips GCC 12's -Wrestrict
  std::snprintf(text, sizeof text, "(%u, %u, %u)", v.x, v.y, v.z);
  return text;
}

uint3 unflatten(uint64_t i, dim3 extent) {
  uint3 v;
  v.x = static_cast<unsigned>(i % extent.x);
  i /= extent.x;
  v.y = static_cast<unsigned>(i % extent.y);
  v.z = static_cast<unsigned>(i / extent.y);
  return v;
}

// ---- Running a set of blocks together ---------------------------------------------------------

// Runs blocks of one launch: one at a time, or a cooperative grid's all together. The section
// holds the shared memory of the block running now; when blocks run together the others' wait
// in images, swapped in as their threads are resumed.
class Group {
 public:
  Group(const Kernel& k, dim3 grid, dim3 block, size_t dynamic_bytes, std::mt19937_64& rng, bool racing)
      : ordered_(k.cooperative && cross_block::buffers_checked()),
        racing_(racing),
        kernel_(k),
        dynamic_bytes_(dynamic_bytes),
        grid_(grid),
        block_(block),
        rng_(rng),
        threads_per_block_(static_cast<size_t>(block.x) * block.y * block.z) {}

  std::vector<char*>* dynamic() { return &dynamic_base_; }
  SharedRace* race() { return racing_ ? &race_ : nullptr; }

  void run(const uint64_t* blocks, size_t n) {
    blocks_ = blocks;
    count_ = n * threads_per_block_;
    start(n);
    try {
      while (phase()) {
      }
    } catch (...) {
      abort_all();
      throw;
    }
  }

 private:
  bool ordered_;  // a cooperative launch under the cross-block check: barriers and flags order blocks
  bool racing_;   // the shared-memory race check is on
  SharedRace race_;
  const Kernel& kernel_;
  size_t dynamic_bytes_;
  dim3 grid_, block_;
  std::mt19937_64& rng_;
  size_t threads_per_block_;
  const uint64_t* blocks_ = nullptr;
  size_t count_ = 0;                        // threads running together
  std::vector<std::vector<char>> dynamic_;  // each block's dynamic shared memory, exactly the launch's bytes
  std::vector<char*> dynamic_base_;         // where each starts: page-aligned inside it under the race check
  std::vector<std::vector<char>> images_;   // only when several blocks run together
  size_t resident_ = 0;
  std::vector<Worker*> order_;

  Worker& at(size_t i) const { return *emulator().pool[i]; }

  void start(size_t n) {
    worker(count_ - 1);  // grows the pool to count_ workers
    for (size_t b = 0; b < n; ++b)
      for (size_t t = 0; t < threads_per_block_; ++t) {
        Worker& w = at(b * threads_per_block_ + t);
        w.state.thread_idx = unflatten(t, block_);
        w.state.block_idx = unflatten(blocks_[b], grid_);
        w.state.block_dim = block_;
        w.state.grid_dim = grid_;
        w.status = Status::Runnable;
        w.block = b;
        w.thread = static_cast<uint32_t>(t);
        w.in_kernel = false;
        w.error = nullptr;
      }
    const size_t bytes = kernel_.shared.size();
    const char byte = static_cast<char>(fill());
    if (bytes) std::memset(kernel_.shared.begin, byte, bytes);
    if (n > 1) images_.assign(n, std::vector<char>(bytes, byte));
    // Under the race check its pages are its own (they become inaccessible): two pages more.
    const size_t page = 4096, extra = racing_ ? 2 * page : 0;
    dynamic_.assign(dynamic_bytes_ ? n : 0, std::vector<char>(dynamic_bytes_ + extra, byte));
    dynamic_base_.clear();
    for (auto& d : dynamic_) {
      const uintptr_t at = reinterpret_cast<uintptr_t>(d.data());
      dynamic_base_.push_back(d.data() + (racing_ ? (page - at % page) % page : 0));
    }
    if (racing_) race_.start(n, bytes, dynamic_bytes_);
    resident_ = 0;
  }

  void make_resident(size_t b) {
    if (b == resident_ || images_.empty()) return;
    const size_t bytes = kernel_.shared.size();
    if (bytes) {
      std::memcpy(images_[resident_].data(), kernel_.shared.begin, bytes);
      std::memcpy(kernel_.shared.begin, images_[b].data(), bytes);
    }
    resident_ = b;
  }

  void resume(Worker& w) {
    Emulator& e = emulator();
    make_resident(w.block);
    e.running = &w;
    if (ordered_) cross_block::set_block(static_cast<int64_t>(blocks_[w.block]));
    if (racing_) arm(w.block);
    enter_fiber(w);
    if (racing_) cross_block::disarm_shared();
    e.running = nullptr;
  }

  // The block's shared memory becomes inaccessible: the kernel thread's accesses go to the race check.
  void arm(size_t block) {
    const uintptr_t s = reinterpret_cast<uintptr_t>(kernel_.shared.begin);
    const uintptr_t d = dynamic_base_.empty() ? 0 : reinterpret_cast<uintptr_t>(dynamic_base_[block]);
    const cross_block::SharedRegion regions[2] = {{s, s + kernel_.shared.size()}, {d, d + (d ? dynamic_bytes_ : 0)}};
    cross_block::arm_shared(regions, 2, [](int region, size_t offset, bool write) {
      Emulator& e = emulator();
      ++e.counters.shared_accesses;
      if (e.running && e.run && e.run->race)
        e.run->race->access(e.running->block, e.running->thread, static_cast<SharedRace::Region>(region), offset,
                            write);
    });
  }

  // Runs every runnable thread, in a shuffled order, to its next barrier or its end; then opens
  // the barriers everyone has reached. False when all threads are done.
  bool phase() {
    order_.clear();
    for (size_t i = 0; i < count_; ++i)
      if (at(i).status == Status::Runnable || reached(at(i))) order_.push_back(&at(i));
    std::shuffle(order_.begin(), order_.end(), rng_);
    ++emulator().counters.phases;
    for (Worker* w : order_) {
      resume(*w);
      if (w->error) fail(*w);
      if (racing_ && race_.race()) race_error(*race_.race());
    }
    const bool more = open_barriers();
    if (more && spinner() && !can_move()) deadlock(*spinner());
    return more;
  }

  // A spinning thread is resumed only once its flag holds what it waits for (it then looks again
  // itself): the others' spinning costs no switch.
  static bool reached(const Worker& w) { return w.status == Status::Spinning && flag_now(w) >= w.flag_value; }
  static int flag_now(const Worker& w) {
    const AtomicScope atomic;  // the flag's own read: not a cross-block access
    return *static_cast<const volatile int*>(w.flag);
  }

  bool can_move() const {
    for (size_t i = 0; i < count_; ++i)
      if (at(i).status == Status::Runnable || reached(at(i))) return true;
    return false;
  }

  const Worker* spinner() const {
    for (size_t i = 0; i < count_; ++i)
      if (at(i).status == Status::Spinning) return &at(i);
    return nullptr;
  }

  [[noreturn]] void deadlock(const Worker& w) {
    throw std::runtime_error(std::string(kernel_.name) + ": block " + triple(w.state.block_idx) + ", thread " +
                             triple(w.state.thread_idx) + ": waits for a ready flag to reach " +
                             std::to_string(w.flag_value) + " (it holds " + std::to_string(flag_now(w)) +
                             ") while no other thread can move: it never will");
  }

  // Every group of lanes at a warp-level primitive gets its results and runs on (true if any did).
  // Called when no thread can run: a lane whose partners are not all there never will be.
  bool open_warps() {
    bool opened = false;
    for (size_t first = 0; first < count_; first += threads_per_block_)
      for (size_t warp = first; warp < first + threads_per_block_; warp += 32) {
        const size_t lanes = std::min<size_t>(32, first + threads_per_block_ - warp);
        bool spinning = false;  // a lane that spins may still come to the rendezvous
        for (size_t l = 0; l < lanes; ++l) spinning = spinning || at(warp + l).status == Status::Spinning;
        if (spinning) continue;
        for (size_t l = 0; l < lanes; ++l)
          if (at(warp + l).status == Status::AtWarp) {
            open_warp(warp, lanes, l);
            opened = true;
          }
      }
    return opened;
  }

  // Lane `lane` (of the warp whose lane 0 is at(warp)) waits: its mask's lanes must all be at the
  // same primitive with the same mask; they get their results and become runnable.
  void open_warp(size_t warp, size_t lanes, size_t lane) {
    const WarpCall call = at(warp + lane).warp;
    for (unsigned l = 0; l < 32; ++l) {
      if (!(call.mask >> l & 1)) continue;
      if (l >= lanes) warp_error(at(warp + lane), "lane " + std::to_string(l) + " does not exist (a partial warp)");
      const Worker& other = at(warp + l);
      if (other.status != Status::AtWarp || other.warp.op != call.op || other.warp.mask != call.mask)
        warp_error(at(warp + lane), "lane " + std::to_string(l) + " named in the mask " + where(other));
    }
    uint64_t ballot = 0;
    for (unsigned l = 0; l < 32; ++l)
      if ((call.mask >> l & 1) && at(warp + l).warp.value) ballot |= uint64_t{1} << l;
    for (unsigned l = 0; l < 32; ++l) {
      if (!(call.mask >> l & 1)) continue;
      Worker& w = at(warp + l);
      w.warp.result = result(warp, l, w.warp, ballot);
      w.status = Status::Runnable;
    }
  }

  uint64_t result(size_t warp, unsigned lane, const WarpCall& c, uint64_t ballot) {
    const unsigned width = static_cast<unsigned>(c.width), base = lane / width * width;
    unsigned source = lane;
    switch (c.op) {
      case WarpOp::Sync: return 0;
      case WarpOp::Ballot: return ballot;
      case WarpOp::Any: return ballot != 0;
      case WarpOp::All: return ballot == (c.mask & 0xffffffffull);
      case WarpOp::Shfl: source = base + static_cast<unsigned>(c.arg) % width; break;
      case WarpOp::ShflUp: source = lane - base >= static_cast<unsigned>(c.arg) ? lane - c.arg : lane; break;
      case WarpOp::ShflDown: source = lane + c.arg < base + width ? lane + c.arg : lane; break;
      case WarpOp::ShflXor: source = (lane ^ static_cast<unsigned>(c.arg)) < base + width ? lane ^ c.arg : lane; break;
    }
    if (source >= 32 || !(c.mask >> source & 1))
      warp_error(at(warp + lane), "the source lane " + std::to_string(source) + " is not in the mask");
    return at(warp + source).warp.value;
  }

  static std::string where(const Worker& w) {
    switch (w.status) {
      case Status::Done: return "has returned";
      case Status::AtBarrier: return "waits at __syncthreads()";
      case Status::AtGridSync: return "waits at grid.sync()";
      case Status::Spinning: return "waits for a ready flag";
      case Status::AtWarp: {
        char text[64];
        std::snprintf(text, sizeof text, "is at %s with mask 0x%08x", name_of(w.warp.op), w.warp.mask);
        return text;
      }
      case Status::Runnable: break;
    }
    return "is running";
  }

  [[noreturn]] void warp_error(const Worker& w, const std::string& what) {
    char mask[16];
    std::snprintf(mask, sizeof mask, "0x%08x", w.warp.mask);
    throw std::runtime_error(std::string(kernel_.name) + ": block " + triple(w.state.block_idx) + ", thread " +
                             triple(w.state.thread_idx) + ": " + name_of(w.warp.op) + " with mask " + mask + ": " +
                             what + " (every lane the mask names must reach it with the same mask)");
  }

  // A block's __syncthreads() opens when all its threads are there, the grid's grid.sync() when
  // all threads of the grid are; a thread that spins on a flag holds both (true: phases go on).
  bool open_barriers() {
    if (open_warps()) return true;  // barriers wait until the warps' rendezvous have run on
    size_t done = 0, at_grid = 0, spinning = 0;
    bool opened = false;
    for (size_t first = 0; first < count_; first += threads_per_block_) {
      size_t block_done = 0, at_barrier = 0, block_spinning = 0;
      for (size_t i = first; i < first + threads_per_block_; ++i) {
        const Status s = at(i).status;
        block_done += s == Status::Done;
        at_barrier += s == Status::AtBarrier;
        at_grid += s == Status::AtGridSync;
        block_spinning += s == Status::Spinning;
      }
      done += block_done;
      spinning += block_spinning;
      if (at_barrier == 0 || block_spinning > 0) continue;
      if (at_barrier != threads_per_block_) divergence(first, "__syncthreads()", at_barrier, block_done);
      for (size_t i = first; i < first + threads_per_block_; ++i) at(i).status = Status::Runnable;
      if (racing_) race_.barrier(first / threads_per_block_);
      if (ordered_) cross_block::ordered_block_barrier(static_cast<int64_t>(blocks_[first / threads_per_block_]));
      opened = true;
    }
    if (opened || spinning > 0) return true;
    if (done == count_) return false;
    if (at_grid != count_) divergence(0, "grid.sync()", at_grid, done);
    for (size_t i = 0; i < count_; ++i) at(i).status = Status::Runnable;
    if (racing_)
      for (size_t b = 0; b < count_ / threads_per_block_; ++b) race_.barrier(b);
    if (ordered_) cross_block::ordered_grid_barrier();
    return true;
  }

  [[noreturn]] void divergence(size_t first, const char* barrier, size_t waiting, size_t returned) {
    throw std::runtime_error(std::string(kernel_.name) + ": block " + triple(at(first).state.block_idx) + ": " +
                             barrier + " reached by " + std::to_string(waiting) + " thread(s) while " +
                             std::to_string(returned) + " had returned (every thread must reach the same barrier)");
  }

  [[noreturn]] void race_error(const SharedRace::Race& r) {
    const Worker& w = at(r.block * threads_per_block_);
    throw std::runtime_error(std::string(kernel_.name) + ": block " + triple(w.state.block_idx) + ": threads " +
                             triple(unflatten(r.first, block_)) + " and " + triple(unflatten(r.second, block_)) +
                             " race on byte " + std::to_string(r.offset) + " of its " +
                             (r.region == SharedRace::kStatic ? "static __shared__ memory" : "dynamic shared memory") +
                             ": " + (r.two_writes ? "two writes" : "a write and a read") +
                             " with no __syncthreads() or grid.sync() between (their order is not defined)");
  }

  [[noreturn]] void fail(const Worker& w) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(w.error);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
    }
    throw std::runtime_error(std::string(kernel_.name) + ": block " + triple(w.state.block_idx) + ", thread " +
                             triple(w.state.thread_idx) + ": " + what);
  }

  // Unwinds every thread suspended inside the kernel, so the workers are free for the next launch.
  void abort_all() {
    racing_ = false;  // unwinding is not the kernel's work
    for (size_t i = 0; i < count_; ++i) {
      Worker& w = at(i);
      if (w.in_kernel) {
        w.abort = true;
        resume(w);  // throws Aborted where it waits, and ends Done
        w.abort = false;
      }
      w.status = Status::Done;
    }
  }
};

}  // namespace

ThreadState& current_thread() {
  Emulator& e = emulator();
  if (!e.running) throw std::logic_error("threadIdx, blockIdx, blockDim or gridDim read outside a kernel");
  return e.running->state;
}

void syncthreads() { wait(Status::AtBarrier, "__syncthreads()"); }

uint64_t warp_exchange(WarpOp op, unsigned mask, uint64_t value, int arg, int width) {
  Emulator& e = emulator();
  if (!e.running) throw std::logic_error(std::string(name_of(op)) + " called outside a kernel");
  Worker& w = *e.running;
  const unsigned lane = w.thread % 32;
  char text[128];
  if (!(mask >> lane & 1)) {
    std::snprintf(text, sizeof text, "%s with mask 0x%08x: the mask does not hold the calling lane %u", name_of(op),
                  mask, lane);
    throw std::runtime_error(text);
  }
  if (width < 1 || width > 32 || (width & (width - 1))) {
    std::snprintf(text, sizeof text, "%s: width %d (a power of two, 1 to 32)", name_of(op), width);
    throw std::runtime_error(text);
  }
  w.warp = WarpCall{op, mask, value, arg, width, 0};
  wait(Status::AtWarp, name_of(op));
  return w.warp.result;
}

void wait_flag(const int* flag, int value) {
  Emulator& e = emulator();
  if (!e.running) throw std::logic_error("a ready flag waited for outside a kernel");
  for (;;) {
    int now;
    {
      const AtomicScope atomic;  // the flag's own accesses are the point: not a cross-block read
      now = *static_cast<const volatile int*>(flag);
    }
    if (now >= value) break;
    e.running->flag = flag;
    e.running->flag_value = value;
    wait(Status::Spinning, "a ready flag's wait");
  }
  cross_block::ordered_acquire(flag);
}

void release_flag(int* flag, int value) {
  if (!emulator().running) throw std::logic_error("a ready flag released outside a kernel");
  {
    const AtomicScope atomic;
    *static_cast<volatile int*>(flag) = value;
  }
  cross_block::ordered_release(flag);
}

void* dynamic_shared() {
  Emulator& e = emulator();
  if (!e.running || !e.run) throw std::logic_error("dynamic shared memory used outside a kernel");
  return e.run->dynamic->empty() ? nullptr : (*e.run->dynamic)[e.running->block];
}

cudaError_t set_max_dynamic_shared(const void* function, int bytes) {
  if (!function || bytes < 0 || static_cast<size_t>(bytes) > kMaxSharedBytesOptIn) return cudaErrorInvalidValue;
  emulator().max_dynamic_shared[function] = static_cast<size_t>(bytes);
  return cudaSuccess;
}

int blocks_per_sm(const void* function, int block_size, size_t dynamic_bytes) {
  if (block_size < 1 || static_cast<unsigned>(block_size) > kMaxThreadsPerBlock) return 0;
  const auto opt_in = emulator().max_dynamic_shared.find(function);
  const size_t allowed = opt_in != emulator().max_dynamic_shared.end() ? opt_in->second : kMaxSharedBytes;
  return dynamic_bytes <= allowed ? 1 : 0;
}

void grid_sync() {
  Emulator& e = emulator();
  if (e.run && !e.run->kernel->cooperative)
    throw std::logic_error("grid.sync() in a kernel not launched cooperatively (LEGATO_LAUNCH_COOPERATIVE)");
  wait(Status::AtGridSync, "grid.sync()");
}

namespace {
[[noreturn]] void cross_block_error(const Kernel& kernel, dim3 grid, const cross_block::Violation& v) {
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "byte %zu of the device buffer of %zu bytes at %p", v.offset, v.bytes,
                reinterpret_cast<void*>(v.base));
  const std::string writer = "block " + triple(unflatten(static_cast<uint64_t>(v.writer), grid));
  const std::string reader = "block " + triple(unflatten(static_cast<uint64_t>(v.reader), grid));
  if (v.ordered) {
    const std::string first = v.two_writes ? writer + " wrote " : v.write_last ? reader + " read " : writer + " wrote ";
    const std::string second = v.two_writes   ? reader + " wrote it"
                               : v.write_last ? writer + " wrote it"
                                              : reader + " read it";
    throw std::runtime_error(std::string(kernel.name) + ": " + first + buffer + " and " + second +
                             " with no grid.sync() or ready flag between (a flag released after the writer's "
                             "__syncthreads(), acquired before the reader's): their order is not defined");
  }
  throw std::runtime_error(std::string(kernel.name) + ": " +
                           (v.write_last ? writer + " wrote " + buffer + " that " + reader + " read"
                                         : reader + " read " + buffer + " that " + writer + " wrote") +
                           " in the same launch (blocks are not ordered: only a kernel boundary orders them)");
}

// The blocks of an ordinary launch one after the other, under the cross-block check when it is on.
void run_blocks_checked(const Kernel& kernel, dim3 grid, Group& group, const std::vector<uint64_t>& order) {
  const bool checked = cross_block::buffers_checked();
  for (const uint64_t& b : order) {
    if (checked) cross_block::set_block(static_cast<int64_t>(b));
    group.run(&b, 1);
    if (const auto v = checked ? cross_block::violation() : std::nullopt) cross_block_error(kernel, grid, *v);
  }
}

void run_launch(const Kernel& kernel, dim3 grid, dim3 block, size_t shared_bytes) {
  Emulator& e = emulator();
  const uint64_t blocks = static_cast<uint64_t>(grid.x) * grid.y * grid.z;
  std::seed_seq seq{e.seed, e.launch_number++};
  std::mt19937_64 rng(seq);
  std::vector<uint64_t> order(blocks);
  std::iota(order.begin(), order.end(), uint64_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  const bool racing = e.shared_race && (kernel.shared.size() > 0 || shared_bytes > 0);
  // Before the group, which asks whether its blocks' order is checked.
  const bool watching = cross_block::begin_launch(true, racing, kernel.cooperative ? static_cast<int64_t>(blocks) : 0);
  struct Reset {
    bool watching;
    ~Reset() {
      emulator().run = nullptr;
      if (watching) cross_block::end_launch();
    }
  } reset{watching};
  Group group(kernel, grid, block, shared_bytes, rng, racing);
  const Run run{&kernel, static_cast<size_t>(block.x) * block.y * block.z, group.dynamic(), group.race()};
  e.run = &run;
  if (kernel.cooperative) {
    group.run(order.data(), order.size());
    if (const auto v = cross_block::buffers_checked() ? cross_block::violation() : std::nullopt)
      cross_block_error(kernel, grid, *v);
  } else {
    run_blocks_checked(kernel, grid, group, order);
  }
  ++e.counters.launches;
  e.counters.blocks += blocks;
  e.counters.threads += blocks * run.threads_per_block;
}
}  // namespace

void launch(const Kernel& kernel, dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream) {
  Emulator& e = emulator();
  if (e.running) throw std::logic_error(std::string(kernel.name) + ": launched from inside a kernel");
  if (const cudaError_t status = validate(kernel, grid, block, shared_bytes); status != cudaSuccess) {
    record_error(status);
    return;
  }
  // Queued, the launch keeps its own copy of the kernel's description and parameters.
  if (defer(stream, [kernel, grid, block, shared_bytes] { run_launch(kernel, grid, block, shared_bytes); })) return;
  run_launch(kernel, grid, block, shared_bytes);
}

namespace {
// The device's SMs: one process-wide setting, as a device's properties are.
unsigned& sm_count() {
  static unsigned count = [] {
    const char* env = std::getenv("LEGATO_EMU_SMS");
    const unsigned long n = env ? std::strtoul(env, nullptr, 10) : kDefaultSms;
    if (n < 1 || n > kMaxSms) throw std::invalid_argument("LEGATO_EMU_SMS: 1 to " + std::to_string(kMaxSms));
    return static_cast<unsigned>(n);
  }();
  return count;
}
}  // namespace

namespace {
// The fill byte, process-wide like the SM count.
uint8_t& fill_byte() {
  static uint8_t byte = [] {
    const char* env = std::getenv("LEGATO_EMU_FILL");
    const unsigned long b = env ? std::strtoul(env, nullptr, 0) : 0xFF;
    if (b > 0xFF) throw std::invalid_argument("LEGATO_EMU_FILL: a byte, 0 to 0xFF");
    return static_cast<uint8_t>(b);
  }();
  return byte;
}
}  // namespace

void set_fill(uint8_t byte) { fill_byte() = byte; }
uint8_t fill() { return fill_byte(); }

bool set_sms(unsigned count) {
  if (count < 1 || count > kMaxSms) return false;
  sm_count() = count;
  return true;
}
unsigned sms() { return sm_count(); }

void set_cross_block_check(bool on) { cross_block::set_enabled(on); }
bool cross_block_check() { return cross_block::enabled(); }
void set_shared_race_check(bool on) { emulator().shared_race = on; }
bool shared_race_check() { return emulator().shared_race; }
uint64_t cross_block_accesses() { return cross_block::accesses(); }

void set_seed(uint64_t seed) {
  emulator().seed = seed;
  emulator().launch_number = 0;
}
uint64_t seed() { return emulator().seed; }
Counters counters() { return emulator().counters; }

}  // namespace legato::emu
