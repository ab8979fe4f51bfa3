// Inlining loop IR of one kernel into another (see inline.h).
#include "ir/passes/inline.h"

namespace numjit {

bool contains_return(const std::vector<LStmt>& body) {
  return any_stmt(body, [](const LStmt& s) { return s.kind == LStmtKind::Return; });
}

const LExpr* KernelSplice::ex(const LExpr* e) {
  if (!e) return nullptr;
  auto it = memo_.find(e);
  if (it != memo_.end()) return it->second;
  LoopBuilder& b = *K.exprs;
  auto op = [&](size_t i) { return ex(e->ops[i]); };
  const LExpr* r = nullptr;
  switch (e->kind) {
    case LExprKind::Const: r = b.constant(e->dtype, e->fval, e->ival); break;
    case LExprKind::Var: r = b.var(vars[size_t(e->var)], e->dtype); break;
    case LExprKind::Dim: r = b.dim(bufs[size_t(e->buf)], int(e->ival)); break;
    case LExprKind::Load: {
      auto s = scalar_inputs.find(e->buf);
      if (s != scalar_inputs.end()) {
        r = s->second;
        break;
      }
      if (auto v = scalar_results.find(e->buf); v != scalar_results.end()) {
        r = b.var(v->second, e->dtype);
        break;
      }
      std::vector<const LExpr*> idx;
      for (size_t i = 0; i < e->ops.size(); ++i) idx.push_back(op(i));
      r = b.load(bufs[size_t(e->buf)], e->dtype, std::move(idx));
      break;
    }
    case LExprKind::Unary: r = b.unary(UnaryOp(e->op), op(0)); break;
    case LExprKind::Binary: r = b.binary(BinaryOp(e->op), op(0), op(1)); break;
    case LExprKind::Math: r = b.math(MathFn(e->op), e->dtype, op(0)); break;
    case LExprKind::Cast: r = b.cast(op(0), e->dtype); break;
    case LExprKind::Select: r = b.select(op(0), op(1), op(2)); break;
    case LExprKind::Random: r = b.random(e->op, op(0), op(1)); break;
    case LExprKind::Threads: r = b.threads(); break;
  }
  memo_[e] = r;
  return r;
}

std::vector<LStmt> KernelSplice::stmts(const std::vector<LStmt>& body) {
  std::vector<LStmt> out;
  for (auto& s : body) {
    if (s.kind == LStmtKind::Return) {
      LStmt a{LStmtKind::Assign};
      a.var = flag;
      a.value = K.exprs->constant(DType::Bool, 0, 1);
      out.push_back(a);
      out.push_back(LStmt{LStmtKind::Break});
      continue;
    }
    if (auto v = scalar_results.find(s.buf); s.buf >= 0 && v != scalar_results.end()) {
      if (s.kind == LStmtKind::Store) {
        LStmt a{LStmtKind::Assign};
        a.var = v->second;
        a.value = ex(s.value);
        out.push_back(a);
      }
      continue;  // its AllocResult: nothing to allocate
    }
    LStmt c{s.kind};
    c.var = s.var < 0 ? -1 : s.kind == LStmtKind::Assign || s.kind == LStmtKind::For || s.kind == LStmtKind::ReduceLoop
                                 ? vars[size_t(s.var)] : s.var;
    c.buf = s.buf < 0 ? -1 : bufs[size_t(s.buf)];
    if (c.kind == LStmtKind::AllocResult) c.kind = LStmtKind::AllocTemp;
    c.value = ex(s.value);
    c.lo = ex(s.lo);
    c.hi = ex(s.hi);
    c.step = ex(s.step);
    for (auto* a : s.args) c.args.push_back(ex(a));
    c.body = stmts(s.body);
    c.orelse = stmts(s.orelse);
    for (auto& a : s.accs) c.accs.push_back(Accumulator{a.kind, a.dtype, ex(a.value), vars[size_t(a.result_var)]});
    c.vectorize = s.vectorize;
    c.parallel = s.parallel;
    c.prange = s.prange;
    c.scan = s.scan;
    for (auto& r : s.reductions) c.reductions.push_back(LoopReduction{vars[size_t(r.var)], r.kind});
    c.check = s.check;
    c.message = s.message;
    bool loop = s.kind == LStmtKind::For || s.kind == LStmtKind::While;
    out.push_back(std::move(c));
    if (loop && flag >= 0 && contains_return(s.body)) {
      LStmt leave{LStmtKind::If};
      leave.value = K.exprs->var(flag, DType::Bool);
      leave.body.push_back(LStmt{LStmtKind::Break});
      out.push_back(std::move(leave));
    }
  }
  return out;
}

}  // namespace numjit
