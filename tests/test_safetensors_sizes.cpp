// The safetensors reader's sizes: checked for overflow before anything is allocated, so a
// shared checkpoint with a hostile header fails with a clear message (issue 15).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "model/safetensors.h"
#include "model/safetensors_header.h"

using namespace legato::model;

namespace {
// A file of an 8-byte length, this JSON header and `data` zero bytes.
std::string file_bytes(const std::string& header, size_t data) {
  std::string b(8, '\0');
  for (int k = 0; k < 8; ++k) b[size_t(k)] = char((header.size() >> (8 * k)) & 0xFF);
  return b + header + std::string(data, '\0');
}

std::string one_tensor(const std::string& dtype, const std::string& shape, uint64_t begin, uint64_t end) {
  return R"({"x":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":[)" + std::to_string(begin) + "," +
         std::to_string(end) + "]}}";
}

std::string parse_error(const std::string& bytes) {
  try {
    parse_safetensors_header(bytes);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("safetensors: byte counts are checked for overflow") {
  CHECK(safetensors_byte_count({2, 3}, 4) == 24);
  CHECK(safetensors_byte_count({}, 8) == 8);  // a scalar
  CHECK(safetensors_byte_count({0, 1 << 30}, 4) == 0);
  CHECK(safetensors_byte_count({int64_t(1) << 31, int64_t(1) << 29}, 4) == uint64_t(1) << 62);
  // 2^40 x 2^40 elements: the unchecked product wraps round to 0 bytes.
  CHECK_THROWS_WITH(safetensors_byte_count({int64_t(1) << 40, int64_t(1) << 40}, 4),
                    "shape has more bytes than 64 bits can count");
  CHECK_THROWS_WITH(safetensors_byte_count({int64_t(1) << 31, int64_t(1) << 31}, 4),  // exactly 2^64
                    "shape has more bytes than 64 bits can count");
  CHECK_THROWS_WITH(safetensors_byte_count({int64_t(1) << 62, 2}, 1), "shape has more elements than 63 bits can count");
  CHECK_THROWS_WITH(safetensors_byte_count({3, -1}, 4), "negative dimension -1");
}

TEST_CASE("safetensors: a header whose sizes overflow or exceed the file is refused before allocating") {
  CHECK(parse_error(file_bytes(one_tensor("F32", "[2,3]", 0, 24), 24)).empty());
  CHECK(parse_error(file_bytes(one_tensor("F32", "[1099511627776,1099511627776]", 0, 0), 0)) ==
        "tensor 'x': shape has more bytes than 64 bits can count");
  // 4 TiB claimed by a 60-byte file: refused by the size check, never allocated.
  CHECK(parse_error(file_bytes(one_tensor("F32", "[1048576,1048576]", 0, 0), 0)) ==
        "tensor 'x': shape [1048576, 1048576] needs 4398046511104 bytes but the offsets give 0");
  CHECK(parse_error(file_bytes(one_tensor("F32", "[-2,3]", 0, 24), 24)) == "tensor 'x': negative dimension -2");
  CHECK(parse_error(file_bytes(one_tensor("F32", "[2,3]", 0, 24), 23)) ==
        "tensor 'x': data offsets outside the 23 data bytes");
  CHECK(parse_error(file_bytes(one_tensor("BF16", "[2]", 0, 4), 4)) == "tensor 'x': unsupported dtype BF16");
  // A size written as a float (found by the fuzzer): converting 1e79 to an integer would overflow.
  CHECK(parse_error(file_bytes(one_tensor("F32", "[2,1099.11627E76]", 0, 24), 24)) ==
        "tensor 'x': shape holds 1.09911627e+79, not an integer");
  CHECK(parse_error(file_bytes(one_tensor("F32", "[2,3.0]", 0, 24), 24)) ==
        "tensor 'x': shape holds 3.0, not an integer");
  CHECK(parse_error(file_bytes(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}})", 8)) ==
        "tensor 'x': data_offsets holds 8.5, not an integer");

  const auto path = std::filesystem::temp_directory_path() / "legato_test_huge_shape.safetensors";
  std::ofstream(path, std::ios::binary) << file_bytes(one_tensor("F32", "[1099511627776,1099511627776]", 0, 0), 0);
  CHECK_THROWS_WITH(
      load_safetensors(path),
      ("checkpoint " + path.string() + ": tensor 'x': shape has more bytes than 64 bits can count").c_str());
  std::filesystem::remove(path);
}

TEST_CASE("safetensors: the parsed header describes the tensors in the file") {
  const std::string bytes =
      file_bytes(R"({"__metadata__":{"k":"v"},"b":{"dtype":"F64","shape":[3],"data_offsets":[24,48]},)"
                 R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})",
                 48);
  const SafetensorsHeader h = parse_safetensors_header(bytes);
  CHECK(h.metadata.at("k") == "v");
  CHECK(h.data_start == bytes.size() - 48);
  REQUIRE(h.entries.size() == 2);
  CHECK(h.entries[0].name == "b");
  CHECK(h.entries[0].begin == 24);
  CHECK(h.entries[1].shape == std::vector<int64_t>{2, 3});
}
