// Element-level semantics of every array-IR operation on one scalar, used
// by constant folding and by the reference interpreter. Codegen emits the
// same formulas (codegen/llvm_codegen.cpp cites each one it mirrors).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "ir/array_ir.h"
#include "runtime/abi.h"

namespace numjit {

/** One element of any dtype: floats in f, ints and bools in i. */
struct Scalar {
  double f = 0;
  int64_t i = 0;
};

/** The element of dtype `t` at `p`, as a Scalar (floats in f, the others in i). */
inline Scalar read_scalar(DType t, const void* p) {
  return visit_dtype(t, [p](auto c) {
    using T = typename decltype(c)::type;
    T v = *static_cast<const T*>(p);
    return std::is_floating_point_v<T> ? Scalar{double(v), 0} : Scalar{0, int64_t(v)};
  });
}

/** Stores `s` at `p` as an element of dtype `t` (bool: i != 0). */
inline void write_scalar(DType t, void* p, Scalar s) {
  visit_dtype(t, [p, s](auto c) {
    using T = typename decltype(c)::type;
    if constexpr (std::is_same_v<T, bool>) *static_cast<T*>(p) = s.i != 0;
    else if constexpr (std::is_floating_point_v<T>) *static_cast<T*>(p) = T(s.f);
    else *static_cast<T*>(p) = T(s.i);
  });
}

inline Scalar make_scalar(DType t, double f, int64_t i) {
  Scalar s;
  if (is_float(t)) s.f = t == DType::F32 ? double(float(f)) : f;
  else s.i = i;
  return s;
}

/** Wraps an i64 result to the dtype's width (two's complement). */
inline int64_t wrap_int(DType t, int64_t v) {
  if (t == DType::I32) return int64_t(int32_t(uint32_t(uint64_t(v))));
  if (t == DType::Bool) return v != 0;
  return v;
}
/** Rounds a double result to the dtype's precision. */
inline double round_float(DType t, double v) { return t == DType::F32 ? double(float(v)) : v; }

/** Float -> int as x86 cvtt does for NumPy: NaN and out of range give INT_MIN. */
inline int64_t float_to_int(DType to, double v) {
  if (to == DType::I32) {
    if (!(v > -2147483649.0 && v < 2147483648.0)) return std::numeric_limits<int32_t>::min();
    return int64_t(int32_t(v));
  }
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0))
    return std::numeric_limits<int64_t>::min();
  return int64_t(v);
}

inline Scalar cast_scalar(Scalar s, DType from, DType to) {
  Scalar r;
  if (to == DType::Bool) r.i = is_float(from) ? (s.f != 0 || std::isnan(s.f)) : (s.i != 0);
  else if (is_float(to) && !is_float(from)) r.f = to == DType::F32 ? double(float(s.i)) : double(s.i);  // one rounding
  else if (is_float(to)) r.f = round_float(to, s.f);
  else r.i = is_float(from) ? float_to_int(to, s.f) : wrap_int(to, s.i);
  return r;
}

/** NumPy's npy_divmod for floats: floor quotient and remainder. */
inline void float_divmod(double a, double b, double& div, double& mod) {
  mod = std::fmod(a, b);
  if (b == 0) {
    div = a / b;
    return;
  }
  div = (a - mod) / b;
  if (mod != 0) {
    if ((b < 0) != (mod < 0)) {
      mod += b;
      div -= 1.0;
    }
  } else {
    mod = std::copysign(0.0, b);
  }
  if (div != 0) {
    double floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
    div = floordiv;
  } else {
    div = std::copysign(0.0, a / b);
  }
}

inline int64_t int_floordiv(DType t, int64_t a, int64_t b) {
  if (b == 0) return 0;
  if (b == -1) return wrap_int(t, int64_t(0 - uint64_t(a)));
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
  return q;
}
inline int64_t int_mod(int64_t a, int64_t b) {
  if (b == 0 || b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

/** A power with a literal integer exponent, 3 <= n <= 64, of a base that
 *  is not a constant (`x ** 3`): binary powering instead of a libm call.
 *  - n <= kPlainPowMax (f64): plain products, as Numba and hand-written
 *    code compute them (`x ** 3` is `(x * x) * x`, bit for bit). n - 1
 *    roundings put the result within n - 1 <= 4 ulp of the exact power, so
 *    within the 4 ulp promised for every libm-backed builtin; a result
 *    within 4 ulp of the largest finite value may overflow to inf.
 *  - larger n (f64): each product carried with its rounding error (an fma)
 *    as a pair, rounded once at the end, so the result is pow's (correctly
 *    rounded in nearly every case) at a few multiplies.
 *  - f32 bases: plain f64 products, rounded once to f32.
 *  Codegen emits the same steps in the same order (llvm_codegen.cpp,
 *  literal_pow), so the interpreters agree with it bit for bit. Both zeros,
 *  infinities and NaN give pow's results. */
inline constexpr int kPlainPowMax = 5;
inline bool literal_power(double n) { return n >= 3 && n <= 64 && n == std::floor(n); }

inline double pow_literal(double x, int n, bool f32) {
  int top = 31 - __builtin_clz(unsigned(n));
  double h = x, l = 0;
  const bool plain = f32 || n <= kPlainPowMax;
  for (int bit = top - 1; bit >= 0; --bit) {
    if (plain) {
      h = h * h;
      if ((n >> bit) & 1) h = h * x;
      continue;
    }
    double p = h * h;
    l = bit == top - 1 ? std::fma(h, h, -p) : std::fma(h + h, l, std::fma(h, h, -p));  // l is 0 at first
    h = p;
    if ((n >> bit) & 1) {
      p = h * x;
      l = std::fma(l, x, std::fma(h, x, -p));
      h = p;
    }
  }
  if (f32) return double(float(h));
  if (plain) return h;
  // h + l, except where that is 0 (h is an exact zero: keep its sign) or
  // NaN (h is NaN or overflowed to inf, and l is NaN): then h.
  double r = h + l;
  return (r == 0 || r != r) ? h : r;
}

/** a op b with both operands (and the result) already of dtype `t`; for
 *  comparisons `t` is the operand dtype and the result a bool in .i. */
inline Scalar eval_binary(BinaryOp op, DType t, Scalar a, Scalar b) {
  Scalar r;
  const bool fl = is_float(t);
  auto fres = [&](double v) { r.f = round_float(t, v); };
  auto ires = [&](uint64_t v) { r.i = wrap_int(t, int64_t(v)); };
  switch (op) {
    case BinaryOp::Add:
      if (fl) fres(a.f + b.f);
      else if (t == DType::Bool) r.i = a.i | b.i;
      else ires(uint64_t(a.i) + uint64_t(b.i));
      break;
    case BinaryOp::Sub:
      if (fl) fres(a.f - b.f); else ires(uint64_t(a.i) - uint64_t(b.i));
      break;
    case BinaryOp::Mul:
      if (fl) fres(a.f * b.f);
      else if (t == DType::Bool) r.i = a.i & b.i;
      else ires(uint64_t(a.i) * uint64_t(b.i));
      break;
    case BinaryOp::Div: fres(a.f / b.f); break;
    case BinaryOp::FloorDiv:
      if (fl) { double d, m; float_divmod(a.f, b.f, d, m); fres(d); }
      else r.i = wrap_int(t, int_floordiv(t, a.i, b.i));
      break;
    case BinaryOp::Mod:
      if (fl) { double d, m; float_divmod(a.f, b.f, d, m); fres(m); }
      else r.i = int_mod(a.i, b.i);
      break;
    case BinaryOp::Pow:
      if (fl) fres(t == DType::F32 ? double(std::pow(float(a.f), float(b.f))) : std::pow(a.f, b.f));
      else if (t == DType::I32) r.i = nj_ipow_i32(int32_t(a.i), int32_t(b.i));
      else r.i = nj_ipow_i64(a.i, b.i);
      break;
    case BinaryOp::BitAnd: r.i = a.i & b.i; break;
    case BinaryOp::BitOr: r.i = a.i | b.i; break;
    case BinaryOp::BitXor: r.i = wrap_int(t, a.i ^ b.i); break;
    case BinaryOp::Lt: r.i = fl ? a.f < b.f : a.i < b.i; break;
    case BinaryOp::Le: r.i = fl ? a.f <= b.f : a.i <= b.i; break;
    case BinaryOp::Gt: r.i = fl ? a.f > b.f : a.i > b.i; break;
    case BinaryOp::Ge: r.i = fl ? a.f >= b.f : a.i >= b.i; break;
    case BinaryOp::Eq: r.i = fl ? a.f == b.f : a.i == b.i; break;
    case BinaryOp::Ne: r.i = fl ? a.f != b.f : a.i != b.i; break;
    case BinaryOp::Minimum:  // ties give b, as NumPy does (minimum(0.0, -0.0) is -0.0)
      if (fl) r.f = (std::isnan(a.f) || a.f < b.f) ? a.f : b.f;
      else r.i = a.i < b.i ? a.i : b.i;
      break;
    case BinaryOp::Maximum:
      if (fl) r.f = (std::isnan(a.f) || a.f > b.f) ? a.f : b.f;
      else r.i = a.i > b.i ? a.i : b.i;
      break;
    case BinaryOp::FMod:
      if (fl) fres(std::fmod(a.f, b.f));
      else r.i = (b.i == 0 || b.i == -1) ? 0 : a.i % b.i;
      break;
    case BinaryOp::Arctan2:
      fres(t == DType::F32 ? double(std::atan2(float(a.f), float(b.f))) : std::atan2(a.f, b.f));
      break;
    case BinaryOp::Hypot:
      fres(t == DType::F32 ? double(std::hypot(float(a.f), float(b.f))) : std::hypot(a.f, b.f));
      break;
  }
  // Minimum/Maximum keep a NaN from either side (NumPy propagates NaN).
  if (fl && (op == BinaryOp::Minimum || op == BinaryOp::Maximum) && std::isnan(b.f)) r.f = b.f;
  return r;
}

inline Scalar eval_unary(UnaryOp op, DType t, Scalar a) {
  Scalar r;
  if (op == UnaryOp::Neg) {
    if (is_float(t)) r.f = -a.f;
    else r.i = wrap_int(t, int64_t(0 - uint64_t(a.i)));
  } else {
    r.i = t == DType::Bool ? !a.i : wrap_int(t, ~a.i);
  }
  return r;
}

/** A float function of a float (in `t`, F32 computed in float precision). */
template <class F>
inline double math_in(DType t, double x, F f) {
  if (t == DType::F32) return double(f(float(x)));
  return f(x);
}

/** fn(a); `in` is the operand dtype, the result dtype is given by Builder::math. */
inline Scalar eval_math(MathFn fn, DType in, Scalar a) {
  Scalar r;
  const bool fl = is_float(in);
  const double x = a.f;
  auto F = [&](auto f) { r.f = math_in(in, x, f); };
#define NUMJIT_LIBM(name) F([](auto v) { return std::name(v); })
  switch (fn) {
    case MathFn::Abs:
      if (fl) r.f = std::fabs(x);
      else r.i = in == DType::Bool ? a.i : wrap_int(in, a.i < 0 ? int64_t(0 - uint64_t(a.i)) : a.i);
      break;
    case MathFn::Sign:
      if (fl) r.f = std::isnan(x) ? x : (x > 0) - (x < 0);
      else r.i = (a.i > 0) - (a.i < 0);
      break;
    case MathFn::Round:
      if (fl) r.f = std::nearbyint(x); else r.i = a.i;
      break;
    case MathFn::Sqrt: NUMJIT_LIBM(sqrt); break;
#define NUMJIT_LIBM_FN(id, name, fn, doc) \
    case MathFn::id: NUMJIT_LIBM(fn); break;
#include "ir/builtins.def"
    case MathFn::Floor: NUMJIT_LIBM(floor); break;
    case MathFn::Ceil: NUMJIT_LIBM(ceil); break;
    case MathFn::Trunc: NUMJIT_LIBM(trunc); break;
    case MathFn::IsNan: r.i = fl && std::isnan(x); break;
    case MathFn::IsInf: r.i = fl && std::isinf(x); break;
    case MathFn::IsFinite: r.i = !fl || std::isfinite(x); break;
  }
#undef NUMJIT_LIBM
  return r;
}

/** The starting value of each lane of a reduction (ir/reduce_order.h):
 *  -0.0 for float sums (so a sum of -0.0 stays -0.0), +-inf or the integer
 *  extremes for min/max. */
inline Scalar reduce_identity(ReduceOp op, DType t) {
  const bool fl = is_float(t);
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean:
    case ReduceOp::Var: return fl ? Scalar{-0.0, 0} : Scalar{0, 0};
    case ReduceOp::Prod: return Scalar{1.0, 1};
    case ReduceOp::Any: return Scalar{0, 0};
    case ReduceOp::All: return Scalar{0, 1};
    case ReduceOp::Min:
    case ReduceOp::ArgMin:
      if (fl) return Scalar{INFINITY, 0};
      if (t == DType::Bool) return Scalar{0, 1};
      return Scalar{0, t == DType::I32 ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max()};
    case ReduceOp::Max:
    case ReduceOp::ArgMax:
      if (fl) return Scalar{-INFINITY, 0};
      if (t == DType::Bool) return Scalar{0, 0};
      return Scalar{0, t == DType::I32 ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min()};
  }
  return Scalar{};
}

}  // namespace numjit
