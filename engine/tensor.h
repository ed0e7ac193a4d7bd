#pragma once
// Tensor: an N-dimensional, row-major, contiguous array over shared storage. Views (reshape,
// rows of the first dimension such as one time step of [T, B, H]) share the storage; nothing is
// copied unless a function says so. A tensor may take part in autograd (see autograd.h).
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace legato {

enum class DType { F32, F64, I32 };
enum class Device { CPU, CUDA };

using Shape = std::vector<int64_t>;

std::string to_string(const Shape& shape);
std::string to_string(DType dtype);
std::string to_string(Device device);
size_t dtype_size(DType dtype);
int64_t numel_of(const Shape& shape);

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::F32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::F64;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::I32;
}

// One allocation; freed when the last tensor viewing it goes.
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::CPU;
  // Unique for the process's life (an address can be reused, an id is not), and a count of the
  // times the elements were handed out for writing (Tensor's non-const data() and raw_data()):
  // what a copy derived from the elements (the LSTM's packed weights) checks to know it is current.
  const uint64_t id;
  std::atomic<uint64_t> writes{0};
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct Node;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // in elements, for views
  Shape shape;
  DType dtype = DType::F32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient, same shape and dtype
  std::shared_ptr<Node> grad_fn;     // the op that produced this tensor (null for leaves)
  int output_index = 0;              // which output of grad_fn this is
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Uninitialised storage: for outputs that are written in full.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = Device::CPU);
  // Values are converted to dtype.
  static Tensor from_values(const Shape& shape, const std::vector<double>& values, DType dtype = DType::F32);
  static Tensor from_indices(const Shape& shape, const std::vector<int32_t>& indices);
  // Uniform in [low, high) or normal, from a seeded std::mt19937_64 (initialisation, tests).
  static Tensor uniform(const Shape& shape, double low, double high, uint64_t seed, DType dtype = DType::F32);
  static Tensor normal(const Shape& shape, double mean, double stddev, uint64_t seed, DType dtype = DType::F32);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int ndim() const { return static_cast<int>(shape().size()); }
  int64_t dim(int axis) const;  // negative axes count from the end
  int64_t numel() const { return numel_of(shape()); }
  DType dtype() const;
  Device device() const;
  std::string describe() const;  // "float32 [2, 3]" for error messages

  // The elements, on the tensor's device: a CUDA tensor's pointer is device memory.
  template <class T>
  T* data();
  template <class T>
  const T* data() const;
  void* raw_data();
  const void* raw_data() const;
  // Which storage, and how many times its elements were handed out for writing (see Storage).
  uint64_t storage_id() const;
  uint64_t storage_writes() const;

  // Views sharing storage (no autograd: use ops::reshape / ops::slice inside a graph).
  Tensor view(const Shape& shape) const;
  Tensor rows(int64_t start, int64_t count) const;  // rows [start, start+count) of dim 0
  Tensor detach() const;                            // same storage, outside the graph

  // Copies (outside the graph), on this tensor's device unless one is named.
  Tensor clone() const;
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  void copy_from(const Tensor& src);  // same shape; converts dtype; any devices
  // Takes src's storage instead of copying it (same shape, dtype and device): this tensor, and
  // every handle to it, then views src's elements. For loading: no second copy of the weights.
  void share_storage_of(const Tensor& src);
  void fill(double value);
  // Reading values copies them to the host (a CUDA tensor waits for its queued work).
  double item() const;                  // the value of a one-element tensor
  double at(int64_t flat_index) const;  // one element, converted to double
  std::vector<double> to_vector() const;

  bool requires_grad() const;
  Tensor& set_requires_grad(bool value);
  Tensor grad() const;  // undefined until a backward pass reaches this tensor
  void zero_grad();     // drops the accumulated gradient
  // Reverse-mode pass from this tensor. A non-scalar needs seed (same shape).
  void backward(const Tensor& seed = Tensor()) const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
  void check_defined(const char* what) const;
};

}  // namespace legato
