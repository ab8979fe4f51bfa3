// prange parallelisation (see parallelize.h).
#include "ir/passes/parallelize.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <unordered_set>

#include "ir/loop_analysis.h"
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

namespace {

class IndependentLoops {
 public:
  explicit IndependentLoops(Kernel& k) : k_(k), escaping_(escaping_vars(k)) {}

  // Marks the loops of `body` that are not inside another loop.
  void block(std::vector<LStmt>& body) {
    for (LStmt& s : body) {
      if (s.kind == LStmtKind::For) {
        if (!s.step && !s.parallel && independent(s)) s.parallel = true;
        continue;  // nothing inside a loop
      }
      if (is_loop(s)) continue;
      block(s.body);
      block(s.orelse);
    }
  }

 private:
  bool independent(const LStmt& loop) {
    bool ok = true;
    std::map<int, int> assigned;
    walk_stmts(loop.body, [&](const LStmt& s, int) {
      switch (s.kind) {
        case LStmtKind::Assign: ++assigned[s.var]; break;
        case LStmtKind::Store:
        case LStmtKind::If:
        case LStmtKind::Check: break;
        default: ok = false; break;  // loops, jumps, allocations
      }
    });
    if (!ok) return false;
    for (auto [v, n] : assigned)
      if (v == loop.var || escaping_.count(v)) return false;
    // Index expressions in terms of the loop variable: the body's
    // single-assignment temporaries substituted.
    std::map<int, const LExpr*> defs;
    walk_stmts(loop.body, [&](const LStmt& s, int) {
      if (s.kind == LStmtKind::Assign && assigned[s.var] == 1) defs[s.var] = s.value;
    });
    std::map<int, std::vector<const LExpr*>> stores;  // buffer -> its one index
    bool writes_input = false;
    walk_stmts(loop.body, [&](const LStmt& s, int) {
      if (s.kind != LStmtKind::Store) return;
      const Buffer& b = k_.buffers[size_t(s.buf)];
      if (b.rank < 1 || s.args.empty()) {
        ok = false;
        return;
      }
      std::vector<const LExpr*> idx;
      for (const LExpr* a : s.args) idx.push_back(resolve(a, defs, 0));
      int64_t coef = 0;
      if (!idx[0] || !index_.affine(idx[0], loop.var, coef) || coef == 0) ok = false;
      for (size_t a = 1; a < idx.size(); ++a)
        if (!idx[a] || index_.depends(idx[a], loop.var)) ok = false;
      auto [it, fresh] = stores.emplace(s.buf, idx);
      if (!fresh && it->second != idx) ok = false;
      writes_input |= b.kind == BufferKind::Input;
    });
    if (!ok) return false;
    // Loads: of a stored buffer only its element of this iteration; of
    // another argument none, when an argument is written.
    std::unordered_set<const LExpr*> seen;
    walk_stmts(loop.body, [&](const LStmt& s, int) {
      stmt_exprs(s, [&](const LExpr* root) {
        for_each_expr(root, seen, [&](const LExpr* e) {
          if (e->kind != LExprKind::Load) return;
          auto st = stores.find(e->buf);
          if (st != stores.end()) {
            std::vector<const LExpr*> idx;
            for (const LExpr* a : e->ops) idx.push_back(resolve(a, defs, 0));
            if (idx != st->second) ok = false;
          } else if (writes_input && k_.buffers[size_t(e->buf)].kind == BufferKind::Input &&
                     k_.buffers[size_t(e->buf)].rank > 0) {
            ok = false;
          }
        });
      });
    });
    return ok;
  }

  // `e` with the temporaries of `defs` replaced by their values (null when
  // that nests too deep).
  const LExpr* resolve(const LExpr* e, const std::map<int, const LExpr*>& defs, int depth) {
    if (depth > 16) return nullptr;
    if (e->kind == LExprKind::Var) {
      auto d = defs.find(e->var);
      return d == defs.end() ? e : resolve(d->second, defs, depth + 1);
    }
    if (e->ops.empty()) return e;
    std::vector<const LExpr*> ops;
    for (const LExpr* o : e->ops) {
      const LExpr* r = resolve(o, defs, depth + 1);
      if (!r) return nullptr;
      ops.push_back(r);
    }
    return ops == e->ops ? e : k_.exprs->rebuild(*e, std::move(ops));
  }

  Kernel& k_;
  std::set<int> escaping_;
  IndexAnalysis index_;
};

}  // namespace

void parallelize_independent_loops(Kernel& k) { IndependentLoops(k).block(k.body); }

}  // namespace numjit
