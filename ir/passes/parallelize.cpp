// prange parallelisation (see parallelize.h).
#include "ir/passes/parallelize.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>

#include "ir/passes/inline.h"

namespace numjit {

namespace {

// Whether `body` (a loop's) can leave the loop before its last trip: a
// break of its own, or a return anywhere.
bool jumps_out(const std::vector<LStmt>& body) {
  for (const LStmt& s : body) {
    if (s.kind == LStmtKind::Break || s.kind == LStmtKind::Return) return true;
    if (s.kind == LStmtKind::If && (jumps_out(s.body) || jumps_out(s.orelse))) return true;
    if ((s.kind == LStmtKind::For || s.kind == LStmtKind::While || s.kind == LStmtKind::ReduceLoop) &&
        contains_return(s.body))
      return true;
  }
  return false;
}

class Parallelizer {
 public:
  explicit Parallelizer(Kernel& k) : k_(k), b_(*k.exprs) {}

  // Rewrites `body`; `in_prange`: inside a prange loop.
  void block(std::vector<LStmt>& body, bool in_prange) {
    std::vector<LStmt> out;
    for (LStmt& s : body) {
      bool prange = s.kind == LStmtKind::For && s.prange;
      block(s.body, in_prange || prange);
      block(s.orelse, in_prange);
      if (!prange) {
        out.push_back(std::move(s));
        continue;
      }
      s.prange = false;
      bool free = !jumps_out(s.body) && !in_prange;
      std::vector<LoopReduction> reds = std::move(s.reductions);
      s.reductions.clear();
      if (free && !reds.empty()) {
        blocked_reduction(std::move(s), reds, out);
        continue;
      }
      s.parallel = free;
      out.push_back(std::move(s));
    }
    body = std::move(out);
  }

 private:
  int new_var(DType t, const std::string& prefix) {
    int id = int(k_.var_types.size());
    k_.var_types.push_back(t);
    k_.var_names.push_back(fmt::format("{}.{}", prefix, id));
    return id;
  }

  const LExpr* bind(std::vector<LStmt>& at, const LExpr* e, const std::string& name) {
    int id = new_var(e->dtype, name);
    assign(at, id, e);
    return b_.var(id, e->dtype);
  }

  static void assign(std::vector<LStmt>& to, int var, const LExpr* e) {
    LStmt a{LStmtKind::Assign};
    a.var = var;
    a.value = e;
    to.push_back(a);
  }

  const LExpr* identity(AccKind kind, DType t) {
    bool fl = is_float(t);
    int64_t imax = t == DType::Bool ? 1 : t == DType::I32 ? INT32_MAX : INT64_MAX;
    int64_t imin = t == DType::Bool ? 0 : t == DType::I32 ? INT32_MIN : INT64_MIN;
    switch (kind) {
      case AccKind::Sum: return b_.constant(t, -0.0, 0);
      case AccKind::Prod: return b_.constant(t, 1.0, 1);
      case AccKind::Min: return fl ? b_.constant(t, INFINITY, 0) : b_.constant(t, 0, imax);
      default: return fl ? b_.constant(t, -INFINITY, 0) : b_.constant(t, 0, imin);
    }
  }

  // for i in prange(lo, hi, step) with reductions v op= e becomes
  //   count = trips; nb = blocks of kPrangeReductionBlock trips
  //   for b in [0, nb) parallel:  v = identity; (the trips of block b); part_v[b] = v
  //   v = init_v op (the ReduceLoop of part_v)
  void blocked_reduction(LStmt f, const std::vector<LoopReduction>& reductions, std::vector<LStmt>& at) {
    const LExpr* zero = b_.i64(0);
    const LExpr* lo = bind(at, f.lo, "lo");
    const LExpr* hi = bind(at, f.hi, "hi");
    const LExpr* count;
    const LExpr* step = f.step ? bind(at, f.step, "step") : b_.i64(1);
    if (!f.step) {
      count = b_.binary(BinaryOp::Maximum, b_.binary(BinaryOp::Sub, hi, lo), zero);
    } else {
      auto trips = [&](const LExpr* span, const LExpr* by) {  // ceil(span / by), at least 0
        return b_.binary(BinaryOp::Maximum,
                         b_.binary(BinaryOp::FloorDiv,
                                   b_.binary(BinaryOp::Add, span, b_.binary(BinaryOp::Sub, by, b_.i64(1))), by),
                         zero);
      };
      count = b_.select(b_.binary(BinaryOp::Gt, step, zero), trips(b_.binary(BinaryOp::Sub, hi, lo), step),
                        trips(b_.binary(BinaryOp::Sub, lo, hi), b_.unary(UnaryOp::Neg, step)));
    }
    count = bind(at, count, "trips");
    const LExpr* G = b_.i64(kPrangeReductionBlock);
    const LExpr* nb = bind(at,
                           b_.binary(BinaryOp::FloorDiv,
                                     b_.binary(BinaryOp::Add, count, b_.i64(kPrangeReductionBlock - 1)), G),
                           "nblocks");

    struct Red {
      int var;
      DType t;
      AccKind kind;
      const LExpr* init;
      int part;
    };
    std::vector<Red> reds;
    for (const LoopReduction& r : reductions) {
      DType t = k_.var_types[size_t(r.var)];
      Red red{r.var, t, r.kind, bind(at, b_.var(r.var, t), "init"), -1};
      k_.buffers.push_back(Buffer{fmt::format("part_{}", k_.var_names[size_t(r.var)]), BufferKind::Temp, t, 1, true});
      red.part = int(k_.buffers.size()) - 1;
      LStmt alloc{LStmtKind::AllocTemp};
      alloc.buf = red.part;
      alloc.args = {nb};
      at.push_back(alloc);
      reds.push_back(red);
    }

    int bv = new_var(DType::I64, "block");
    int tv = new_var(DType::I64, "trip");
    const LExpr* first = b_.binary(BinaryOp::Mul, b_.var(bv, DType::I64), G);
    LStmt inner{LStmtKind::For};
    inner.var = tv;
    inner.lo = first;
    inner.hi = b_.binary(BinaryOp::Minimum, b_.binary(BinaryOp::Add, first, G), count);
    if (!f.step) {  // the loop variable itself counts (its accesses stay affine in it)
      inner.var = f.var;
      inner.lo = b_.binary(BinaryOp::Add, lo, inner.lo);
      inner.hi = b_.binary(BinaryOp::Add, lo, inner.hi);
    } else {
      assign(inner.body, f.var, b_.binary(BinaryOp::Add, lo, b_.binary(BinaryOp::Mul, b_.var(tv, DType::I64), step)));
    }
    for (auto& st : f.body) inner.body.push_back(std::move(st));
    LStmt blocks{LStmtKind::For};
    blocks.var = bv;
    blocks.lo = zero;
    blocks.hi = nb;
    blocks.parallel = true;
    for (auto& r : reds) assign(blocks.body, r.var, identity(r.kind, r.t));
    blocks.body.push_back(std::move(inner));
    for (auto& r : reds) {
      LStmt st{LStmtKind::Store};
      st.buf = r.part;
      st.args = {b_.var(bv, DType::I64)};
      st.value = b_.var(r.var, r.t);
      blocks.body.push_back(st);
    }
    at.push_back(std::move(blocks));
    for (auto& r : reds) {
      int kv = new_var(DType::I64, "k");
      int acc = new_var(r.t, "acc");
      LStmt red{LStmtKind::ReduceLoop};
      red.var = kv;
      red.hi = nb;
      red.accs.push_back(Accumulator{r.kind, r.t, b_.load(r.part, r.t, {b_.var(kv, DType::I64)}), acc});
      at.push_back(std::move(red));
      BinaryOp op = r.kind == AccKind::Sum ? BinaryOp::Add : r.kind == AccKind::Prod ? BinaryOp::Mul
                  : r.kind == AccKind::Min ? BinaryOp::Minimum : BinaryOp::Maximum;
      assign(at, r.var, b_.binary(op, r.init, b_.var(acc, r.t)));
    }
  }

  Kernel& k_;
  LoopBuilder& b_;
};

}  // namespace

void parallelize_pranges(Kernel& k) { Parallelizer(k).block(k.body, false); }

}  // namespace numjit
