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
        if (!s.parallel) {
          s.serial_reason = s.step ? "its step is not 1" : why_serial(s);
          s.parallel = s.serial_reason.empty();
        }
        continue;  // nothing inside a loop
      }
      if (is_loop(s)) continue;
      block(s.body);
      block(s.orelse);
    }
  }

 private:
  // Why `loop`'s iterations may depend on each other; empty when they
  // are independent.
  std::string why_serial(const LStmt& loop) {
    // What the body may hold: assignments, stores, ifs, checks, and loops
    // of its own (serial; a break or continue inside one leaves only it).
    std::string why;
    std::map<int, int> assigned;  // variable -> assignments (inner loop variables count)
    walk_stmts(loop.body, [&](const LStmt& s, int loops) {
      switch (s.kind) {
        case LStmtKind::Assign: ++assigned[s.var]; break;
        case LStmtKind::For:
          if (s.parallel) why = "a parallel loop is inside it";
          assigned[s.var] += 2;
          break;
        case LStmtKind::Break:
        case LStmtKind::Continue:
          if (loops == 0) why = "it breaks or continues";
          break;
        case LStmtKind::Store:
        case LStmtKind::If:
        case LStmtKind::Check:
        case LStmtKind::While: break;
        case LStmtKind::Return: why = "it returns"; break;
        case LStmtKind::ReduceLoop: why = "an array reduction is inside it"; break;
        default: why = "it allocates an array"; break;
      }
    });
    if (!why.empty()) return why;
    if (assigned.count(loop.var)) return "it assigns its loop variable";
    // The body's variables are private to an iteration: each read follows
    // an assignment of the same iteration, and none is read after the loop
    // except after an assignment of its own (escaping_vars).
    std::set<int> inside;
    for (auto [v, n] : assigned) inside.insert(v);
    std::set<int> defined;
    if (int v = assigned_before_read(loop.body, defined, inside); v >= 0)
      return fmt::format("`{}` is carried from one iteration to the next", user_name(v));
    std::set<int> outside;
    reads_outside(k_.body, &loop, outside);
    for (int v : inside)
      if (outside.count(v) && escaping_.count(v)) return fmt::format("`{}` is read after the loop", user_name(v));
    // Index expressions in terms of the loop variable: the body's
    // single-assignment temporaries substituted.
    std::map<int, const LExpr*> defs;
    walk_stmts(loop.body, [&](const LStmt& s, int) {
      if (s.kind == LStmtKind::Assign && assigned[s.var] == 1) defs[s.var] = s.value;
    });
    // Stores: each buffer's first index is one expression, affine in the
    // loop variable and otherwise invariant, so iterations write disjoint
    // rows (elements, for one axis).
    std::map<int, const LExpr*> rows;  // buffer -> its first index
    bool writes_input = false;
    walk_stmts(loop.body, [&](const LStmt& s, int) {
      if (s.kind != LStmtKind::Store || !why.empty()) return;
      const Buffer& b = k_.buffers[size_t(s.buf)];
      const LExpr* row = b.rank < 1 || s.args.empty() ? nullptr : row_of(s.args[0], defs, loop);
      int64_t coef = 0;
      if (!row || !index_.affine(row, loop.var, coef) || coef == 0 || reads_any(row, inside))
        why = fmt::format("its stores into `{}` do not move with `{}` on the first axis", b.name,
                          user_name(loop.var));
      auto [it, fresh] = rows.emplace(s.buf, row);
      if (why.empty() && !fresh && it->second != row)
        why = fmt::format("it stores into `{}` at two different rows", b.name);
      writes_input |= b.kind == BufferKind::Input;
    });
    if (!why.empty()) return why;
    // Loads: of a stored buffer only the iteration's own row; of another
    // argument none, when an argument is written (they may overlap).
    std::unordered_set<const LExpr*> seen;
    walk_stmts(loop.body, [&](const LStmt& s, int) {
      stmt_exprs(s, [&](const LExpr* root) {
        for_each_expr(root, seen, [&](const LExpr* e) {
          if (e->kind != LExprKind::Load) return;
          if (!why.empty()) return;
          const Buffer& b = k_.buffers[size_t(e->buf)];
          auto st = rows.find(e->buf);
          if (st != rows.end()) {
            if (e->ops.empty() || row_of(e->ops[0], defs, loop) != st->second)
              why = fmt::format("it reads elements of `{}` that other iterations may write", b.name);
          } else if (writes_input && b.kind == BufferKind::Input && b.rank > 0) {
            why = fmt::format("it writes an argument while reading `{}`, which may overlap it", b.name);
          }
        });
      });
    });
    return why;
  }

  // A variable's name as the user wrote it (the loop IR numbers them: s.1).
  std::string user_name(int v) {
    std::string n = k_.var_names[size_t(v)];
    size_t dot = n.rfind('.');
    if (dot != std::string::npos && dot + 1 < n.size() && n.find_first_not_of("0123456789", dot + 1) == std::string::npos)
      n.erase(dot);
    return n;
  }

  // A first index with the temporaries resolved; the wrap of a negative
  // index, select(i < 0, i + n, i), is i itself where the loop counts up
  // from a constant >= 0 (a checked loop's index has that form).
  const LExpr* row_of(const LExpr* index, const std::map<int, const LExpr*>& defs, const LStmt& loop) {
    const LExpr* e = resolve(index, defs, 0);
    auto is_var = [&](const LExpr* x) { return x->kind == LExprKind::Var && x->var == loop.var; };
    if (e && e->kind == LExprKind::Select && is_var(e->ops[2]) && e->ops[0]->kind == LExprKind::Binary &&
        BinaryOp(e->ops[0]->op) == BinaryOp::Lt && is_var(e->ops[0]->ops[0]) &&
        e->ops[0]->ops[1]->kind == LExprKind::Const && e->ops[0]->ops[1]->ival == 0 && !loop.step &&
        loop.lo->kind == LExprKind::Const && loop.lo->ival >= 0)
      return e->ops[2];
    return e;
  }

  // Definite assignment over `body`: a variable of `inside` that some
  // statement reads before every path has assigned it in this iteration,
  // or -1 (`defined`: those assigned on every path so far). A loop may run
  // no trip, so it defines nothing after it; its body sees its own variable.
  int assigned_before_read(const std::vector<LStmt>& body, std::set<int>& defined, const std::set<int>& inside) {
    for (const LStmt& s : body) {
      for (int v : vars_read_by(s))
        if (inside.count(v) && !defined.count(v)) return v;
      if (s.kind == LStmtKind::Assign) {
        defined.insert(s.var);
      } else if (s.kind == LStmtKind::If) {
        std::set<int> then = defined, other = defined;
        if (int v = assigned_before_read(s.body, then, inside); v >= 0) return v;
        if (int v = assigned_before_read(s.orelse, other, inside); v >= 0) return v;
        std::set<int> both;
        for (int v : then)
          if (other.count(v)) both.insert(v);
        defined = std::move(both);
      } else if (is_loop(s)) {
        std::set<int> in = defined;
        if (s.kind == LStmtKind::For) in.insert(s.var);
        if (int v = assigned_before_read(s.body, in, inside); v >= 0) return v;
      }
    }
    return -1;
  }

  // The variables read by statements of `body` outside the statement `skip`.
  void reads_outside(const std::vector<LStmt>& body, const LStmt* skip, std::set<int>& out) {
    walk_stmts(body, [&](const LStmt& s, int) {
      if (&s == skip) return false;
      for (int v : vars_read_by(s)) out.insert(v);
      return true;
    });
  }

  bool reads_any(const LExpr* e, const std::set<int>& vars) {
    std::unordered_set<const LExpr*> seen;
    bool found = false;
    for_each_expr(e, seen, [&](const LExpr* x) { found |= x->kind == LExprKind::Var && vars.count(x->var); });
    return found;
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
