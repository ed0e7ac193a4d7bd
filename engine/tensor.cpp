#include "engine/tensor.h"

#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "engine/autograd.h"
#include "engine/device.h"

namespace legato {

std::string to_string(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t k = 0; k < shape.size(); ++k) out << (k ? ", " : "") << shape[k];
  out << ']';
  return out.str();
}

std::string to_string(DType dtype) {
  switch (dtype) {
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::I32: return "int32";
  }
  return "?";
}

std::string to_string(Device device) { return device == Device::CPU ? "cpu" : "cuda"; }

size_t dtype_size(DType dtype) { return dtype == DType::F64 ? 8 : 4; }

int64_t numel_of(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("tensor: negative dimension in shape " + to_string(shape));
    n *= d;
  }
  return n;
}

namespace {
std::atomic<uint64_t> g_next_storage_id{1};
}

Storage::Storage(size_t bytes_, Device device_)
    : bytes(bytes_), device(device_), id(g_next_storage_id.fetch_add(1, std::memory_order_relaxed)) {
  data = device_interface(device).allocate(bytes);
}

Storage::~Storage() { device_interface(device).release(data, bytes); }

namespace {
// Moves bytes between any two devices: the host's memmove, or the other device's copy.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  device_interface(dst_device == Device::CPU ? src_device : dst_device)
      .copy_bytes(dst, dst_device, src, src_device, bytes);
}
}  // namespace

namespace {

template <class Fn>
void for_each_typed(Tensor& t, Fn&& fn) {
  switch (t.dtype()) {
    case DType::F32: fn(t.data<float>()); break;
    case DType::F64: fn(t.data<double>()); break;
    case DType::I32: fn(t.data<int32_t>()); break;
  }
}

}  // namespace

void Tensor::check_defined(const char* what) const {
  if (!impl_) throw std::logic_error(std::string("tensor: ") + what + " on an undefined tensor");
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(numel_of(shape)) * dtype_size(dtype), device);
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  device_interface(device).zero_bytes(t.raw_data(), static_cast<size_t>(t.numel()) * dtype_size(dtype));
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill(value);
  return t;
}

Tensor Tensor::from_values(const Shape& shape, const std::vector<double>& values, DType dtype) {
  if (static_cast<int64_t>(values.size()) != numel_of(shape))
    throw std::invalid_argument("tensor: " + std::to_string(values.size()) + " values for shape " + to_string(shape));
  Tensor t = empty(shape, dtype);
  for_each_typed(t, [&](auto* p) {
    for (size_t k = 0; k < values.size(); ++k) p[k] = static_cast<std::remove_pointer_t<decltype(p)>>(values[k]);
  });
  return t;
}

Tensor Tensor::from_indices(const Shape& shape, const std::vector<int32_t>& indices) {
  if (static_cast<int64_t>(indices.size()) != numel_of(shape))
    throw std::invalid_argument("tensor: " + std::to_string(indices.size()) + " indices for shape " + to_string(shape));
  Tensor t = empty(shape, DType::I32);
  std::memcpy(t.raw_data(), indices.data(), indices.size() * sizeof(int32_t));
  return t;
}

namespace {
// Values drawn from a seeded std::mt19937_64 through `distribution`.
template <class Distribution>
Tensor random_tensor(const Shape& shape, Distribution distribution, uint64_t seed, DType dtype) {
  std::mt19937_64 rng(seed);
  std::vector<double> values(static_cast<size_t>(numel_of(shape)));
  for (double& v : values) v = distribution(rng);
  return Tensor::from_values(shape, values, dtype);
}
}  // namespace

Tensor Tensor::uniform(const Shape& shape, double low, double high, uint64_t seed, DType dtype) {
  return random_tensor(shape, std::uniform_real_distribution<double>(low, high), seed, dtype);
}

Tensor Tensor::normal(const Shape& shape, double mean, double stddev, uint64_t seed, DType dtype) {
  return random_tensor(shape, std::normal_distribution<double>(mean, stddev), seed, dtype);
}

const Shape& Tensor::shape() const {
  check_defined("shape()");
  return impl_->shape;
}

int64_t Tensor::dim(int axis) const {
  const int n = ndim();
  const int a = axis < 0 ? axis + n : axis;
  if (a < 0 || a >= n) throw std::out_of_range("tensor: axis " + std::to_string(axis) + " of a tensor " + describe());
  return impl_->shape[a];
}

DType Tensor::dtype() const {
  check_defined("dtype()");
  return impl_->dtype;
}

Device Tensor::device() const {
  check_defined("device()");
  return impl_->storage->device;
}

std::string Tensor::describe() const {
  if (!impl_) return "undefined";
  std::string s = to_string(impl_->dtype) + " " + to_string(impl_->shape);
  if (device() != Device::CPU) s += " on " + to_string(device());
  return s;
}

template <class T>
T* Tensor::data() {
  const T* elements = std::as_const(*this).data<T>();
  impl_->storage->writes.fetch_add(1, std::memory_order_relaxed);
  return const_cast<T*>(elements);
}

template <class T>
const T* Tensor::data() const {
  check_defined("data()");
  if (impl_->dtype != dtype_of<T>())
    throw std::invalid_argument("tensor: data<" + to_string(dtype_of<T>()) + ">() of a " + describe() + " tensor");
  return static_cast<const T*>(impl_->storage->data) + impl_->offset;
}

template float* Tensor::data<float>();
template double* Tensor::data<double>();
template int32_t* Tensor::data<int32_t>();
template const float* Tensor::data<float>() const;
template const double* Tensor::data<double>() const;
template const int32_t* Tensor::data<int32_t>() const;

void* Tensor::raw_data() {
  const void* elements = std::as_const(*this).raw_data();
  impl_->storage->writes.fetch_add(1, std::memory_order_relaxed);
  return const_cast<void*>(elements);
}

const void* Tensor::raw_data() const {
  check_defined("raw_data()");
  return static_cast<const char*>(impl_->storage->data) + impl_->offset * dtype_size(impl_->dtype);
}

uint64_t Tensor::storage_id() const {
  check_defined("storage_id()");
  return impl_->storage->id;
}

uint64_t Tensor::storage_writes() const {
  check_defined("storage_writes()");
  return impl_->storage->writes.load(std::memory_order_relaxed);
}

Tensor Tensor::view(const Shape& shape) const {
  check_defined("view()");
  if (numel_of(shape) != numel())
    throw std::invalid_argument("view: cannot view " + describe() + " as " + to_string(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset;
  impl->shape = shape;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::rows(int64_t start, int64_t count) const {
  if (ndim() == 0 || start < 0 || count < 0 || start + count > dim(0))
    throw std::out_of_range("rows: [" + std::to_string(start) + ", " + std::to_string(start + count) + ") of " +
                            describe());
  Shape shape = impl_->shape;
  const int64_t row_size = numel() / std::max<int64_t>(shape[0], 1);
  shape[0] = count;
  Tensor v = view(impl_->shape);
  v.impl_->shape = shape;
  v.impl_->offset += static_cast<size_t>(start * row_size);
  return v;
}

Tensor Tensor::detach() const { return view(shape()); }

Tensor Tensor::clone() const { return to(device()); }

Tensor Tensor::to(DType target) const {
  Tensor t = empty(shape(), target, device());
  t.copy_from(*this);
  return t;
}

Tensor Tensor::to(Device target) const {
  Tensor t = empty(shape(), dtype(), target);
  t.copy_from(*this);
  return t;
}

void Tensor::share_storage_of(const Tensor& src) {
  if (src.shape() != shape() || src.dtype() != dtype() || src.device() != device())
    throw std::invalid_argument("share_storage_of: " + src.describe() + " on " + to_string(src.device()) + " for " +
                                describe() + " on " + to_string(device()));
  impl_->storage = src.impl_->storage;
  impl_->offset = src.impl_->offset;
}

void Tensor::copy_from(const Tensor& src) {
  if (src.shape() != shape())
    throw std::invalid_argument("copy_from: source " + src.describe() + " into " + describe());
  if (src.dtype() == dtype()) {
    copy_bytes(raw_data(), device(), src.raw_data(), src.device(), static_cast<size_t>(numel()) * dtype_size(dtype()));
    return;
  }
  // A conversion goes through the host (checkpoints, tests: never inside a training step).
  if (device() != Device::CPU) {
    copy_from(src.to(Device::CPU).to(dtype()));
    return;
  }
  const std::vector<double> values = src.to_vector();
  for_each_typed(*this, [&](auto* p) {
    for (size_t k = 0; k < values.size(); ++k) p[k] = static_cast<std::remove_pointer_t<decltype(p)>>(values[k]);
  });
}

void Tensor::fill(double value) {
  const int64_t n = numel();
  if (device() != Device::CPU) {
    if (dtype() == DType::F32) return device_interface(device()).fill_f32(data<float>(), n, static_cast<float>(value));
    copy_from(Tensor::full(shape(), value, dtype()));  // float64 or int32 on the GPU: rare, through the host
    return;
  }
  for_each_typed(*this, [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    std::fill(p, p + n, static_cast<T>(value));
  });
}

double Tensor::at(int64_t k) const {
  if (k < 0 || k >= numel()) throw std::out_of_range("at: index " + std::to_string(k) + " of " + describe());
  if (device() != Device::CPU) return view({numel()}).rows(k, 1).to(Device::CPU).at(0);
  switch (dtype()) {
    case DType::F32: return data<float>()[k];
    case DType::F64: return data<double>()[k];
    case DType::I32: return data<int32_t>()[k];
  }
  return 0;
}

double Tensor::item() const {
  if (numel() != 1) throw std::invalid_argument("item: tensor " + describe() + " has more than one element");
  return at(0);
}

std::vector<double> Tensor::to_vector() const {
  if (device() != Device::CPU) return to(Device::CPU).to_vector();
  std::vector<double> out(static_cast<size_t>(numel()));
  for (int64_t k = 0; k < numel(); ++k) out[k] = at(k);
  return out;
}

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

Tensor& Tensor::set_requires_grad(bool value) {
  check_defined("set_requires_grad()");
  if (value && impl_->dtype == DType::I32)
    throw std::invalid_argument("set_requires_grad: an int32 tensor cannot take a gradient");
  impl_->requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const {
  check_defined("grad()");
  return Tensor(impl_->grad);
}

void Tensor::zero_grad() {
  check_defined("zero_grad()");
  impl_->grad.reset();
}

}  // namespace legato
