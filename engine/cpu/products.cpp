// What is the same whatever library runs the products: the CPU's description. The products
// themselves: products_onednn.cpp, or products_eigen.cpp where oneDNN is not installed (the GPU
// machine, which has no Debian packages).
#include <omp.h>

#include <fstream>
#include <sstream>

#include "engine/cpu/products.h"

#include "engine/cpu/product_clock.h"

namespace legato::cpu {
namespace {

std::string read_cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("flags", 0) == 0) return line + " ";
  return "";
}

}  // namespace

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? "" : line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown CPU";
}

std::atomic<int64_t>& detail::product_nanoseconds(detail::ProductWork work) {
  static std::atomic<int64_t> products{0}, preparing{0};
  return work == detail::ProductWork::Products ? products : preparing;
}

ProductTimes product_times() {
  return {1e-9 * static_cast<double>(detail::product_nanoseconds(detail::ProductWork::Products).load()),
          1e-9 * static_cast<double>(detail::product_nanoseconds(detail::ProductWork::Preparing).load())};
}

std::string cpu_description(Precision precision) {
  const std::string flags = read_cpu_flags();
  std::string features;
  for (const auto& [flag, name] : {std::pair{" avx2 ", "avx2"},
                                   {" avx512f ", "avx512"},
                                   {" avx512_bf16 ", "avx512-bf16"},
                                   {" amx_bf16 ", "amx-bf16"}})
    if (flags.find(flag) != std::string::npos) features += (features.empty() ? "" : ", ") + std::string(name);
  std::ostringstream out;
  out << "cpu: " << cpu_model() << " (" << (features.empty() ? "no avx2" : features) << "), " << omp_get_max_threads()
      << " threads, products: " << products_description(precision) << ", " << to_string(precision);
  return out.str();
}

}  // namespace legato::cpu
