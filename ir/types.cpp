#include "ir/types.h"

namespace numjit {

std::string Type::str() const {
  if (rank == 0 && weak) {
    switch (dtype) {
      case DType::F64: return "float";
      case DType::I64: return "int";
      default: return "bool";
    }
  }
  std::string s = dtype_name(dtype);
  if (rank == 1) s += "[:]";
  if (rank == 2) s += "[:, :]";
  return s;
}

DType promote_dtypes(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::Bool) return b;
  if (b == DType::Bool) return a;
  if (is_int(a) && is_int(b)) return DType::I64;
  if (is_float(a) && is_float(b)) return DType::F64;
  return DType::F64;  // int with float: f32 cannot hold every i32/i64
}

DType promote(const Type& a, const Type& b) {
  auto weak_with = [](const Type& w, DType other) {
    if (w.dtype == DType::Bool) return promote_dtypes(DType::Bool, other);
    if (w.dtype == DType::I64) return other == DType::Bool ? DType::I64 : other;
    return is_float(other) ? other : DType::F64;  // weak float
  };
  if (a.weak && b.weak) return promote_dtypes(a.dtype, b.dtype);
  if (a.weak) return weak_with(a, b.dtype);
  if (b.weak) return weak_with(b, a.dtype);
  return promote_dtypes(a.dtype, b.dtype);
}

DType float_result(DType t) {
  if (t == DType::F32 || t == DType::Bool) return DType::F32;
  return DType::F64;
}

DType sum_result(DType t) { return is_float(t) ? t : DType::I64; }

}  // namespace numjit
