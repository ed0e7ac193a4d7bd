#pragma once
// The CPU emulator of the CUDA kernels: the project's own kernels/*.cu, compiled as C++ (with
// cuda_emulator.h included first), are launched here and run on the calling thread.
//
// - Each thread of a block is a fiber (Boost.Context), so __syncthreads() is a real barrier: a
//   thread runs until it reaches one, and the block goes on when all its threads are there.
// - Order is not a guarantee on a GPU, so it is not one here: the blocks of a launch run in a
//   shuffled order, and inside every barrier phase the threads of a block run in a shuffled order,
//   both drawn from a seed (LEGATO_EMU_SEED, or set_seed()). A kernel that depends on an order (a
//   missing barrier, a race on shared memory) gives different results under different seeds.
// - Static shared memory (__shared__) is a real per-block array: one linker section per kernel
//   file, filled with the fill byte at the start of every block, so a read before the block wrote
//   it shows.
// - Dynamic shared memory (LEGATO_DYNAMIC_SHARED, kernels/dynamic_shared.cuh: extern __shared__
//   under nvcc) is one heap array per block of exactly the launch's shared-bytes argument, also
//   filled at the start, so AddressSanitizer sees a read past what the launch asked for.
// - The fill byte (fill(): LEGATO_EMU_FILL, or set_fill(); 0xFF by default, NaN as float) also
//   fills every fresh cudaMalloc and cudaHostAlloc block (runtime.cpp). A kernel that reads memory
//   nobody wrote gives results that depend on it: the suite runs under two fill bytes (0xFF and
//   0x7F, tests/CMakeLists.txt), and test_emulator.cpp runs kernels under 0xFF and 0x00 and
//   requires bit-identical results.
// - A launch is validated as the driver does (grid and block limits; static + dynamic shared
//   memory at most 48 KiB, or up to kMaxSharedBytesOptIn once cudaFuncSetAttribute has raised the
//   kernel's cudaFuncAttributeMaxDynamicSharedMemorySize) and a bad one fails with the runtime's
//   error (cudaGetLastError: invalid configuration argument).
// - Cooperative launches run every block of the grid together, as fibers, so that
//   cooperative_groups::this_grid().sync() works; a grid of more blocks than the device has SMs
//   (one block per SM: stricter than a GPU, which may fit several) is refused with
//   cudaErrorCooperativeLaunchTooLarge.
// - The device has sms() SMs: 16 (kDefaultSms), or LEGATO_EMU_SMS, or set_sms() (132 for an
//   H100); cudaDeviceGetAttribute(cudaDevAttrMultiProcessorCount) and cudaGetDeviceProperties
//   report it. An H100-sized cooperative grid (128 blocks of 256 threads: 32768 fibers) fits in
//   memory because fiber stacks are touched only as deep as a kernel's frames go; the first
//   kGuardedFibers fibers' stacks have a guard page (an overflow faults), those beyond it have none
//   (each guard page is a mapping of its own, and Linux allows a process ~65530 mappings).
// - A barrier reached by some threads of a block while the others returned, or a deadlock, is an
//   error (std::runtime_error from the launch) naming the kernel, the block and the barrier.
// - Warp-level primitives (__syncwarp, __shfl_sync, __shfl_up/down/xor_sync, __ballot_sync,
//   __any_sync, __all_sync) are rendezvous points of the lanes their mask names (a warp: 32
//   consecutive linear thread indices of a block): a lane waits there, as at a barrier, until
//   every other thread of the block has run to a rendezvous, a barrier or its end; then each group
//   of lanes at the same primitive with the same mask gets its results and runs on, in a shuffled
//   order as always. A mask without the calling lane, a lane named in the mask that is not at the
//   same primitive with the same mask (it returned, waits at a barrier or elsewhere, or does not
//   exist in a partial warp), or a shuffle from a lane outside the mask, is an error naming the
//   kernel, the block, the thread and the mask (stricter than CUDA, which lets a named lane have
//   exited). Independent thread scheduling is the model: the lanes of a warp run in no fixed
//   order between rendezvous.
//
// Cross-block reads (cross_block.cpp). On a GPU the blocks of an ordinary launch run in any order
// and at once: a block that reads what another block of the same launch wrote (or writes what
// another read) gets either value. With the check on (set_cross_block_check, or
// LEGATO_EMU_CROSS_BLOCK=1), every device allocation made meanwhile is pages of its own (not
// exactly sized: AddressSanitizer does not see an overrun into the last page's tail), inaccessible
// while an ordinary launch runs; every access of a kernel to it faults, is recorded in a shadow of
// the buffer (per byte: the block that wrote it, the first two that read it, in this launch), and
// is single-stepped with the CPU's trap flag. A read of a byte another block wrote, or a write of
// one another block read, is an error (std::runtime_error from the launch) naming the kernel, the
// buffer (its address and size), the byte and both blocks. Its limits: opt-in, as every access
// costs two signals (micro-seconds), for the tests that turn it on; x86-64 Linux; accesses are
// matched by their first byte (a vectorised wide access meets only accesses that start where it
// does); atomics (atomicAdd...) are exempt; cooperative launches are not checked (grid.sync()
// orders their blocks), nor memory allocated while the check was off (the caching allocator's
// blocks: give them back first, kernels::device_release_cache()).
//
// Cooperative launches under the cross-block check (cross_block.cpp): blocks run together and
// meet at grid.sync() and at ready flags (kernels/ready_flags.cuh: a block releases a flag, others
// wait for it and acquire). Each block counts its barriers (its phase); a release publishes what
// its block knows, its own accesses before its last __syncthreads() included; an acquire adds
// that to its block's knowledge at the block's next __syncthreads(); grid.sync() makes everything
// before it known to all. An access to a checked byte must be ordered so after the other blocks'
// accesses to it (a read after the last write, a write after every read and write since):
// otherwise the launch fails naming the kernel, the buffer, the byte and both blocks. Stricter
// than CUDA in one way: a thread's release covers none of its own accesses since the last
// __syncthreads(), and an acquire orders not even its own thread before the next one (the kernels
// always pair them with a barrier). Its limits: the last reads of at most 8 blocks per byte are
// kept; accesses of one block are not checked against each other; flags are exempt (atomics). A
// thread that waits for a flag yields until it is reached; when no thread of the grid can move, the
// launch fails naming the waiting thread and its flag (a deadlock).
//
// Shared-memory races (shared_race.h, cross_block.cpp). Two accesses to one shared byte, at least
// one a write, by different threads of a block with no __syncthreads() or grid.sync() between are
// a race: a GPU runs them in any order. With the check on (set_shared_race_check, or
// LEGATO_EMU_SHARED_RACE=1) a block's shared memory (its static section and its dynamic array)
// is made inaccessible while one of its threads runs; every access faults, is recorded in a shadow
// (per byte: the barrier phase, the thread that wrote it, the first two that read it) and is
// single-stepped, as the cross-block check does. A race is an error (std::runtime_error from the
// launch) naming the kernel, the block, the byte of static or dynamic shared memory and both
// threads. Each unit's static section lies on pages of its own (the linker script in
// tests/CMakeLists.txt), and dynamic shared memory is then two pages larger, to start on a page.
// Its limits: opt-in (micro-seconds an access), x86-64 Linux, accesses matched by their first
// byte (as above), atomics exempt; the section of a unit is shared by its kernels, so a byte is
// one shadow whichever variable it belongs to.
//
// Streams and events (streams.cpp). Every created stream, blocking (cudaStreamCreate, the
// engine's one stream) or not (cudaStreamCreateWithFlags(..., cudaStreamNonBlocking)), queues its
// work (kernel launches, cuBLAS calls of a handle bound to it, async copies and memsets, event
// records and waits) and runs it only when the host waits: cudaStreamSynchronize,
// cudaEventSynchronize, cudaDeviceSynchronize, cudaStreamQuery (which runs what it can here: it
// answers cudaErrorNotReady only for a wait for another process, defer_outside_wait), cudaFree,
// cudaStreamDestroy, or a call on the legacy default stream (0). The legacy stream runs its work
// at once, on the calling thread, after every blocking stream's queued work (CUDA's implicit
// synchronisation: a legacy-stream launch, cudaMemcpy, cudaMemset, an event record or a wait
// there), and never waits for a non-blocking stream without an event. Queued items run one at a
// time, each time from a stream drawn among those whose next item may run (a wait may run once
// its event's record has), drawn from the seed: two streams with no event between them run in
// either order, so a missing wait shows as a wrong result under some seed, whether it is a join
// (the engine's stream reading what a layer stream made) or a fork (a layer stream reading what
// the engine's stream made). cudaStreamSynchronize(s) runs only what s's work needs (other
// streams' work may run meanwhile, as on a GPU). A launch is validated when queued (its geometry
// error is immediate); a barrier error throws from the call that ran it.
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <tuple>
#include <utility>

namespace legato::emu {

// The GPU's limits the emulator enforces (those of every card since compute capability 3.0).
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxBlockDim[3] = {1024, 1024, 64};
constexpr unsigned kMaxGridDim[3] = {2147483647u, 65535, 65535};
constexpr size_t kMaxSharedBytes = 48 * 1024;  // static + dynamic, without an opt-in attribute
// With the opt-in (cudaFuncAttributeMaxDynamicSharedMemorySize): an H100's or H200's 227 KiB.
constexpr size_t kMaxSharedBytesOptIn = 227 * 1024;
// The SMs of the emulated device unless LEGATO_EMU_SMS or set_sms() says otherwise. A cooperative
// grid may have one block per SM (a GPU allows SMs x blocks per SM: 132 x 1 or more on an H100).
constexpr unsigned kDefaultSms = 16;
constexpr unsigned kMaxSms = 1024;
// Fibers (emulated threads existing at once) whose stacks have a guard page: 16 blocks of 1024.
constexpr size_t kGuardedFibers = 16 * 1024;

// A kernel file's static shared memory: the linker section its __shared__ variables live in.
// Both ends are null when the file has none. Its size counts against kMaxSharedBytes for every
// kernel of the file (a GPU counts each kernel's own: the emulator is stricter, never laxer).
struct SharedSection {
  char* begin = nullptr;
  char* end = nullptr;
  size_t size() const { return begin ? static_cast<size_t>(end - begin) : 0; }
};

// What threadIdx, blockIdx, blockDim and gridDim read in the running emulated thread.
struct ThreadState {
  uint3 thread_idx{};
  uint3 block_idx{};
  dim3 block_dim;
  dim3 grid_dim;
};
ThreadState& current_thread();

void syncthreads();  // __syncthreads()
// The warp-level primitives (cuda_emulator.h): a rendezvous of the lanes named in `mask`, which
// must hold the calling lane. Sync: __syncwarp; Shfl (arg: the source lane), ShflUp, ShflDown
// (arg: delta), ShflXor (arg: the lane mask) within segments of `width` lanes, `value` the
// variable's bytes; Ballot, Any, All of `value` != 0. Returns the lane's result.
enum class WarpOp { Sync, Shfl, ShflUp, ShflDown, ShflXor, Ballot, Any, All };
uint64_t warp_exchange(WarpOp op, unsigned mask, uint64_t value, int arg, int width);
void grid_sync();  // cooperative_groups::this_grid().sync(); only in a cooperative launch
// Ready flags (kernels/ready_flags.cuh): wait_flag yields until *flag >= value (a thread that
// spins), then acquires; release_flag stores value with release ("Cooperative launches" above).
void wait_flag(const int* flag, int value);
void release_flag(int* flag, int value);
void record_error(cudaError_t status);  // the runtime stand-in's last error (runtime.cpp)
// The running block's dynamic shared memory (null when the launch asked for none).
void* dynamic_shared();
// cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes): the most
// dynamic shared memory later launches of `function` may ask for.
cudaError_t set_max_dynamic_shared(const void* function, int bytes);
// cudaOccupancyMaxActiveBlocksPerMultiprocessor: the blocks of `function` one SM runs at once.
// One (a cooperative grid's rule here) when a launch of that many threads and dynamic shared
// memory would be accepted (the kernel's own static shared memory is not counted: it is known only
// at launch), else 0.
int blocks_per_sm(const void* function, int block_size, size_t dynamic_bytes);

// A launch, type-erased: run(params) executes the kernel body once for the current thread.
struct Kernel {
  const char* name;
  const void* function;  // the __global__ function: the key of its attributes
  SharedSection shared;
  bool cooperative;
  void (*run)(const void* params);
  const void* params;
  std::shared_ptr<const void> keep;  // owns params while the launch is queued on a stream
};
// Validates, then runs every block and thread to completion. A bad geometry is recorded as the
// runtime's last error (nothing runs); a barrier misuse throws.
void launch(const Kernel& kernel, dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream);

// The arguments are converted to the kernel's parameter types once, at the launch, as nvcc's
// launch does; every thread then gets its own copy of them, as its parameters.
template <class... Params, class... Args>
void launch(const char* name, SharedSection shared, bool cooperative, void (*kernel)(Params...), dim3 grid, dim3 block,
            size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  struct Bound {
    void (*kernel)(Params...);
    std::tuple<std::decay_t<Params>...> params;
  };
  const auto bound =
      std::make_shared<const Bound>(Bound{kernel, std::tuple<std::decay_t<Params>...>(std::forward<Args>(args)...)});
  auto run = [](const void* p) {
    const Bound& b = *static_cast<const Bound*>(p);
    std::apply(b.kernel, b.params);
  };
  launch(Kernel{name, reinterpret_cast<const void*>(kernel), shared, cooperative, run, bound.get(), bound}, grid, block,
         shared_bytes, stream);
}

// The device's SM count (1 to kMaxSms; false and unchanged otherwise), process-wide: the launch
// limit of cooperative grids and what the runtime reports. Starts from LEGATO_EMU_SMS (default
// kDefaultSms).
bool set_sms(unsigned count);
unsigned sms();

// The byte that fills shared memory at the start of every block and every fresh device allocation,
// process-wide. Starts from LEGATO_EMU_FILL (C syntax: 0xFF, 0x7F, 0; default 0xFF).
void set_fill(uint8_t byte);
uint8_t fill();

// The cross-block check (cross_block.cpp; "Cross-block reads" above), process-wide. Starts from
// LEGATO_EMU_CROSS_BLOCK (1: on; default off). Only device memory allocated while it is on is
// checked.
void set_cross_block_check(bool on);
bool cross_block_check();
uint64_t cross_block_accesses();  // the accesses it has recorded so far (atomics' not), for tests
// The shared-memory race check ("Shared-memory races" above), for this OS thread's launches.
// Starts from LEGATO_EMU_SHARED_RACE (1: on; default off).
void set_shared_race_check(bool on);
bool shared_race_check();
// Held by an emulated atomic while it reads and writes: atomics of different blocks may meet.
struct AtomicScope {
  AtomicScope();
  ~AtomicScope();
  AtomicScope(const AtomicScope&) = delete;
  AtomicScope& operator=(const AtomicScope&) = delete;
};

// The seed of the shuffled orders; every launch draws its orders from (seed, launch number).
// Starts from the environment variable LEGATO_EMU_SEED (default 1).
void set_seed(uint64_t seed);
uint64_t seed();

// Queues work on a created stream and returns true; false for the legacy stream, which runs work
// at once (the caller runs it, after this has run the blocking streams' queued work).
bool defer(cudaStream_t stream, std::function<void()> work);
// Queues on `stream` a wait for another process (a peer's part of the emulated NCCL's all-reduce):
// the stream's later work runs once `finished()` holds, polled; meanwhile cudaStreamQuery answers
// cudaErrorNotReady and a synchronisation polls it. On the legacy stream it is polled at once.
void defer_outside_wait(cudaStream_t stream, std::function<bool()> finished);
void synchronize_all();     // cudaDeviceSynchronize
void synchronize_legacy();  // what a legacy-stream call waits for first: the blocking streams' work
size_t pending_work();      // items queued on non-blocking streams, for tests

// Counts for tests: launches run, blocks and threads executed, barrier phases, shared-memory
// accesses the race check recorded.
struct Counters {
  uint64_t launches = 0, blocks = 0, threads = 0, phases = 0, shared_accesses = 0;
};
Counters counters();

}  // namespace legato::emu
