// The loop IR: what fused array expressions (and `def` kernels) lower to,
// and the only thing codegen sees. Scalars, buffers, loads and stores,
// loops and structured reductions; element semantics are the array IR's
// (ir/array_ir.h), reduction order is ir/reduce_order.h.
//
// A Kernel reads buffers 0..num_inputs-1 (the arguments: arrays, and scalars
// as rank-0 buffers) and fills result buffers it allocates. Expressions are
// pure and interned per kernel; statements are a tree.
#pragma once

#include <cstdint>
#include <memory>
#include <functional>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "ir/array_ir.h"

namespace numjit {

#define NUMJIT_FOR_EACH_LOOP_EXPR(X)                                                 \
  X(Const)   /* ival / fval of dtype */                                              \
  X(Var)     /* var: a scalar local */                                               \
  X(Dim)     /* buf, ival: axis — a buffer's length on an axis (i64) */              \
  X(Load)    /* buf; ops: one i64 index per axis (none for rank 0) */                \
  X(Unary)   /* op: UnaryOp; ops[0] */                                               \
  X(Binary)  /* op: BinaryOp; ops[0], ops[1] (comparisons give bool) */              \
  X(Math)    /* op: MathFn; ops[0] */                                                \
  X(Cast)    /* ops[0] to dtype */                                                   \
  X(Select)  /* ops: cond, a, b */                                                   \
  X(Random)  /* op: 0 uniform / 1 normal; ops: seed, index (f64) */          \
  X(Threads) /* i64: threads a parallel loop may use here (1 inside a task) */

enum class LExprKind {
#define NUMJIT_LEXPR_ENUM(name) name,
  NUMJIT_FOR_EACH_LOOP_EXPR(NUMJIT_LEXPR_ENUM)
#undef NUMJIT_LEXPR_ENUM
};

struct LExpr {
  LExprKind kind;
  DType dtype;
  int op = 0;
  int64_t ival = 0;
  double fval = 0;
  int var = -1;  // Var
  int buf = -1;  // Dim, Load
  std::vector<const LExpr*> ops;
};

/** The runtime error a Check raises (see runtime/abi.h nj_fail_*). */
enum class CheckKind {
  Message,  // text
  Index,    // args: index, axis, size
  Shapes,   // args: a, b
  Key,      // args: key, position, ngroups
};

/** Accumulator kinds of a ReduceLoop (argmin/argmax carry value + index). */
enum class AccKind { Sum, Prod, Min, Max, Any, All, ArgMin, ArgMax };
const char* acc_kind_name(AccKind k);

enum class LStmtKind {
  Assign,       // var = value
  Store,        // buf[index...] = value
  For,          // for var in [lo, hi) by step (null: 1; a negative step counts down to hi): body
  While,        // while value: body
  Break,        // leaves the innermost For / While
  Continue,     // next iteration of the innermost For / While
  Return,       // leaves the kernel (its results are stored)
  ReduceLoop,   // for var in [0, extent): body; accs fold their values (reduce_order.h)
  If,           // if value: body else orelse
  Check,        // unless value: raise check/message/args
  AllocResult,  // buf = a new result array of dims (args)
  AllocTemp,    // buf = scratch of dims (args), freed after the call
};

struct Accumulator {
  AccKind kind;
  DType dtype;          // of the value folded in
  const LExpr* value;   // evaluated in the loop body, per index
  int result_var;       // holds the result after the loop (argmin/argmax: the index)
};

/** A scalar that every iteration of a `prange` loop reduces (v += e,
 *  v = min(v, e), ...): the variable and how (Sum for += and -=, Prod for
 *  *= and /=, Min, Max). */
struct LoopReduction {
  int var;
  AccKind kind;
};

/** What is known of a vector reduction's extent: nothing, at most
 *  kReduceLanes (ir/reduce_order.h: one vector, codegen's short path) or
 *  more (blocks of vectors). */
enum class ExtentRange { Any, Short, Long };

struct LStmt {
  LStmtKind kind;
  int var = -1;
  int buf = -1;
  const LExpr* value = nullptr;        // Assign, Store, If/Check condition
  const LExpr* lo = nullptr;           // For
  const LExpr* hi = nullptr;           // For upper bound, ReduceLoop extent
  const LExpr* step = nullptr;         // For: null means 1
  std::vector<const LExpr*> args;      // Store index, Alloc dims, Check args
  std::vector<LStmt> body, orelse;
  std::vector<Accumulator> accs;       // ReduceLoop
  bool vectorize = false;              // For: lanes may run in SIMD (LLVM's loop vectorizer decides);
                                       // ReduceLoop: codegen writes explicit vectors (vector_reductions.h)
  bool scan = false;                   // For: a running value's steps, (x = X;) run = op(run, x); buf[i] = run,
                                       // op exact and associative (max/min without NaN, integer + *),
                                       // or a total's steps with a NaN flag (nan |= x != x) after which
                                       // run is read only if the flag is false: codegen may compute it
                                       // as prefix scans over vectors
  ExtentRange extent = ExtentRange::Any;  // ReduceLoop marked vectorize: what is known of hi (short_rows.h)
  bool prange = false;                 // For: the user's prange (ir/passes/parallelize.h decides)
  std::vector<LoopReduction> reductions;  // For with prange: the outer scalars its iterations reduce
  bool parallel = false;               // For: iterations independent; may run on the thread pool;
                                       // ReduceLoop: runs in blocks on the thread pool (vector_reductions.h)
  std::string serial_reason;           // For of the kernel's body left serial: why its iterations may
                                       // depend on each other (parallelize.h; for :explain only)
  CheckKind check = CheckKind::Message;
  std::string message;                 // Check: text or "where" prefix
};

enum class BufferKind { Input, Result, Temp };

struct Buffer {
  std::string name;
  BufferKind kind;
  DType dtype;
  int rank;
  bool contiguous;  // innermost stride is 1 (always for results and temps)
};


/** Builds interned loop-IR expressions for one kernel (folding constants). */
class LoopBuilder {
 public:
  LoopBuilder();
  ~LoopBuilder();
  const LExpr* constant(DType t, double f, int64_t i);
  const LExpr* i64(int64_t v) { return constant(DType::I64, 0, v); }
  const LExpr* var(int id, DType t);
  const LExpr* dim(int buf, int axis);
  const LExpr* load(int buf, DType t, std::vector<const LExpr*> index);
  const LExpr* unary(UnaryOp op, const LExpr* a);
  const LExpr* binary(BinaryOp op, const LExpr* a, const LExpr* b);
  const LExpr* math(MathFn fn, DType out, const LExpr* a);
  const LExpr* cast(const LExpr* a, DType t);
  const LExpr* select(const LExpr* c, const LExpr* a, const LExpr* b);
  const LExpr* random(int kind, const LExpr* seed, const LExpr* index);
  const LExpr* threads();
  /** `e` with operands `ops` (same kind, dtype and attributes). */
  const LExpr* rebuild(const LExpr& e, std::vector<const LExpr*> ops);

 private:
  const LExpr* make(LExpr e);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct Kernel {
  std::string name;
  std::vector<Buffer> buffers;  // inputs are 0..num_inputs-1, in argument order
  int num_inputs = 0;
  std::vector<int> results;     // buffer ids of the results, in order
  std::vector<DType> var_types;
  std::vector<std::string> var_names;
  std::vector<LStmt> body;
  std::shared_ptr<LoopBuilder> exprs;  // owns every LExpr above
};

/** Calls `f(e)` once for each expression under `root` that is not yet in
 *  `seen` (and adds it), operands before their users. Iterative: a chain of
 *  any depth is safe, and shared subexpressions are visited once, so a walk
 *  over a whole kernel is linear in its number of distinct expressions. */
void for_each_expr(const LExpr* root, std::unordered_set<const LExpr*>& seen,
                   const std::function<void(const LExpr*)>& f);

/** Calls `f` on each expression statement `s` itself refers to (value,
 *  bounds, step, indices or dims, accumulator values), not its body's. */
void stmt_exprs(const LStmt& s, const std::function<void(const LExpr*)>& f);

/** stmt_exprs of every statement of `body`, nested bodies included. */
void for_each_root(const std::vector<LStmt>& body, const std::function<void(const LExpr*)>& f);

/** A For, While or ReduceLoop. */
inline bool is_loop(const LStmt& s) {
  return s.kind == LStmtKind::For || s.kind == LStmtKind::While || s.kind == LStmtKind::ReduceLoop;
}

/** The walk over a statement tree that passes use instead of recursions of
 *  their own: `visit(s, loops)` on every statement of `body` and the
 *  bodies nested in it, in preorder (a statement, its body, its orelse),
 *  `loops` counting the loops around s. `body` may be const (LStmt const&)
 *  or not (LStmt&: visit may change s, and the walk goes on into the body
 *  s has then). A visitor returning bool skips s's nested bodies when it
 *  returns false. */
template <class Body, class Visit>
void walk_stmts(Body& body, Visit&& visit, int loops = 0) {
  for (auto& s : body) {
    if constexpr (std::is_same_v<decltype(visit(s, loops)), bool>) {
      if (!visit(s, loops)) continue;
    } else {
      visit(s, loops);
    }
    walk_stmts(s.body, visit, loops + is_loop(s));
    walk_stmts(s.orelse, visit, loops + is_loop(s));
  }
}

/** Whether some statement of `body`, nested ones included, satisfies `pred`. */
template <class Pred>
bool any_stmt(const std::vector<LStmt>& body, Pred&& pred) {
  bool found = false;
  walk_stmts(body, [&](const LStmt& s, int) { return !(found = found || pred(s)); });
  return found;
}

/** Deterministic text of a kernel (--emit=loops, golden tests). With
 *  `loop_lines`, also each loop's own line (For, While, ReduceLoop, without
 *  indentation or body) in the order of kernel_loops(). */
std::string print_kernel(const Kernel& k, std::vector<std::string>* loop_lines = nullptr);

/** The loops of `k` (For, While, ReduceLoop statements) in preorder: loop i
 *  of a kernel is its i-th loop here. Codegen names the blocks of loop i
 *  "L<i>." (so LLVM's remarks name it) and reports by these numbers. */
std::vector<const LStmt*> kernel_loops(const Kernel& k);

}  // namespace numjit
