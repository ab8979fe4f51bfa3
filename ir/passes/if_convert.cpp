// If-conversion (see if_convert.h).
#include "ir/passes/if_convert.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "ir/loop_analysis.h"

namespace numjit {

namespace {

constexpr int kMaxSpeculated = 48;  // operations computed whatever the condition

class IfConverter {
 public:
  explicit IfConverter(Kernel& k) : k_(k), b_(*k.exprs), escaping_(escaping_vars(k)) {}

  void block(std::vector<LStmt>& body, bool in_loop) {
    std::vector<LStmt> out;
    for (LStmt& s : body) {
      if (in_loop && s.kind == LStmtKind::If && convertible(s)) {
        convert(s, out);
        continue;
      }
      block(s.body, in_loop || is_loop(s));
      block(s.orelse, in_loop || is_loop(s));
      out.push_back(std::move(s));
    }
    body = std::move(out);
  }

 private:
  bool convertible(const LStmt& s) {
    int nodes = 0;
    std::unordered_set<const LExpr*> seen;
    bool ok = true;
    auto safe = [&](const LExpr* e) {
      ++nodes;
      if (e->kind == LExprKind::Load) ok = false;
      if (e->kind == LExprKind::Binary && !is_float(e->ops[0]->dtype)) {
        auto op = BinaryOp(e->op);
        if (op == BinaryOp::Div || op == BinaryOp::FloorDiv || op == BinaryOp::Mod || op == BinaryOp::Pow) ok = false;
      }
    };
    for (const auto* branch : {&s.body, &s.orelse})
      for (const LStmt& st : *branch) {
        if (st.kind != LStmtKind::Assign) return false;
        for_each_expr(st.value, seen, safe);
      }
    return ok && nodes <= kMaxSpeculated && !s.body.empty();
  }

  // `e` with the variables of `vals` replaced by their values there.
  const LExpr* subst(const LExpr* e, const std::map<int, const LExpr*>& vals,
                     std::unordered_map<const LExpr*, const LExpr*>& memo) {
    if (auto it = memo.find(e); it != memo.end()) return it->second;
    const LExpr* r = e;
    if (e->kind == LExprKind::Var) {
      if (auto v = vals.find(e->var); v != vals.end()) r = v->second;
    } else if (!e->ops.empty()) {
      std::vector<const LExpr*> ops;
      bool changed = false;
      for (const LExpr* o : e->ops) {
        ops.push_back(subst(o, vals, memo));
        changed |= ops.back() != o;
      }
      if (changed) r = b_.rebuild(*e, std::move(ops));
    }
    memo[e] = r;
    return r;
  }

  // What each variable a branch assigns holds at its end, in terms of the
  // values before the if; `order` lists the variables as first assigned.
  std::map<int, const LExpr*> effect(const std::vector<LStmt>& branch, std::vector<int>& order) {
    std::map<int, const LExpr*> vals;
    for (const LStmt& st : branch) {
      std::unordered_map<const LExpr*, const LExpr*> memo;
      const LExpr* v = subst(st.value, vals, memo);
      if (!vals.count(st.var) && std::find(order.begin(), order.end(), st.var) == order.end()) order.push_back(st.var);
      vals[st.var] = v;
    }
    return vals;
  }

  // select(c, t, f) for variable x, with x's own running update kept out
  // of the select: x op e (op + - *) against x is x op select(c, e, identity).
  const LExpr* choose(const LExpr* c, const LExpr* t, const LExpr* f, const LExpr* x) {
    auto update = [&](const LExpr* u, bool then_side) -> const LExpr* {
      if (u->kind != LExprKind::Binary) return nullptr;
      auto op = BinaryOp(u->op);
      bool fl = is_float(u->dtype);
      const LExpr* e = nullptr;
      const LExpr* id = nullptr;
      if (op == BinaryOp::Add && u->ops[0] == x) e = u->ops[1];
      else if (op == BinaryOp::Add && u->ops[1] == x) e = u->ops[0];
      else if ((op == BinaryOp::Sub || op == BinaryOp::Mul) && u->ops[0] == x) e = u->ops[1];
      if (!e || u->dtype == DType::Bool) return nullptr;
      if (op == BinaryOp::Add) id = fl ? b_.constant(u->dtype, -0.0, 0) : b_.constant(u->dtype, 0, 0);
      if (op == BinaryOp::Sub) id = b_.constant(u->dtype, 0, 0);
      if (op == BinaryOp::Mul) id = b_.constant(u->dtype, 1, 1);
      const LExpr* sel = then_side ? b_.select(c, e, id) : b_.select(c, id, e);
      return b_.binary(op, x, sel);
    };
    if (f == x)
      if (const LExpr* r = update(t, true)) return r;
    if (t == x)
      if (const LExpr* r = update(f, false)) return r;
    return b_.select(c, t, f);
  }

  void convert(LStmt& s, std::vector<LStmt>& out) {
    std::vector<int> order;
    auto then_vals = effect(s.body, order);
    auto else_vals = effect(s.orelse, order);
    // The condition and every new value, from the values before the if,
    // into fresh variables first, then the assignments: no variable is
    // read after it was overwritten.
    const LExpr* c = fresh(s.value, out);
    std::vector<std::pair<int, const LExpr*>> news;
    std::erase_if(order, [&](int v) { return !escaping_.count(v); });
    for (int v : order) {
      const LExpr* x = b_.var(v, k_.var_types[size_t(v)]);
      const LExpr* t = then_vals.count(v) ? then_vals[v] : x;
      const LExpr* f = else_vals.count(v) ? else_vals[v] : x;
      news.push_back({v, order.size() == 1 ? choose(c, t, f, x) : fresh(choose(c, t, f, x), out)});
    }
    for (auto& [v, e] : news) {
      LStmt a{LStmtKind::Assign};
      a.var = v;
      a.value = e;
      out.push_back(a);
    }
  }

  const LExpr* fresh(const LExpr* e, std::vector<LStmt>& out) {
    if (e->kind == LExprKind::Var || e->kind == LExprKind::Const) return e;
    int v = int(k_.var_types.size());
    k_.var_types.push_back(e->dtype);
    k_.var_names.push_back(fmt_name(v));
    LStmt a{LStmtKind::Assign};
    a.var = v;
    a.value = e;
    out.push_back(a);
    return b_.var(v, e->dtype);
  }

  static std::string fmt_name(int v) { return "sel" + std::to_string(v); }

  Kernel& k_;
  LoopBuilder& b_;
  std::set<int> escaping_;  // escaping_vars(): only these carry values out of a branch
};

}  // namespace

void if_convert(Kernel& k) { IfConverter(k).block(k.body, false); }

}  // namespace numjit
