// The array IR: typed, shaped, immutable, interned per compilation.
//
// Semantics (written once; passes, interpreter and codegen refer here):
// - Arithmetic follows NumPy 1.24 under NEP 50 weak promotion (ir/types.h).
//   Integer arithmetic wraps (two's complement).  Integer `//` and `%` by
//   zero give 0; INT_MIN // -1 wraps to INT_MIN; `//` floors and `%` takes
//   the divisor's sign (Python).  Float `//` and `%` are NumPy's npy_divmod
//   (1.0 // 0.1 == 9.0).  Integer `**` with a negative exponent is an error.
// - Float ops are IEEE without contraction or reassociation: a*b+c is two
//   roundings.  minimum/maximum/min/max/argmin/argmax propagate NaN (the
//   first NaN wins); round is half-to-even; float->int casts of NaN or out
//   of range values give the integer's minimum (what x86 does for NumPy).
//   On ties minimum/maximum give their second operand, as NumPy does, so
//   maximum(-0.0, 0.0) is 0.0 and a running max keeps the later of equals.
// - Transcendental functions are correctly rounded within 4 ulp (libm in
//   scalar code, libmvec in vector code); everything else is exact IEEE.
// - Reductions run in one fixed order (ir/reduce_order.h): the result bits
//   depend only on the inputs, never on threads or the host's SIMD width.
// - Shapes are symbolic: every dim is a rank-0 i64 node (a Const, the Dim of
//   an input, or arithmetic on those). A dim that is 1 broadcasts only when
//   it is the constant 1 (inputs of length 1 are specialised as such); other
//   mismatches are checked at run time by CheckDim and raise NumPy's
//   "operands could not be broadcast together" error.
// - Views (slices, rows, columns, element reads) never copy. Element reads
//   wrap negative indices and raise IndexError out of range.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "support/source.h"
#include "ir/types.h"

namespace numjit {

#define NUMJIT_FOR_EACH_ARRAY_OP(X)                                                  \
  X(Input)       /* i: argument index, name; shape: Dim nodes or Const 1 */          \
  X(Dim)         /* ops[0]: an Input; i: axis. The runtime length (i64) */           \
  X(Const)       /* ival or fval; dtype; weak */                                     \
  X(CheckDim)    /* ops: two i64 dims; value ops[0]; error unless equal */           \
  X(Unary)       /* op: UnaryOp; ops[0] */                                           \
  X(Binary)      /* op: BinaryOp; ops[0], ops[1], broadcast together */              \
  X(Math)        /* op: MathFn; ops[0] (already cast to the result float type) */    \
  X(Cast)        /* ops[0] converted to dtype */                                     \
  X(Select)      /* ops: cond, a, b (NumPy where) */                                 \
  X(View)        /* ops[0] src; per src axis k: ops[1+2k] start/index,               \
                    ops[2+2k] length (null for an index); steps[k]: 0 = index */     \
  X(Broadcast)   /* ops[0] (rank <= rank) stretched to shape */                      \
  X(Iota)        /* shape (len,): element i is i (i64) */                            \
  X(Random)      /* op: 0 uniform, 1 normal; ops[0] seed (i64); shape (len,) */      \
  X(Reduce)      /* op: ReduceOp; ops[0]; axis (-1: all); fval: ddof for Var */      \
  X(Scan)        /* op: ScanOp; ops[0]; axis (-1: flattened) */                      \
  X(GroupReduce) /* op: GroupOp; ops: keys, values, ngroups; shape (ngroups,) */     \
  X(Copy)        /* ops[0] materialised into a new array */                        \
  X(Reshape)     /* ops[0] read in C order into shape (same element count) */

enum class ArrayOp {
#define NUMJIT_ARRAY_OP_ENUM(name) name,
  NUMJIT_FOR_EACH_ARRAY_OP(NUMJIT_ARRAY_OP_ENUM)
#undef NUMJIT_ARRAY_OP_ENUM
};
const char* array_op_name(ArrayOp op);

#define NUMJIT_FOR_EACH_UNARY_OP(X) X(Neg) X(Not) /* Not: logical on bool, bitwise on ints */
#define NUMJIT_FOR_EACH_BINARY_OP(X)                                                 \
  X(Add) X(Sub) X(Mul) X(Div) X(FloorDiv) X(Mod) X(Pow) X(BitAnd) X(BitOr) X(BitXor) \
  X(Lt) X(Le) X(Gt) X(Ge) X(Eq) X(Ne) X(Minimum) X(Maximum) X(FMod) X(Arctan2)       \
  X(Hypot)
#define NUMJIT_FOR_EACH_REDUCE_OP(X) \
  X(Sum) X(Prod) X(Min) X(Max) X(Any) X(All) X(ArgMin) X(ArgMax) X(Mean) X(Var)
#define NUMJIT_FOR_EACH_SCAN_OP(X) X(CumSum) X(CumProd) X(CumMax) X(CumMin)
#define NUMJIT_FOR_EACH_GROUP_OP(X) X(Sum) X(Count) X(Mean) X(Min) X(Max)

#define NUMJIT_ENUM_ITEM(name) name,
enum class UnaryOp { NUMJIT_FOR_EACH_UNARY_OP(NUMJIT_ENUM_ITEM) };
enum class BinaryOp { NUMJIT_FOR_EACH_BINARY_OP(NUMJIT_ENUM_ITEM) };
/** The one-argument math opcodes: the rows of ir/builtins.def. */
enum class MathFn {
#define NUMJIT_LIBM_FN(id, name, libm, doc) id,
#define NUMJIT_EXACT_FN(id, name, rule, doc) id,
#include "ir/builtins.def"
};
enum class ReduceOp { NUMJIT_FOR_EACH_REDUCE_OP(NUMJIT_ENUM_ITEM) };
enum class ScanOp { NUMJIT_FOR_EACH_SCAN_OP(NUMJIT_ENUM_ITEM) };
enum class GroupOp { NUMJIT_FOR_EACH_GROUP_OP(NUMJIT_ENUM_ITEM) };
#undef NUMJIT_ENUM_ITEM

const char* unary_op_name(UnaryOp op);
const char* binary_op_name(BinaryOp op);
const char* math_fn_name(MathFn fn);
const char* reduce_op_name(ReduceOp op);
const char* scan_op_name(ScanOp op);
const char* group_op_name(GroupOp op);
inline bool is_comparison(BinaryOp op) { return op >= BinaryOp::Lt && op <= BinaryOp::Ne; }

/** An array-IR node. Immutable; made only by Builder, interned per Context,
 *  so structurally equal nodes are the same pointer. */
struct Node {
  ArrayOp kind;
  Type type;                        // dtype, rank, weak
  int op = 0;                       // UnaryOp / BinaryOp / MathFn / ... by kind
  int64_t ival = 0;                 // Input index, Dim/Reduce/Scan axis, int Const
  double fval = 0;                  // float Const, Var ddof
  std::string name;                 // Input name
  std::vector<const Node*> ops;     // operands (View: may hold nulls)
  std::vector<const Node*> shape;   // rank entries, each a rank-0 i64 node
  std::vector<int64_t> steps;       // View steps per source axis
  Span span;                        // first source location that made it
  int height = 1;                   // 1 + the tallest operand's (set by Context::intern)

  DType dtype() const { return type.dtype; }
  int rank() const { return type.rank; }
  bool is_scalar() const { return type.rank == 0; }
  bool is_const() const { return kind == ArrayOp::Const; }
  /** The constant as double / int64 (any dtype). */
  double as_double() const { return is_float(type.dtype) ? fval : double(ival); }
  int64_t as_int() const {  // a float out of int64's range or NaN gives INT64_MIN, as float_to_int
    if (!is_float(type.dtype)) return ival;
    return fval >= -9223372036854775808.0 && fval < 9223372036854775808.0 ? int64_t(fval) : INT64_MIN;
  }
  template <class E> E opcode() const { return static_cast<E>(op); }
};

/** Owns and interns the nodes of one compilation (never shared between
 *  threads or compilations). */
class Context {
 public:
  Context();
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  /** The interned node equal to `n` (inserting it if new). */
  const Node* intern(Node n);
  size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/** How an input was specialised: its type and which dims are exactly 1. */
struct InputSig {
  std::string name;
  Type type;
  bool dim_is_one[2] = {false, false};
  bool contiguous = true;  // innermost stride is 1

  bool operator==(const InputSig&) const = default;
  /** e.g. "p: f64[:]" ("f64[1]" marks a length-1 dim; "~" a strided view). */
  std::string str() const;
};

/** Makes checked nodes: each method types its result, broadcasts shapes,
 *  folds constants where that is exact, and reports user errors at `span`. */
class Builder {
 public:
  Builder(Context& ctx, const Source* src) : ctx_(ctx), src_(src) {}
  Context& context() { return ctx_; }
  const Source* source() const { return src_; }
  /** Errors from now on point into `src` (a kernel's body while it is inlined). */
  void set_source(const Source* src) { src_ = src; }

  const Node* input(int index, const InputSig& sig, Span span);
  const Node* const_int(int64_t v, DType t = DType::I64, bool weak = true);
  const Node* const_float(double v, DType t = DType::F64, bool weak = true);
  const Node* const_bool(bool v);
  /** `v` converted to a constant of dtype t (strong). */
  const Node* const_of(DType t, double f, int64_t i);

  const Node* unary(UnaryOp op, const Node* a, Span span);
  const Node* binary(BinaryOp op, const Node* a, const Node* b, Span span);
  /** A math function; integer and bool inputs are cast to a float first
   *  (abs, sign, floor... of ints follow NumPy's own rules). */
  const Node* math(MathFn fn, const Node* a, Span span);
  /** `x ** e` for a float `x` and a literal negative integer or half-integer
   *  `e` without pow, with pow's edge values; nullptr for other `e`. */
  const Node* constant_power(const Node* x, double e, Span span);
  const Node* cast(const Node* a, DType t, Span span = {});
  /** An explicit cast (`i64(x)`, `x.astype(f32)`): the result is strong even
   *  when `a` is a weak scalar of the same dtype. */
  const Node* cast_strong(const Node* a, DType t, Span span);
  const Node* select(const Node* c, const Node* a, const Node* b, Span span);
  /** x[index] on axis `axis` (negative wraps; IndexError out of range). */
  const Node* index(const Node* src, int axis, const Node* idx, Span span);
  /** x[start:stop:step] on `axis`; start/stop may be null (None). */
  const Node* slice(const Node* src, int axis, const Node* start, const Node* stop,
                    int64_t step, Span span);
  /** A view of `src` from its parts: per axis a step (0: the index
   *  starts[k], checked and wrapped when read), a start and a length (the
   *  parts `slice` and `index` compute; lengths null for step 0). */
  const Node* view(const Node* src, const std::vector<int64_t>& steps, const std::vector<const Node*>& starts,
                   const std::vector<const Node*>& lens, Span span);
  const Node* broadcast(const Node* a, std::vector<const Node*> shape, Span span);
  const Node* iota(const Node* len, Span span);
  const Node* random(int kind, const Node* seed, const Node* len, Span span);
  const Node* reduce(ReduceOp op, const Node* a, int axis, Span span, double ddof = 0);
  const Node* scan(ScanOp op, const Node* a, int axis, Span span);
  const Node* group(GroupOp op, const Node* keys, const Node* values, const Node* ngroups,
                    Span span);
  const Node* copy(const Node* a, Span span);
  /** `a` in C order with a new shape of rank 1 or 2 (one dim may be -1);
   *  the element counts must agree (checked at run time when symbolic). */
  const Node* reshape(const Node* a, std::vector<const Node*> shape, Span span);

  /** The broadcast shape of a and b, or a user error naming both shapes. */
  std::vector<const Node*> broadcast_shapes(const Node* a, const Node* b, Span span);
  std::vector<const Node*> broadcast_shapes(const std::vector<const Node*>& a,
                                            const std::vector<const Node*>& b, Span span);
  /** Text of a shape for messages: "(n, 3)" with symbolic dims by name. */
  std::string shape_text(const std::vector<const Node*>& shape) const;

 private:
  const Node* make(Node n);
  const Node* fold(const Node* n);
  const Node* dim_check(const Node* a, const Node* b);
  [[noreturn]] void error(Span span, const std::string& msg) const;

  Context& ctx_;
  const Source* src_;
};

/** One node per line, operands first, numbered in a stable order:
 *    %3 = Binary Mul f64[:] %1 %2    # shape (n0)  */
std::string print_array_ir(const std::vector<const Node*>& roots,
                           const std::vector<std::string>& root_names = {});

/** Nodes reachable from `roots`, operands before users (deterministic). */
std::vector<const Node*> topo_order(const std::vector<const Node*>& roots);

}  // namespace numjit
