// Sema: AST expressions -> array IR (see sema.h).
#include "frontend/sema.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "support/diagnostics.h"
#include "frontend/kernel.h"
#include "ir/builtins.h"

namespace numjit {

namespace {

struct ReduceEntry {
  const char* name;
  ReduceOp op;
};
const ReduceEntry kReduce[] = {
    {"sum", ReduceOp::Sum}, {"prod", ReduceOp::Prod}, {"min", ReduceOp::Min},
    {"max", ReduceOp::Max}, {"amin", ReduceOp::Min}, {"amax", ReduceOp::Max},
    {"mean", ReduceOp::Mean}, {"var", ReduceOp::Var}, {"std", ReduceOp::Var},
    {"any", ReduceOp::Any}, {"all", ReduceOp::All}, {"argmin", ReduceOp::ArgMin},
    {"argmax", ReduceOp::ArgMax},
};
struct ScanEntry {
  const char* name;
  ScanOp op;
};
const ScanEntry kScan[] = {{"cumsum", ScanOp::CumSum}, {"cumprod", ScanOp::CumProd},
                           {"cummax", ScanOp::CumMax}, {"cummin", ScanOp::CumMin}};
struct GroupEntry {
  const char* name;
  GroupOp op;
};
const GroupEntry kGroup[] = {{"group_sum", GroupOp::Sum}, {"group_count", GroupOp::Count},
                             {"group_mean", GroupOp::Mean}, {"group_min", GroupOp::Min},
                             {"group_max", GroupOp::Max}};
const char* kOther[] = {"around", "where", "clip", "dot", "count_nonzero", "zeros", "ones", "empty",
                        "full", "arange", "linspace", "zeros_like", "ones_like", "full_like",
                        "empty_like", "copy", "reshape", "random", "randn", "len", "shape", "load",
                        "float", "int", "astype", "print", "save"};  // and the dtype names
// Methods of arrays: x.sum(), x.astype(f32), ...
const std::set<std::string> kMethods = {"sum", "prod", "min", "max", "mean", "var", "std",
                                        "any", "all", "argmin", "argmax", "cumsum", "cumprod",
                                        "astype", "copy", "reshape", "round"};

template <class T, size_t N>
const T* find_entry(const T (&table)[N], const std::string& name) {
  for (const T& e : table)
    if (name == e.name) return &e;
  return nullptr;
}

/** axis=-1 as the user wrote it; -1 itself means "all axes" below. */
constexpr int kLastAxis = -1000;

class Lowerer {
 public:
  Lowerer(Builder& b, const Scope& scope) : b_(b), scope_(scope) {}

  SemaValue value(const Expr& e) {
    if (++depth_ > 2000) error(e.span, "expression nested too deeply");
    SemaValue v = value_impl(e);
    --depth_;
    return v;
  }

  const Node* node(const Expr& e) {
    SemaValue v = value(e);
    if (v.kind == SemaValue::Kind::Tuple) error(e.span, "expected an array or scalar, got a tuple");
    if (v.kind == SemaValue::Kind::DType)
      error(e.span, fmt::format("expected an array or scalar, got the dtype '{}'", dtype_name(v.dtype)));
    return v.node;
  }

 private:
  [[noreturn]] void error(Span span, const std::string& msg) { user_error(b_.source(), span, msg); }

  static SemaValue of(const Node* n) {
    SemaValue v;
    v.node = n;
    return v;
  }

  // Truth of a scalar for `and`, `or`, `not`, `if`: arrays are ambiguous.
  const Node* truth(const Node* n, Span span) {
    if (n->rank() != 0)
      error(span,
            "the truth value of an array is ambiguous; use any() or all(), or '&', '|', '~' "
            "for elementwise logic");
    return b_.cast(n, DType::Bool, span);
  }

  const Node* as_weak(const Node* n) {
    if (n->is_const()) return b_.const_int(n->ival, DType::I64, true);
    Node w{ArrayOp::Cast, Type{DType::I64, 0, true}};
    w.ops = {n};
    return b_.context().intern(std::move(w));
  }

  SemaValue value_impl(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Int: return of(b_.const_int(e.ival));
      case ExprKind::Float: return of(b_.const_float(e.fval));
      case ExprKind::Bool: return of(b_.const_bool(e.ival != 0));
      case ExprKind::None: error(e.span, "'None' is not a value here");
      case ExprKind::String: error(e.span, "a string is not a value here");
      case ExprKind::Name: return name(e);
      case ExprKind::Unary: {
        const Node* a = node(*e.args[0]);
        switch (e.unop) {
          case UnOp::Neg: return of(b_.unary(UnaryOp::Neg, a, e.span));
          case UnOp::Pos:
            if (a->dtype() == DType::Bool) error(e.span, "unary '+' is not supported for bool");
            return of(a);
          case UnOp::Invert: return of(b_.unary(UnaryOp::Not, a, e.span));
          case UnOp::Not: return of(b_.unary(UnaryOp::Not, truth(a, e.span), e.span));
        }
        break;
      }
      case ExprKind::Binary: {
        static const BinaryOp map[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul,
                                       BinaryOp::Div, BinaryOp::FloorDiv, BinaryOp::Mod,
                                       BinaryOp::Pow, BinaryOp::BitAnd, BinaryOp::BitOr,
                                       BinaryOp::BitXor};
        return of(b_.binary(map[int(e.binop)], node(*e.args[0]), node(*e.args[1]), e.span));
      }
      case ExprKind::Compare: return compare(e);
      case ExprKind::BoolOp: {
        // Python semantics on scalars: `a and b` is b if a is true, else a.
        const Node* acc = node(*e.args[0]);
        for (size_t k = 1; k < e.args.size(); ++k) {
          const Node* rhs = node(*e.args[k]);
          const Node* t = truth(acc, e.args[k - 1]->span);
          truth(rhs, e.args[k]->span);
          if (e.boolop == BoolOpKind::And) acc = b_.select(t, rhs, acc, e.span);
          else acc = b_.select(t, acc, rhs, e.span);
        }
        return of(acc);
      }
      case ExprKind::IfExp: {
        const Node* c = node(*e.args[1]);
        if (c->rank() != 0)
          error(e.args[1]->span,
                "the condition of 'a if c else b' must be a scalar; use where(c, a, b) for arrays");
        return of(b_.select(truth(c, e.args[1]->span), node(*e.args[0]), node(*e.args[2]), e.span));
      }
      case ExprKind::Call: return call(e);
      case ExprKind::Attribute: return attribute(e);
      case ExprKind::Subscript: return subscript(e);
      case ExprKind::Slice: error(e.span, "a slice is only allowed inside '[...]'");
      case ExprKind::Tuple: {
        SemaValue v;
        v.kind = SemaValue::Kind::Tuple;
        for (auto& a : e.args) v.items.push_back(node(*a));
        return v;
      }
    }
    error(e.span, "unsupported expression");
  }

  SemaValue name(const Expr& e) {
    auto it = scope_.vars.find(e.name);
    if (it != scope_.vars.end()) return of(it->second);
    DType t;
    if (dtype_from_name(e.name, t)) {
      SemaValue v;
      v.kind = SemaValue::Kind::DType;
      v.dtype = t;
      return v;
    }
    if (e.name == "pi") return of(b_.const_float(3.141592653589793));
    if (e.name == "e") return of(b_.const_float(2.718281828459045));
    if (e.name == "inf") return of(b_.const_float(INFINITY));
    if (e.name == "nan") return of(b_.const_float(NAN));
    std::vector<std::string> cands = builtin_names();
    for (auto& [k, v] : scope_.vars) cands.push_back(k);
    for (auto& k : scope_.other_names) cands.push_back(k);
    for (auto& b : builtin_names())
      if (b == e.name) error(e.span, fmt::format("'{}' is a function; call it as {}(...)", e.name, e.name));
    std::string near = nearest_name(e.name, cands);
    if (!near.empty()) error(e.span, fmt::format("unknown name '{}'; did you mean '{}'?", e.name, near));
    error(e.span, fmt::format("unknown name '{}'", e.name));
  }

  SemaValue compare(const Expr& e) {
    static const BinaryOp map[] = {BinaryOp::Lt, BinaryOp::Le, BinaryOp::Gt,
                                   BinaryOp::Ge, BinaryOp::Eq, BinaryOp::Ne};
    const Node* lhs = node(*e.args[0]);
    const Node* result = nullptr;
    for (size_t k = 0; k < e.cmp_ops.size(); ++k) {
      const Node* rhs = node(*e.args[k + 1]);
      const Node* c = b_.binary(map[int(e.cmp_ops[k])], lhs, rhs, e.span);
      if (result) {
        truth(result, e.span);
        result = b_.binary(BinaryOp::BitAnd, result, truth(c, e.span), e.span);
      } else {
        result = c;
      }
      lhs = rhs;
    }
    return of(result);
  }

  SemaValue attribute(const Expr& e) {
    const Expr& obj = *e.args[0];
    if (obj.kind == ExprKind::Name && (obj.name == "np" || obj.name == "numpy") &&
        !scope_.vars.count(obj.name)) {
      DType t;
      if (dtype_from_name(e.name, t)) {
        SemaValue v;
        v.kind = SemaValue::Kind::DType;
        v.dtype = t;
        return v;
      }
      Expr alias(ExprKind::Name, e.span);
      alias.name = e.name;
      return value(alias);
    }
    const Node* x = node(obj);
    if (e.name == "shape") {
      SemaValue v;
      v.kind = SemaValue::Kind::Tuple;
      for (auto* d : x->shape) v.items.push_back(as_weak(d));
      return v;
    }
    if (e.name == "ndim") return of(b_.const_int(x->rank()));
    if (e.name == "size") {
      const Node* s = b_.const_int(1, DType::I64, false);
      for (auto* d : x->shape) s = b_.binary(BinaryOp::Mul, s, d, e.span);
      return of(as_weak(s));
    }
    if (e.name == "T" && x->rank() <= 1) return of(x);
    if (kMethods.count(e.name))
      error(e.span, fmt::format("'{}' is a method; call it as x.{}()", e.name, e.name));
    error(e.span, fmt::format("arrays have no attribute '{}'", e.name));
  }

  // x[...]: element reads, rows, columns and slices.
  SemaValue subscript(const Expr& e) {
    SemaValue base = value(*e.args[0]);
    if (base.kind == SemaValue::Kind::Tuple) {
      if (e.args.size() != 2 || e.args[1]->kind == ExprKind::Slice)
        error(e.span, "a tuple takes one integer index");
      const Node* i = node(*e.args[1]);
      if (!i->is_const() || !is_int(i->dtype())) error(e.args[1]->span, "a tuple index must be a constant integer");
      int64_t k = i->ival, n = int64_t(base.items.size());
      if (k < -n || k >= n) error(e.args[1]->span, fmt::format("tuple index {} out of range", k));
      return of(base.items[size_t(k < 0 ? k + n : k)]);
    }
    if (base.kind != SemaValue::Kind::Node) error(e.args[0]->span, "cannot index a dtype");
    const Node* x = base.node;
    size_t nidx = e.args.size() - 1;
    if (x->rank() == 0) error(e.span, "cannot index a scalar");
    if (int(nidx) > x->rank())
      error(e.span, fmt::format("too many indices: {} indices for an array of rank {}", nidx, x->rank()));
    // Apply from the last axis so earlier axis numbers stay valid.
    for (size_t k = nidx; k-- > 0;) {
      const Expr& ix = *e.args[k + 1];
      int axis = int(k);
      if (ix.kind == ExprKind::Slice) {
        const Node* start = ix.args[0] ? node(*ix.args[0]) : nullptr;
        const Node* stop = ix.args[1] ? node(*ix.args[1]) : nullptr;
        int64_t step = 1;
        if (ix.args[2]) {
          const Node* s = node(*ix.args[2]);
          if (!s->is_const() || !is_int(s->dtype()))
            error(ix.args[2]->span, "a slice step must be a constant integer");
          step = s->ival;
        }
        x = b_.slice(x, axis, start, stop, step, ix.span);
      } else {
        const Node* i = node(ix);
        if (i->rank() != 0)
          error(ix.span, fmt::format("array indices are not supported (index is {}); use where() "
                                     "or a loop", i->type.str()));
        if (i->dtype() == DType::Bool || is_float(i->dtype()))
          error(ix.span, fmt::format("an index must be an integer, got {}", i->type.str()));
        x = b_.index(x, axis, i, ix.span);
      }
    }
    return of(x);
  }

  // --- calls ---------------------------------------------------------------

  struct Call {
    std::string fn;
    const Expr& e;
    std::vector<const Expr*> pos;
    std::map<std::string, const Expr*> kw;
    std::set<std::string> used;
    bool method = false;  // x.fn(...): pos[0] is x
  };

  void arity(Call& c, size_t lo, size_t hi) {
    size_t n = c.pos.size();
    if (n >= lo && n <= hi) return;
    std::string want = lo == hi ? std::to_string(lo) : fmt::format("{} to {}", lo, hi);
    error(c.e.span, fmt::format("{}() takes {} positional argument{} but {} {} given", c.fn, want,
                                hi == 1 ? "" : "s", n, n == 1 ? "was" : "were"));
  }
  const Expr* kwarg(Call& c, const std::string& k) {
    c.used.insert(k);
    auto it = c.kw.find(k);
    return it == c.kw.end() ? nullptr : it->second;
  }
  void done(Call& c) {
    for (auto& kw : c.e.keywords)
      if (!c.used.count(kw.name))
        error(kw.name_span, fmt::format("{}() got an unexpected keyword argument '{}'", c.fn, kw.name));
  }
  int64_t const_int_arg(const Expr& e, const char* what) {
    const Node* n = node(e);
    if (!n->is_const() || !is_int(n->dtype()))
      error(e.span, fmt::format("{} must be a constant integer", what));
    return n->ival;
  }
  // The dtype given as `dtype=` or, as NumPy allows, as positional argument
  // `pos_index` (zeros(3, f32), full(3, 7, i32)).
  const Expr* dtype_param(Call& c, size_t pos_index) {
    const Expr* d = kwarg(c, "dtype");
    if (c.pos.size() > pos_index) {
      if (d) error(d->span, fmt::format("{}() got multiple values for argument 'dtype'", c.fn));
      d = c.pos[pos_index];
    }
    return d;
  }
  int axis_arg(Call& c, size_t pos_index, bool allow_positional = true) {
    const Expr* a = kwarg(c, "axis");
    if (!a && allow_positional && c.pos.size() > pos_index) a = c.pos[pos_index];
    if (!a || a->kind == ExprKind::None) return -1;
    int64_t v = const_int_arg(*a, "axis");
    if (v == -1) return kLastAxis;  // distinct from -1, "all axes"
    return int(v);
  }
  DType dtype_arg(const Expr& e) {
    SemaValue v = value(e);
    if (v.kind != SemaValue::Kind::DType)
      error(e.span, "expected a dtype: bool, i32, i64, f32 or f64");
    return v.dtype;
  }
  std::vector<const Node*> shape_arg(const Expr& e, bool allow_unknown = false) {
    SemaValue v = value(e);
    std::vector<const Node*> dims;
    if (v.kind == SemaValue::Kind::Tuple) dims = v.items;
    else if (v.kind == SemaValue::Kind::Node) dims = {v.node};
    else error(e.span, "expected a shape: an integer or a tuple of integers");
    if (dims.size() > 2) error(e.span, "numjit arrays have rank 0, 1 or 2");
    for (auto*& d : dims) {
      if (d->rank() != 0 || !is_int(d->dtype()))
        error(e.span, fmt::format("a dimension must be an integer, got {}", d->type.str()));
      if (d->is_const() && d->ival < 0 && !(allow_unknown && d->ival == -1))
        error(e.span, "negative dimensions are not allowed");
      d = dim_node(d);
    }
    return dims;
  }

  // A dimension as the IR expects it: i64, and a constant one strong, so that
  // equal constant lengths intern to one node and broadcast together
  // (arange(5) + linspace(0, 1, 5)).
  const Node* dim_node(const Node* d) {
    d = b_.cast(d, DType::I64);
    if (d->is_const()) d = b_.const_int(d->ival, DType::I64, false);
    return d;
  }

  SemaValue call(const Expr& e) {
    auto pre = scope_.precomputed.find(&e);
    if (pre != scope_.precomputed.end()) return pre->second;
    const Expr& callee = *e.args[0];
    Call c{"", e, {}, {}, {}};
    for (size_t k = 1; k < e.args.size(); ++k) c.pos.push_back(e.args[k].get());
    for (auto& kw : e.keywords) c.kw[kw.name] = kw.value.get();
    const Expr* self = nullptr;
    if (callee.kind == ExprKind::Name) {
      c.fn = callee.name;
      if (scope_.vars.count(c.fn)) error(callee.span, fmt::format("'{}' is not a function", c.fn));
      if (scope_.kernels) {
        auto k = scope_.kernels->find(c.fn);
        if (k != scope_.kernels->end()) return call_kernel(k->second, c);
      }
    } else if (callee.kind == ExprKind::Attribute) {
      const Expr& obj = *callee.args[0];
      c.fn = callee.name;
      if (!(obj.kind == ExprKind::Name && (obj.name == "np" || obj.name == "numpy") &&
            !scope_.vars.count(obj.name))) {
        if (!kMethods.count(c.fn)) {
          std::string near = nearest_name(c.fn, std::vector<std::string>(kMethods.begin(), kMethods.end()));
          error(callee.span, near.empty() ? fmt::format("arrays have no method '{}'", c.fn)
                                          : fmt::format("arrays have no method '{}'; did you mean '{}'?", c.fn, near));
        }
        self = &obj;
      }
    } else {
      error(callee.span, "only named functions can be called");
    }
    if (self) {
      c.pos.insert(c.pos.begin(), self);
      c.method = true;
    }
    SemaValue r = builtin(c);
    done(c);
    return r;
  }

  // --- kernels ---------------------------------------------------------------
  //
  // A kernel whose body is straight-line code is inlined: its parameters
  // are bound to the argument nodes and its statements lowered in a scope
  // of their own, so it fuses with its caller like any expression.

  /** The type an annotation names: `f64`, `i32[:]`, `f64[:, :]`. */
  Type annotation_type(const Source* src, const Expr& a) {
    DType t;
    if (a.kind == ExprKind::Name && dtype_from_name(a.name, t)) return Type{t, 0, false};
    if (a.kind == ExprKind::Subscript && a.args[0]->kind == ExprKind::Name && dtype_from_name(a.args[0]->name, t)) {
      int rank = int(a.args.size()) - 1;
      for (size_t k = 1; k < a.args.size(); ++k)
        if (a.args[k]->kind != ExprKind::Slice) rank = -1;
      if (rank >= 1 && rank <= 2) return Type{t, rank, false};
    }
    user_error(src, a.span, "an annotation is a dtype (f64, i32, bool ...) or an array type such as f64[:] or f64[:, :]");
  }

  static std::string type_text(const Type& t) { return Type{t.dtype, t.rank, false}.str(); }

  SemaValue call_kernel(const KernelDef& k, Call& c) {
    const Stmt& def = *k.def;
    if (kernel_needs_loops(def, scope_.kernels))
      error(c.e.span, fmt::format("kernel '{}' has loops, so it runs on its own: call it in a statement of its own "
                                  "(y = {}(...)), then use the result", def.name, def.name));
    if (depth_ > 1000 || kernel_depth_ > 64)
      error(c.e.span, fmt::format("kernel '{}' calls itself (directly or through others); recursion is not supported", def.name));
    if (c.pos.size() > def.params.size())
      error(c.e.span, fmt::format("{}() takes {} argument{} but {} were given", def.name, def.params.size(),
                                  def.params.size() == 1 ? "" : "s", c.pos.size()));
    std::vector<const Node*> args(def.params.size(), nullptr);
    for (size_t i = 0; i < c.pos.size(); ++i) args[i] = node(*c.pos[i]);
    for (auto& kw : c.e.keywords) {
      size_t i = 0;
      while (i < def.params.size() && def.params[i].name != kw.name) ++i;
      if (i == def.params.size())
        error(kw.name_span, fmt::format("{}() got an unexpected keyword argument '{}'", def.name, kw.name));
      if (args[i]) error(kw.name_span, fmt::format("{}() got multiple values for argument '{}'", def.name, kw.name));
      args[i] = node(*kw.value);
      c.used.insert(kw.name);
    }
    Scope inner;
    inner.kernels = scope_.kernels;
    for (size_t i = 0; i < def.params.size(); ++i) {
      const Param& p = def.params[i];
      if (!args[i]) error(c.e.span, fmt::format("{}() is missing the argument '{}'", def.name, p.name));
      const Node* a = args[i];
      if (p.annotation) {
        Type want = annotation_type(k.src.get(), *p.annotation);
        bool ok = want.rank == a->rank() && (want.dtype == a->dtype() || (a->rank() == 0 && a->type.weak));
        if (!ok)
          error(c.pos.size() > i ? c.pos[i]->span : c.e.span,
                fmt::format("argument '{}' of {}() must be {}, got {}", p.name, def.name, type_text(want), type_text(a->type)));
        if (a->rank() == 0) a = b_.cast_strong(a, want.dtype, c.e.span);
      } else if (a->rank() == 0 && a->type.weak) {
        a = b_.cast_strong(a, a->dtype(), c.e.span);  // Numba types Python numbers as i64 / f64 / bool
      }
      inner.vars[p.name] = a;
    }
    const Source* caller_src = b_.source();
    b_.set_source(k.src.get());
    ++kernel_depth_;
    SemaValue result;
    bool returned = false;
    try {
      Lowerer body(b_, inner);
      body.kernel_depth_ = kernel_depth_;
      returned = body.straight_line(def, def.body, inner, result);
    } catch (...) {
      --kernel_depth_;
      b_.set_source(caller_src);
      throw;
    }
    --kernel_depth_;
    b_.set_source(caller_src);
    if (!returned) error(c.e.span, fmt::format("kernel '{}' returns no value", def.name));
    if (def.returns && result.kind == SemaValue::Kind::Node) {
      Type want = annotation_type(k.src.get(), *def.returns);
      if (want.rank != result.node->rank() || want.dtype != result.node->dtype())
        user_error(k.src.get(), def.returns->span,
                   fmt::format("{}() is declared to return {} but returns {}", def.name, type_text(want),
                               type_text(result.node->type)));
    }
    c.used.insert("");  // keywords were checked above
    for (auto& kw : c.e.keywords) c.used.insert(kw.name);
    return result;
  }

  /** Lowers the statements of a straight-line kernel body; true at a return. */
  bool straight_line(const Stmt& def, const std::vector<StmtPtr>& body, Scope& scope, SemaValue& result) {
    std::map<std::string, Span> first_assign;
    auto bind = [&](const Expr& target, const Node* v) {
      if (target.kind != ExprKind::Name)
        error(target.span, "element and slice assignment needs a kernel with loops, which this build does not support yet");
      auto it = scope.vars.find(target.name);
      if (it != scope.vars.end()) {
        const Node* old = it->second;
        if (old->rank() != v->rank() || (old->rank() > 0 && old->dtype() != v->dtype()))
          error(target.span, fmt::format("'{}' changes type from {} to {}; a local keeps one type (first assigned at line {})",
                                         target.name, type_text(old->type), type_text(v->type),
                                         first_assign.count(target.name) ? first_assign[target.name].line : def.span.line));
        if (old->rank() == 0 && old->dtype() != v->dtype()) v = b_.cast(v, promote(old->type, v->type), target.span);
      } else {
        first_assign[target.name] = target.span;
      }
      scope.vars[target.name] = v;
    };
    for (auto& s : body) {
      switch (s->kind) {
        case StmtKind::Pass: break;
        case StmtKind::Assign: {
          Lowerer l(b_, scope);
          l.kernel_depth_ = kernel_depth_;
          SemaValue v = l.value(*s->value);
          for (auto& t : s->targets) {
            if (t->kind == ExprKind::Tuple) {
              if (v.kind != SemaValue::Kind::Tuple || v.items.size() != t->args.size())
                error(t->span, fmt::format("cannot unpack {} into {} names",
                                           v.kind == SemaValue::Kind::Tuple ? std::to_string(v.items.size()) + " values" : "one value",
                                           t->args.size()));
              for (size_t i = 0; i < t->args.size(); ++i) bind(*t->args[i], v.items[i]);
            } else {
              if (v.kind != SemaValue::Kind::Node) error(s->value->span, "expected an array or scalar here");
              bind(*t, v.node);
            }
          }
          break;
        }
        case StmtKind::AugAssign: {
          const Expr& t = *s->targets[0];
          if (t.kind != ExprKind::Name)
            error(t.span, "element and slice assignment needs a kernel with loops, which this build does not support yet");
          auto it = scope.vars.find(t.name);
          if (it == scope.vars.end()) error(t.span, fmt::format("'{}' is used before it is assigned", t.name));
          static const BinaryOp map[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::FloorDiv,
                                         BinaryOp::Mod, BinaryOp::Pow, BinaryOp::BitAnd, BinaryOp::BitOr, BinaryOp::BitXor};
          Lowerer l(b_, scope);
          l.kernel_depth_ = kernel_depth_;
          bind(t, b_.binary(map[int(s->aug_op)], it->second, l.node(*s->value), s->span));
          break;
        }
        case StmtKind::Expr: {  // computed and dropped, as in Python; type-checked
          Lowerer l(b_, scope);
          l.kernel_depth_ = kernel_depth_;
          l.value(*s->value);
          break;
        }
        case StmtKind::Return: {
          if (&s != &body.back()) error(body[size_t(&s - &body[0]) + 1]->span, "code after 'return' never runs");
          if (!s->value) error(s->span, "a kernel must return a value");
          Lowerer l(b_, scope);
          l.kernel_depth_ = kernel_depth_;
          result = l.value(*s->value);
          if (result.kind == SemaValue::Kind::DType) error(s->value->span, "a kernel cannot return a dtype");
          return true;
        }
        case StmtKind::Def: error(s->span, "kernels cannot be defined inside kernels");
        default:
          error(s->span, "loops and branches in kernels (for, while, if) are not supported yet: this build "
                         "inlines kernels of straight-line array code");
      }
    }
    return false;
  }

  SemaValue builtin(Call& c) {
    const std::string& fn = c.fn;
    Span sp = c.e.span;
    if (fn == "round" || fn == "around") return round(c);
    if (const Builtin* f = find_builtin(fn)) {  // the elementwise functions: ir/builtins.def
      arity(c, f->arity, f->arity);
      std::vector<const Node*> args;
      for (auto& a : c.pos) args.push_back(node(*a));
      return of(apply_builtin(b_, *f, args, sp));
    }
    // min(a, b) is the two-value minimum (Python's meaning), but the method
    // X.min(1) is NumPy's ndarray.min(axis=1).
    if ((fn == "min" || fn == "max") && c.pos.size() == 2 && !c.method) {
      return of(b_.binary(fn == "min" ? BinaryOp::Minimum : BinaryOp::Maximum, node(*c.pos[0]),
                          node(*c.pos[1]), sp));
    }
    if (auto* r = find_entry(kReduce, fn)) {
      bool minmax = (r->op == ReduceOp::Min || r->op == ReduceOp::Max) && !c.method;
      arity(c, 1, minmax ? 1 : 2);
      const Node* x = node(*c.pos[0]);
      int axis = axis_arg(c, 1, !minmax);
      if (axis == kLastAxis) axis = x->rank() - 1;
      double ddof = 0;
      if (r->op == ReduceOp::Var) {
        if (const Expr* d = kwarg(c, "ddof")) ddof = double(const_int_arg(*d, "ddof"));
      }
      const Node* out = b_.reduce(r->op, x, axis, sp, ddof);
      if (fn == "std") out = b_.math(MathFn::Sqrt, out, sp);
      return of(out);
    }
    if (fn == "count_nonzero") {
      arity(c, 1, 1);
      const Node* x = node(*c.pos[0]);
      int axis = axis_arg(c, 1, false);
      if (axis == kLastAxis) axis = x->rank() - 1;
      const Node* nz = b_.cast(x, DType::Bool, sp);
      return of(b_.reduce(ReduceOp::Sum, b_.cast(nz, DType::I64, sp), axis, sp));
    }
    if (auto* s = find_entry(kScan, fn)) {
      arity(c, 1, 2);
      const Node* x = node(*c.pos[0]);
      int axis = axis_arg(c, 1);
      if (axis == kLastAxis) axis = x->rank() - 1;
      return of(b_.scan(s->op, x, axis, sp));
    }
    if (auto* g = find_entry(kGroup, fn)) {
      if (g->op == GroupOp::Count && c.pos.size() == 2) {
        const Node* keys = node(*c.pos[0]);
        return of(b_.group(g->op, keys, keys, node(*c.pos[1]), sp));
      }
      arity(c, 3, 3);
      return of(b_.group(g->op, node(*c.pos[0]), node(*c.pos[1]), node(*c.pos[2]), sp));
    }
    if (fn == "where") {
      arity(c, 3, 3);
      return of(b_.select(node(*c.pos[0]), node(*c.pos[1]), node(*c.pos[2]), sp));
    }
    if (fn == "clip") {
      arity(c, 3, 3);
      const Node* x = node(*c.pos[0]);
      const Node* lo = node(*c.pos[1]);
      const Node* hi = node(*c.pos[2]);
      return of(b_.binary(BinaryOp::Minimum, b_.binary(BinaryOp::Maximum, x, lo, sp), hi, sp));
    }
    if (fn == "dot") {
      arity(c, 2, 2);
      const Node* a = node(*c.pos[0]);
      const Node* b = node(*c.pos[1]);
      DType t = promote(a->type, b->type);
      if (a->rank() == 0 || b->rank() == 0) return of(b_.binary(BinaryOp::Mul, a, b, sp));
      if (a->rank() == 1 && b->rank() == 1)
        return of(b_.cast(b_.reduce(ReduceOp::Sum, b_.binary(BinaryOp::Mul, a, b, sp), -1, sp), t, sp));
      if (a->rank() == 2 && b->rank() == 1)
        return of(b_.cast(b_.reduce(ReduceOp::Sum, b_.binary(BinaryOp::Mul, a, b, sp), 1, sp), t, sp));
      error(sp, fmt::format("dot of {} and {} is not supported yet (only vector.vector and "
                            "matrix.vector)", a->type.str(), b->type.str()));
    }
    if (fn == "zeros" || fn == "ones" || fn == "empty" || fn == "full") {
      bool full = fn == "full";
      arity(c, full ? 2 : 1, full ? 3 : 2);
      auto dims = shape_arg(*c.pos[0]);
      const Node* fill = full ? node(*c.pos[1]) : b_.const_float(fn == "ones" ? 1.0 : 0.0, DType::F64, false);
      if (full && fill->rank() != 0) error(c.pos[1]->span, "the fill value must be a scalar");
      DType t = fill->dtype();
      if (const Expr* d = dtype_param(c, full ? 2 : 1)) t = dtype_arg(*d);
      return of(b_.broadcast(b_.cast(fill, t, sp), dims, sp));
    }
    if (fn == "zeros_like" || fn == "ones_like" || fn == "empty_like" || fn == "full_like") {
      bool full = fn == "full_like";
      arity(c, full ? 2 : 1, full ? 3 : 2);
      const Node* x = node(*c.pos[0]);
      DType t = x->dtype();
      if (const Expr* d = dtype_param(c, full ? 2 : 1)) t = dtype_arg(*d);
      const Node* fill = full ? node(*c.pos[1]) : b_.const_float(fn == "ones_like" ? 1.0 : 0.0, DType::F64, false);
      if (full && fill->rank() != 0) error(c.pos[1]->span, "the fill value must be a scalar");
      return of(b_.broadcast(b_.cast(fill, t, sp), x->shape, sp));
    }
    if (fn == "copy") {
      arity(c, 1, 1);
      return of(b_.copy(node(*c.pos[0]), sp));
    }
    if (fn == "reshape") {
      if (c.pos.size() < 2) arity(c, 2, 3);
      std::vector<const Node*> dims;
      if (c.pos.size() == 2) {
        dims = shape_arg(*c.pos[1], true);
      } else {
        arity(c, 2, 3);
        for (size_t k = 1; k < c.pos.size(); ++k) {
          auto d = shape_arg(*c.pos[k], true);
          if (d.size() != 1) error(c.pos[k]->span, "each dimension of reshape() must be an integer");
          dims.push_back(d[0]);
        }
      }
      return of(b_.reshape(node(*c.pos[0]), dims, sp));
    }
    if (fn == "astype") {
      arity(c, 2, 2);
      return of(b_.cast_strong(node(*c.pos[0]), dtype_arg(*c.pos[1]), sp));
    }
    DType cast_to;
    if (dtype_from_name(fn, cast_to)) {
      arity(c, 1, 1);
      return of(b_.cast_strong(node(*c.pos[0]), cast_to, sp));
    }
    if (fn == "arange") return arange(c);
    if (fn == "linspace") return linspace(c);
    if (fn == "random" || fn == "randn") {
      arity(c, 1, 1);
      auto dims = shape_arg(*c.pos[0]);
      if (dims.size() != 1) error(c.pos[0]->span, fmt::format("{}() makes 1-D arrays: give a length", fn));
      const Node* seed = b_.const_int(0, DType::I64, false);
      if (const Expr* s = kwarg(c, "seed")) {
        seed = node(*s);
        if (seed->rank() != 0 || !is_int(seed->dtype())) error(s->span, "seed must be an integer");
      }
      return of(b_.random(fn == "randn", seed, dims[0], sp));
    }
    if (fn == "len") {
      arity(c, 1, 1);
      const Node* x = node(*c.pos[0]);
      if (x->rank() == 0) error(sp, fmt::format("len() of a scalar ({})", x->type.str()));
      return of(as_weak(x->shape[0]));
    }
    if (fn == "shape") {
      arity(c, 1, 2);
      const Node* x = node(*c.pos[0]);
      if (c.pos.size() == 1) {
        SemaValue v;
        v.kind = SemaValue::Kind::Tuple;
        for (auto* d : x->shape) v.items.push_back(as_weak(d));
        return v;
      }
      int64_t axis = const_int_arg(*c.pos[1], "the axis of shape()");
      if (axis < -x->rank() || axis >= x->rank())
        error(c.pos[1]->span, fmt::format("axis {} is out of bounds for array of dimension {}", axis, x->rank()));
      return of(as_weak(x->shape[size_t(axis < 0 ? axis + x->rank() : axis)]));
    }
    if (fn == "load") {
      arity(c, 1, 1);
      if (c.pos[0]->kind != ExprKind::String) error(c.pos[0]->span, "load() takes a file name string");
      if (!scope_.load) error(sp, "load() is not available here");
      return of(scope_.load(c.pos[0]->name, sp));
    }
    if (fn == "print" || fn == "save")
      error(sp, fmt::format("{}() is a statement, not a value", fn));
    std::vector<std::string> cands = builtin_names();
    std::string near = nearest_name(fn, cands);
    if (!near.empty()) error(c.e.args[0]->span, fmt::format("unknown function '{}'; did you mean '{}'?", fn, near));
    error(c.e.args[0]->span, fmt::format("unknown function '{}'", fn));
  }

  // round(x, decimals=0), as NumPy's PyArray_Round: with f = 10**|decimals|
  // (a Python float, so f32 stays f32), rint(x * f) / f for decimals > 0 and
  // rint(x / f) * f for decimals < 0; integers are unchanged by decimals >= 0
  // and go through f64 and back for decimals < 0.
  SemaValue round(Call& c) {
    arity(c, 1, 2);
    Span sp = c.e.span;
    const Node* x = node(*c.pos[0]);
    const Expr* d = c.pos.size() == 2 ? c.pos[1] : nullptr;
    if (const Expr* k = kwarg(c, "decimals")) {
      if (d) error(k->span, "round() got multiple values for argument 'decimals'");
      d = k;
    }
    int64_t decimals = d ? const_int_arg(*d, "decimals") : 0;
    if (decimals == 0) return of(b_.math(MathFn::Round, x, sp));
    DType t = x->dtype();
    if (!is_float(t) && decimals > 0) return of(x);
    if (decimals < -400 || decimals > 400) error(d->span, "decimals is out of range");
    int n = int(decimals < 0 ? -decimals : decimals);
    double f = n < 9 ? std::pow(10.0, n) : 1e9;  // NumPy's power_of_ten: exact to 1e8, then *= 10
    for (int k = 9; k < n; ++k) f *= 10.0;
    const Node* fc = b_.const_float(f, DType::F64, true);
    const Node* v = is_float(t) ? x : b_.cast(x, DType::F64, sp);
    BinaryOp op1 = decimals > 0 ? BinaryOp::Mul : BinaryOp::Div;
    BinaryOp op2 = decimals > 0 ? BinaryOp::Div : BinaryOp::Mul;
    v = b_.binary(op2, b_.math(MathFn::Round, b_.binary(op1, v, fc, sp), sp), fc, sp);
    return of(is_float(t) ? v : b_.cast(v, t, sp));
  }

  const Node* scalar_arg(const Expr& e, const char* fn) {
    const Node* n = node(e);
    if (n->rank() != 0) error(e.span, fmt::format("{}() takes scalar arguments, got {}", fn, n->type.str()));
    if (n->dtype() == DType::Bool) n = b_.cast(n, DType::I64, e.span);
    return n;
  }

  SemaValue arange(Call& c) {
    arity(c, 1, 3);
    const Node* start = b_.const_int(0);
    const Node* stop;
    const Node* step = b_.const_int(1);
    if (c.pos.size() == 1) {
      stop = scalar_arg(*c.pos[0], "arange");
    } else {
      start = scalar_arg(*c.pos[0], "arange");
      stop = scalar_arg(*c.pos[1], "arange");
      if (c.pos.size() == 3) step = scalar_arg(*c.pos[2], "arange");
    }
    Span sp = c.e.span;
    if (step->is_const() && step->as_double() == 0) error(sp, "arange() step must not be zero");
    // NumPy: integer arguments give i64, any float argument gives f64.
    bool any_float = is_float(start->dtype()) || is_float(stop->dtype()) || is_float(step->dtype());
    DType t = any_float ? DType::F64 : DType::I64;
    if (const Expr* d = kwarg(c, "dtype")) t = dtype_arg(*d);
    // As NumPy's PyArray_ArangeObj: length = ceil((stop - start) / step) in
    // f64 (the difference of two integers taken exactly first); element 0 is
    // start and element 1 is start + step, both converted to the dtype, and
    // element i >= 2 is first + i * (second - first) computed in the dtype
    // (the dtype's fill function). So arange(0.3, 2, 0.1)[5] is NumPy's
    // 0.8000000000000003, not 0.3 + 5 * 0.1.
    bool int_args = !any_float;
    const Node* span_ = int_args ? b_.cast(b_.binary(BinaryOp::Sub, b_.cast(stop, DType::I64, sp), b_.cast(start, DType::I64, sp), sp),
                                        DType::F64, sp)
                                 : b_.binary(BinaryOp::Sub, b_.cast(stop, DType::F64, sp),
                                             b_.cast(start, DType::F64, sp), sp);
    const Node* flen = b_.math(MathFn::Ceil, b_.binary(BinaryOp::Div, span_, b_.cast(step, DType::F64, sp), sp), sp);
    if (flen->is_const()) {
      if (std::isnan(flen->fval)) error(sp, "arange: cannot compute length");
      if (flen->fval >= 9.2e18) error(sp, "Maximum allowed size exceeded");
    } else {
      // Too long for an i64 (arange(1e20) at run time): keep it huge, so
      // allocation fails, instead of letting the cast wrap it to empty.
      flen = b_.binary(BinaryOp::Minimum, flen, b_.const_float(9.2e18, DType::F64, false), sp);
    }
    const Node* len = b_.binary(BinaryOp::Maximum, b_.cast(flen, DType::I64, sp),
                                b_.const_int(0, DType::I64, false), sp);
    DType compute = t == DType::Bool ? DType::I64 : t;
    DType arith = int_args ? DType::I64 : DType::F64;  // Python's start + step
    const Node* first = b_.cast(b_.cast(start, arith, sp), compute, sp);
    const Node* second = b_.cast(b_.binary(BinaryOp::Add, b_.cast(start, arith, sp), b_.cast(step, arith, sp), sp),
                                 compute, sp);
    const Node* delta = b_.binary(BinaryOp::Sub, second, first, sp);
    const Node* idx = b_.iota(dim_node(len), sp);
    const Node* v = b_.binary(BinaryOp::Add, first, b_.binary(BinaryOp::Mul, b_.cast(idx, compute, sp), delta, sp), sp);
    if (is_float(compute)) {
      // Elements 0 and 1 are stored, not computed: first + 1 * delta may
      // round away from second, and 0 * inf is nan.
      v = b_.select(b_.binary(BinaryOp::Eq, idx, b_.const_int(1, DType::I64, false), sp), second, v, sp);
      v = b_.select(b_.binary(BinaryOp::Eq, idx, b_.const_int(0, DType::I64, false), sp), first, v, sp);
    }
    return of(b_.cast(v, t, sp));
  }

  SemaValue linspace(Call& c) {
    arity(c, 2, 3);
    Span sp = c.e.span;
    const Node* start = b_.cast(scalar_arg(*c.pos[0], "linspace"), DType::F64, sp);
    const Node* stop = b_.cast(scalar_arg(*c.pos[1], "linspace"), DType::F64, sp);
    const Expr* num_e = c.pos.size() == 3 ? c.pos[2] : kwarg(c, "num");
    const Node* num = num_e ? scalar_arg(*num_e, "linspace") : b_.const_int(50);
    if (is_float(num->dtype())) error(num_e->span, "linspace() num must be an integer");
    if (num->is_const() && num->ival < 0) error(num_e->span, "linspace() num must be non-negative");
    bool endpoint = true;
    if (const Expr* ep = kwarg(c, "endpoint")) {
      const Node* n = node(*ep);
      if (!n->is_const()) error(ep->span, "endpoint must be a constant True or False");
      endpoint = n->as_int() != 0;
    }
    num = dim_node(num);
    const Node* one = b_.const_int(1, DType::I64, false);
    const Node* div = endpoint ? b_.binary(BinaryOp::Sub, num, one, sp) : num;
    div = b_.binary(BinaryOp::Maximum, div, one, sp);
    const Node* step = b_.binary(BinaryOp::Div, b_.binary(BinaryOp::Sub, stop, start, sp),
                                 b_.cast(div, DType::F64, sp), sp);
    const Node* i = b_.iota(num, sp);
    const Node* v = b_.binary(BinaryOp::Add, b_.binary(BinaryOp::Mul, b_.cast(i, DType::F64, sp), step, sp), start, sp);
    if (endpoint) {
      const Node* last = b_.binary(BinaryOp::Eq, i, b_.binary(BinaryOp::Sub, num, one, sp), sp);
      const Node* more = b_.binary(BinaryOp::Gt, num, one, sp);
      v = b_.select(b_.binary(BinaryOp::BitAnd, last, more, sp), stop, v, sp);
    }
    if (const Expr* d = kwarg(c, "dtype")) {
      DType t = dtype_arg(*d);
      // NumPy (since 1.20) floors before converting to an integer dtype.
      if (is_int(t)) v = b_.math(MathFn::Floor, v, sp);
      v = b_.cast(v, t, sp);
    }
    return of(v);
  }

  Builder& b_;
  const Scope& scope_;
  int depth_ = 0;
  int kernel_depth_ = 0;  // kernels being inlined around this expression
};

}  // namespace

SemaValue lower_expr(Builder& b, const Scope& scope, const Expr& e) {
  Lowerer l(b, scope);
  return l.value(e);
}

const Node* lower_node(Builder& b, const Scope& scope, const Expr& e) {
  Lowerer l(b, scope);
  return l.node(e);
}

const std::vector<std::string>& builtin_names() {
  static const std::vector<std::string> names = [] {
    std::set<std::string> s;
    for (auto& f : builtins()) s.insert(f.name);
    for (auto& m : kReduce) s.insert(m.name);
    for (auto& m : kScan) s.insert(m.name);
    for (auto& m : kGroup) s.insert(m.name);
    for (auto* o : kOther) s.insert(o);
    for (DType t : kDTypes) s.insert(dtype_name(t));
    return std::vector<std::string>(s.begin(), s.end());
  }();
  return names;
}

bool dtype_from_name(const std::string& name, DType& out) {
  // Each dtype's own name and NumPy's (the rows of NUMJIT_FOR_EACH_DTYPE),
  // and Python's and NumPy's aliases.
  static const std::map<std::string, DType> names = [] {
    std::map<std::string, DType> m = {{"bool_", DType::Bool}, {"int", DType::I64}, {"float", DType::F64}};
    for (DType t : kDTypes) m[dtype_name(t)] = m[dtype_numpy_name(t)] = t;
    return m;
  }();
  auto it = names.find(name);
  if (it == names.end()) return false;
  out = it->second;
  return true;
}

}  // namespace numjit
