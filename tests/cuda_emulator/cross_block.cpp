// The cross-block check (emulator.h, "Cross-block reads"): device memory allocated while the check
// is on is mapped pages of its own, kept inaccessible during an ordinary launch, so that every
// access of a kernel to it faults. The fault handler records the access in a shadow of the buffer
// (per byte: the last launch that touched it, the block that wrote it, the first two blocks that
// read it), opens the page and sets the CPU's trap flag; after that one instruction the trap
// handler closes the page again. x86-64 Linux only (the trap flag, the page-fault error code).
#include "tests/cuda_emulator/cross_block.h"

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <stdexcept>
#include <vector>

#include "tests/cuda_emulator/emulator.h"

namespace legato::emu::cross_block {
namespace {

// What the launch number and the blocks of a byte were, in its buffer's shadow.
struct Shadow {
  uint64_t launch;        // 0: not touched in any checked launch
  int64_t writer;         // -1: not written in that launch
  int64_t reader, other;  // the first two distinct blocks that read it (-1: none)
};

// The same in a cooperative launch, where barriers and ready flags order the blocks: the block
// that wrote the byte last and its phase, and the last read of each of up to kReaders blocks
// since (more readers are not recorded: a limit of the check, emulator.h).
constexpr int kReaders = 8;
struct Ordered {
  uint64_t launch;  // 0: not touched in any checked cooperative launch
  int32_t writer;   // -1: not written in that launch
  uint32_t write_phase;
  int32_t reader[kReaders];  // -1: a free slot
  uint32_t read_phase[kReaders];
};

struct Buffer {
  size_t bytes, mapped;        // asked for, and mapped (whole pages)
  Shadow* shadow;              // [bytes], mapped lazily (zero pages: launch 0)
  Ordered* ordered = nullptr;  // [bytes], mapped at its first cooperative launch
};

// What each block of a checked cooperative launch knows of the others (emulator.h, "Cooperative
// launches"). A block's phase counts the barriers it has passed; known[c * n + p] = k: every
// access of block p in a phase below k happens before what block c does now.
struct Order {
  int64_t blocks = 0;                                   // 0: no checked cooperative launch
  std::vector<uint32_t> phase, known, pending;          // [n], [n, n], [n, n] (acquired, joined at c's next barrier)
  std::map<uintptr_t, std::vector<uint32_t>> released;  // per flag: the releasing block's knowledge [n]
};

struct State {
  bool enabled = false;
  std::map<uintptr_t, Buffer> buffers;  // by base address
  bool active = false;                  // inside a checked launch: the buffers are inaccessible
  uint64_t launch = 0;
  int64_t block = -1;
  int atomic_depth = 0;
  uint64_t accesses = 0;         // recorded, ever
  uintptr_t open_pages[4] = {};  // opened for the instruction being single-stepped
  int open_count = 0;
  Violation first{};
  SharedRegion shared[2] = {};  // armed while a kernel thread runs (the race check)
  int shared_count = 0;
  SharedRecorder record_shared = nullptr;
  bool buffers_checked = false;  // this launch's device buffers are protected
  bool violated = false;
  Order order;
  struct sigaction old_segv {
  }, old_trap{};
};

// Never destroyed: a cudaFree at exit (a static allocator's cache given back) still looks here.
State& state() {
  static State* s = [] {
    auto* init = new State;
    const char* env = std::getenv("LEGATO_EMU_CROSS_BLOCK");
    init->enabled = env && *env && std::strcmp(env, "0") != 0;
    return init;
  }();
  return *s;
}

size_t page_size() {
  static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

void protect_all(int protection) {
  for (auto& [base, b] : state().buffers) mprotect(reinterpret_cast<void*>(base), b.mapped, protection);
}

// The buffer holding `address`, or null.
std::pair<const uintptr_t, Buffer>* find(uintptr_t address) {
  auto& buffers = state().buffers;
  auto it = buffers.upper_bound(address);
  if (it == buffers.begin()) return nullptr;
  --it;
  return address < it->first + it->second.mapped ? &*it : nullptr;
}

void violation(uintptr_t base, const Buffer& b, uintptr_t address, int64_t writer, int64_t reader) {
  State& s = state();
  if (s.violated) return;
  s.violated = true;
  s.first = Violation{base, b.bytes, static_cast<size_t>(address - base), writer, reader, writer == s.block};
}

void ordered_violation(uintptr_t base, const Buffer& b, uintptr_t address, int64_t writer, int64_t other,
                       bool write_last, bool two_writes) {
  State& s = state();
  if (s.violated) return;
  s.violated = true;
  s.first = Violation{base, b.bytes, static_cast<size_t>(address - base), writer, other, write_last, true, two_writes};
}

// An access in a checked cooperative launch: it must be ordered after the other blocks' accesses
// to the byte (a write after every read and write, a read after the write) by a grid.sync() or
// a ready flag. Accesses of one block are not checked against each other here.
void record_ordered(uintptr_t base, Buffer& b, uintptr_t address, bool write) {
  State& s = state();
  Order& o = s.order;
  if (!b.ordered) {
    void* shadow = mmap(nullptr, std::max<size_t>(b.bytes, 1) * sizeof(Ordered), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (shadow == MAP_FAILED) return;
    b.ordered = static_cast<Ordered*>(shadow);
  }
  const int64_t c = s.block, n = o.blocks;
  if (c < 0 || c >= n) return;
  Ordered& sh = b.ordered[address - base];
  if (sh.launch != s.launch) {
    sh.launch = s.launch;
    sh.writer = -1;
    for (int i = 0; i < kReaders; ++i) sh.reader[i] = -1;
  }
  const auto ordered = [&](int32_t p, uint32_t phase) { return p == c || o.known[c * n + p] > phase; };
  const uint32_t now = o.phase[c];
  if (sh.writer >= 0 && !ordered(sh.writer, sh.write_phase))
    ordered_violation(base, b, address, sh.writer, c, write, write);
  if (!write) {
    int slot = -1;
    for (int i = 0; i < kReaders && slot < 0; ++i)
      if (sh.reader[i] == c || sh.reader[i] < 0) slot = i;
    if (slot >= 0) sh.reader[slot] = static_cast<int32_t>(c), sh.read_phase[slot] = now;
    return;
  }
  for (int i = 0; i < kReaders; ++i)
    if (sh.reader[i] >= 0 && !ordered(sh.reader[i], sh.read_phase[i]))
      ordered_violation(base, b, address, c, sh.reader[i], true, false);
  sh.writer = static_cast<int32_t>(c);
  sh.write_phase = now;
  for (int i = 0; i < kReaders; ++i) sh.reader[i] = -1;
}

// One access, by its first byte (the fault's address): the size of an access is not known, so
// accesses meet only where they start at the same byte.
void record(uintptr_t base, Buffer& b, uintptr_t address, bool write) {
  State& s = state();
  const size_t offset = address - base;
  if (offset >= b.bytes || s.atomic_depth > 0) return;  // the page's tail past the buffer; atomics may meet
  ++s.accesses;
  if (s.order.blocks > 0) return record_ordered(base, b, address, write);
  Shadow& sh = b.shadow[offset];
  if (sh.launch != s.launch) sh = Shadow{s.launch, -1, -1, -1};
  if (write) {
    const int64_t other_reader = sh.reader != s.block ? sh.reader : sh.other;
    if (other_reader >= 0) violation(base, b, address, s.block, other_reader);
    sh.writer = s.block;
  } else {
    if (sh.writer >= 0 && sh.writer != s.block) violation(base, b, address, sh.writer, s.block);
    if (sh.reader < 0)
      sh.reader = s.block;
    else if (sh.reader != s.block && sh.other < 0)
      sh.other = s.block;
  }
}

void chain(int signal, siginfo_t* info, void* context, const struct sigaction& old) {
  if (old.sa_flags & SA_SIGINFO) {
    if (old.sa_sigaction) old.sa_sigaction(signal, info, context);
    return;
  }
  if (old.sa_handler == SIG_IGN) return;
  if (old.sa_handler != SIG_DFL) {
    old.sa_handler(signal);
    return;
  }
  sigaction(signal, &old, nullptr);  // default: returning faults again, now fatal
}

uintptr_t page_floor(uintptr_t a) { return a & ~(page_size() - 1); }
uintptr_t page_ceil(uintptr_t a) { return page_floor(a + page_size() - 1); }

// An armed shared region's pages hold `address`: records it if it is the region's own byte.
bool on_shared(uintptr_t address, bool write) {
  State& s = state();
  for (int r = 0; r < s.shared_count; ++r) {
    const SharedRegion& region = s.shared[r];
    if (address < page_floor(region.begin) || address >= page_ceil(region.end)) continue;
    if (address >= region.begin && address < region.end && s.atomic_depth == 0)
      s.record_shared(r, address - region.begin, write);
    return true;
  }
  return false;
}

void on_fault(int signal, siginfo_t* info, void* context) {
  State& s = state();
  const uintptr_t address = reinterpret_cast<uintptr_t>(info->si_addr);
  auto* uc = static_cast<ucontext_t*>(context);
  const bool write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;  // the page-fault error code's W bit
  if (!s.active || s.open_count == static_cast<int>(std::size(s.open_pages)))
    return chain(signal, info, context, s.old_segv);
  if (!on_shared(address, write)) {
    auto* hit = s.buffers_checked ? find(address) : nullptr;
    if (!hit) return chain(signal, info, context, s.old_segv);
    record(hit->first, hit->second, address, write);
  }
  const uintptr_t page = address & ~(page_size() - 1);
  mprotect(reinterpret_cast<void*>(page), page_size(), PROT_READ | PROT_WRITE);
  s.open_pages[s.open_count++] = page;
  uc->uc_mcontext.gregs[REG_EFL] |= 0x100;  // the trap flag: stop after this one instruction
}

void on_trap(int signal, siginfo_t* info, void* context) {
  State& s = state();
  if (s.open_count == 0) return chain(signal, info, context, s.old_trap);
  auto* uc = static_cast<ucontext_t*>(context);
  uc->uc_mcontext.gregs[REG_EFL] &= ~0x100;
  for (int i = 0; i < s.open_count; ++i) mprotect(reinterpret_cast<void*>(s.open_pages[i]), page_size(), PROT_NONE);
  s.open_count = 0;
}

}  // namespace

void set_enabled(bool on) { state().enabled = on; }
bool enabled() { return state().enabled; }

void* allocate(size_t bytes, uint8_t fill) {
  const size_t mapped = (std::max<size_t>(bytes, 1) + page_size() - 1) / page_size() * page_size();
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  void* shadow = mmap(nullptr, std::max<size_t>(bytes, 1) * sizeof(Shadow), PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (shadow == MAP_FAILED) {
    munmap(p, mapped);
    return nullptr;
  }
  std::memset(p, fill, mapped);
  state().buffers[reinterpret_cast<uintptr_t>(p)] = Buffer{bytes, mapped, static_cast<Shadow*>(shadow)};
  return p;
}

bool release(void* p) {
  auto& buffers = state().buffers;
  const auto it = buffers.find(reinterpret_cast<uintptr_t>(p));
  if (it == buffers.end()) return false;
  munmap(it->second.shadow, std::max<size_t>(it->second.bytes, 1) * sizeof(Shadow));
  if (it->second.ordered) munmap(it->second.ordered, std::max<size_t>(it->second.bytes, 1) * sizeof(Ordered));
  munmap(p, it->second.mapped);
  buffers.erase(it);
  return true;
}

bool begin_launch(bool check_buffers, bool check_shared, int64_t cooperative_blocks) {
  State& s = state();
  s.buffers_checked = check_buffers && s.enabled && !s.buffers.empty();
  if (!s.buffers_checked && !check_shared) return false;
  ++s.launch;
  s.violated = false;
  s.block = -1;
  Order& o = s.order;
  o.blocks = s.buffers_checked ? cooperative_blocks : 0;
  const size_t n = static_cast<size_t>(o.blocks);
  o.phase.assign(n, 1);
  o.known.assign(n * n, 0);
  o.pending.assign(n * n, 0);
  o.released.clear();
  struct sigaction fault {
  }, trap{};
  fault.sa_sigaction = on_fault;
  fault.sa_flags = SA_SIGINFO;
  sigemptyset(&fault.sa_mask);
  trap = fault;
  trap.sa_sigaction = on_trap;
  sigaction(SIGSEGV, &fault, &s.old_segv);
  sigaction(SIGTRAP, &trap, &s.old_trap);
  s.active = true;
  if (s.buffers_checked) protect_all(PROT_NONE);
  return true;
}

bool buffers_checked() { return state().active && state().buffers_checked; }

void arm_shared(const SharedRegion* regions, int count, SharedRecorder record) {
  State& s = state();
  s.record_shared = record;
  s.shared_count = std::min(count, 2);
  for (int r = 0; r < s.shared_count; ++r) {
    s.shared[r] = regions[r];  // an empty one matches no address
    if (regions[r].begin == regions[r].end) continue;
    mprotect(reinterpret_cast<void*>(page_floor(regions[r].begin)),
             page_ceil(regions[r].end) - page_floor(regions[r].begin), PROT_NONE);
  }
}

void disarm_shared() {
  State& s = state();
  for (int r = 0; r < s.shared_count; ++r)
    if (s.shared[r].begin != s.shared[r].end)
      mprotect(reinterpret_cast<void*>(page_floor(s.shared[r].begin)),
               page_ceil(s.shared[r].end) - page_floor(s.shared[r].begin), PROT_READ | PROT_WRITE);
  s.shared_count = 0;
}

void set_block(int64_t block) { state().block = block; }

uint64_t accesses() { return state().accesses; }

void ordered_block_barrier(int64_t block) {
  Order& o = state().order;
  if (block < 0 || block >= o.blocks) return;
  const int64_t n = o.blocks;
  ++o.phase[block];
  for (int64_t p = 0; p < n; ++p) {
    uint32_t& k = o.known[block * n + p];
    k = std::max(k, o.pending[block * n + p]);
    o.pending[block * n + p] = 0;
  }
}

void ordered_grid_barrier() {
  Order& o = state().order;
  const int64_t n = o.blocks;
  for (int64_t b = 0; b < n; ++b) ++o.phase[b];
  for (int64_t c = 0; c < n; ++c)
    for (int64_t p = 0; p < n; ++p) o.known[c * n + p] = o.phase[p], o.pending[c * n + p] = 0;
}

void ordered_release(const void* flag) {
  State& s = state();
  Order& o = s.order;
  const int64_t c = s.block, n = o.blocks;
  if (c < 0 || c >= n) return;
  std::vector<uint32_t>& knowledge = o.released[reinterpret_cast<uintptr_t>(flag)];
  knowledge.assign(o.known.begin() + c * n, o.known.begin() + (c + 1) * n);
  knowledge[c] = o.phase[c];  // its own accesses before its last __syncthreads()
}

void ordered_acquire(const void* flag) {
  State& s = state();
  Order& o = s.order;
  const int64_t c = s.block, n = o.blocks;
  const auto it = o.released.find(reinterpret_cast<uintptr_t>(flag));
  if (c < 0 || c >= n || it == o.released.end()) return;
  for (int64_t p = 0; p < n; ++p) o.pending[c * n + p] = std::max(o.pending[c * n + p], it->second[p]);
}

std::optional<Violation> violation() {
  const State& s = state();
  return s.violated ? std::optional<Violation>(s.first) : std::nullopt;
}

void end_launch() {
  State& s = state();
  if (!s.active) return;
  if (s.buffers_checked) protect_all(PROT_READ | PROT_WRITE);
  s.buffers_checked = false;
  s.order.blocks = 0;
  s.active = false;
  sigaction(SIGSEGV, &s.old_segv, nullptr);
  sigaction(SIGTRAP, &s.old_trap, nullptr);
}

}  // namespace legato::emu::cross_block

namespace legato::emu {
// Atomics from different blocks to one address are the point of atomics: not a cross-block read.
AtomicScope::AtomicScope() {
  ++cross_block::state().atomic_depth;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}
AtomicScope::~AtomicScope() {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  --cross_block::state().atomic_depth;
}
}  // namespace legato::emu
