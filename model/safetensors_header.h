#pragma once
// The header of a safetensors file, parsed and checked before any tensor memory is touched: a
// damaged or hostile checkpoint fails here with a clear message, and nothing is allocated for a
// size the file does not hold. Needs only nlohmann-json, so the fuzzer (tests/fuzz/) runs it
// alone under the sanitizers.
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace legato::model {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // "F32", "F64" or "I32"
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // its bytes in the data section
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;        // in header order
  std::map<std::string, std::string> metadata;  // "__metadata__": strings only
  uint64_t data_start = 0;                      // where the data section starts in the file
};

// Bytes per element of the dtypes we read; 0 for any other.
inline uint64_t safetensors_dtype_size(std::string_view code) {
  if (code == "F32" || code == "I32") return 4;
  return code == "F64" ? 8 : 0;
}

// Elements times element size, checked: throws where a dimension is negative or the product
// does not fit 64 bits (a shape of [2^40, 2^40] must not wrap round to a small size).
inline uint64_t safetensors_byte_count(const std::vector<int64_t>& shape, uint64_t element_size) {
  uint64_t bytes = element_size;
  for (const int64_t d : shape) {
    if (d < 0) throw std::runtime_error("negative dimension " + std::to_string(d));
    if (__builtin_mul_overflow(bytes, uint64_t(d), &bytes))
      throw std::runtime_error("shape has more bytes than 64 bits can count");
  }
  // Element counts are int64 in the engine.
  if (element_size && bytes / element_size > uint64_t(std::numeric_limits<int64_t>::max()))
    throw std::runtime_error("shape has more elements than 63 bits can count");
  return bytes;
}

namespace detail {
// A list of JSON integers. A number written as a float (1e76) is refused: converting it to an
// integer type would overflow (undefined behaviour), and a size or an offset is never fractional.
template <class Int>
std::vector<Int> integer_list(const nlohmann::json& list, const char* what) {
  if (!list.is_array()) throw std::runtime_error(std::string(what) + " is not a list");
  std::vector<Int> out;
  for (const auto& v : list) {
    if (!v.is_number_integer()) throw std::runtime_error(std::string(what) + " holds " + v.dump() + ", not an integer");
    out.push_back(v.get<Int>());
  }
  return out;
}

inline SafetensorsEntry parse_safetensors_entry(const std::string& name, const nlohmann::json& entry,
                                                uint64_t data_size) {
  SafetensorsEntry e;
  e.name = name;
  e.dtype = entry.at("dtype").get<std::string>();
  const uint64_t element_size = safetensors_dtype_size(e.dtype);
  if (element_size == 0) throw std::runtime_error("unsupported dtype " + e.dtype);
  e.shape = integer_list<int64_t>(entry.at("shape"), "shape");
  const auto range = integer_list<uint64_t>(entry.at("data_offsets"), "data_offsets");
  if (range.size() != 2 || range[0] > range[1] || range[1] > data_size)
    throw std::runtime_error("data offsets outside the " + std::to_string(data_size) + " data bytes");
  e.begin = range[0];
  e.end = range[1];
  const uint64_t expect = safetensors_byte_count(e.shape, element_size);
  if (e.end - e.begin != expect) {
    std::string shape = "[";
    for (size_t k = 0; k < e.shape.size(); ++k) shape += (k ? ", " : "") + std::to_string(e.shape[k]);
    throw std::runtime_error("shape " + shape + "] needs " + std::to_string(expect) + " bytes but the offsets give " +
                             std::to_string(e.end - e.begin));
  }
  return e;
}
}  // namespace detail

// Parses the 8-byte length, the JSON header and each entry of a whole file's bytes. Throws
// std::runtime_error saying what is wrong (the caller adds the file's name).
inline SafetensorsHeader parse_safetensors_header(std::string_view bytes) {
  if (bytes.size() < 8)
    throw std::runtime_error("truncated: " + std::to_string(bytes.size()) + " bytes, no header length");
  uint64_t length = 0;
  for (int k = 0; k < 8; ++k) length |= uint64_t(static_cast<unsigned char>(bytes[size_t(k)])) << (8 * k);
  if (length > bytes.size() - 8)
    throw std::runtime_error("truncated: header of " + std::to_string(length) + " bytes but the file has " +
                             std::to_string(bytes.size()) + " bytes");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, size_t(length)));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw std::runtime_error("header is not a JSON object");
  SafetensorsHeader out;
  out.data_start = 8 + length;
  const uint64_t data_size = bytes.size() - out.data_start;
  for (auto& [name, entry] : header.items()) {
    try {
      if (name == "__metadata__") {
        for (auto& [k, v] : entry.items()) out.metadata[k] = v.get<std::string>();
        continue;
      }
      out.entries.push_back(detail::parse_safetensors_entry(name, entry, data_size));
    } catch (const std::exception& e) {
      throw std::runtime_error("tensor '" + name + "': " + e.what());
    }
  }
  return out;
}

}  // namespace legato::model
