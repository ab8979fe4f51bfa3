// Index analysis (see loop_analysis.h).
#include "ir/loop_analysis.h"

#include <unordered_set>

namespace numjit {

bool IndexAnalysis::depends(const LExpr* e, int var) {
  if (e->kind == LExprKind::Var) return e->var == var;
  auto key = std::make_pair(e, var);
  auto it = depends_.find(key);
  if (it != depends_.end()) return it->second;
  bool r = false;
  for (auto* o : e->ops)
    if ((r = depends(o, var))) break;
  depends_.emplace(key, r);
  return r;
}

bool IndexAnalysis::affine(const LExpr* e, int var, int64_t& coef) {
  auto key = std::make_pair(e, var);
  auto it = affine_.find(key);
  if (it == affine_.end()) {
    int64_t c = 0;
    bool ok = affine_impl(e, var, c);
    it = affine_.emplace(key, std::make_pair(ok, c)).first;
  }
  coef = it->second.second;
  return it->second.first;
}

bool IndexAnalysis::affine_impl(const LExpr* e, int var, int64_t& coef) {
  switch (e->kind) {
    case LExprKind::Var: coef = e->var == var ? 1 : 0; return true;
    case LExprKind::Const:
    case LExprKind::Dim: coef = 0; return true;
    case LExprKind::Binary: {
      int64_t ca, cb;
      auto op = BinaryOp(e->op);
      if (e->dtype != DType::I64) return depends(e, var) ? false : (coef = 0, true);
      if (op == BinaryOp::Add || op == BinaryOp::Sub) {
        if (!affine(e->ops[0], var, ca) || !affine(e->ops[1], var, cb)) return false;
        coef = op == BinaryOp::Add ? ca + cb : ca - cb;
        return true;
      }
      if (op == BinaryOp::Mul) {
        if (!affine(e->ops[0], var, ca) || !affine(e->ops[1], var, cb)) return false;
        if (ca != 0 && cb != 0) return false;
        const LExpr* other = ca != 0 ? e->ops[1] : e->ops[0];
        if (ca == 0 && cb == 0) return coef = 0, true;
        if (other->kind != LExprKind::Const) return false;
        coef = (ca != 0 ? ca : cb) * other->ival;
        return true;
      }
      if (!depends(e, var)) return coef = 0, true;
      return false;
    }
    default:
      if (!depends(e, var)) return coef = 0, true;
      return false;
  }
}

bool IndexAnalysis::vectorizable(const LExpr* e, int var) {
  auto key = std::make_pair(e, var);
  auto it = vectorizable_.find(key);
  if (it != vectorizable_.end()) return it->second;
  bool r = vectorizable_impl(e, var);
  vectorizable_.emplace(key, r);
  return r;
}

bool IndexAnalysis::vectorizable_impl(const LExpr* e, int var) {
  if (e->kind == LExprKind::Load) {
    for (auto* o : e->ops) {
      int64_t c;
      if (!affine(o, var, c)) return false;
    }
    return true;
  }
  if (e->kind == LExprKind::Var && e->var != var) return true;
  for (auto* o : e->ops)
    if (!vectorizable(o, var)) return false;
  return true;
}

std::vector<int> vars_read_by(const LStmt& s) {
  std::vector<int> vars;
  std::unordered_set<const LExpr*> seen;
  stmt_exprs(s, [&](const LExpr* root) {
    for_each_expr(root, seen, [&](const LExpr* e) {
      if (e->kind == LExprKind::Var) vars.push_back(e->var);
    });
  });
  return vars;
}

namespace {

// Returns what `list` writes; adds to `escaping` (see escaping_vars).
std::set<int> scan_list(const std::vector<LStmt>& list, std::set<int>& escaping) {
  std::map<int, bool> plain;  // variable -> its last writer here is a plain assignment
  std::set<int> written;
  for (const LStmt& st : list) {
    for (int v : vars_read_by(st))
      if (!plain[v]) escaping.insert(v);
    if (st.kind == LStmtKind::Assign) {
      plain[st.var] = true;
      written.insert(st.var);
    }
    std::set<int> inner = scan_list(st.body, escaping);
    inner.merge(scan_list(st.orelse, escaping));
    if (st.kind == LStmtKind::For || st.kind == LStmtKind::ReduceLoop) inner.insert(st.var);
    for (int v : inner) {
      plain[v] = false;
      written.insert(v);
    }
    for (const Accumulator& a : st.accs) {  // a reduction defines its results
      plain[a.result_var] = true;
      written.insert(a.result_var);
    }
  }
  return written;
}

}  // namespace

std::set<int> escaping_vars(const Kernel& k) {
  std::set<int> escaping;
  scan_list(k.body, escaping);
  return escaping;
}

}  // namespace numjit
