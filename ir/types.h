// Value types and NumPy promotion (NEP 50 weak scalars), shared by the
// frontend, both IRs, the interpreter and codegen.
#pragma once

#include <cstdint>
#include <string>

#include "numjit/numjit.hpp"

namespace numjit {

inline bool is_float(DType t) { return t == DType::F32 || t == DType::F64; }
inline bool is_int(DType t) { return t == DType::I32 || t == DType::I64; }
inline bool is_bool(DType t) { return t == DType::Bool; }

/** The type of an array-IR value: dtype, rank 0-2, and for scalars whether
 *  it is weak (a Python number under NEP 50: literals, variables bound to
 *  literal expressions, len()). Weak values are always i64, f64 or bool. */
struct Type {
  DType dtype = DType::F64;
  int rank = 0;
  bool weak = false;

  bool operator==(const Type&) const = default;
  /** "f64", "f64[:]", "i32[:, :]", "int" / "float" for weak scalars. */
  std::string str() const;
};

/** NumPy's result dtype of a binary arithmetic op between `a` and `b` under
 *  weak promotion: a weak int takes the other's dtype (i64 against bool), a
 *  weak float takes the other's float dtype (f64 against ints and bool). */
DType promote(const Type& a, const Type& b);

/** Strong NumPy promotion of two dtypes (i32 + f32 -> f64). */
DType promote_dtypes(DType a, DType b);

/** The float dtype NumPy's math ufuncs give for an input dtype:
 *  f32 -> f32, f64/ints -> f64, bool -> f32 (NumPy: f16, which numjit lacks). */
DType float_result(DType t);

/** The accumulator dtype of sum/prod/cumsum/cumprod: ints and bool widen to i64. */
DType sum_result(DType t);

}  // namespace numjit
