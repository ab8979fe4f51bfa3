// Arrays and values of the public API (numjit.hpp), and their ABI form.
#include <fmt/format.h>

#include <cstdint>
#include <cstring>

#include "runtime/context.h"

namespace numjit {

const char* dtype_name(DType t) {
#define NUMJIT_DTYPE_NAME(id, ctype, name, numpy, descr) name,
  static const char* names[] = {NUMJIT_FOR_EACH_DTYPE(NUMJIT_DTYPE_NAME)};
#undef NUMJIT_DTYPE_NAME
  return names[int(t)];
}

const char* dtype_numpy_name(DType t) {
#define NUMJIT_DTYPE_NUMPY(id, ctype, name, numpy, descr) numpy,
  static const char* names[] = {NUMJIT_FOR_EACH_DTYPE(NUMJIT_DTYPE_NUMPY)};
#undef NUMJIT_DTYPE_NUMPY
  return names[int(t)];
}

const char* dtype_descr(DType t) {
#define NUMJIT_DTYPE_DESCR(id, ctype, name, numpy, descr) descr,
  static const char* descrs[] = {NUMJIT_FOR_EACH_DTYPE(NUMJIT_DTYPE_DESCR)};
#undef NUMJIT_DTYPE_DESCR
  return descrs[int(t)];
}

int64_t dtype_size(DType t) {
  return visit_dtype(t, [](auto c) { return int64_t(sizeof(typename decltype(c)::type)); });
}

struct ArrayAccess {
  static Array make(void* data, DType t, std::vector<int64_t> shape, std::vector<int64_t> strides,
                    std::shared_ptr<void> owner) {
    Array a;
    a.data_ = data;
    a.dtype_ = t;
    a.shape_ = std::move(shape);
    a.strides_ = std::move(strides);
    a.owner_ = std::move(owner);
    return a;
  }
};

namespace {
std::vector<int64_t> c_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t k = shape.size(); k-- > 1;) s[k - 1] = s[k] * shape[k];
  return s;
}
void check_shape(const std::vector<int64_t>& shape) {
  if (shape.size() > 2) throw Error(fmt::format("numjit arrays have rank 0, 1 or 2, not {}", shape.size()));
  for (int64_t d : shape)
    if (d < 0) throw Error(fmt::format("negative dimension {} is not allowed", d));
}
}  // namespace

Array Array::zeros(DType dtype, std::vector<int64_t> shape) {
  check_shape(shape);
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d != 0 && count > INT64_MAX / 8 / d) throw Error("array is too big: its size in bytes overflows 64 bits");
    count *= d;
  }
  int64_t nbytes = count * dtype_size(dtype);
  auto mem = aligned_alloc_shared(nbytes);
  if (!mem) throw Error(fmt::format("out of memory: cannot allocate {} bytes", nbytes));
  std::memset(mem.get(), 0, size_t(nbytes));
  auto strides = c_strides(shape);
  void* data = mem.get();
  return ArrayAccess::make(data, dtype, std::move(shape), std::move(strides), std::move(mem));
}

Array Array::view(void* data, DType dtype, std::vector<int64_t> shape, std::vector<int64_t> strides) {
  check_shape(shape);
  if (strides.empty()) strides = c_strides(shape);
  if (strides.size() != shape.size())
    throw Error(fmt::format("a view of rank {} needs {} strides, got {}", shape.size(), shape.size(), strides.size()));
  if (!data && !shape.empty()) {
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    if (count != 0) throw Error("a view of a null pointer must be empty");
  }
  return ArrayAccess::make(data, dtype, std::move(shape), std::move(strides), nullptr);
}

int64_t Array::size() const {
  int64_t s = 1;
  for (int64_t d : shape_) s *= d;
  return s;
}

bool Array::is_contiguous() const {
  return shape_.empty() || strides_.back() == 1 || shape_.back() <= 1;
}

template <class T>
T Array::at(int64_t i, int64_t j) const {
  int64_t off = 0;
  if (ndim() >= 1) off += i * strides_[0];
  if (ndim() == 2) off += j * strides_[1];
  const char* p = static_cast<const char*>(data_) + off * dtype_size(dtype_);
  return visit_dtype(dtype_, [p](auto c) { return T(*reinterpret_cast<const typename decltype(c)::type*>(p)); });
}
template bool Array::at<bool>(int64_t, int64_t) const;
template int32_t Array::at<int32_t>(int64_t, int64_t) const;
template int64_t Array::at<int64_t>(int64_t, int64_t) const;
template float Array::at<float>(int64_t, int64_t) const;
template double Array::at<double>(int64_t, int64_t) const;

Array Array::copy() const {
  Array out = zeros(dtype_, shape_);
  int64_t es = dtype_size(dtype_);
  char* dst = static_cast<char*>(out.data_);
  auto elem = [&](int64_t i, int64_t j) {
    int64_t off = (ndim() >= 1 ? i * strides_[0] : 0) + (ndim() == 2 ? j * strides_[1] : 0);
    return static_cast<const char*>(data_) + off * es;
  };
  if (ndim() == 0) std::memcpy(dst, data_, size_t(es));
  else if (ndim() == 1)
    for (int64_t i = 0; i < shape_[0]; ++i) std::memcpy(dst + i * es, elem(i, 0), size_t(es));
  else
    for (int64_t i = 0; i < shape_[0]; ++i)
      for (int64_t j = 0; j < shape_[1]; ++j) std::memcpy(dst + (i * shape_[1] + j) * es, elem(i, j), size_t(es));
  return out;
}

Value Value::scalar(DType t, double f, int64_t i, bool weak) {
  Value v;
  v.dtype_ = t;
  v.weak_ = weak;
  if (t == DType::F32) v.f_ = double(float(f));
  else if (t == DType::F64) v.f_ = f;
  else if (t == DType::I32) v.i_ = int32_t(i);
  else if (t == DType::Bool) v.i_ = i != 0;
  else v.i_ = i;
  return v;
}

const Array& Value::array() const {
  if (!is_array_) throw Error(fmt::format("expected an array, got a {} scalar", dtype_name(dtype_)));
  return array_;
}

template <class T>
T Value::scalar() const {
  if (is_array_) {
    if (array_.ndim() != 0 && array_.size() != 1)
      throw Error(fmt::format("expected a scalar, got an array of {} elements", array_.size()));
    return array_.at<T>(0, 0);
  }
  return (dtype_ == DType::F32 || dtype_ == DType::F64) ? T(f_) : T(i_);
}
template bool Value::scalar<bool>() const;
template int32_t Value::scalar<int32_t>() const;
template int64_t Value::scalar<int64_t>() const;
template float Value::scalar<float>() const;
template double Value::scalar<double>() const;

nj_array_view abi_view(const Array& a) {
  nj_array_view v{};
  v.data = a.raw_data();
  v.dtype = int32_t(a.dtype());
  v.ndim = a.ndim();
  for (int k = 0; k < a.ndim(); ++k) {
    v.shape[k] = a.shape()[size_t(k)];
    v.strides[k] = a.strides()[size_t(k)];
  }
  return v;
}

Array adopt_result(nj_ctx& ctx, const nj_array_view& v) {
  std::shared_ptr<void> owner;
  for (auto& [p, o] : ctx.results)
    if (p == v.data) owner = o;
  std::vector<int64_t> shape(v.shape, v.shape + v.ndim), strides(v.strides, v.strides + v.ndim);
  return ArrayAccess::make(v.data, DType(v.dtype), std::move(shape), std::move(strides), std::move(owner));
}

}  // namespace numjit
