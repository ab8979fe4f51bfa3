// Verifiers for the array IR and the loop IR (see verify.h).
#include "ir/verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "support/diagnostics.h"
#include "ir/passes/lower_to_loops.h"
#include "ir/reduce_order.h"

namespace numjit {

namespace {

[[noreturn]] void fail(const std::string& after_pass, const std::string& what) {
  internal_error("verifier", fmt::format("after {}: {}", after_pass, what));
}

// Each node under `roots` once, operands first, without recursion.
template <class F>
void each_node(const std::vector<const Node*>& roots, F&& f) {
  std::unordered_set<const Node*> seen;
  std::vector<std::pair<const Node*, size_t>> stack;
  auto push = [&](const Node* n) {
    if (n && seen.insert(n).second) stack.push_back({n, 0});
  };
  for (const Node* r : roots) {
    push(r);
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      size_t nops = n->ops.size();
      if (next < nops + n->shape.size()) {
        const Node* o = next < nops ? n->ops[next] : n->shape[next - nops];
        ++next;
        push(o);
        continue;
      }
      const Node* done = n;
      stack.pop_back();
      f(done);
    }
  }
}

}  // namespace

void verify_array_ir(const std::vector<const Node*>& roots, size_t num_inputs, const std::string& after_pass) {
  each_node(roots, [&](const Node* n) {
    auto bad = [&](const std::string& what) {
      fail(after_pass, fmt::format("{} node of type {}: {}", array_op_name(n->kind), n->type.str(), what));
    };
    // An input's dims are Dim nodes of the input itself, made where used.
    if (n->kind != ArrayOp::Input && int(n->shape.size()) != n->rank()) bad("a shape entry per axis expected");
    for (const Node* d : n->shape)
      if (!d || d->rank() != 0 || d->dtype() != DType::I64) bad("a shape entry that is not a rank-0 i64 node");
    for (size_t i = 0; i < n->ops.size(); ++i)
      if (!n->ops[i] && n->kind != ArrayOp::View) bad(fmt::format("operand {} missing", i));
    int max_rank = 0;
    for (const Node* o : n->ops)
      if (o) max_rank = std::max(max_rank, o->rank());
    switch (n->kind) {
      case ArrayOp::Input:
        if (n->ival < 0 || (size_t(n->ival) >= num_inputs && n->ival < kVarInput)) bad("an input that does not exist");
        break;
      case ArrayOp::Unary:
      case ArrayOp::Math:
      case ArrayOp::Cast:
        if (n->ops.size() != 1 || n->rank() != n->ops[0]->rank()) bad("rank differs from its operand's");
        break;
      case ArrayOp::Binary:
        if (n->ops.size() != 2 || n->rank() != max_rank) bad("rank is not its operands' broadcast rank");
        if (is_comparison(n->opcode<BinaryOp>()) && n->dtype() != DType::Bool) bad("a comparison that is not bool");
        break;
      case ArrayOp::Select:
        if (n->ops.size() != 3 || n->rank() != max_rank) bad("rank is not its operands' broadcast rank");
        if (n->ops[0]->dtype() != DType::Bool) bad("a condition that is not bool");
        break;
      case ArrayOp::View: {
        const Node* src = n->ops.empty() ? nullptr : n->ops[0];
        if (!src || int(n->steps.size()) != src->rank() || n->ops.size() != size_t(1 + 2 * src->rank()))
          bad("a step and a start/length pair per source axis expected");
        int kept = 0;
        for (int64_t s : n->steps) kept += s != 0;
        if (kept != n->rank()) bad("rank is not the number of sliced axes");
        break;
      }
      case ArrayOp::Dim:
      case ArrayOp::CheckDim:
        if (n->rank() != 0 || n->dtype() != DType::I64) bad("a dim that is not a rank-0 i64");
        break;
      default: break;
    }
  });
}

namespace {

class LoopVerifier {
 public:
  LoopVerifier(const Kernel& k, const std::string& pass) : k_(k), pass_(pass), allocated_(k.buffers.size(), false) {
    for (int b = 0; b < k.num_inputs && size_t(b) < allocated_.size(); ++b) allocated_[size_t(b)] = true;
  }

  void run() {
    if (k_.var_names.size() != k_.var_types.size()) bad("a name per variable expected");
    for (int r : k_.results)
      if (!buffer_ok(r) || k_.buffers[size_t(r)].kind != BufferKind::Result) bad(fmt::format("result {} is not a Result buffer", r));
    stmts(k_.body, false);
  }

 private:
  [[noreturn]] void bad(const std::string& what) { fail(pass_, fmt::format("kernel {}: {}", k_.name, what)); }

  bool buffer_ok(int b) const { return b >= 0 && size_t(b) < k_.buffers.size(); }
  bool var_ok(int v) const { return v >= 0 && size_t(v) < k_.var_types.size(); }

  void expr(const LExpr* root) {
    if (!root) bad("a missing expression");
    for_each_expr(root, seen_, [&](const LExpr* e) { node(e); });
  }

  void node(const LExpr* e) {
    auto wrong = [&](const std::string& what) { bad(fmt::format("{} of dtype {}: {}", kind_name(e), dtype_name(e->dtype), what)); };
    for (const LExpr* o : e->ops)
      if (!o) wrong("an operand is missing");
    switch (e->kind) {
      case LExprKind::Var:
        if (!var_ok(e->var)) wrong(fmt::format("variable {} does not exist", e->var));
        if (k_.var_types[size_t(e->var)] != e->dtype) wrong("differs from its variable's dtype");
        break;
      case LExprKind::Dim:
        if (!buffer_ok(e->buf) || e->ival < 0 || e->ival >= std::max(1, k_.buffers[size_t(e->buf)].rank)) wrong("no such buffer axis");
        if (e->dtype != DType::I64) wrong("a length that is not i64");
        break;
      case LExprKind::Load: {
        if (!buffer_ok(e->buf)) wrong(fmt::format("buffer {} does not exist", e->buf));
        const Buffer& b = k_.buffers[size_t(e->buf)];
        if (b.dtype != e->dtype) wrong(fmt::format("reads {} of dtype {}", b.name, dtype_name(b.dtype)));
        if (int(e->ops.size()) != b.rank) wrong(fmt::format("{} indices into {} of rank {}", e->ops.size(), b.name, b.rank));
        for (const LExpr* i : e->ops)
          if (i->dtype != DType::I64) wrong("an index that is not i64");
        break;
      }
      case LExprKind::Unary:
        if (e->ops.size() != 1 || e->ops[0]->dtype != e->dtype) wrong("differs from its operand's dtype");
        break;
      case LExprKind::Binary: {
        if (e->ops.size() != 2) wrong("two operands expected");
        auto op = BinaryOp(e->op);
        if (is_comparison(op) ? e->dtype != DType::Bool : e->ops[0]->dtype != e->dtype) wrong("a result dtype its op does not give");
        if (op != BinaryOp::Pow && e->ops[0]->dtype != e->ops[1]->dtype) wrong("operands of two dtypes");
        break;
      }
      case LExprKind::Select:
        if (e->ops.size() != 3 || e->ops[0]->dtype != DType::Bool) wrong("a condition that is not bool");
        if (e->ops[1]->dtype != e->dtype || e->ops[2]->dtype != e->dtype) wrong("branches of another dtype");
        break;
      case LExprKind::Math:
      case LExprKind::Cast:
        if (e->ops.size() != 1) wrong("one operand expected");
        break;
      case LExprKind::Random:
        if (e->ops.size() != 2 || e->dtype != DType::F64) wrong("an f64 draw from (seed, index) expected");
        break;
      case LExprKind::Const:
      case LExprKind::Threads: break;
    }
  }

  static const char* kind_name(const LExpr* e) {
    static const char* names[] = {
#define NUMJIT_LEXPR_NAME(name) #name,
        NUMJIT_FOR_EACH_LOOP_EXPR(NUMJIT_LEXPR_NAME)
#undef NUMJIT_LEXPR_NAME
    };
    return names[int(e->kind)];
  }

  void of_type(const LExpr* e, DType t, const char* what) {
    expr(e);
    if (e->dtype != t) bad(fmt::format("{} of dtype {}, {} expected", what, dtype_name(e->dtype), dtype_name(t)));
  }

  void buffer_used(int b, const char* how) {
    if (!buffer_ok(b)) bad(fmt::format("{} buffer {}, which does not exist", how, b));
    if (!allocated_[size_t(b)]) bad(fmt::format("{} {} before it is allocated", how, k_.buffers[size_t(b)].name));
  }

  void stmts(const std::vector<LStmt>& body, bool in_parallel) {
    for (const LStmt& s : body) stmt(s, in_parallel);
  }

  void stmt(const LStmt& s, bool in_parallel) {
    switch (s.kind) {
      case LStmtKind::Assign:
        if (!var_ok(s.var)) bad(fmt::format("an assignment to variable {}, which does not exist", s.var));
        of_type(s.value, k_.var_types[size_t(s.var)], ("the value assigned to " + k_.var_names[size_t(s.var)]).c_str());
        break;
      case LStmtKind::Store: {
        buffer_used(s.buf, "a store into");
        const Buffer& b = k_.buffers[size_t(s.buf)];
        if (int(s.args.size()) != b.rank) bad(fmt::format("a store with {} indices into {} of rank {}", s.args.size(), b.name, b.rank));
        for (const LExpr* i : s.args) of_type(i, DType::I64, "a store index");
        of_type(s.value, b.dtype, ("the value stored into " + b.name).c_str());
        break;
      }
      case LStmtKind::For:
        if (!var_ok(s.var) || k_.var_types[size_t(s.var)] != DType::I64) bad("a loop variable that is not an i64 variable");
        of_type(s.lo, DType::I64, "a loop's start");
        of_type(s.hi, DType::I64, "a loop's end");
        if (s.step) of_type(s.step, DType::I64, "a loop's step");
        if (!s.prange && !s.reductions.empty()) bad("prange reductions on a loop that is not a prange");
        if (s.prange && s.parallel) bad("a prange marked parallel before parallelize decided");
        for (const LoopReduction& r : s.reductions)
          if (!var_ok(r.var)) bad("a prange reduction of an unknown variable");
        stmts(s.body, in_parallel || s.parallel);
        break;
      case LStmtKind::While:
        of_type(s.value, DType::Bool, "a while condition");
        stmts(s.body, in_parallel);
        break;
      case LStmtKind::Break:
      case LStmtKind::Continue:
      case LStmtKind::Return:
        // Break and Continue inside a parallel loop's own nested loops are fine;
        // the lowering never emits one that leaves a parallel loop.
        if (s.kind == LStmtKind::Return && in_parallel) bad("a return inside a parallel loop");
        break;
      case LStmtKind::ReduceLoop:
        if (!var_ok(s.var) || k_.var_types[size_t(s.var)] != DType::I64) bad("a reduction variable that is not an i64 variable");
        of_type(s.hi, DType::I64, "a reduction's extent");
        for (const Accumulator& a : s.accs) {
          if (!var_ok(a.result_var)) bad("an accumulator without a result variable");
          of_type(a.value, a.dtype, "an accumulated value");
        }
        if (s.extent != ExtentRange::Any) {
          if (!s.vectorize) bad("an extent range on a reduction that is not a vector reduction");
          if (std::find(facts_.begin(), facts_.end(), std::pair{s.hi, s.extent}) == facts_.end())
            bad("a reduction marked short or long outside an if that tests its extent against 32");
        }
        stmts(s.body, true);
        break;
      case LStmtKind::If: {
        of_type(s.value, DType::Bool, "an if condition");
        // `if n <= 32` is what makes a reduction over n short (or long, in orelse).
        const LExpr* c = s.value;
        const bool range = c->kind == LExprKind::Binary && BinaryOp(c->op) == BinaryOp::Le &&
                           c->ops[1]->kind == LExprKind::Const && c->ops[1]->ival == kReduceLanes;
        if (range) facts_.emplace_back(c->ops[0], ExtentRange::Short);
        stmts(s.body, in_parallel);
        if (range) facts_.back().second = ExtentRange::Long;
        stmts(s.orelse, in_parallel);
        if (range) facts_.pop_back();
        break;
      }
      case LStmtKind::Check:
        of_type(s.value, DType::Bool, "a check's condition");
        for (const LExpr* a : s.args) expr(a);
        break;
      case LStmtKind::AllocResult:
      case LStmtKind::AllocTemp: {
        if (!buffer_ok(s.buf)) bad(fmt::format("an allocation of buffer {}, which does not exist", s.buf));
        const Buffer& b = k_.buffers[size_t(s.buf)];
        if (b.kind != (s.kind == LStmtKind::AllocResult ? BufferKind::Result : BufferKind::Temp))
          bad(fmt::format("{} is allocated as the wrong kind of buffer", b.name));
        if (int(s.args.size()) != std::max(b.rank, 0)) bad(fmt::format("{} dims for {} of rank {}", s.args.size(), b.name, b.rank));
        for (const LExpr* d : s.args) of_type(d, DType::I64, "a dim");
        allocated_[size_t(s.buf)] = true;
        break;
      }
    }
  }

  const Kernel& k_;
  const std::string& pass_;
  std::vector<bool> allocated_;
  std::unordered_set<const LExpr*> seen_;
  std::vector<std::pair<const LExpr*, ExtentRange>> facts_;  // of the enclosing ifs
};

}  // namespace

void verify_loop_ir(const Kernel& k, const std::string& after_pass) { LoopVerifier(k, after_pass).run(); }

}  // namespace numjit
