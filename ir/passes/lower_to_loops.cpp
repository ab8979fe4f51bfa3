// Lowering of a fusion plan to one loop-IR kernel (see lower_to_loops.h).
#include "ir/passes/lower_to_loops.h"

#include <unordered_set>

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <tuple>
#include <unordered_set>

#include "support/diagnostics.h"
#include "ir/passes/multi_output.h"
#include "ir/reduce_order.h"
#include "ir/scalar_ops.h"

namespace numjit {

namespace {

bool is_const_one(const Node* d) { return d->is_const() && d->ival == 1; }

class Lowering {
 public:
  Lowering(const FusionPlan& plan, const std::vector<InputSig>& inputs, const std::string& name)
      : plan_(plan), k_(owned_), b_(*(owned_.exprs = std::make_shared<LoopBuilder>())) {
    k_.name = name;
    for (auto& sig : inputs)
      k_.buffers.push_back(Buffer{sig.name, BufferKind::Input, sig.type.dtype, sig.type.rank, sig.contiguous});
    k_.num_inputs = int(inputs.size());
    top_ = body_ = &k_.body;
  }

  /** Lowers into `k` at the end of `at` (a kernel's statement); index and
   *  shape errors are prefixed with `where` (the statement's location). */
  Lowering(const FusionPlan& plan, Kernel& k, std::vector<LStmt>& at, std::string where, bool boundscheck)
      : plan_(plan), k_(k), b_(*k.exprs), where_(std::move(where)), boundscheck_(boundscheck) {
    top_ = body_ = &at;
  }

  Kernel run() {
    for (const Node* r : plan_.roots) materialise(r);
    for (const Node* r : plan_.roots) k_.results.push_back(buf_of_.at(r));
    drop_passed_checks(k_.body);
    return std::move(k_);
  }

  /** A rank-0 value, its work emitted before the point of use. */
  const LExpr* value(const Node* n) { return scalar(n); }

  /** `n` computed into a new buffer of `kind` (Result or Temp). */
  int array(const Node* n, BufferKind kind) {
    forced_kind_[n] = kind;
    return materialise(n);
  }

 private:
  // --- helpers -------------------------------------------------------------

  // Checks whose condition folded to true can never fail.
  static void drop_passed_checks(std::vector<LStmt>& body) {
    auto passed = [](const LStmt& s) {
      return s.kind == LStmtKind::Check && s.value->kind == LExprKind::Const && s.value->ival != 0;
    };
    std::erase_if(body, passed);
    walk_stmts(body, [&](LStmt& s, int) {
      std::erase_if(s.body, passed);
      std::erase_if(s.orelse, passed);
    });
  }

  int new_var(DType t, const std::string& prefix) {
    int id = int(k_.var_types.size());
    k_.var_types.push_back(t);
    k_.var_names.push_back(fmt::format("{}{}", prefix, id));
    return id;
  }
  int new_buffer(BufferKind kind, DType t, int rank) {
    int n = int(k_.buffers.size()) - k_.num_inputs;
    k_.buffers.push_back(Buffer{fmt::format("{}{}", kind == BufferKind::Result ? "out" : "tmp", n), kind, t, rank, true});
    return int(k_.buffers.size()) - 1;
  }
  static LStmt assign(int var, const LExpr* v) {
    LStmt s{LStmtKind::Assign};
    s.var = var;
    s.value = v;
    return s;
  }
  static LStmt store(int buf, std::vector<const LExpr*> idx, const LExpr* v) {
    LStmt s{LStmtKind::Store};
    s.buf = buf;
    s.args = std::move(idx);
    s.value = v;
    return s;
  }
  static LStmt check(const LExpr* cond, CheckKind kind, std::string msg, std::vector<const LExpr*> args = {}) {
    LStmt s{LStmtKind::Check};
    s.value = cond;
    s.check = kind;
    s.message = std::move(msg);
    s.args = std::move(args);
    return s;
  }
  LStmt loop(int var, const LExpr* lo, const LExpr* hi, std::vector<LStmt> body, bool vectorize) {
    LStmt s{LStmtKind::For};
    s.var = var;
    s.lo = lo;
    s.hi = hi;
    s.body = std::move(body);
    s.vectorize = vectorize;
    return s;
  }
  const LExpr* v(int var) { return b_.var(var, k_.var_types[size_t(var)]); }

  // A scalar value that is worth computing once: bind it to a variable.
  const LExpr* bind(const LExpr* e, const std::string& prefix) {
    if (e->kind == LExprKind::Const || e->kind == LExprKind::Var || e->kind == LExprKind::Dim ||
        e->kind == LExprKind::Load)
      return e;
    int id = new_var(e->dtype, prefix);
    top_->push_back(assign(id, e));
    return v(id);
  }

  // Index of operand `a` inside a consumer iterated at `idx` (NumPy broadcasting).
  std::vector<const LExpr*> bmap(const Node* a, const std::vector<const LExpr*>& idx) {
    std::vector<const LExpr*> out;
    size_t r = idx.size(), ra = size_t(a->rank());
    for (size_t k = 0; k < ra; ++k) out.push_back(is_const_one(a->shape[k]) ? b_.i64(0) : idx[r - ra + k]);
    return out;
  }

  // --- scalars ---------------------------------------------------------------

  const LExpr* scalar(const Node* n) {
    auto it = scalar_memo_.find(n);
    if (it != scalar_memo_.end()) return it->second;
    std::vector<LStmt>* saved = body_;
    body_ = top_;
    const LExpr* r = scalar_impl(n);
    body_ = saved;
    scalar_memo_[n] = r;
    return r;
  }

  const LExpr* scalar_impl(const Node* n) {
    switch (n->kind) {
      case ArrayOp::Const: return b_.constant(n->dtype(), n->fval, n->ival);
      case ArrayOp::Input:
        if (n->ival >= kVarInput) return b_.var(int(n->ival - kVarInput), n->dtype());
        return b_.load(int(n->ival), n->dtype(), {});
      case ArrayOp::Dim: return b_.dim(int(n->ops[0]->ival), int(n->ival));
      case ArrayOp::CheckDim: {
        const LExpr* a = scalar(n->ops[0]);
        const LExpr* c = scalar(n->ops[1]);
        top_->push_back(check(b_.binary(BinaryOp::Eq, a, c), CheckKind::Shapes, where_, {a, c}));
        return a;
      }
      case ArrayOp::Reduce: return full_reduce(n);
      case ArrayOp::Select: return lazy_select(n);
      default: return bind(compute(n, {}), "s");
    }
  }

  static bool reads_array(const LExpr* e) {
    if (e->kind == LExprKind::Load && !e->ops.empty()) return true;
    for (const LExpr* o : e->ops)
      if (reads_array(o)) return true;
    return false;
  }

  // `a if c else b` on scalars (also `and` / `or`): only the chosen branch
  // runs, as in Python, so `j < len(x) and x[j] > 0` never reads x[j] when
  // j is out of range. A branch with no work and no array read stays a select.
  const LExpr* lazy_select(const Node* n) {
    const LExpr* c = scalar(n->ops[0]);
    if (c->kind == LExprKind::Const) return b_.cast(scalar(c->ival ? n->ops[1] : n->ops[2]), n->dtype());
    std::vector<LStmt> work[2];
    const LExpr* vals[2];
    for (int k = 0; k < 2; ++k) {
      // What a branch computes is not known outside it.
      auto memo = scalar_memo_;
      auto index_memo = index_memo_;
      auto compute_memo = compute_memo_;
      auto bufs = buf_of_;
      std::vector<LStmt>* saved = top_;
      top_ = &work[k];
      vals[k] = b_.cast(scalar(n->ops[size_t(1 + k)]), n->dtype());
      top_ = saved;
      scalar_memo_ = std::move(memo);
      index_memo_ = std::move(index_memo);
      compute_memo_ = std::move(compute_memo);
      buf_of_ = std::move(bufs);
    }
    if (work[0].empty() && work[1].empty() && !reads_array(vals[0]) && !reads_array(vals[1]))
      return bind(b_.select(c, vals[0], vals[1]), "s");
    int id = new_var(n->dtype(), "sel");
    LStmt s{LStmtKind::If};
    s.value = c;
    s.body = std::move(work[0]);
    s.body.push_back(assign(id, vals[0]));
    s.orelse = std::move(work[1]);
    s.orelse.push_back(assign(id, vals[1]));
    top_->push_back(std::move(s));
    return v(id);
  }

  // --- elements --------------------------------------------------------------

  const LExpr* elem(const Node* n, const std::vector<const LExpr*>& idx) {
    if (n->rank() == 0) return scalar(n);
    if (plan_.materialised.count(n)) return b_.load(materialise(n), n->dtype(), idx);
    return compute(n, idx);
  }

  // The element of `n` at `idx`, computed from its operands (fused).
  // Memoised: a chain that uses each value twice (`y = y * y + y`) is
  // lowered once per node, not once per path.
  const LExpr* compute(const Node* n, const std::vector<const LExpr*>& idx) {
    ComputeKey key{n, body_, idx};
    auto it = compute_memo_.find(key);
    if (it != compute_memo_.end()) return it->second;
    const LExpr* r = compute_impl(n, idx);
    compute_memo_.emplace(std::move(key), r);
    return r;
  }

  const LExpr* compute_impl(const Node* n, const std::vector<const LExpr*>& idx) {
    auto operand = [&](size_t i) { return elem(n->ops[i], bmap(n->ops[i], idx)); };
    switch (n->kind) {
      case ArrayOp::Input: return b_.load(int(n->ival), n->dtype(), idx);
      case ArrayOp::Const: return b_.constant(n->dtype(), n->fval, n->ival);
      case ArrayOp::Unary: return b_.unary(n->opcode<UnaryOp>(), operand(0));
      case ArrayOp::Binary: {
        const LExpr* a = operand(0);
        const LExpr* c = operand(1);
        auto op = n->opcode<BinaryOp>();
        if (op == BinaryOp::Pow && !is_float(c->dtype) && c->kind != LExprKind::Const)
          body_->push_back(check(b_.binary(BinaryOp::Ge, c, b_.constant(c->dtype, 0, 0)), CheckKind::Message,
                                 "integers to negative integer powers are not allowed"));
        return b_.binary(op, a, c);
      }
      case ArrayOp::Math: return b_.math(n->opcode<MathFn>(), n->dtype(), operand(0));
      case ArrayOp::Cast: return b_.cast(operand(0), n->dtype());
      case ArrayOp::Select: return b_.select(operand(0), operand(1), operand(2));
      case ArrayOp::Broadcast:
      case ArrayOp::Copy: return operand(0);
      case ArrayOp::View: return view(n, idx);
      case ArrayOp::Reshape: return reshaped(n, idx);
      case ArrayOp::Iota: return idx[0];
      case ArrayOp::Random: return b_.random(n->op, scalar(n->ops[0]), idx[0]);
      case ArrayOp::Scan: {
        auto it = fused_scan_.find(n);
        if (it != fused_scan_.end()) return it->second;
        break;
      }
      default: break;
    }
    internal_error("lower_to_loops", fmt::format("cannot compute {} elementwise", array_op_name(n->kind)));
  }

  const LExpr* view(const Node* n, const std::vector<const LExpr*>& idx) { return elem(n->ops[0], view_index(n, idx)); }

  // The index into a view's source of the view's element `idx`.
  std::vector<const LExpr*> view_index(const Node* n, const std::vector<const LExpr*>& idx) {
    const Node* src = n->ops[0];
    std::vector<const LExpr*> sidx;
    size_t r = 0;
    for (int k = 0; k < src->rank(); ++k) {
      int64_t step = n->steps[size_t(k)];
      if (step == 0) {
        sidx.push_back(checked_index(n, k));
      } else {
        const LExpr* start = scalar(n->ops[size_t(1 + 2 * k)]);
        sidx.push_back(b_.binary(BinaryOp::Add, start, b_.binary(BinaryOp::Mul, idx[r++], b_.i64(step))));
      }
    }
    return sidx;
  }

 public:
  // See StatementLowering::store.
  void store_view(const Node* view, int buf, const Node* value) {
    // The value's shape is the view's, with the broadcast's length checks.
    std::vector<const LExpr*> dims;
    for (auto* d : value->shape) dims.push_back(scalar(d));
    if (value->rank() != view->rank()) internal_error("lower_to_loops", "a stored value of another rank than its view");
    // A value whose loop runs fused scans, or a copy, is computed first.
    int from = -1;
    if (plan_.scans_of.count(value) || value->kind == ArrayOp::Copy) from = array(value, BufferKind::Temp);
    DType t = k_.buffers[size_t(buf)].dtype;
    auto target = [&](const std::vector<const LExpr*>& idx) {
      std::vector<const LExpr*> at = idx;
      for (const Node* v = view; v->kind == ArrayOp::View; v = v->ops[0]) at = view_index(v, at);
      return at;
    };
    auto element = [&](const std::vector<const LExpr*>& idx) {
      if (from >= 0) return b_.load(from, value->dtype(), idx);
      return elem(value, bmap(value, idx));
    };
    if (dims.empty()) {
      top_->push_back(store(buf, target({}), b_.cast(from >= 0 ? element({}) : scalar(value), t)));
      return;
    }
    nest(dims, [&](std::vector<LStmt>& body, const std::vector<const LExpr*>& idx) {
      std::vector<const LExpr*> at = target(idx);
      body.push_back(store(buf, at, b_.cast(element(idx), t)));
    });
  }

 private:

  // C-order element `idx` of a reshape: the flat index, unflattened for the source.
  const LExpr* reshaped(const Node* n, const std::vector<const LExpr*>& idx) {
    scalar(n->ops[1]);  // the element-count check
    const LExpr* flat = idx[0];
    if (idx.size() == 2) flat = b_.binary(BinaryOp::Add, b_.binary(BinaryOp::Mul, idx[0], scalar(n->shape[1])), idx[1]);
    const Node* src = n->ops[0];
    if (src->rank() == 1) return elem(src, {flat});
    const LExpr* cols = scalar(src->shape[1]);
    return elem(src, bmap(src, {b_.binary(BinaryOp::FloorDiv, flat, cols), b_.binary(BinaryOp::Mod, flat, cols)}));
  }

  // x[i]: wrap a negative index, raise IndexError outside [-len, len).
  const LExpr* checked_index(const Node* view, int axis) {
    auto key = std::make_pair(view, axis);
    auto it = index_memo_.find(key);
    if (it != index_memo_.end()) return it->second;
    const LExpr* raw = scalar(view->ops[size_t(1 + 2 * axis)]);
    const LExpr* len = scalar(view->ops[0]->shape[size_t(axis)]);
    const LExpr* ok = b_.binary(BinaryOp::BitAnd, b_.binary(BinaryOp::Ge, raw, b_.unary(UnaryOp::Neg, len)),
                                b_.binary(BinaryOp::Lt, raw, len));
    if (boundscheck_) top_->push_back(check(ok, CheckKind::Index, where_, {raw, b_.i64(axis), len}));
    const LExpr* wrapped = bind(b_.select(b_.binary(BinaryOp::Lt, raw, b_.i64(0)),
                                          b_.binary(BinaryOp::Add, raw, len), raw), "ix");
    index_memo_[key] = wrapped;
    return wrapped;
  }

  // --- materialisation -----------------------------------------------------------

  int materialise(const Node* n) {
    auto it = buf_of_.find(n);
    if (it != buf_of_.end()) return it->second;
    bool is_root = std::find(plan_.roots.begin(), plan_.roots.end(), n) != plan_.roots.end();
    auto forced = forced_kind_.find(n);
    if (forced != forced_kind_.end()) is_root = forced->second == BufferKind::Result;
    std::vector<const LExpr*> dims;
    for (auto* d : n->shape) dims.push_back(scalar(d));
    for (auto* d : dims)
      if (d->kind != LExprKind::Const)
        top_->push_back(check(b_.binary(BinaryOp::Ge, d, b_.i64(0)), CheckKind::Message,
                                "negative dimensions are not allowed"));
    const LExpr* scalar_value = n->rank() == 0 ? scalar(n) : nullptr;
    int buf = new_buffer(is_root ? BufferKind::Result : BufferKind::Temp, n->dtype(), n->rank());
    LStmt alloc{is_root ? LStmtKind::AllocResult : LStmtKind::AllocTemp};
    alloc.buf = buf;
    alloc.args = dims;
    top_->push_back(alloc);
    buf_of_[n] = buf;
    if (scalar_value) {
      top_->push_back(store(buf, {}, scalar_value));
      return buf;
    }
    switch (n->kind) {
      case ArrayOp::Reduce: axis_reduce(n, buf, dims); break;
      case ArrayOp::Scan: scan(n, buf, dims); break;
      case ArrayOp::GroupReduce: group(n, buf); break;
      default: map(n, buf, dims); break;
    }
    return buf;
  }

  // Runs `fill(body, idx)` over the index space `dims`, innermost loop
  // vectorised. An axis of length 1 known at compile time (an (N, 1)
  // operand: InputSig::dim_is_one) gets no loop: its index is 0, and the
  // other axis is the one loop, vectorised and parallel.
  void nest(const std::vector<const LExpr*>& dims,
            const std::function<void(std::vector<LStmt>&, const std::vector<const LExpr*>&)>& fill) {
    std::vector<int> vars;  // -1 for a unit axis
    std::vector<const LExpr*> idx;
    for (size_t k = 0; k < dims.size(); ++k) {
      if (dims[k]->kind == LExprKind::Const && dims[k]->ival == 1) {
        vars.push_back(-1);
        idx.push_back(b_.i64(0));
        continue;
      }
      vars.push_back(new_var(DType::I64, k == 0 ? "i" : "j"));
      idx.push_back(v(vars.back()));
    }
    std::vector<LStmt> inner;
    std::vector<LStmt>* saved = body_;
    body_ = &inner;
    fill(inner, idx);
    body_ = saved;
    bool innermost = true;
    for (size_t k = dims.size(); k-- > 0;) {
      if (vars[k] < 0) continue;
      bool outermost = std::find_if(vars.begin(), vars.begin() + k, [](int x) { return x >= 0; }) == vars.begin() + k;
      LStmt l = loop(vars[k], b_.i64(0), dims[k], std::move(inner), innermost);
      l.parallel = outermost;  // each element (row) is written once, by its own iteration
      innermost = false;
      inner.clear();
      inner.push_back(std::move(l));
    }
    for (auto& s : inner) top_->push_back(std::move(s));
  }

  void map(const Node* n, int buf, const std::vector<const LExpr*>& dims) {
    auto fused = plan_.scans_of.find(n);
    if (fused != plan_.scans_of.end()) return scan_map(n, buf, dims[0], fused->second);
    nest(dims, [&](std::vector<LStmt>& body, const std::vector<const LExpr*>& idx) {
      const LExpr* value = n->kind == ArrayOp::Copy ? elem(n->ops[0], bmap(n->ops[0], idx)) : compute(n, idx);
      body.push_back(store(buf, idx, value));
    });
  }

  // --- reductions ------------------------------------------------------------------

  static AccKind acc_kind(ReduceOp op) {
    switch (op) {
      case ReduceOp::Prod: return AccKind::Prod;
      case ReduceOp::Min: return AccKind::Min;
      case ReduceOp::Max: return AccKind::Max;
      case ReduceOp::Any: return AccKind::Any;
      case ReduceOp::All: return AccKind::All;
      case ReduceOp::ArgMin: return AccKind::ArgMin;
      case ReduceOp::ArgMax: return AccKind::ArgMax;
      default: return AccKind::Sum;
    }
  }

  // One ReduceLoop over [0, extent) folding value_at(k); statements go to `out`.
  const LExpr* reduce_loop(AccKind kind, DType t, const LExpr* extent,
                           const std::function<const LExpr*(const LExpr*)>& value_at,
                           std::vector<LStmt>& out) {
    int k = new_var(DType::I64, "k");
    LStmt r{LStmtKind::ReduceLoop};
    r.var = k;
    r.hi = extent;
    std::vector<LStmt>* saved = body_;
    body_ = &r.body;
    const LExpr* value = value_at(v(k));
    body_ = saved;
    int result = new_var(kind == AccKind::ArgMin || kind == AccKind::ArgMax ? DType::I64 : t, "acc");
    r.accs.push_back(Accumulator{kind, t, value, result});
    out.push_back(std::move(r));
    return v(result);
  }

  // The reduction `op` of value_at(0..extent-1) of dtype t, with the result dtype `out_t`.
  const LExpr* reduction(ReduceOp op, DType t, const LExpr* extent, double ddof,
                         const std::function<const LExpr*(const LExpr*)>& value_at,
                         std::vector<LStmt>& out) {
    if (op == ReduceOp::Min || op == ReduceOp::Max || op == ReduceOp::ArgMin || op == ReduceOp::ArgMax) {
      const char* what = op == ReduceOp::Min ? "zero-size array to reduction operation minimum which has no identity"
                       : op == ReduceOp::Max ? "zero-size array to reduction operation maximum which has no identity"
                       : op == ReduceOp::ArgMin ? "attempt to get argmin of an empty sequence"
                                                : "attempt to get argmax of an empty sequence";
      out.push_back(check(b_.binary(BinaryOp::Gt, extent, b_.i64(0)), CheckKind::Message, what));
    }
    if (op != ReduceOp::Mean && op != ReduceOp::Var) return reduce_loop(acc_kind(op), t, extent, value_at, out);
    const LExpr* s = reduce_loop(AccKind::Sum, t, extent, value_at, out);
    int mean = new_var(t, "mean");
    out.push_back(assign(mean, b_.binary(BinaryOp::Div, s, b_.cast(extent, t))));
    if (op == ReduceOp::Mean) return v(mean);
    const LExpr* ss = reduce_loop(AccKind::Sum, t, extent, [&](const LExpr* k) {
      const LExpr* d = b_.binary(BinaryOp::Sub, value_at(k), v(mean));
      return b_.binary(BinaryOp::Mul, d, d);
    }, out);
    const LExpr* denom = b_.binary(BinaryOp::Maximum, b_.binary(BinaryOp::Sub, extent, b_.i64(int64_t(ddof))), b_.i64(0));
    int var = new_var(t, "var");
    out.push_back(assign(var, b_.binary(BinaryOp::Div, ss, b_.cast(denom, t))));
    return v(var);
  }

  const LExpr* full_reduce(const Node* n) {
    const Node* src = n->ops[0];
    std::vector<const LExpr*> dims;
    for (auto* d : src->shape) dims.push_back(scalar(d));
    const LExpr* extent = dims[0];
    if (dims.size() == 2) extent = bind(b_.binary(BinaryOp::Mul, dims[0], dims[1]), "n");
    auto value_at = [&](const LExpr* k) {
      if (dims.size() == 1) return elem(src, {k});
      return elem(src, {b_.binary(BinaryOp::FloorDiv, k, dims[1]), b_.binary(BinaryOp::Mod, k, dims[1])});
    };
    return reduction(n->opcode<ReduceOp>(), src->dtype(), extent, n->fval, value_at, *top_);
  }

  void axis_reduce(const Node* n, int buf, const std::vector<const LExpr*>& dims) {
    const Node* src = n->ops[0];
    int axis = int(n->ival);
    const LExpr* nred = scalar(src->shape[size_t(axis)]);
    int o = new_var(DType::I64, "i");
    std::vector<LStmt> body;
    std::vector<LStmt>* saved = body_;
    body_ = &body;
    ReduceOp op = n->opcode<ReduceOp>();
    if (nred->kind == LExprKind::Const && nred->ival == 1 &&
        (op == ReduceOp::Sum || op == ReduceOp::Prod || op == ReduceOp::Min || op == ReduceOp::Max ||
         op == ReduceOp::Any || op == ReduceOp::All || op == ReduceOp::Mean)) {
      // Over an axis of length 1 (an (N, 1) operand): each result is its one
      // element (as the reduction of one element computes it, exactly).
      const LExpr* x = elem(src, bmap(src, axis == 1 ? std::vector<const LExpr*>{v(o), b_.i64(0)}
                                                     : std::vector<const LExpr*>{b_.i64(0), v(o)}));
      body_ = saved;
      body.push_back(store(buf, {v(o)}, b_.cast(x, n->dtype())));
      top_->push_back(loop(o, b_.i64(0), dims[0], std::move(body), true));
      top_->back().parallel = true;
      return;
    }
    const LExpr* r = reduction(n->opcode<ReduceOp>(), src->dtype(), nred, n->fval, [&](const LExpr* k) {
      return elem(src, bmap(src, axis == 1 ? std::vector<const LExpr*>{v(o), k} : std::vector<const LExpr*>{k, v(o)}));
    }, body);
    body_ = saved;
    body.push_back(store(buf, {v(o)}, b_.cast(r, n->dtype())));
    top_->push_back(loop(o, b_.i64(0), dims[0], std::move(body), false));
    top_->back().parallel = true;  // one output element per row
  }

  // --- scans and group reductions -------------------------------------------------

  const LExpr* identity(ReduceOp op, DType t) {
    Scalar s = reduce_identity(op, t);
    return b_.constant(t, s.f, s.i);
  }

  void scan(const Node* n, int buf, const std::vector<const LExpr*>& dims) {
    const Node* src = n->ops[0];
    DType t = n->dtype();
    ScanOp op = n->opcode<ScanOp>();
    ReduceOp rop = scan_reduce(op);
    int acc = new_var(t, "run");
    int nan = nan_flag(op, t);
    std::vector<const LExpr*> sdims;
    for (auto* d : src->shape) sdims.push_back(scalar(d));
    // One running value along the scanned axis, restarted per line.
    auto line = [&](const LExpr* len, const std::function<std::vector<const LExpr*>(const LExpr*)>& src_idx,
                    const std::function<std::vector<const LExpr*>(const LExpr*)>& out_idx) {
      std::vector<LStmt> body;
      int k = new_var(DType::I64, "k");
      std::vector<LStmt>* saved = body_;
      body_ = &body;
      const LExpr* x = elem(src, bmap(src, src_idx(v(k))));
      body_ = saved;
      body.push_back(store(buf, out_idx(v(k)), scan_step(op, t, acc, nan, x, body)));
      std::vector<LStmt> out;
      out.push_back(assign(acc, identity(rop, t)));
      if (nan >= 0) out.push_back(assign(nan, b_.constant(DType::Bool, 0, 0)));
      out.push_back(loop(k, b_.i64(0), len, std::move(body), false));
      out.back().scan = exact_scan(op, t, nan);
      return out;
    };
    if (n->ival < 0) {
      auto src_idx = [&](const LExpr* k) -> std::vector<const LExpr*> {
        if (sdims.size() == 1) return {k};
        return {b_.binary(BinaryOp::FloorDiv, k, sdims[1]), b_.binary(BinaryOp::Mod, k, sdims[1])};
      };
      for (auto& s : line(dims[0], src_idx, [](const LExpr* k) { return std::vector<const LExpr*>{k}; }))
        top_->push_back(std::move(s));
      return;
    }
    int axis = int(n->ival);
    int o = new_var(DType::I64, "i");
    auto at = [&](const LExpr* k) {
      return axis == 1 ? std::vector<const LExpr*>{v(o), k} : std::vector<const LExpr*>{k, v(o)};
    };
    auto body = line(dims[size_t(axis)], at, at);
    top_->push_back(loop(o, b_.i64(0), dims[size_t(1 - axis)], std::move(body), false));
    top_->back().parallel = true;  // lines are scanned independently
  }

  // --- scans fused into their consumer ------------------------------------------
  //
  // The loop of rank-1 node `n` runs the scans fused into it (fuse.cpp) in
  // strips: kScanStrip elements are scanned serially, each running value
  // stored in scratch (the output itself when the dtypes agree), then the
  // strip of `n` is computed by a vector loop that reads the scan's values
  // back from L1. So drawdown reads e and writes dd, and no n-element cummax
  // array exists.
  //
  // In parallel (threads() > 1 and n >= 4 blocks), two passes over blocks of
  // kScanBlock elements: each block's total (a ReduceLoop) in parallel, an
  // exclusive scan of the totals, then every block strip-scanned from its
  // carry in parallel. That is the serial answer bit for bit only when the
  // operator is associative in floating point, so float cumsum and cumprod
  // stay serial (NumPy adds in order); max, min and integer scans go
  // parallel. The blocks are a constant of the library, so a result does not
  // depend on the thread count either way.
  static constexpr int64_t kScanBlock = 16384;  // a multiple of kScanStrip
  static constexpr int64_t kScanStrip = 256;

  int temp(DType t, const LExpr* size) {
    int buf = new_buffer(BufferKind::Temp, t, 1);
    LStmt alloc{LStmtKind::AllocTemp};
    alloc.buf = buf;
    alloc.args = {size};
    top_->push_back(alloc);
    return buf;
  }

  static ReduceOp scan_reduce(ScanOp op) {
    return op == ScanOp::CumSum ? ReduceOp::Sum : op == ScanOp::CumProd ? ReduceOp::Prod
         : op == ScanOp::CumMax ? ReduceOp::Max : ReduceOp::Min;
  }
  static BinaryOp scan_binary(ScanOp op) {
    return op == ScanOp::CumSum ? BinaryOp::Add : op == ScanOp::CumProd ? BinaryOp::Mul
         : op == ScanOp::CumMax ? BinaryOp::Maximum : BinaryOp::Minimum;
  }

  // A float running max or min keeps NaN on the side (see scan_step): its flag, or -1.
  int nan_flag(ScanOp op, DType t) {
    bool minmax = op == ScanOp::CumMax || op == ScanOp::CumMin;
    return minmax && is_float(t) ? new_var(DType::Bool, "nan") : -1;
  }

  // One step of a running scan: `run` folds in x (statements go to `body`);
  // returns the scan's value at this element. A float running max or min is
  // select(run > x, run, x), one vmaxsd / vminsd on the loop-carried chain,
  // and a sticky `nan` flag off it: the NaN-propagating Maximum there becomes
  // a compare, an or and a branch per element. Same values as Maximum /
  // Minimum (ties take x), but a NaN result is the canonical NaN.
  //
  // `nan` -1: the plain operator; -2: a float max / min known to see no NaN,
  // the bare select.
  // Whether the steps scan_step makes for (op, t, nan) are exact and
  // associative, so a loop of them may run as prefix scans over vectors:
  // float max / min without the NaN check (nan == -2: a strip known to hold
  // no NaN), integer sums, products, maxima and minima (wrapping).
  static bool exact_scan(ScanOp op, DType t, int nan) {
    if (t == DType::Bool) return false;
    if (is_float(t)) return nan == -2 && (op == ScanOp::CumMax || op == ScanOp::CumMin);
    return nan == -1;
  }

  const LExpr* scan_step(ScanOp op, DType t, int run, int nan, const LExpr* x, std::vector<LStmt>& body) {
    if (nan == -1) {
      body.push_back(assign(run, b_.binary(scan_binary(op), v(run), x)));
      return v(run);
    }
    x = bind_local(body, x, "x");
    BinaryOp keep = op == ScanOp::CumMax ? BinaryOp::Gt : BinaryOp::Lt;
    body.push_back(assign(run, b_.select(b_.binary(keep, v(run), x), v(run), x)));
    if (nan == -2) return v(run);
    body.push_back(assign(nan, b_.binary(BinaryOp::BitOr, v(nan), b_.binary(BinaryOp::Ne, x, x))));
    return b_.select(v(nan), b_.constant(t, NAN, 0), v(run));
  }

  // Element k of the source of scan `s` (a 2-D source is scanned flat).
  const LExpr* scan_source(const Node* s, const LExpr* k) {
    const Node* src = s->ops[0];
    if (src->rank() == 1) return elem(src, bmap(src, {k}));
    const LExpr* cols = scalar(src->shape[1]);
    return elem(src, bmap(src, {b_.binary(BinaryOp::FloorDiv, k, cols), b_.binary(BinaryOp::Mod, k, cols)}));
  }

  void scan_map(const Node* n, int buf, const LExpr* len, const std::vector<const Node*>& scans) {
    struct Fused {
      const Node* node;
      ScanOp op;
      DType t;
      int run;          // the running value
      int nan;          // float max / min: NaN seen (scan_step), else -1
      int tot = -1;     // parallel: per block, its total, then its carry-in
      int scratch = -1;  // a strip of running values per block (-1: the output)
    };
    std::vector<Fused> fs;
    bool parallel = true, out_free = true;
    for (const Node* s : scans) {
      fs.push_back(Fused{s, s->opcode<ScanOp>(), s->dtype(), new_var(s->dtype(), "run"),
                         nan_flag(s->opcode<ScanOp>(), s->dtype())});
      parallel &= fs.back().op == ScanOp::CumMax || fs.back().op == ScanOp::CumMin || !is_float(fs.back().t);
    }
    const LExpr* B = b_.i64(kScanBlock);
    const LExpr* C = b_.i64(kScanStrip);
    const LExpr *nb = nullptr, *par = nullptr, *blocks = b_.i64(1);
    if (parallel) {
      nb = bind(b_.binary(BinaryOp::FloorDiv, b_.binary(BinaryOp::Add, len, b_.i64(kScanBlock - 1)), B), "nb");
      par = bind(b_.binary(BinaryOp::BitAnd, b_.binary(BinaryOp::Gt, b_.threads(), b_.i64(1)),
                           b_.binary(BinaryOp::Ge, len, b_.i64(4 * kScanBlock))), "par");
      blocks = bind(b_.select(par, nb, b_.i64(1)), "blocks");
    }
    for (auto& f : fs) {
      if (parallel) f.tot = temp(f.t, blocks);
      if (out_free && f.t == n->dtype()) out_free = false;
      else f.scratch = temp(f.t, b_.binary(BinaryOp::Mul, blocks, C));
    }

    // Elements [lo, hi) of block `blk`, strip by strip, from the running values.
    auto strips = [&](const LExpr* blk, const LExpr* lo, const LExpr* hi) {
      int c = new_var(DType::I64, "c"), ce = new_var(DType::I64, "ce");
      auto slot = [&](const Fused& f, const LExpr* at) -> std::pair<int, std::vector<const LExpr*>> {
        if (f.scratch < 0) return {buf, {at}};
        return {f.scratch, {b_.binary(BinaryOp::Add, b_.binary(BinaryOp::Mul, blk, C), b_.binary(BinaryOp::Sub, at, v(c)))}};
      };
      std::vector<LStmt> strip;
      strip.push_back(assign(ce, b_.binary(BinaryOp::Minimum, b_.binary(BinaryOp::Add, v(c), C), hi)));
      std::vector<LStmt>* saved = body_;
      for (auto& f : fs) {
        // The source strip: read in place when it is a plain load, else
        // computed once, vectorized, into the scratch.
        int kx = new_var(DType::I64, "k");
        std::vector<LStmt> fill;
        body_ = &fill;
        const LExpr* x = scan_source(f.node, v(kx));
        bool direct = x->kind == LExprKind::Load && fill.empty();
        std::function<const LExpr*(const LExpr*)> source = [&](const LExpr* at) {
          return scan_source(f.node, at);
        };
        if (!direct) {
          auto [sb, si] = slot(f, v(kx));
          fill.push_back(store(sb, si, x));
          strip.push_back(loop(kx, v(c), v(ce), std::move(fill), true));
          source = [&](const LExpr* at) {
            auto [b2, i2] = slot(f, at);
            return b_.load(b2, f.t, i2);
          };
        }
        // The running values, serially, into the scratch.
        auto serial = [&](int nan) {
          int k = new_var(DType::I64, "k");
          std::vector<LStmt> body;
          body_ = &body;
          const LExpr* value = scan_step(f.op, f.t, f.run, nan, source(v(k)), body);
          auto [sb, si] = slot(f, v(k));
          body.push_back(store(sb, si, value));
          LStmt l = loop(k, v(c), v(ce), std::move(body), false);
          l.scan = exact_scan(f.op, f.t, nan);
          return l;
        };
        if (f.nan < 0) {
          strip.push_back(serial(-1));
          continue;
        }
        // Float max / min: the NaN-aware loop only for a strip with a NaN in
        // it or after one; otherwise the bare vmaxsd chain.
        body_ = &strip;
        const LExpr* any_nan = reduce_loop(AccKind::Any, DType::Bool, b_.binary(BinaryOp::Sub, v(ce), v(c)),
                                           [&](const LExpr* kk) {
          const LExpr* e = source(b_.binary(BinaryOp::Add, v(c), kk));
          return b_.binary(BinaryOp::Ne, e, e);
        }, strip);
        LStmt branch{LStmtKind::If};
        branch.value = b_.binary(BinaryOp::BitOr, v(f.nan), any_nan);
        branch.body.push_back(serial(f.nan));
        branch.orelse.push_back(serial(-2));
        strip.push_back(std::move(branch));
      }
      int kv = new_var(DType::I64, "k");
      std::vector<LStmt> vec;
      body_ = &vec;
      for (auto& f : fs) {
        auto [sb, si] = slot(f, v(kv));
        fused_scan_[f.node] = b_.load(sb, f.t, si);
      }
      const LExpr* value = n->kind == ArrayOp::Copy ? elem(n->ops[0], bmap(n->ops[0], {v(kv)})) : compute(n, {v(kv)});
      vec.push_back(store(buf, {v(kv)}, value));
      for (auto& f : fs) fused_scan_.erase(f.node);
      body_ = saved;
      strip.push_back(loop(kv, v(c), v(ce), std::move(vec), true));
      LStmt l = loop(c, lo, hi, std::move(strip), false);
      l.step = C;
      return l;
    };

    auto start_nan = [&](const Fused& f, std::vector<LStmt>& at) {
      if (f.nan >= 0) at.push_back(assign(f.nan, b_.binary(BinaryOp::Ne, v(f.run), v(f.run))));
    };
    if (!parallel) {
      for (auto& f : fs) {
        top_->push_back(assign(f.run, identity(scan_reduce(f.op), f.t)));
        start_nan(f, *top_);
      }
      top_->push_back(strips(b_.i64(0), b_.i64(0), len));
      return;
    }

    // Pass 1, in parallel only: block totals, then their exclusive scan.
    LStmt pass1{LStmtKind::If};
    pass1.value = par;
    int b = new_var(DType::I64, "b");
    int lo = new_var(DType::I64, "lo"), cnt = new_var(DType::I64, "cnt");
    std::vector<LStmt> totals;
    totals.push_back(assign(lo, b_.binary(BinaryOp::Mul, v(b), B)));
    totals.push_back(assign(cnt, b_.binary(BinaryOp::Minimum, b_.binary(BinaryOp::Sub, len, v(lo)), B)));
    for (auto& f : fs) {
      // The block's total by the scan's own steps (ties of -0.0 and 0.0 as
      // in the serial scan); a ReduceLoop would compile 4x longer.
      int k = new_var(DType::I64, "k");
      totals.push_back(assign(f.run, identity(scan_reduce(f.op), f.t)));
      if (f.nan >= 0) totals.push_back(assign(f.nan, b_.constant(DType::Bool, 0, 0)));
      std::vector<LStmt> body;
      std::vector<LStmt>* saved = body_;
      body_ = &body;
      const LExpr* total = scan_step(f.op, f.t, f.run, f.nan, scan_source(f.node, v(k)), body);
      body_ = saved;
      totals.push_back(loop(k, v(lo), b_.binary(BinaryOp::Add, v(lo), v(cnt)), std::move(body), false));
      // Vector scans (codegen): exact steps, or a float max/min's steps with
      // its NaN flag, whose total reads run only when no NaN was seen.
      totals.back().scan = exact_scan(f.op, f.t, f.nan) || f.nan >= 0;
      totals.push_back(store(f.tot, {v(b)}, total));
    }
    pass1.body.push_back(loop(b, b_.i64(0), nb, std::move(totals), false));
    pass1.body.back().parallel = true;
    int bc = new_var(DType::I64, "b");
    std::vector<LStmt> carry;
    for (auto& f : fs) {
      int acc = new_var(f.t, "carry"), t = new_var(f.t, "total");
      pass1.body.push_back(assign(acc, identity(scan_reduce(f.op), f.t)));
      carry.push_back(assign(t, b_.load(f.tot, f.t, {v(bc)})));
      carry.push_back(store(f.tot, {v(bc)}, v(acc)));
      carry.push_back(assign(acc, b_.binary(scan_binary(f.op), v(acc), v(t))));
    }
    pass1.body.push_back(loop(bc, b_.i64(0), nb, std::move(carry), false));
    for (auto& f : fs) pass1.orelse.push_back(store(f.tot, {b_.i64(0)}, identity(scan_reduce(f.op), f.t)));
    top_->push_back(std::move(pass1));

    // Pass 2: every block from its carry-in (one block of n when serial).
    const LExpr* bsize = bind(b_.select(par, B, len), "bsize");
    int b2 = new_var(DType::I64, "b");
    int lo2 = new_var(DType::I64, "lo"), hi2 = new_var(DType::I64, "hi");
    std::vector<LStmt> block;
    block.push_back(assign(lo2, b_.binary(BinaryOp::Mul, v(b2), bsize)));
    block.push_back(assign(hi2, b_.binary(BinaryOp::Minimum, len, b_.binary(BinaryOp::Add, v(lo2), bsize))));
    for (auto& f : fs) {
      block.push_back(assign(f.run, b_.load(f.tot, f.t, {v(b2)})));
      start_nan(f, block);
    }
    block.push_back(strips(v(b2), v(lo2), v(hi2)));
    top_->push_back(loop(b2, b_.i64(0), blocks, std::move(block), false));
    top_->back().parallel = true;
  }

  // Group reductions. Elements are cut into blocks of B = max(kGroupBlock,
  // 16 * ngroups) (so the tables below hold at most n / 16 entries); with two
  // blocks or more each block scatters into a table of its own, in parallel,
  // and the tables are merged group by group in block order. The blocks
  // depend on n and ngroups only, so the bits do not depend on the thread
  // count; one block is the plain serial scatter. Keys are checked before
  // their write; the first bad key in element order is the one reported.
  static constexpr int64_t kGroupBlock = 16384;

  void group(const Node* n, int buf) {
    auto op = n->opcode<GroupOp>();
    const Node* keys = n->ops[0];
    const Node* vals = n->ops[1];
    const LExpr* ng = scalar(n->ops[2]);
    const LExpr* len = scalar(n->ops[3]);
    DType t = n->dtype();
    bool counts = op == GroupOp::Mean || ((op == GroupOp::Min || op == GroupOp::Max) && is_float(t));
    int cnt = counts ? temp(DType::I64, ng) : -1;
    // f32 sums and means accumulate in an f64 table (ir/reduce_order.h),
    // rounded to f32 once per group by the finish loop.
    const DType at = op == GroupOp::Sum || op == GroupOp::Mean ? sum_accumulator(t) : t;
    const bool wide = at != t;
    int table = wide ? temp(at, ng) : buf;
    const LExpr* init = op == GroupOp::Min ? identity(ReduceOp::Min, t)
                      : op == GroupOp::Max ? identity(ReduceOp::Max, t) : b_.constant(at, 0, 0);
    BinaryOp combine = op == GroupOp::Min ? BinaryOp::Minimum : op == GroupOp::Max ? BinaryOp::Maximum : BinaryOp::Add;

    // Tables (table, ctable) at offset `base`: set to the identity, then
    // elements [lo, hi) scattered into them.
    auto scatter = [&](std::vector<LStmt>& out, int tab, int ctable, const LExpr* base, const LExpr* lo,
                       const LExpr* hi) {
      int g = new_var(DType::I64, "g");
      std::vector<LStmt> reset;
      reset.push_back(store(tab, {b_.binary(BinaryOp::Add, base, v(g))}, init));
      if (counts) reset.push_back(store(ctable, {b_.binary(BinaryOp::Add, base, v(g))}, b_.i64(0)));
      out.push_back(loop(g, b_.i64(0), ng, std::move(reset), true));
      int k = new_var(DType::I64, "k");
      std::vector<LStmt> body;
      std::vector<LStmt>* saved = body_;
      body_ = &body;
      const LExpr* key = bind_local(body, elem(keys, bmap(keys, {v(k)})), "key");
      const LExpr* ok = b_.binary(BinaryOp::BitAnd, b_.binary(BinaryOp::Ge, key, b_.i64(0)), b_.binary(BinaryOp::Lt, key, ng));
      body.push_back(check(ok, CheckKind::Key, "", {key, v(k), ng}));
      const LExpr* pos = b_.binary(BinaryOp::Add, base, key);
      const LExpr* value = op == GroupOp::Count ? b_.i64(1) : b_.cast(elem(vals, bmap(vals, {v(k)})), at);
      body_ = saved;
      body.push_back(store(tab, {pos}, b_.binary(combine, b_.load(tab, at, {pos}), value)));
      if (counts)
        body.push_back(store(ctable, {pos}, b_.binary(BinaryOp::Add, b_.load(ctable, DType::I64, {pos}), b_.i64(1))));
      out.push_back(loop(k, lo, hi, std::move(body), false));
    };

    const LExpr* B = bind(b_.binary(BinaryOp::Maximum, b_.i64(kGroupBlock), b_.binary(BinaryOp::Mul, ng, b_.i64(16))), "gb");
    const LExpr* nb = bind(b_.binary(BinaryOp::FloorDiv, b_.binary(BinaryOp::Add, len, b_.binary(BinaryOp::Sub, B, b_.i64(1))), B), "nb");
    const LExpr* split = bind(b_.binary(BinaryOp::Gt, nb, b_.i64(1)), "split");
    const LExpr* entries = b_.select(split, b_.binary(BinaryOp::Mul, nb, ng), b_.i64(1));
    int part = temp(at, entries);
    int cpart = counts ? temp(DType::I64, entries) : -1;
    LStmt branch{LStmtKind::If};
    branch.value = split;
    {
      int blk = new_var(DType::I64, "b");
      int lo = new_var(DType::I64, "lo");
      std::vector<LStmt> body;
      body.push_back(assign(lo, b_.binary(BinaryOp::Mul, v(blk), B)));
      scatter(body, part, cpart, b_.binary(BinaryOp::Mul, v(blk), ng), v(lo),
              b_.binary(BinaryOp::Minimum, len, b_.binary(BinaryOp::Add, v(lo), B)));
      branch.body.push_back(loop(blk, b_.i64(0), nb, std::move(body), false));
      branch.body.back().parallel = true;
      // Merge, group by group, in block order.
      int g = new_var(DType::I64, "g"), acc = new_var(at, "acc"), c = new_var(DType::I64, "cnt");
      int b2 = new_var(DType::I64, "b");
      std::vector<LStmt> merge, fold;
      const LExpr* pos = b_.binary(BinaryOp::Add, b_.binary(BinaryOp::Mul, v(b2), ng), v(g));
      merge.push_back(assign(acc, b_.load(part, at, {v(g)})));
      fold.push_back(assign(acc, b_.binary(combine, v(acc), b_.load(part, at, {pos}))));
      if (counts) {
        merge.push_back(assign(c, b_.load(cpart, DType::I64, {v(g)})));
        fold.push_back(assign(c, b_.binary(BinaryOp::Add, v(c), b_.load(cpart, DType::I64, {pos}))));
      }
      merge.push_back(loop(b2, b_.i64(1), nb, std::move(fold), false));
      merge.push_back(store(table, {v(g)}, v(acc)));
      if (counts) merge.push_back(store(cnt, {v(g)}, v(c)));
      branch.body.push_back(loop(g, b_.i64(0), ng, std::move(merge), false));
      branch.body.back().parallel = true;
    }
    scatter(branch.orelse, table, cnt, b_.i64(0), b_.i64(0), len);
    top_->push_back(std::move(branch));
    if (!counts && !wide) return;
    // Finish: f64 tables round to f32, means divide by counts; empty float
    // min/max groups are NaN.
    nest({ng}, [&](std::vector<LStmt>& fin, const std::vector<const LExpr*>& g) {
      const LExpr* val = b_.cast(b_.load(table, at, g), t);
      if (!counts) return fin.push_back(store(buf, g, val));
      const LExpr* c = b_.load(cnt, DType::I64, g);
      if (op == GroupOp::Mean)
        fin.push_back(store(buf, g, b_.binary(BinaryOp::Div, val, b_.cast(c, t))));
      else
        fin.push_back(store(buf, g, b_.select(b_.binary(BinaryOp::Eq, c, b_.i64(0)), b_.constant(t, NAN, 0), val)));
    });
  }

  const LExpr* bind_local(std::vector<LStmt>& body, const LExpr* e, const std::string& prefix) {
    if (e->kind == LExprKind::Var || e->kind == LExprKind::Const) return e;
    int id = new_var(e->dtype, prefix);
    body.push_back(assign(id, e));
    return v(id);
  }

  const FusionPlan& plan_;
  Kernel owned_;
  Kernel& k_;
  LoopBuilder& b_;
  std::vector<LStmt>* top_;   // where a value's scalar work and loops go
  std::vector<LStmt>* body_;  // where element-level checks go
  std::map<const Node*, BufferKind> forced_kind_;
  std::string where_;  // prefix of index and shape errors ("file:line:col: ")
  bool boundscheck_ = true;  // element reads x[i] check their index
  std::map<const Node*, int> buf_of_;
  std::map<const Node*, const LExpr*> scalar_memo_;
  using ComputeKey = std::tuple<const Node*, const std::vector<LStmt>*, std::vector<const LExpr*>>;
  std::map<ComputeKey, const LExpr*> compute_memo_;
  std::map<std::pair<const Node*, int>, const LExpr*> index_memo_;
  std::map<const Node*, const LExpr*> fused_scan_;  // inside scan_map's vector loop: where each scan's values are
};

}  // namespace

bool reads_other_elements(const Node* value, const Node* view, int buf) {
  std::unordered_set<const Node*> seen;
  std::vector<const Node*> todo = {value};
  while (!todo.empty()) {
    const Node* e = todo.back();
    todo.pop_back();
    if (!e || e == view || e->rank() == 0 || !seen.insert(e).second) continue;
    if (e->kind == ArrayOp::Input) {
      if (e->ival == buf) return true;
      continue;
    }
    if (e->kind == ArrayOp::View) {  // another view of the buffer (views are interned: not `view`)
      const Node* base = e;
      while (base->kind == ArrayOp::View) base = base->ops[0];
      if (base->kind == ArrayOp::Input && base->ival == buf) return true;
    }
    if (e->kind == ArrayOp::GroupReduce || e->kind == ArrayOp::Copy || e->kind == ArrayOp::Reduce) continue;
    for (const Node* o : e->ops) todo.push_back(o);
  }
  return false;
}

Kernel lower_to_loops(const FusionPlan& plan, const std::vector<InputSig>& inputs, const std::string& name) {
  return Lowering(plan, inputs, name).run();
}

struct StatementLowering::Impl {
  FusionPlan plan;
  Lowering lowering;
  Impl(FusionPlan p, Kernel& k, std::vector<LStmt>& at, std::string where, bool boundscheck)
      : plan(std::move(p)), lowering(plan, k, at, std::move(where), boundscheck) {}
};

StatementLowering::StatementLowering(Kernel& k, std::vector<LStmt>& at, const std::vector<const Node*>& roots,
                                     std::string where, bool boundscheck)
    : impl_(std::make_unique<Impl>(fuse(roots), k, at, std::move(where), boundscheck)) {}
StatementLowering::~StatementLowering() = default;
const LExpr* StatementLowering::scalar(const Node* n) { return impl_->lowering.value(n); }
int StatementLowering::array(const Node* n, BufferKind kind) { return impl_->lowering.array(n, kind); }
void StatementLowering::store(const Node* view, int buf, const Node* value) {
  // The value is fused into the store's loop, not an array of its own.
  if (value->kind != ArrayOp::Copy && !impl_->plan.scans_of.count(value)) impl_->plan.materialised.erase(value);
  impl_->lowering.store_view(view, buf, value);
}

}  // namespace numjit
