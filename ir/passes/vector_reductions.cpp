// Vector reductions (see vector_reductions.h).
#include "ir/passes/vector_reductions.h"

#include "ir/loop_analysis.h"

namespace numjit {

namespace {

bool ordered_float(const Accumulator& a) {
  return is_float(a.dtype) &&
         (a.kind == AccKind::Sum || a.kind == AccKind::Prod || a.kind == AccKind::Min || a.kind == AccKind::Max);
}

// `in_task`: inside a parallel loop, whose task runs a reduction's blocks
// itself, serially.
void mark(std::vector<LStmt>& body, IndexAnalysis& index, bool in_task) {
  for (LStmt& s : body) {
    if (s.kind == LStmtKind::ReduceLoop) {
      bool vec = s.body.empty() && !s.accs.empty();
      for (const Accumulator& a : s.accs) vec = vec && ordered_float(a) && index.vectorizable(a.value, s.var);
      s.vectorize = vec;
      s.parallel = vec && !in_task;
    }
    bool task = in_task || (s.kind == LStmtKind::For && s.parallel) || s.kind == LStmtKind::ReduceLoop;
    mark(s.body, index, task);
    mark(s.orelse, index, task);
  }
}

}  // namespace

void mark_vector_reductions(Kernel& k) {
  IndexAnalysis index;
  mark(k.body, index, false);
}

}  // namespace numjit
