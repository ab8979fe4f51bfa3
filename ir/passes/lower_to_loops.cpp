// Lowering of a fusion plan to one loop-IR kernel (see lower_to_loops.h).
#include "ir/passes/lower_to_loops.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>

#include "frontend/diagnostics.h"
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
    std::erase_if(body, [](const LStmt& s) {
      return s.kind == LStmtKind::Check && s.value->kind == LExprKind::Const && s.value->ival != 0;
    });
    for (auto& s : body) {
      drop_passed_checks(s.body);
      drop_passed_checks(s.orelse);
    }
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
      auto bufs = buf_of_;
      std::vector<LStmt>* saved = top_;
      top_ = &work[k];
      vals[k] = b_.cast(scalar(n->ops[size_t(1 + k)]), n->dtype());
      top_ = saved;
      scalar_memo_ = std::move(memo);
      index_memo_ = std::move(index_memo);
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
  const LExpr* compute(const Node* n, const std::vector<const LExpr*>& idx) {
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
      default: break;
    }
    internal_error("lower_to_loops", fmt::format("cannot compute {} elementwise", array_op_name(n->kind)));
  }

  const LExpr* view(const Node* n, const std::vector<const LExpr*>& idx) {
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
    return elem(src, sidx);
  }

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

  // Runs `fill(body, idx)` over the index space `dims`, innermost loop vectorised.
  void nest(const std::vector<const LExpr*>& dims,
            const std::function<void(std::vector<LStmt>&, const std::vector<const LExpr*>&)>& fill) {
    std::vector<int> vars;
    std::vector<const LExpr*> idx;
    for (size_t k = 0; k < dims.size(); ++k) {
      vars.push_back(new_var(DType::I64, k == 0 ? "i" : "j"));
      idx.push_back(v(vars.back()));
    }
    std::vector<LStmt> inner;
    std::vector<LStmt>* saved = body_;
    body_ = &inner;
    fill(inner, idx);
    body_ = saved;
    for (size_t k = dims.size(); k-- > 0;) {
      LStmt l = loop(vars[k], b_.i64(0), dims[k], std::move(inner), k + 1 == dims.size());
      l.parallel = k == 0;  // each element (row) is written once, by its own iteration
      inner.clear();
      inner.push_back(std::move(l));
    }
    for (auto& s : inner) top_->push_back(std::move(s));
  }

  void map(const Node* n, int buf, const std::vector<const LExpr*>& dims) {
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
    auto op = n->opcode<ScanOp>();
    ReduceOp rop = op == ScanOp::CumSum ? ReduceOp::Sum : op == ScanOp::CumProd ? ReduceOp::Prod
                 : op == ScanOp::CumMax ? ReduceOp::Max : ReduceOp::Min;
    BinaryOp bop = op == ScanOp::CumSum ? BinaryOp::Add : op == ScanOp::CumProd ? BinaryOp::Mul
                 : op == ScanOp::CumMax ? BinaryOp::Maximum : BinaryOp::Minimum;
    int acc = new_var(t, "run");
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
      body.push_back(assign(acc, b_.binary(bop, v(acc), x)));
      body.push_back(store(buf, out_idx(v(k)), v(acc)));
      std::vector<LStmt> out;
      out.push_back(assign(acc, identity(rop, t)));
      out.push_back(loop(k, b_.i64(0), len, std::move(body), false));
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

  void group(const Node* n, int buf) {
    auto op = n->opcode<GroupOp>();
    const Node* keys = n->ops[0];
    const Node* vals = n->ops[1];
    const LExpr* ng = scalar(n->ops[2]);
    const LExpr* len = scalar(n->ops[3]);
    DType t = n->dtype();
    bool counts = op == GroupOp::Mean || ((op == GroupOp::Min || op == GroupOp::Max) && is_float(t));
    int cnt = -1;
    if (counts) {
      cnt = new_buffer(BufferKind::Temp, DType::I64, 1);
      LStmt alloc{LStmtKind::AllocTemp};
      alloc.buf = cnt;
      alloc.args = {ng};
      top_->push_back(alloc);
    }
    // f32 sums and means accumulate in an f64 table (ir/reduce_order.h),
    // rounded to f32 once per group when the table is copied out.
    const DType at = op == GroupOp::Sum || op == GroupOp::Mean ? sum_accumulator(t) : t;
    const bool wide = at != t;
    int table = buf;
    if (wide) {
      table = new_buffer(BufferKind::Temp, at, 1);
      LStmt alloc{LStmtKind::AllocTemp};
      alloc.buf = table;
      alloc.args = {ng};
      top_->push_back(alloc);
    }
    const LExpr* init = op == GroupOp::Min ? identity(ReduceOp::Min, t)
                      : op == GroupOp::Max ? identity(ReduceOp::Max, t) : b_.constant(at, 0, 0);
    nest({ng}, [&](std::vector<LStmt>& body, const std::vector<const LExpr*>& g) {
      body.push_back(store(table, g, init));
      if (counts) body.push_back(store(cnt, g, b_.i64(0)));
    });
    // Scatter pass: serial, keys checked before any write.
    int k = new_var(DType::I64, "k");
    std::vector<LStmt> body;
    std::vector<LStmt>* saved = body_;
    body_ = &body;
    const LExpr* key = elem(keys, bmap(keys, {v(k)}));
    key = bind_local(body, key, "key");
    const LExpr* ok = b_.binary(BinaryOp::BitAnd, b_.binary(BinaryOp::Ge, key, b_.i64(0)), b_.binary(BinaryOp::Lt, key, ng));
    body.push_back(check(ok, CheckKind::Key, "", {key, v(k), ng}));
    const LExpr* old = b_.load(table, at, {key});
    const LExpr* updated;
    switch (op) {
      case GroupOp::Count: updated = b_.binary(BinaryOp::Add, old, b_.i64(1)); break;
      case GroupOp::Min: updated = b_.binary(BinaryOp::Minimum, old, elem(vals, bmap(vals, {v(k)}))); break;
      case GroupOp::Max: updated = b_.binary(BinaryOp::Maximum, old, elem(vals, bmap(vals, {v(k)}))); break;
      default:
        updated = wide ? b_.binary(BinaryOp::Add, old, b_.cast(elem(vals, bmap(vals, {v(k)})), at))
                       : b_.binary(BinaryOp::Add, old, elem(vals, bmap(vals, {v(k)})));
        break;
    }
    body_ = saved;
    body.push_back(store(table, {key}, updated));
    if (counts) body.push_back(store(cnt, {key}, b_.binary(BinaryOp::Add, b_.load(cnt, DType::I64, {key}), b_.i64(1))));
    top_->push_back(loop(k, b_.i64(0), len, std::move(body), false));
    if (!counts && !wide) return;
    // Finish: f64 tables round to f32, means divide by counts; empty float
    // min/max groups are NaN.
    nest({ng}, [&](std::vector<LStmt>& fin, const std::vector<const LExpr*>& g) {
      const LExpr* val = wide ? b_.cast(b_.load(table, at, g), t) : b_.load(buf, t, g);
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
  std::map<std::pair<const Node*, int>, const LExpr*> index_memo_;
};

}  // namespace

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

}  // namespace numjit
