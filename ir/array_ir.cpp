// Array IR: node names, interning, the checking Builder and the printer.
#include "ir/array_ir.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstring>
#include <functional>
#include <map>
#include <unordered_set>

#include "support/diagnostics.h"
#include "ir/builtins.h"
#include "ir/scalar_ops.h"

namespace numjit {

#define NUMJIT_NAME_CASE(name) #name,
const char* array_op_name(ArrayOp op) {
  static const char* names[] = {NUMJIT_FOR_EACH_ARRAY_OP(NUMJIT_NAME_CASE)};
  return names[int(op)];
}
const char* unary_op_name(UnaryOp op) {
  static const char* names[] = {NUMJIT_FOR_EACH_UNARY_OP(NUMJIT_NAME_CASE)};
  return names[int(op)];
}
const char* binary_op_name(BinaryOp op) {
  static const char* names[] = {NUMJIT_FOR_EACH_BINARY_OP(NUMJIT_NAME_CASE)};
  return names[int(op)];
}
const char* math_fn_name(MathFn fn) {
  static const char* names[] = {
#define NUMJIT_LIBM_FN(id, name, libm, doc) #id,
#define NUMJIT_EXACT_FN(id, name, rule, doc) #id,
#include "ir/builtins.def"
  };
  return names[int(fn)];
}
const char* reduce_op_name(ReduceOp op) {
  static const char* names[] = {NUMJIT_FOR_EACH_REDUCE_OP(NUMJIT_NAME_CASE)};
  return names[int(op)];
}
const char* scan_op_name(ScanOp op) {
  static const char* names[] = {NUMJIT_FOR_EACH_SCAN_OP(NUMJIT_NAME_CASE)};
  return names[int(op)];
}
const char* group_op_name(GroupOp op) {
  static const char* names[] = {NUMJIT_FOR_EACH_GROUP_OP(NUMJIT_NAME_CASE)};
  return names[int(op)];
}
#undef NUMJIT_NAME_CASE

// ---------------------------------------------------------------------------
// Interning

namespace {
struct NodeHash {
  size_t operator()(const Node* n) const {
    size_t h = std::hash<int>()(int(n->kind));
    auto mix = [&](size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
    mix(int(n->type.dtype) | (n->type.rank << 4) | (n->type.weak << 8));
    mix(size_t(n->op));
    mix(size_t(n->ival));
    uint64_t fb;
    std::memcpy(&fb, &n->fval, 8);
    mix(fb);
    mix(std::hash<std::string>()(n->name));
    for (auto* o : n->ops) mix(size_t(o));
    for (auto* o : n->shape) mix(size_t(o));
    for (auto s : n->steps) mix(size_t(s));
    return h;
  }
};
struct NodeEq {
  bool operator()(const Node* a, const Node* b) const {
    return a->kind == b->kind && a->type == b->type && a->op == b->op && a->ival == b->ival &&
           std::memcmp(&a->fval, &b->fval, 8) == 0 && a->name == b->name && a->ops == b->ops &&
           a->shape == b->shape && a->steps == b->steps;
  }
};
}  // namespace

struct Context::Impl {
  std::vector<std::unique_ptr<Node>> nodes;
  std::unordered_set<const Node*, NodeHash, NodeEq> table;
};

Context::Context() : impl_(std::make_unique<Impl>()) {}
Context::~Context() = default;
size_t Context::size() const { return impl_->nodes.size(); }

const Node* Context::intern(Node n) {
  auto it = impl_->table.find(&n);
  if (it != impl_->table.end()) return *it;
  n.height = 1;
  for (auto* o : n.ops)
    if (o) n.height = std::max(n.height, o->height + 1);
  for (auto* o : n.shape) n.height = std::max(n.height, o->height + 1);
  impl_->nodes.push_back(std::make_unique<Node>(std::move(n)));
  const Node* p = impl_->nodes.back().get();
  impl_->table.insert(p);
  return p;
}

std::string InputSig::str() const {
  std::string s = name + ": " + dtype_name(type.dtype);
  if (type.rank == 0) return type.weak ? name + ": " + type.str() : s;
  s += "[";
  for (int k = 0; k < type.rank; ++k) s += std::string(k ? ", " : "") + (dim_is_one[k] ? "1" : ":");
  s += "]";
  if (!contiguous) s += "~";
  return s;
}

// ---------------------------------------------------------------------------
// Builder helpers

namespace {
bool is_const_int(const Node* n, int64_t v) {
  return n->is_const() && !is_float(n->dtype()) && n->ival == v;
}
Scalar const_value(const Node* n) { return make_scalar(n->dtype(), n->fval, n->ival); }
}  // namespace

void Builder::error(Span span, const std::string& msg) const { user_error(src_, span, msg); }

/** Passes, the interpreter and codegen recurse over operands: a taller
 *  graph (a straight-line kernel of 50 000 `s = s + x` statements inlined
 *  into one expression) would overflow the C++ stack. 1000 leaves room
 *  under AddressSanitizer's larger frames. */
constexpr int kMaxHeight = 1000;

const Node* Builder::make(Node n) {
  Span span = n.span;
  const Node* r = fold(ctx_.intern(std::move(n)));
  if (r->height > kMaxHeight)
    error(span, fmt::format("expression too deep: more than {} operations applied one after another "
                            "(split it into statements at the top level, or into a loop)", kMaxHeight));
  return r;
}

const Node* Builder::const_of(DType t, double f, int64_t i) {
  Node n{ArrayOp::Const, Type{t, 0, false}};
  Scalar s = make_scalar(t, f, i);
  n.fval = s.f;
  n.ival = s.i;
  return ctx_.intern(std::move(n));
}
const Node* Builder::const_int(int64_t v, DType t, bool weak) {
  Node n{ArrayOp::Const, Type{t, 0, weak}};
  n.ival = wrap_int(t, v);
  return ctx_.intern(std::move(n));
}
const Node* Builder::const_float(double v, DType t, bool weak) {
  Node n{ArrayOp::Const, Type{t, 0, weak}};
  n.fval = round_float(t, v);
  return ctx_.intern(std::move(n));
}
const Node* Builder::const_bool(bool v) { return const_int(v, DType::Bool, false); }

const Node* Builder::input(int index, const InputSig& sig, Span span) {
  Node n{ArrayOp::Input, sig.type};
  n.ival = index;
  n.name = sig.name;
  n.span = span;
  const Node* proto = ctx_.intern(n);  // shape-less identity for Dim nodes
  for (int k = 0; k < sig.type.rank; ++k) {
    if (sig.dim_is_one[k]) {
      n.shape.push_back(const_int(1, DType::I64, false));
    } else {
      Node d{ArrayOp::Dim, Type{DType::I64, 0, false}};
      d.ops = {proto};
      d.ival = k;
      n.shape.push_back(ctx_.intern(std::move(d)));
    }
  }
  n.steps = {sig.contiguous ? 1 : 0};  // layout is part of the input's identity
  return ctx_.intern(std::move(n));
}

const Node* Builder::dim_check(const Node* a, const Node* b) {
  if (a == b || is_const_int(b, 1)) return a;
  if (is_const_int(a, 1)) return b;
  if (a->is_const() && b->is_const()) return nullptr;  // a compile-time mismatch
  Node n{ArrayOp::CheckDim, Type{DType::I64, 0, false}};
  // Operands keep the user's order: the error names the shapes as written,
  // and the IR text does not depend on where nodes were allocated.
  n.ops = {a, b};
  return ctx_.intern(std::move(n));
}

std::string Builder::shape_text(const std::vector<const Node*>& shape) const {
  std::string s = "(";
  for (size_t k = 0; k < shape.size(); ++k) {
    const Node* d = shape[k];
    if (k) s += ", ";
    if (d->is_const()) s += std::to_string(d->ival);
    else if (d->kind == ArrayOp::Dim) s += fmt::format("len({})", d->ops[0]->name);
    else s += "n";
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

std::vector<const Node*> Builder::broadcast_shapes(const Node* a, const Node* b, Span span) {
  return broadcast_shapes(a->shape, b->shape, span);
}

std::vector<const Node*> Builder::broadcast_shapes(const std::vector<const Node*>& sa,
                                                   const std::vector<const Node*>& sb, Span span) {
  size_t r = std::max(sa.size(), sb.size());
  std::vector<const Node*> out(r);
  for (size_t k = 0; k < r; ++k) {
    const Node* da = k + sa.size() >= r ? sa[k + sa.size() - r] : nullptr;
    const Node* db = k + sb.size() >= r ? sb[k + sb.size() - r] : nullptr;
    if (!da) out[k] = db;
    else if (!db) out[k] = da;
    else if (!(out[k] = dim_check(da, db)))
      error(span, fmt::format("operands could not be broadcast together with shapes {} {}",
                              shape_text(sa), shape_text(sb)));
  }
  return out;
}

// Folds a node whose operands are all constants (exact: the same code the
// interpreter runs), and a few identities that keep the IR small.
const Node* Builder::fold(const Node* n) {
  if (n->rank() != 0) return n;
  for (auto* o : n->ops)
    if (!o || !o->is_const()) return n;
  const DType t = n->dtype();
  Scalar r;
  switch (n->kind) {
    case ArrayOp::Unary:
      r = eval_unary(n->opcode<UnaryOp>(), t, const_value(n->ops[0]));
      break;
    case ArrayOp::Binary: {
      DType in = n->ops[0]->dtype();
      r = eval_binary(n->opcode<BinaryOp>(), in, const_value(n->ops[0]), const_value(n->ops[1]));
      break;
    }
    case ArrayOp::Math: {
      DType in = n->ops[0]->dtype();
      r = eval_math(n->opcode<MathFn>(), in, const_value(n->ops[0]));
      break;
    }
    case ArrayOp::Cast:
      r = cast_scalar(const_value(n->ops[0]), n->ops[0]->dtype(), t);
      break;
    case ArrayOp::Select:
      r = const_value(n->ops[0]->ival ? n->ops[1] : n->ops[2]);
      break;
    case ArrayOp::CheckDim:
      if (n->ops[0]->ival != n->ops[1]->ival) return n;  // fails at run time
      r = const_value(n->ops[0]);
      break;
    default:
      return n;
  }
  Node c{ArrayOp::Const, n->type};
  c.fval = r.f;
  c.ival = r.i;
  return ctx_.intern(std::move(c));
}

const Node* Builder::cast(const Node* a, DType t, Span span) {
  if (a->dtype() == t) return a;
  Node n{ArrayOp::Cast, Type{t, a->rank(), false}};
  n.ops = {a};
  n.shape = a->shape;
  n.span = span;
  return make(std::move(n));
}

const Node* Builder::cast_strong(const Node* a, DType t, Span span) {
  if (!a->type.weak) return cast(a, t, span);
  if (a->is_const()) {
    Scalar r = cast_scalar(const_value(a), a->dtype(), t);
    return const_of(t, r.f, r.i);
  }
  Node n{ArrayOp::Cast, Type{t, a->rank(), false}};
  n.ops = {a};
  n.shape = a->shape;
  n.span = span;
  return make(std::move(n));
}

const Node* Builder::unary(UnaryOp op, const Node* a, Span span) {
  if (op == UnaryOp::Neg && a->dtype() == DType::Bool)
    error(span,
          "the boolean negative, the '-' operator, is not supported; use the '~' operator "
          "or 'not' instead");
  if (op == UnaryOp::Not && is_float(a->dtype()))
    error(span, fmt::format("operator '~' needs integer or bool operands, got {}", a->type.str()));
  Node n{ArrayOp::Unary, a->type};
  n.op = int(op);
  n.ops = {a};
  n.shape = a->shape;
  n.span = span;
  return make(std::move(n));
}

const Node* Builder::binary(BinaryOp op, const Node* a, const Node* b, Span span) {
  static const char* symbols[] = {"+", "-", "*", "/", "//", "%", "**", "&", "|", "^", "<",
                                  "<=", ">", ">=", "==", "!=", "minimum", "maximum", "fmod",
                                  "arctan2", "hypot"};
  const char* sym = symbols[int(op)];
  const bool both_weak = a->type.weak && b->type.weak;
  DType common = promote(a->type, b->type);
  DType operand = common, result = common;
  // NEP 50: a Python integer must fit the array's integer dtype.
  for (const Node* w : {a, b}) {
    if (w->type.weak && w->is_const() && w->dtype() == DType::I64 && common == DType::I32 &&
        (w->ival < INT32_MIN || w->ival > INT32_MAX))
      error(span, fmt::format("Python integer {} out of bounds for int32", w->ival));
  }

  if (op == BinaryOp::Sub && common == DType::Bool)
    error(span, "boolean subtract, the '-' operator, is not supported; use '^' or '!=' instead");
  if ((op == BinaryOp::BitAnd || op == BinaryOp::BitOr || op == BinaryOp::BitXor) &&
      is_float(common))
    error(span, fmt::format("operator '{}' needs integer or bool operands, got {} and {}", sym,
                            a->type.str(), b->type.str()));
  if (is_comparison(op)) {
    result = DType::Bool;
  } else if (op == BinaryOp::Div || op == BinaryOp::Arctan2 || op == BinaryOp::Hypot) {
    operand = result = is_float(common) ? common : (op == BinaryOp::Div ? DType::F64 : float_result(common));
  } else if (common == DType::Bool &&
             (op == BinaryOp::FloorDiv || op == BinaryOp::Mod || op == BinaryOp::Pow ||
              op == BinaryOp::FMod)) {
    operand = result = DType::I32;  // NumPy gives int8, which numjit lacks
  }

  if (op == BinaryOp::Pow && !is_float(operand) && b->is_const() && b->as_int() < 0) {
    if (both_weak) {  // Python: 2 ** -1 == 0.5
      operand = result = DType::F64;
    } else {
      error(span, "integers to negative integer powers are not allowed");
    }
  }

  // NumPy's fast scalar powers: x**2 is x*x, x**0.5 sqrt, x**-1 1/x, x**1 x.
  if (op == BinaryOp::Pow && b->is_const() && b->rank() == 0 && !a->is_const()) {
    double e = b->as_double();
    if (e == 2.0) return binary(BinaryOp::Mul, cast(a, result), cast(a, result), span);
    if (is_float(result)) {
      if (e == 1.0) return cast(a, result);
      if (e == 0.5) return math(MathFn::Sqrt, cast(a, result), span);
      if (e == -1.0) return binary(BinaryOp::Div, const_float(1.0, result, false), cast(a, result), span);
      if (const Node* p = constant_power(cast(a, result), e, span)) return p;
    }
  }

  // Integer identities (exact): x + 0, x - 0, x * 1, x // 1.
  if (!is_float(result) && b->is_const() && b->rank() == 0 && a->type == Type{result, a->rank(), both_weak}) {
    int64_t v = b->as_int();
    if (((op == BinaryOp::Add || op == BinaryOp::Sub) && v == 0) ||
        ((op == BinaryOp::Mul || op == BinaryOp::FloorDiv) && v == 1))
      return a;
  }
  Node n{ArrayOp::Binary, Type{result, std::max(a->rank(), b->rank()), both_weak}};
  n.op = int(op);
  n.span = span;
  n.shape = broadcast_shapes(a, b, span);
  n.ops = {cast(a, operand), cast(b, operand)};
  return make(std::move(n));
}

// x ** e for a float x and a literal e that pow would serve, without pow and
// with pow's signed zeros, infinities and NaN (q = 1 / x below):
//  - e = -2, -3: q ** -e, one division.
//  - e = -4 .. -64: 1 / x ** -e (Numba's form) where x ** -e is a normal
//    number; where it is not (it overflowed, is subnormal or 0, or NaN), the
//    same with x scaled by 2^k first and the result by 2^(k * e) after
//    (exact, k = +-floor(1000 / -e) towards 1), so results near the
//    overflow and underflow thresholds keep their accuracy.
//  - e = m + 1/2 (m = 1 .. 4) or -(m + 1/2) (m = 0 .. 2): x ** m * sqrt(x),
//    1 / sqrt(x) or q ** m * sqrt(q); x = +-0 and -inf, where the square
//    roots give other signs or NaN, are set apart.
// Each is within 4 ulp of glibc's pow (measured over 27 000 values from
// 1e-300 to 1e300 and the edges: 2 to 4 ulp at most, tests/test_vecmath.cpp);
// e = -3.5 as q ** 3 * sqrt(q), and -4 as q ** 4, reached 5, so -3.5 keeps
// pow and -4 takes the form of -5.
// f32 bases are powered in f64 and rounded once. nullptr for other e.
const Node* Builder::constant_power(const Node* x, double e, Span span) {
  const DType t = x->dtype();
  const bool half = e - std::floor(e) == 0.5 && e >= -2.5 && e <= 4.5 && e != 0.5;
  const bool negative_int = e <= -2 && e == std::floor(e) && (e >= -4 || literal_power(-e));
  if (!half && !negative_int) return nullptr;
  if (t == DType::F32) return cast(constant_power(cast(x, DType::F64), e, span), DType::F32, span);
  auto k = [&](double v) { return const_float(v, t, false); };
  auto power = [&](const Node* base, double n) {  // n >= 1: x, x * x, or a literal power
    return n == 1 ? base : binary(BinaryOp::Pow, base, const_float(n, t, true), span);
  };
  const Node* q = e < -0.5 ? binary(BinaryOp::Div, k(1.0), x, span) : nullptr;
  if (negative_int) {
    if (e >= -3) return power(q, -e);
    const Node* p = power(x, -e);
    const Node* mag = math(MathFn::Abs, p, span);
    const Node* normal =
        binary(BinaryOp::BitAnd, binary(BinaryOp::Ge, mag, k(std::numeric_limits<double>::min()), span),
               binary(BinaryOp::Le, mag, k(std::numeric_limits<double>::max()), span), span);
    // x ** -e left the normal range downwards (|x| < 1) or upwards.
    const Node* small = binary(BinaryOp::Lt, math(MathFn::Abs, x, span), k(1.0), span);
    const double scale = std::floor(1000 / -e);
    const Node* scaled = power(binary(BinaryOp::Mul, x, select(small, k(std::ldexp(1, int(scale))),
                                                               k(std::ldexp(1, -int(scale))), span), span), -e);
    const Node* back = select(small, k(std::ldexp(1, int(-scale * e))), k(std::ldexp(1, int(scale * e))), span);
    const Node* fallback = binary(BinaryOp::Mul, binary(BinaryOp::Div, k(1.0), scaled, span), back, span);
    return select(normal, binary(BinaryOp::Div, k(1.0), p, span), fallback, span);
  }
  const double m = std::floor(std::fabs(e));
  const Node* base = e > 0 ? x : q;
  const Node* root = e == -0.5 ? binary(BinaryOp::Div, k(1.0), math(MathFn::Sqrt, x, span), span)
                               : math(MathFn::Sqrt, base, span);
  const Node* v = m == 0 ? root : binary(BinaryOp::Mul, power(base, m), root, span);
  // pow(+-0, e) is +0 for e > 0 and +inf for e < 0; pow(-inf, e) the reverse.
  const Node* at_zero = e > 0 ? k(0.0) : k(INFINITY);
  const Node* at_minus_inf = e > 0 ? k(INFINITY) : k(0.0);
  return select(binary(BinaryOp::Eq, x, k(0.0), span), at_zero,
                select(binary(BinaryOp::Eq, x, k(-INFINITY), span), at_minus_inf, v, span), span);
}

const Node* Builder::math(MathFn fn, const Node* a, Span span) {
  DType in = a->dtype();
  DType out = in;
  switch (builtin_of(fn).rule) {
    case ResultRule::Same: out = in; break;
    case ResultRule::Bool: out = DType::Bool; break;
    case ResultRule::FloatOrF64: out = is_float(in) ? in : DType::F64; break;  // NumPy 1.24: floor of ints is f64
    case ResultRule::Float: out = float_result(in); break;
    case ResultRule::Promoted: internal_error("Builder::math", "a one-argument function with a promoted result");
  }
  if (fn == MathFn::Sign && in == DType::Bool) error(span, "sign is not defined for bool values");
  const Node* arg = (out != DType::Bool && is_float(out) && !is_float(in)) ? cast(a, out) : cast(a, in);
  Node n{ArrayOp::Math, Type{out, a->rank(), false}};
  n.op = int(fn);
  n.ops = {arg};
  n.shape = a->shape;
  n.span = span;
  return make(std::move(n));
}

const Node* Builder::select(const Node* c, const Node* a, const Node* b, Span span) {
  DType t = promote(a->type, b->type);
  // A constant scalar condition picks a side (slice bounds make many).
  if (c->is_const() && c->rank() == 0 && a->shape == b->shape && a->type.weak == b->type.weak)
    return cast((is_float(c->dtype()) ? c->fval != 0 || std::isnan(c->fval) : c->ival != 0) ? a : b, t, span);
  Node n{ArrayOp::Select, Type{t, std::max({c->rank(), a->rank(), b->rank()}),
                                a->type.weak && b->type.weak && c->rank() == 0}};
  n.span = span;
  n.shape = broadcast_shapes(c->shape, broadcast_shapes(a, b, span), span);
  n.ops = {cast(c, DType::Bool), cast(a, t), cast(b, t)};
  return make(std::move(n));
}

namespace {
// Operands of a View node for an identity view of `src`.
void identity_view(Builder& b, const Node* src, Node& v) {
  v.ops = {src};
  for (int k = 0; k < src->rank(); ++k) {
    v.ops.push_back(b.const_int(0, DType::I64, false));
    v.ops.push_back(src->shape[k]);
    v.steps.push_back(1);
  }
}
// Recomputes a view's type and shape from its per-axis parts.
void finish_view(Node& v) {
  const Node* src = v.ops[0];
  v.shape.clear();
  for (int k = 0; k < src->rank(); ++k)
    if (v.steps[k] != 0) v.shape.push_back(v.ops[2 + 2 * k]);
  v.type = Type{src->dtype(), int(v.shape.size()), false};
}
}  // namespace

const Node* Builder::index(const Node* src, int axis, const Node* idx, Span span) {
  if (axis >= src->rank())
    error(span, fmt::format("too many indices: {} has rank {}", src->type.str(), src->rank()));
  if (idx->rank() != 0 || !is_int(idx->dtype()))
    error(span, fmt::format("an index must be an integer scalar, got {}", idx->type.str()));
  Node v{ArrayOp::View, Type{}};
  v.span = span;
  identity_view(*this, src, v);
  v.ops[1 + 2 * axis] = cast(idx, DType::I64);
  v.ops[2 + 2 * axis] = nullptr;
  v.steps[axis] = 0;
  finish_view(v);
  if (idx->is_const() && src->shape[axis]->is_const()) {
    int64_t i = idx->as_int(), n = src->shape[axis]->ival;
    if (i < -n || i >= n)
      error(span, fmt::format("index {} is out of bounds for axis {} with size {}", i, axis, n));
  }
  return make(std::move(v));
}

const Node* Builder::slice(const Node* src, int axis, const Node* start, const Node* stop,
                           int64_t step, Span span) {
  if (axis >= src->rank())
    error(span, fmt::format("too many indices: {} has rank {}", src->type.str(), src->rank()));
  if (step == 0) error(span, "slice step cannot be zero");
  for (const Node* p : {start, stop})
    if (p && (p->rank() != 0 || !is_int(p->dtype())))
      error(span, fmt::format("slice bounds must be integer scalars, got {}", p->type.str()));
  const Node* n = src->shape[axis];
  auto I = [&](int64_t v) { return const_int(v, DType::I64, false); };
  auto add = [&](const Node* x, const Node* y) { return binary(BinaryOp::Add, x, y, span); };
  auto sub = [&](const Node* x, const Node* y) { return binary(BinaryOp::Sub, x, y, span); };
  auto mn = [&](const Node* x, const Node* y) { return binary(BinaryOp::Minimum, x, y, span); };
  auto mx = [&](const Node* x, const Node* y) { return binary(BinaryOp::Maximum, x, y, span); };
  auto lt0 = [&](const Node* x) { return binary(BinaryOp::Lt, x, I(0), span); };
  // Python's slice.indices(): negative bounds count from the end, then clamp.
  auto norm = [&](const Node* s, const Node* lo, const Node* hi) {
    s = cast(s, DType::I64);
    return select(lt0(s), mx(add(s, n), lo), mn(s, hi), span);
  };
  const Node *b, *e, *len;
  if (step > 0) {
    b = start ? norm(start, I(0), n) : I(0);
    e = stop ? norm(stop, I(0), n) : n;
    len = binary(BinaryOp::FloorDiv, add(sub(e, b), I(step - 1)), I(step), span);
  } else {
    b = start ? norm(start, I(-1), sub(n, I(1))) : sub(n, I(1));
    e = stop ? norm(stop, I(-1), sub(n, I(1))) : I(-1);
    len = binary(BinaryOp::FloorDiv, add(sub(b, e), I(-step - 1)), I(-step), span);
  }
  len = mx(len, I(0));
  Node v{ArrayOp::View, Type{}};
  v.span = span;
  identity_view(*this, src, v);
  v.ops[1 + 2 * axis] = b;
  v.ops[2 + 2 * axis] = len;
  v.steps[axis] = step;
  finish_view(v);
  if (step == 1 && b->is_const() && b->ival == 0 && len == n) return src;  // x[:]
  return make(std::move(v));
}

const Node* Builder::view(const Node* src, const std::vector<int64_t>& steps, const std::vector<const Node*>& starts,
                          const std::vector<const Node*>& lens, Span span) {
  if (steps.size() != size_t(src->rank()) || starts.size() != steps.size() || lens.size() != steps.size())
    internal_error("array_ir", "a view needs a step, a start and a length per axis");
  Node v{ArrayOp::View, Type{}};
  v.span = span;
  v.ops = {src};
  for (size_t k = 0; k < steps.size(); ++k) {
    v.ops.push_back(starts[k]);
    v.ops.push_back(steps[k] ? lens[k] : nullptr);
  }
  v.steps = steps;
  finish_view(v);
  return make(std::move(v));
}

const Node* Builder::broadcast(const Node* a, std::vector<const Node*> shape, Span span) {
  auto got = broadcast_shapes(a->shape, shape, span);
  if (got.size() != shape.size())
    error(span, fmt::format("cannot broadcast {} to shape {}", shape_text(a->shape), shape_text(shape)));
  Node n{ArrayOp::Broadcast, Type{a->dtype(), int(shape.size()), false}};
  n.ops = {a};
  n.shape = std::move(got);
  n.span = span;
  return make(std::move(n));
}

const Node* Builder::iota(const Node* len, Span span) {
  Node n{ArrayOp::Iota, Type{DType::I64, 1, false}};
  n.shape = {cast(len, DType::I64)};
  n.span = span;
  return make(std::move(n));
}

const Node* Builder::random(int kind, const Node* seed, const Node* len, Span span) {
  Node n{ArrayOp::Random, Type{DType::F64, 1, false}};
  n.op = kind;
  n.ops = {cast(seed, DType::I64)};
  n.shape = {cast(len, DType::I64)};
  n.span = span;
  return make(std::move(n));
}

const Node* Builder::reduce(ReduceOp op, const Node* a, int axis, Span span, double ddof) {
  if (axis != -1 && (axis < -a->rank() || axis >= std::max(a->rank(), 1)))
    error(span, fmt::format("axis {} is out of bounds for array of dimension {}", axis, a->rank()));
  if (axis < -1) axis += a->rank();
  if (a->rank() == 0) {
    // A scalar is a one-element array.
    a = broadcast(a, {const_int(1, DType::I64, false)}, span);
    axis = -1;
  }
  if (a->rank() == 1) axis = -1;
  DType in = a->dtype(), out = in;
  const Node* src = a;
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Prod:
      out = sum_result(in);
      src = cast(a, out);
      break;
    case ReduceOp::Any:
    case ReduceOp::All:
      out = DType::Bool;
      src = cast(a, DType::Bool);
      break;
    case ReduceOp::ArgMin:
    case ReduceOp::ArgMax:
      out = DType::I64;
      break;
    case ReduceOp::Mean:
    case ReduceOp::Var:
      out = in == DType::F32 ? DType::F32 : DType::F64;
      src = cast(a, out);
      break;
    case ReduceOp::Min:
    case ReduceOp::Max:
      break;
  }
  Node n{ArrayOp::Reduce, Type{out, axis == -1 ? 0 : 1, false}};
  n.op = int(op);
  n.ops = {src};
  n.ival = axis;
  n.fval = ddof;
  n.span = span;
  if (axis != -1) n.shape = {a->shape[1 - axis]};
  return make(std::move(n));
}

const Node* Builder::scan(ScanOp op, const Node* a, int axis, Span span) {
  if (axis != -1 && (axis < -a->rank() || axis >= std::max(a->rank(), 1)))
    error(span, fmt::format("axis {} is out of bounds for array of dimension {}", axis, a->rank()));
  if (axis < -1) axis += a->rank();
  if (a->rank() == 0) a = broadcast(a, {const_int(1, DType::I64, false)}, span);
  if (a->rank() == 1) axis = -1;
  DType out = (op == ScanOp::CumSum || op == ScanOp::CumProd) ? sum_result(a->dtype()) : a->dtype();
  Node n{ArrayOp::Scan, Type{out, axis == -1 ? 1 : 2, false}};
  n.op = int(op);
  n.ops = {cast(a, out)};
  n.ival = axis;
  n.span = span;
  if (axis == -1 && a->rank() == 2)
    n.shape = {binary(BinaryOp::Mul, a->shape[0], a->shape[1], span)};
  else
    n.shape = a->shape;
  return make(std::move(n));
}

const Node* Builder::group(GroupOp op, const Node* keys, const Node* values, const Node* ngroups,
                           Span span) {
  if (keys->rank() != 1 || !is_int(keys->dtype()))
    error(span, fmt::format("group keys must be a 1-D integer array, got {}", keys->type.str()));
  if (values->rank() != 1)
    error(span, fmt::format("group values must be a 1-D array, got {}", values->type.str()));
  if (ngroups->rank() != 0 || !is_int(ngroups->dtype()))
    error(span, fmt::format("ngroups must be an integer scalar, got {}", ngroups->type.str()));
  if (ngroups->is_const() && ngroups->as_int() < 0)
    error(span, fmt::format("ngroups must not be negative, got {}", ngroups->as_int()));
  if (!dim_check(keys->shape[0], values->shape[0]))
    error(span, fmt::format("keys and values differ in length: {} and {}",
                            shape_text(keys->shape), shape_text(values->shape)));
  DType vt = values->dtype(), out = vt;
  switch (op) {
    case GroupOp::Sum: out = sum_result(vt); break;
    case GroupOp::Count: out = DType::I64; break;
    case GroupOp::Mean: out = vt == DType::F32 ? DType::F32 : DType::F64; break;
    case GroupOp::Min:
    case GroupOp::Max: break;
  }
  Node n{ArrayOp::GroupReduce, Type{out, 1, false}};
  n.op = int(op);
  const Node* len = dim_check(keys->shape[0], values->shape[0]);
  n.ops = {cast(keys, DType::I64),
           op == GroupOp::Count ? values : cast(values, op == GroupOp::Min || op == GroupOp::Max ? vt : out),
           cast(ngroups, DType::I64), len};
  n.shape = {cast(ngroups, DType::I64)};
  n.span = span;
  return make(std::move(n));
}

const Node* Builder::reshape(const Node* a, std::vector<const Node*> shape, Span span) {
  if (shape.empty() || shape.size() > 2) error(span, "reshape() takes a shape of rank 1 or 2");
  auto I = [&](int64_t v) { return const_int(v, DType::I64, false); };
  const Node* count = I(1);
  for (auto* d : a->shape) count = binary(BinaryOp::Mul, count, d, span);
  int unknown = -1;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k]->is_const() && shape[k]->ival == -1) {
      if (unknown >= 0) error(span, "can only specify one unknown dimension");
      unknown = int(k);
    }
  }
  if (unknown >= 0) {
    const Node* other = shape.size() == 2 ? shape[size_t(1 - unknown)] : I(1);
    if (other->is_const() && other->ival == 0) error(span, "cannot reshape with an unknown dimension beside a zero");
    shape[size_t(unknown)] = binary(BinaryOp::FloorDiv, count, other, span);
  }
  const Node* want = I(1);
  for (auto* d : shape) want = binary(BinaryOp::Mul, want, d, span);
  if (want->is_const() && count->is_const() && want->ival != count->ival)
    error(span, fmt::format("cannot reshape array of size {} into shape {}", count->ival, shape_text(shape)));
  Node n{ArrayOp::Reshape, Type{a->dtype(), int(shape.size()), false}};
  n.ops = {a, dim_check(count, want)};
  n.shape = std::move(shape);
  n.span = span;
  if (a->rank() == n.type.rank && a->shape == n.shape) return a;
  return make(std::move(n));
}

const Node* Builder::copy(const Node* a, Span span) {
  Node n{ArrayOp::Copy, Type{a->dtype(), a->rank(), a->type.weak}};
  n.ops = {a};
  n.shape = a->shape;
  n.span = span;
  return make(std::move(n));
}

// ---------------------------------------------------------------------------
// Traversal and printing

std::vector<const Node*> topo_order(const std::vector<const Node*>& roots) {
  std::vector<const Node*> order;
  std::unordered_set<const Node*> seen;
  std::function<void(const Node*)> visit = [&](const Node* n) {
    if (!n || seen.count(n)) return;
    seen.insert(n);
    for (auto* o : n->ops) visit(o);
    for (auto* d : n->shape) visit(d);
    order.push_back(n);
  };
  for (auto* r : roots) visit(r);
  return order;
}

std::string print_array_ir(const std::vector<const Node*>& roots,
                           const std::vector<std::string>& root_names) {
  auto order = topo_order(roots);
  std::map<const Node*, int> id;
  std::string out;
  auto ref = [&](const Node* n) -> std::string {
    if (!n) return "_";
    if (n->is_const()) {
      std::string v = is_float(n->dtype()) ? fmt::format("{}", n->fval)
                      : n->dtype() == DType::Bool ? (n->ival ? "True" : "False")
                                                   : std::to_string(n->ival);
      return n->type.weak || n->dtype() == DType::I64 || n->dtype() == DType::Bool
                 ? v : v + ":" + dtype_name(n->dtype());
    }
    return "%" + std::to_string(id.at(n));
  };
  for (const Node* n : order) {
    if (n->is_const()) continue;
    int k = int(id.size());
    id[n] = k;
    std::string line = fmt::format("%{} = {}", k, array_op_name(n->kind));
    switch (n->kind) {
      case ArrayOp::Unary: line += "." + std::string(unary_op_name(n->opcode<UnaryOp>())); break;
      case ArrayOp::Binary: line += "." + std::string(binary_op_name(n->opcode<BinaryOp>())); break;
      case ArrayOp::Math: line += "." + std::string(math_fn_name(n->opcode<MathFn>())); break;
      case ArrayOp::Reduce: line += "." + std::string(reduce_op_name(n->opcode<ReduceOp>())); break;
      case ArrayOp::Scan: line += "." + std::string(scan_op_name(n->opcode<ScanOp>())); break;
      case ArrayOp::GroupReduce: line += "." + std::string(group_op_name(n->opcode<GroupOp>())); break;
      case ArrayOp::Random: line += n->op ? ".normal" : ".uniform"; break;
      default: break;
    }
    if (n->kind == ArrayOp::Input) line += fmt::format(" {} #{}{}", n->name, n->ival, n->steps.empty() || n->steps[0] ? "" : " strided");
    for (size_t i = 0; i < n->ops.size(); ++i) {
      if (n->kind == ArrayOp::Input) break;
      line += (i ? ", " : " ") + ref(n->ops[i]);
    }
    if (n->kind == ArrayOp::Dim) line += fmt::format(" axis={}", n->ival);
    if (n->kind == ArrayOp::View) {
      line += " steps=[";
      for (size_t s = 0; s < n->steps.size(); ++s) line += (s ? "," : "") + std::to_string(n->steps[s]);
      line += "]";
    }
    if ((n->kind == ArrayOp::Reduce || n->kind == ArrayOp::Scan) && n->ival >= 0)
      line += fmt::format(" axis={}", n->ival);
    if (n->kind == ArrayOp::Reduce && n->opcode<ReduceOp>() == ReduceOp::Var)
      line += fmt::format(" ddof={}", n->fval);
    line += " : " + std::string(dtype_name(n->dtype()));
    if (!n->shape.empty()) {  // an Input's shape-less identity (of its Dims) has none
      line += "[";
      for (size_t d = 0; d < n->shape.size(); ++d) line += (d ? ", " : "") + ref(n->shape[d]);
      line += "]";
    }
    if (n->type.weak) line += " weak";
    out += line + "\n";
  }
  for (size_t r = 0; r < roots.size(); ++r)
    out += fmt::format("{} {}\n", r < root_names.size() ? root_names[r] : "return", ref(roots[r]));
  return out;
}

}  // namespace numjit
