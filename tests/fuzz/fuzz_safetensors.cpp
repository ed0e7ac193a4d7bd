// libFuzzer target for the safetensors reader's header: checkpoints are downloaded and shared,
// so any bytes must either parse or throw std::runtime_error, and what parses must describe only
// bytes the file holds, in sizes that agree with the shapes.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "model/safetensors_header.h"

using namespace legato::model;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  SafetensorsHeader header;
  try {
    header = parse_safetensors_header(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const std::runtime_error&) {
    return 0;
  }
  if (header.data_start > size) std::abort();
  for (const SafetensorsEntry& e : header.entries) {
    if (e.begin > e.end || e.end > size - header.data_start) std::abort();
    if (safetensors_byte_count(e.shape, safetensors_dtype_size(e.dtype)) != e.end - e.begin) std::abort();
  }
  return 0;
}
