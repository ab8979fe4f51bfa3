// Short-row specialization (see short_rows.h).
#include "ir/passes/short_rows.h"

#include <unordered_set>

#include "ir/reduce_order.h"

namespace numjit {

namespace {

// An extent read from buffer shapes and constants only, so it is the same
// in every iteration of any loop.
bool invariant(const LExpr* e) {
  bool ok = true;
  std::unordered_set<const LExpr*> seen;
  for_each_expr(e, seen, [&](const LExpr* x) {
    ok = ok && (x->kind == LExprKind::Const || x->kind == LExprKind::Dim || x->kind == LExprKind::Binary ||
                x->kind == LExprKind::Unary || x->kind == LExprKind::Cast);
  });
  return ok;
}

// The extent shared by the vector reductions of a row loop's body, or null
// when the body is anything else.
const LExpr* row_extent(const LStmt& loop) {
  const LExpr* extent = nullptr;
  for (const LStmt& s : loop.body) {
    if (s.kind == LStmtKind::Assign || s.kind == LStmtKind::Store) continue;
    if (s.kind != LStmtKind::ReduceLoop || !s.vectorize || s.parallel || s.extent != ExtentRange::Any)
      return nullptr;
    if (s.hi->kind == LExprKind::Const || !invariant(s.hi) || (extent && extent != s.hi)) return nullptr;
    extent = s.hi;
  }
  return extent;
}

void specialize(std::vector<LStmt>& body, LoopBuilder& b) {
  for (LStmt& s : body) {
    const LExpr* extent = s.kind == LStmtKind::For ? row_extent(s) : nullptr;
    if (!extent) {
      specialize(s.body, b);
      specialize(s.orelse, b);
      continue;
    }
    // if extent <= 32: <the loop, short> else: <the loop, long>.
    LStmt branch{LStmtKind::If};
    branch.value = b.binary(BinaryOp::Le, extent, b.i64(kReduceLanes));
    branch.body.push_back(s);
    branch.orelse.push_back(std::move(s));
    for (LStmt& r : branch.body[0].body) r.extent = r.kind == LStmtKind::ReduceLoop ? ExtentRange::Short : r.extent;
    for (LStmt& r : branch.orelse[0].body) r.extent = r.kind == LStmtKind::ReduceLoop ? ExtentRange::Long : r.extent;
    s = std::move(branch);
  }
}

}  // namespace

void specialize_short_rows(Kernel& k) { specialize(k.body, *k.exprs); }

}  // namespace numjit
