// Index analysis (see loop_analysis.h).
#include "ir/loop_analysis.h"

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

}  // namespace numjit
