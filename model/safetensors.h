#pragma once
// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
// little-endian data. Writes are atomic: a temporary file beside the target, flushed, then
// renamed over it, so a crash or Ctrl-C mid-write never leaves a broken file.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace legato::model {

struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order
  std::map<std::string, std::string> metadata;          // "__metadata__": strings only

  const Tensor* find(const std::string& name) const;
};

// Tensors are written in their own dtype (F32, F64 or I32).
void save_safetensors(const std::filesystem::path& path, const SafetensorsFile& file);
// Throws std::runtime_error naming the file and what is wrong (truncated, bad header, offsets
// outside the data, unknown dtype, shape and size disagreeing).
SafetensorsFile load_safetensors(const std::filesystem::path& path);

}  // namespace legato::model
