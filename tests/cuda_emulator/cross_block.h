#pragma once
// The cross-block check's parts that the runtime (allocations) and the scheduler (launches) call;
// what it checks and its limits: emulator.h, "Cross-block reads".
#include <cstddef>
#include <cstdint>
#include <optional>

namespace legato::emu::cross_block {

void set_enabled(bool on);
bool enabled();

// A checked device allocation (whole pages of its own, filled with `fill`), or null; release()
// frees one and is false for a pointer that is not one.
void* allocate(size_t bytes, uint8_t fill);
bool release(void* p);

// A block of an ordinary launch that read what another block of the launch wrote (at `offset` of
// the checked buffer at `base`), the write being first (`write_last` false) or the read. In a
// cooperative launch (`ordered`): the two accesses had no grid.sync() or ready flag between them.
struct Violation {
  uintptr_t base;
  size_t bytes, offset;
  int64_t writer, reader;  // linear block indices (`reader`: the other access's block, a write too when two_writes)
  bool write_last;
  bool ordered = false, two_writes = false;
};

// Around a launch: begin_launch() installs the fault handlers and, when check_buffers and the
// check is on, makes the checked buffers inaccessible (false: neither check applies); a
// cooperative launch of `cooperative_blocks` blocks (0: an ordinary one) is checked for order
// (emulator.h, "Cooperative launches");
// set_block() names the block that runs from now on, violation() is the first one since
// begin_launch(), end_launch() makes the buffers accessible and removes the handlers.
bool begin_launch(bool check_buffers, bool check_shared, int64_t cooperative_blocks = 0);
bool buffers_checked();  // this launch's device buffers are
void set_block(int64_t block);
std::optional<Violation> violation();
void end_launch();
uint64_t accesses();
// The shared-memory race check's part: between arm_shared() and disarm_shared() (around each run
// of a kernel thread, within begin_launch() and end_launch()) the pages of the regions are
// inaccessible, and every access to a region's own bytes (not an atomic's) goes to `record`.
// The regions' pages must hold nothing else the emulator touches meanwhile (emulator.h).
struct SharedRegion {
  uintptr_t begin, end;
};
using SharedRecorder = void (*)(int region, size_t offset, bool write);
void arm_shared(const SharedRegion* regions, int count, SharedRecorder record);
void disarm_shared();  // recorded so far (atomics' not), for tests

// The order of a checked cooperative launch, by block (linear index): a block's __syncthreads()
// opened, the grid's grid.sync() opened, a ready flag released by the running block (covering
// its accesses before its last __syncthreads()) or acquired by it (ordering its accesses after
// its next __syncthreads()). No-ops outside a checked cooperative launch.
void ordered_block_barrier(int64_t block);
void ordered_grid_barrier();
void ordered_release(const void* flag);
void ordered_acquire(const void* flag);

}  // namespace legato::emu::cross_block
