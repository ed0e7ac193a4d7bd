#include "model/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <bit>
#include <sstream>
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

void write_file_atomically(const std::filesystem::path& path, const std::string& bytes) {
  const std::filesystem::path tmp = path.string() + ".tmp" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;  // a signal (Ctrl-C) arrived: keep writing, the trainer stops after
      const std::string why = std::strerror(errno);
      ::close(fd);
      std::filesystem::remove(tmp);
      throw std::runtime_error("cannot write " + tmp.string() + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::filesystem::remove(tmp);
    throw std::runtime_error("cannot flush " + tmp.string() + ": " + std::strerror(errno));
  }
  std::filesystem::rename(tmp, path);  // atomic on POSIX: readers see the old file or the new one
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
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot be opened");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  if (bytes.size() < 8) fail(path, "truncated: " + std::to_string(bytes.size()) + " bytes, no header length");
  uint64_t length = 0;
  for (int k = 0; k < 8; ++k) length |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[k])) << (8 * k);
  if (length > bytes.size() - 8)
    fail(path, "truncated: header of " + std::to_string(length) + " bytes but the file has " +
                   std::to_string(bytes.size()) + " bytes");
  json header;
  try {
    header = json::parse(bytes.substr(8, length));
  } catch (const json::exception& e) {
    fail(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(path, "header is not a JSON object");
  const size_t data_start = 8 + length, data_size = bytes.size() - data_start;
  SafetensorsFile file;
  std::vector<std::pair<size_t, std::pair<std::string, Tensor>>> by_offset;
  for (auto& [name, entry] : header.items()) {
    try {
      if (name == "__metadata__") {
        for (auto& [k, v] : entry.items()) file.metadata[k] = v.get<std::string>();
        continue;
      }
      const std::string code = entry.at("dtype").get<std::string>();
      const DType dtype = code == "F32"   ? DType::F32
                          : code == "F64" ? DType::F64
                          : code == "I32" ? DType::I32
                                          : throw std::runtime_error("unsupported dtype " + code);
      const Shape shape = entry.at("shape").get<Shape>();
      const auto range = entry.at("data_offsets").get<std::vector<uint64_t>>();
      if (range.size() != 2 || range[0] > range[1] || range[1] > data_size)
        throw std::runtime_error("data offsets outside the " + std::to_string(data_size) + " data bytes");
      Tensor t = Tensor::empty(shape, dtype);
      const size_t expect = static_cast<size_t>(t.numel()) * dtype_size(dtype);
      if (range[1] - range[0] != expect)
        throw std::runtime_error("shape " + to_string(shape) + " needs " + std::to_string(expect) +
                                 " bytes but the offsets give " + std::to_string(range[1] - range[0]));
      std::memcpy(t.raw_data(), bytes.data() + data_start + range[0], expect);
      by_offset.push_back({range[0], {name, t}});
    } catch (const std::exception& e) {
      fail(path, "tensor '" + name + "': " + e.what());
    }
  }
  std::sort(by_offset.begin(), by_offset.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [offset, entry] : by_offset) file.tensors.push_back(std::move(entry));
  return file;
}

}  // namespace legato::model
