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
// the checked buffer at `base`), the write being first (`write_last` false) or the read.
struct Violation {
  uintptr_t base;
  size_t bytes, offset;
  int64_t writer, reader;  // linear block indices
  bool write_last;
};

// Around an ordinary launch: begin_launch() makes the checked buffers inaccessible (false: the
// check is off or there is nothing to check), set_block() names the block that runs from now on,
// violation() is the first one since begin_launch(), end_launch() makes the buffers accessible.
bool begin_launch();
void set_block(int64_t block);
std::optional<Violation> violation();
void end_launch();
uint64_t accesses();  // recorded so far (atomics' not), for tests

}  // namespace legato::emu::cross_block
