#pragma once
// Reads the small binary reference files that tools/make_torch_reference.py writes:
//   "LGREF1\n", then per array: u32 name length, name bytes, u32 ndim, i64 dims[ndim],
//   float64 little-endian data. No Python at test time.
#include <cstdint>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include "engine/tensor.h"

namespace legato::testing {

inline std::map<std::string, Tensor> read_reference_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("reference file " + path + " cannot be opened");
  std::string magic(7, '\0');
  in.read(magic.data(), 7);
  if (magic != "LGREF1\n") throw std::runtime_error("reference file " + path + " has a bad header");
  std::map<std::string, Tensor> arrays;
  uint32_t name_length;
  while (in.read(reinterpret_cast<char*>(&name_length), 4)) {
    std::string name(name_length, '\0');
    uint32_t ndim = 0;
    in.read(name.data(), name_length);
    in.read(reinterpret_cast<char*>(&ndim), 4);
    Shape shape(ndim);
    in.read(reinterpret_cast<char*>(shape.data()), 8 * ndim);
    Tensor t = Tensor::empty(shape, DType::F64);
    in.read(reinterpret_cast<char*>(t.data<double>()), 8 * t.numel());
    if (!in) throw std::runtime_error("reference file " + path + " is truncated in " + name);
    arrays.emplace(name, t);
  }
  return arrays;
}

}  // namespace legato::testing
