#include "model/safetensors.h"

#include "base/atomic_file.h"
#include "model/safetensors_header.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace legato::model {
namespace {

// Tensors are copied byte for byte: the format is little-endian, and so must the host be.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

using nlohmann::json;

std::string dtype_code(DType d) {
  switch (d) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I32: return "I32";
  }
  return "?";
}

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw std::runtime_error("checkpoint " + path.string() + ": " + what);
}

}  // namespace

const Tensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

void save_safetensors(const std::filesystem::path& path, const SafetensorsFile& file) {
  json header = json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  size_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    const size_t bytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
    header[name] = {{"dtype", dtype_code(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string head = header.dump();
  head.append((8 - head.size() % 8) % 8, ' ');  // the format pads the header to 8 bytes with spaces
  std::string out(8, '\0');
  const uint64_t length = head.size();
  for (int k = 0; k < 8; ++k) out[k] = static_cast<char>((length >> (8 * k)) & 0xff);  // little-endian
  out += head;
  out.reserve(out.size() + offset);
  for (const auto& [name, t] : file.tensors) {
    const Tensor host = t.device() == Device::CPU ? t : t.to(Device::CPU);  // a GPU run's weights
    out.append(static_cast<const char*>(host.raw_data()), static_cast<size_t>(t.numel()) * dtype_size(t.dtype()));
  }
  write_file_atomically(path, out);
}

SafetensorsFile load_safetensors(const std::filesystem::path& path) {
  // The file mapped, not read into a buffer: the tensors below are its only copy in memory (a
  // seed-sized checkpoint is 22 MB, and most of composer's start is loading it).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot be opened");
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    fail(path, "is not a file");
  }
  const size_t size = static_cast<size_t>(info.st_size);
  void* mapped = size ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : nullptr;
  ::close(fd);  // the mapping stays valid
  if (mapped == MAP_FAILED) fail(path, std::string("cannot be mapped: ") + std::strerror(errno));
  const std::unique_ptr<void, std::function<void(void*)>> unmap(mapped, [size](void* m) {
    if (m) ::munmap(m, size);
  });
  const std::string_view bytes(static_cast<const char*>(mapped), size);
  // Every size is checked against the file before a tensor is allocated.
  SafetensorsHeader header;
  try {
    header = parse_safetensors_header(bytes);
  } catch (const std::exception& e) {
    fail(path, e.what());
  }
  SafetensorsFile file;
  file.metadata = std::move(header.metadata);
  std::stable_sort(header.entries.begin(), header.entries.end(),
                   [](const SafetensorsEntry& a, const SafetensorsEntry& b) { return a.begin < b.begin; });
  for (const SafetensorsEntry& e : header.entries) {
    const DType dtype = e.dtype == "F32" ? DType::F32 : e.dtype == "F64" ? DType::F64 : DType::I32;
    Tensor t = Tensor::empty(e.shape, dtype);
    if (e.end > e.begin) std::memcpy(t.raw_data(), bytes.data() + header.data_start + e.begin, e.end - e.begin);
    file.tensors.push_back({e.name, t});
  }
  return file;
}

}  // namespace legato::model
