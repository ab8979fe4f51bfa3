// Bounds-check versioning (see bounds.h).
#include "ir/passes/bounds.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <unordered_set>

namespace numjit {

namespace {

/** Distinct indices a versioned loop may check up front. */
constexpr size_t kMaxGuardTerms = 32;

struct Versioner {
  Kernel& k;
  LoopBuilder& b;

  // What a loop body writes: variables assigned and buffers allocated.
  struct Writes {
    std::set<int> vars, bufs;
    bool loops = false;  // a nested For / While / ReduceLoop
    bool jumps = false;  // Return (leaves the kernel: the copy would too, but keep it simple)
  };
  static void writes(const std::vector<LStmt>& body, Writes& w) {
    walk_stmts(body, [&](const LStmt& s, int) {
      if (s.kind == LStmtKind::Assign) w.vars.insert(s.var);
      if (s.kind == LStmtKind::AllocResult || s.kind == LStmtKind::AllocTemp) w.bufs.insert(s.buf);
      w.loops |= is_loop(s);
      w.jumps |= s.kind == LStmtKind::Return;
    });
  }

  static bool invariant(const LExpr* e, const Writes& w, int loop_var) {
    switch (e->kind) {
      case LExprKind::Load:
      case LExprKind::Random: return false;
      case LExprKind::Var: return e->var != loop_var && !w.vars.count(e->var);
      case LExprKind::Dim: return !w.bufs.count(e->buf);
      default: break;
    }
    for (auto* o : e->ops)
      if (!invariant(o, w, loop_var)) return false;
    return true;
  }

  // Variables of the body assigned once, at its top level, to a value that
  // depends only on i and invariants: (the value, its statement's position).
  struct Def {
    const LExpr* value;
    size_t pos;
  };
  std::map<int, Def> defs;

  // `e` with the variables defined before statement `limit` replaced by
  // their values.
  const LExpr* resolve(const LExpr* e, size_t limit = SIZE_MAX) {
    if (e->kind == LExprKind::Var) {
      auto d = defs.find(e->var);
      return d == defs.end() || d->second.pos >= limit ? e : d->second.value;
    }
    if (e->ops.empty()) return e;
    std::vector<const LExpr*> ops;
    for (auto* o : e->ops) ops.push_back(resolve(o, limit));
    switch (e->kind) {
      case LExprKind::Unary: return b.unary(UnaryOp(e->op), ops[0]);
      case LExprKind::Binary: return b.binary(BinaryOp(e->op), ops[0], ops[1]);
      case LExprKind::Cast: return b.cast(ops[0], e->dtype);
      default: return e;
    }
  }

  // raw built from i and invariants by + and - with i counted once and
  // positively (i, i + c, (i - w) + 1, ...), or invariant: monotonic in i.
  // 0: invariant, 1: i + invariant, -1: neither.
  static int linear(const LExpr* e, const Writes& w, int var) {
    if (e->kind == LExprKind::Var && e->var == var) return 1;
    if (invariant(e, w, var)) return 0;
    if (e->kind == LExprKind::Binary && (BinaryOp(e->op) == BinaryOp::Add || BinaryOp(e->op) == BinaryOp::Sub)) {
      int a = linear(e->ops[0], w, var), b = linear(e->ops[1], w, var);
      if (a < 0 || b < 0) return -1;
      if (BinaryOp(e->op) == BinaryOp::Sub) return b == 0 ? a : -1;
      return a + b <= 1 ? a + b : -1;
    }
    return -1;
  }

  // The index at i = at (for an i-dependent index).
  const LExpr* at(const LExpr* raw, int var, const LExpr* i) {
    if (raw->kind == LExprKind::Var && raw->var == var) return i;
    std::vector<const LExpr*> ops;
    for (auto* o : raw->ops) ops.push_back(at(o, var, i));
    switch (raw->kind) {
      case LExprKind::Binary: return b.binary(BinaryOp(raw->op), ops[0], ops[1]);
      case LExprKind::Unary: return b.unary(UnaryOp(raw->op), ops[0]);
      case LExprKind::Cast: return b.cast(ops[0], raw->dtype);
      case LExprKind::Select: return b.select(ops[0], ops[1], ops[2]);
      case LExprKind::Math: return b.math(MathFn(raw->op), raw->dtype, ops[0]);
      default: return raw;
    }
  }

  struct Covered {
    const LExpr* raw;    // as the check names it
    const LExpr* len;
    const LExpr* value;  // raw in terms of i and invariants
  };

  // Collects the index checks of `body` (the loop body's statement `top`
  // and what it contains) that can be covered.
  bool checks(const std::vector<LStmt>& body, const Writes& w, int var, std::vector<Covered>& out, size_t top,
              bool at_top) {
    for (size_t n = 0; n < body.size(); ++n) {
      const LStmt& s = body[n];
      size_t here = at_top ? n : top;
      // Defined variables count only after their definition.
      auto resolved = [&](const LExpr* raw) { return resolve(raw, here); };
      auto coverable = [&](const LExpr* raw, const LExpr* len, const LExpr*& value) {
        value = resolved(raw);
        return linear(value, w, var) >= 0 && invariant(len, w, var);
      };
      if (s.kind == LStmtKind::Check && s.check == CheckKind::Index) {
        // A check of a data-dependent index (h[b] with b read from memory)
        // stays in the fast copy, where it fails exactly as here: the covered
        // checks, which it drops, cannot fail there.
        const LExpr* value;
        if (coverable(s.args[0], s.args[2], value)) out.push_back({s.args[0], s.args[2], value});
      }
      // Wraps of unchecked indices (boundscheck off) are dropped too when they
      // can be covered; the others stay.
      std::vector<std::pair<const LExpr*, const LExpr*>> found;
      std::unordered_set<const LExpr*> seen;
      stmt_exprs(s, [&](const LExpr* root) { for_each_expr(root, seen, [&](const LExpr* e) { find_wrap(e, found); }); });
      for (auto& [raw, len] : found) {
        const LExpr* value;
        if (coverable(raw, len, value)) out.push_back({raw, len, value});
      }
      if (!checks(s.body, w, var, out, here, false) || !checks(s.orelse, w, var, out, here, false)) return false;
    }
    return true;
  }

  // select(raw < 0, raw + len, raw): (raw, len).
  static void find_wrap(const LExpr* e, std::vector<std::pair<const LExpr*, const LExpr*>>& out) {
    if (e->kind == LExprKind::Select && e->ops[0]->kind == LExprKind::Binary && BinaryOp(e->ops[0]->op) == BinaryOp::Lt &&
        e->ops[0]->ops[1]->kind == LExprKind::Const && e->ops[0]->ops[1]->ival == 0 && e->ops[2] == e->ops[0]->ops[0] &&
        e->ops[1]->kind == LExprKind::Binary && BinaryOp(e->ops[1]->op) == BinaryOp::Add && e->ops[1]->ops[0] == e->ops[2])
      out.push_back({e->ops[2], e->ops[1]->ops[1]});
  }

  // Finds the body's defined variables (see Def).
  void find_defs(const std::vector<LStmt>& body, const Writes& w, int var) {
    defs.clear();
    std::map<int, int> count;
    walk_stmts(body, [&](const LStmt& s, int) {
      if (s.kind == LStmtKind::Assign) ++count[s.var];
    });
    for (size_t n = 0; n < body.size(); ++n) {
      const LStmt& s = body[n];
      if (s.kind != LStmtKind::Assign || count[s.var] != 1) continue;
      const LExpr* value = resolve(s.value);
      if (invariant_or_i(value, w, var)) defs[s.var] = Def{value, n};
    }
  }

  static bool invariant_or_i(const LExpr* e, const Writes& w, int var) {
    if (e->kind == LExprKind::Var && e->var == var) return true;
    if (e->kind == LExprKind::Load || e->kind == LExprKind::Random) return false;
    if (e->kind == LExprKind::Var) return !w.vars.count(e->var);
    if (e->kind == LExprKind::Dim) return !w.bufs.count(e->buf);
    for (auto* o : e->ops)
      if (!invariant_or_i(o, w, var)) return false;
    return true;
  }

  // The fast copy: covered checks removed, their wraps select(raw < 0, raw + len, raw) -> raw.
  struct Fast {
    LoopBuilder& b;
    std::set<const LExpr*> raws;
    std::map<const LExpr*, const LExpr*> memo;
    const LExpr* ex(const LExpr* e) {
      if (!e) return e;
      auto it = memo.find(e);
      if (it != memo.end()) return it->second;
      const LExpr* r = e;
      if (e->kind == LExprKind::Select && e->ops[0]->kind == LExprKind::Binary &&
          BinaryOp(e->ops[0]->op) == BinaryOp::Lt && raws.count(e->ops[0]->ops[0]) && e->ops[2] == e->ops[0]->ops[0] &&
          e->ops[0]->ops[1]->kind == LExprKind::Const && e->ops[0]->ops[1]->ival == 0) {
        r = e->ops[2];
      } else if (!e->ops.empty()) {
        std::vector<const LExpr*> ops;
        bool same = true;
        for (auto* o : e->ops) {
          ops.push_back(ex(o));
          same &= ops.back() == o;
        }
        if (!same) {
          switch (e->kind) {
            case LExprKind::Load: r = b.load(e->buf, e->dtype, ops); break;
            case LExprKind::Unary: r = b.unary(UnaryOp(e->op), ops[0]); break;
            case LExprKind::Binary: r = b.binary(BinaryOp(e->op), ops[0], ops[1]); break;
            case LExprKind::Math: r = b.math(MathFn(e->op), e->dtype, ops[0]); break;
            case LExprKind::Cast: r = b.cast(ops[0], e->dtype); break;
            case LExprKind::Select: r = b.select(ops[0], ops[1], ops[2]); break;
            case LExprKind::Random: r = b.random(e->op, ops[0], ops[1]); break;
            default: break;
          }
        }
      }
      memo[e] = r;
      return r;
    }
    std::vector<LStmt> stmts(const std::vector<LStmt>& body) {
      std::vector<LStmt> out;
      for (auto& s : body) {
        if (s.kind == LStmtKind::Check && s.check == CheckKind::Index && raws.count(s.args[0])) continue;
        LStmt c = s;
        c.value = ex(s.value);
        c.lo = ex(s.lo);
        c.hi = ex(s.hi);
        c.step = ex(s.step);
        for (auto& a : c.args) a = ex(a);
        for (auto& a : c.accs) a.value = ex(a.value);
        c.body = stmts(s.body);
        c.orelse = stmts(s.orelse);
        out.push_back(std::move(c));
      }
      return out;
    }
  };

  void block(std::vector<LStmt>& body) {
    for (auto& s : body) {
      block(s.body);
      block(s.orelse);
      if (s.kind == LStmtKind::For) version(s);
    }
  }

  void version(LStmt& loop) {
    if (loop.step && !(loop.step->kind == LExprKind::Const && loop.step->ival == 1)) return;
    Writes w;
    writes(loop.body, w);
    if (w.loops || w.jumps || w.vars.count(loop.var)) return;
    std::vector<Covered> cov;
    find_defs(loop.body, w, loop.var);
    if (!checks(loop.body, w, loop.var, cov, 0, true) || cov.empty()) return;
    if (!invariant(loop.lo, w, loop.var) || !invariant(loop.hi, w, loop.var)) return;
    // One guard term per distinct index; a loop of many accesses keeps its
    // checks (the guard would be a deep expression, and such a loop is big
    // enough that the copy costs more compile time than it saves).
    std::vector<std::pair<const LExpr*, const LExpr*>> distinct;  // in order of appearance
    for (auto& c : cov)
      if (std::find(distinct.begin(), distinct.end(), std::make_pair(c.value, c.len)) == distinct.end())
        distinct.push_back({c.value, c.len});
    if (distinct.size() > kMaxGuardTerms) return;
    // In range for i = lo and i = hi - 1 (affine indices are monotonic in i).
    const LExpr* last = b.binary(BinaryOp::Sub, loop.hi, b.i64(1));
    const LExpr* ok = b.binary(BinaryOp::Le, loop.hi, loop.lo);  // an empty loop checks nothing
    const LExpr* all = b.constant(DType::Bool, 0, 1);
    Fast fast{b, {}, {}};
    for (auto& c : cov) fast.raws.insert(c.raw);
    for (auto& [value, len] : distinct) {
      Covered c{nullptr, len, value};
      for (const LExpr* i : {loop.lo, last}) {
        const LExpr* x = at(c.value, loop.var, i);
        all = b.binary(BinaryOp::BitAnd, all,
                       b.binary(BinaryOp::BitAnd, b.binary(BinaryOp::Ge, x, b.i64(0)), b.binary(BinaryOp::Lt, x, c.len)));
      }
    }
    ok = b.binary(BinaryOp::BitOr, ok, all);
    LStmt quick = loop;
    quick.body = fast.stmts(loop.body);
    LStmt v{LStmtKind::If};
    v.value = ok;
    v.body.push_back(std::move(quick));
    v.orelse.push_back(std::move(loop));
    loop = std::move(v);
  }
};

}  // namespace

void version_bounds_checks(Kernel& k) {
  Versioner v{k, *k.exprs};
  v.block(k.body);
}

}  // namespace numjit
