// Kernels with loops (see kernel.h): two passes over the body. The first
// types every local (repeated until no type widens, as Numba unifies);
// the second emits loop-IR statements, sending each expression through
// sema, fusion and ir/passes/lower_to_loops.h at its point in the body.
#include "frontend/kernel.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <set>

#include "support/diagnostics.h"
#include "ir/pipeline.h"
#include "ir/passes/lower_to_loops.h"
#include "ir/passes/inline.h"

namespace numjit {

namespace {

bool body_needs_loops(const std::vector<StmtPtr>& body) {
  for (size_t i = 0; i < body.size(); ++i) {
    const Stmt& s = *body[i];
    switch (s.kind) {
      case StmtKind::For:
      case StmtKind::While:
      case StmtKind::If:
      case StmtKind::Break:
      case StmtKind::Continue: return true;
      case StmtKind::Assign:
        for (auto& t : s.targets)
          if (t->kind == ExprKind::Subscript) return true;
        break;
      case StmtKind::AugAssign:
        if (s.targets[0]->kind == ExprKind::Subscript) return true;
        break;
      default: break;
    }
  }
  return false;
}

bool calls_loop_kernel(const std::vector<StmtPtr>& body, const std::map<std::string, KernelDef>& kernels,
                       std::set<std::string>& seen);

/** Whether `e` calls a kernel that needs loops (`seen`: kernels on the way,
 *  so that recursion ends here and is reported where it is lowered). */
bool expr_calls_loop_kernel(const Expr& e, const std::map<std::string, KernelDef>& kernels, std::set<std::string>& seen) {
  if (e.kind == ExprKind::Call && e.args[0]->kind == ExprKind::Name) {
    auto it = kernels.find(e.args[0]->name);
    if (it != kernels.end() && !seen.count(it->first)) {
      if (body_needs_loops(it->second.def->body)) return true;
      seen.insert(it->first);
      bool r = calls_loop_kernel(it->second.def->body, kernels, seen);
      seen.erase(it->first);
      if (r) return true;
    }
  }
  for (auto& a : e.args)
    if (a && expr_calls_loop_kernel(*a, kernels, seen)) return true;
  for (auto& kw : e.keywords)
    if (kw.value && expr_calls_loop_kernel(*kw.value, kernels, seen)) return true;
  return false;
}

bool calls_loop_kernel(const std::vector<StmtPtr>& body, const std::map<std::string, KernelDef>& kernels,
                       std::set<std::string>& seen) {
  for (auto& s : body) {
    if (s->value && expr_calls_loop_kernel(*s->value, kernels, seen)) return true;
    for (auto& t : s->targets)
      if (expr_calls_loop_kernel(*t, kernels, seen)) return true;
    if (calls_loop_kernel(s->body, kernels, seen) || calls_loop_kernel(s->orelse, kernels, seen)) return true;
  }
  return false;
}

/** Whether a return sits inside a loop or branch of `body`. */
bool has_nested_return(const std::vector<StmtPtr>& body) {
  std::function<bool(const std::vector<StmtPtr>&)> any = [&](const std::vector<StmtPtr>& b) {
    for (auto& s : b) {
      if (s->kind == StmtKind::Return) return true;
      if (any(s->body) || any(s->orelse)) return true;
    }
    return false;
  };
  for (auto& s : body)
    if (any(s->body) || any(s->orelse)) return true;
  return false;
}

/** Whether a return sits anywhere in `body`. */
bool contains_return(const std::vector<StmtPtr>& body) {
  for (auto& s : body)
    if (s->kind == StmtKind::Return || contains_return(s->body) || contains_return(s->orelse)) return true;
  return false;
}

bool is_call(const Expr& e, const char* fn) {
  return e.kind == ExprKind::Call && e.args[0]->kind == ExprKind::Name && e.args[0]->name == fn;
}

/** Strong form of a value type (Numba types Python numbers as i64 / f64). */
Type strong(Type t) {
  t.weak = false;
  return t;
}

class KernelLowerer {
 public:
  KernelLowerer(const KernelDef& k, const std::vector<InputSig>& sigs, const std::map<std::string, KernelDef>* kernels,
                bool boundscheck, std::vector<std::string>* stack)
      : k_(k), def_(*k.def), sigs_(sigs), kernels_(kernels), boundscheck_(boundscheck), stack_(stack), K(out_.kernel) {}

  LoopKernel run() {
    K.name = def_.name;
    K.exprs = std::make_shared<LoopBuilder>();
    if (sigs_.size() != def_.params.size())
      internal_error("lower_kernel", "argument count does not match the parameters");
    for (size_t i = 0; i < sigs_.size(); ++i) {
      const InputSig& s = sigs_[i];
      K.buffers.push_back(Buffer{def_.params[i].name, BufferKind::Input, s.type.dtype, s.type.rank, s.contiguous});
    }
    K.num_inputs = int(sigs_.size());
    find_returns();
    // Pass 1: types, until no local's type widens.
    for (int round = 0; round < 16; ++round) {
      reset_locals();
      changed_ = false;
      typing_ = true;
      std::vector<LStmt> scratch;
      block(def_.body, scratch, 0);
      if (!changed_) break;
    }
    // Pass 2: statements.
    typing_ = false;
    reset_locals();
    for (auto& [name, l] : locals_)
      if (l.param && !l.array) {
        LStmt a{LStmtKind::Assign};
        a.var = l.var;
        a.value = K.exprs->cast(K.exprs->load(l.buf, sigs_[size_t(l.buf)].type.dtype, {}), l.type.dtype);
        K.body.push_back(a);
      }
    if (early_) {
      // Returns anywhere: the (scalar) results exist from the start, each
      // return stores into them and leaves the kernel.
      if (ret_types_.empty()) error(def_.span, fmt::format("kernel '{}' does not return a value", def_.name));
      for (size_t r = 0; r < ret_types_.size(); ++r) {
        K.buffers.push_back(Buffer{fmt::format("ret{}", r), BufferKind::Result, ret_types_[r], 0, true});
        int b = int(K.buffers.size()) - 1;
        K.results.push_back(b);
        LStmt alloc{LStmtKind::AllocResult};
        alloc.buf = b;
        K.body.push_back(alloc);
        out_.results.push_back(Type{ret_types_[r], 0, false});
      }
      out_.returns_tuple = early_tuple_;
    }
    block(def_.body, K.body, 0);
    if (early_ && (def_.body.empty() || def_.body.back()->kind != StmtKind::Return)) {
      LStmt c{LStmtKind::Check};
      c.value = K.exprs->constant(DType::Bool, 0, 0);
      c.message = fmt::format("kernel '{}' reached its end without returning a value", def_.name);
      K.body.push_back(c);
    }
    if (!returned_) user_error(k_.src.get(), def_.span, fmt::format("kernel '{}' does not return a value", def_.name));
    return std::move(out_);
  }

 private:
  struct Local {
    Type type;
    bool array = false;
    bool param = false;
    int var = -1;   // scalars
    int buf = -1;   // arrays (pass 2; a placeholder in pass 1)
    bool assigned = false;  // in this pass
    Span first;
    // A view of another array (y = x[::2]): buf is the viewed buffer and
    // y reads and writes its memory, as in NumPy. The view's parts (ir
    // View nodes, innermost first) are frozen in hidden i64 variables when
    // it is bound, so later changes to the bounds' variables do not move it.
    struct Level {
      std::vector<int64_t> steps;
      std::vector<int> starts, lens;  // variables (lens -1 for an index)
    };
    std::vector<Level> view;
    InputSig source;  // of buf
    bool rebindable = false;  // bound to views
  };

  [[noreturn]] void error(Span s, const std::string& msg) const { user_error(k_.src.get(), s, msg); }

  void find_returns() {
    const auto& body = def_.body;
    early_ = has_nested_return(body);
    for (size_t i = 0; i < body.size(); ++i) {
      const Stmt& s = *body[i];
      if (s.kind != StmtKind::Return) continue;
      if (i + 1 != body.size()) error(s.span, "code after 'return' never runs");
      if (!s.value) error(s.span, "a kernel must return a value");
      if (s.value->kind == ExprKind::Name) returned_names_.insert(s.value->name);
      if (s.value->kind == ExprKind::Tuple)
        for (auto& a : s.value->args)
          if (a->kind == ExprKind::Name) returned_names_.insert(a->name);
    }
  }

  // Parameters always exist; other locals are re-found each pass, keeping
  // the types (and variables) of the passes before.
  void reset_locals() {
    if (locals_.empty()) {
      for (size_t i = 0; i < sigs_.size(); ++i) {
        const Param& p = def_.params[i];
        Local l;
        l.param = true;
        l.first = p.span;
        Type t = strong(sigs_[i].type);
        if (p.annotation) t = check_annotation(p, sigs_[i].type);
        l.type = t;
        l.array = t.rank > 0;
        l.buf = int(i);
        if (!l.array) l.var = new_var(t.dtype, p.name);
        locals_[p.name] = l;
      }
    }
    for (auto& [name, l] : locals_) l.assigned = l.param;
    returned_ = false;
  }

  Type check_annotation(const Param& p, const Type& got) {
    const Expr& a = *p.annotation;
    DType t;
    Type want{DType::F64, -1, false};
    if (a.kind == ExprKind::Name && dtype_from_name(a.name, t)) want = Type{t, 0, false};
    if (a.kind == ExprKind::Subscript && a.args[0]->kind == ExprKind::Name && dtype_from_name(a.args[0]->name, t))
      want = Type{t, int(a.args.size()) - 1, false};
    if (want.rank < 0 || want.rank > 2)
      error(a.span, "an annotation is a dtype (f64, i32, bool ...) or an array type such as f64[:] or f64[:, :]");
    bool ok = want.rank == got.rank && (want.dtype == got.dtype || got.rank == 0);
    if (!ok)
      error(p.span, fmt::format("argument '{}' of {}() must be {}, got {}", p.name, def_.name, want.str(), strong(got).str()));
    return want;
  }

  int new_var(DType t, const std::string& name) {
    K.var_types.push_back(t);
    K.var_names.push_back(fmt::format("{}.{}", name, K.var_names.size()));
    return int(K.var_types.size()) - 1;
  }

  // --- expressions -----------------------------------------------------------

  struct Typed {
    Context ctx;
    Builder b;
    Scope scope;
    explicit Typed(const Source* src) : b(ctx, src) {}
  };

  std::unique_ptr<Typed> typed_scope() {
    auto t = std::make_unique<Typed>(k_.src.get());
    t->scope.kernels = kernels_;
    for (auto& [name, l] : locals_) {
      if (!l.assigned) {
        t->scope.other_names.push_back(name);
        continue;
      }
      InputSig sig;
      sig.name = name;
      sig.type = l.type;
      int64_t index;
      if (l.array) {
        index = l.buf;
        if (l.param) {
          sig = sigs_[size_t(l.buf)];
          sig.name = name;
        }
      } else {
        index = kVarInput + l.var;
      }
      if (!l.view.empty()) {
        const Node* n = t->b.input(int(index), l.source, l.first);
        auto var = [&](int v) {
          InputSig vs;
          vs.name = K.var_names[size_t(v)];
          vs.type = Type{DType::I64, 0, false};
          return t->b.input(int(kVarInput + v), vs, l.first);
        };
        for (auto& level : l.view) {
          std::vector<const Node*> starts, lens;
          for (size_t k = 0; k < level.steps.size(); ++k) {
            starts.push_back(var(level.starts[k]));
            lens.push_back(level.steps[k] ? var(level.lens[k]) : nullptr);
          }
          n = t->b.view(n, level.steps, starts, lens, l.first);
        }
        t->scope.vars[name] = n;
        continue;
      }
      t->scope.vars[name] = t->b.input(int(index), sig, l.first);
    }
    for (auto& [call, r] : calls_) {
      SemaValue v;
      for (size_t i = 0; i < r.types.size(); ++i) {
        InputSig sig;
        sig.name = fmt::format("{}()", call->args[0]->name);
        sig.type = r.types[i];
        v.items.push_back(t->b.input(int(r.index[i]), sig, call->span));
      }
      if (r.tuple) v.kind = SemaValue::Kind::Tuple;
      else v.node = v.items[0], v.items.clear();
      t->scope.precomputed[call] = v;
    }
    return t;
  }

  /** The array IR of `e` (a scalar or an array; tuples only where allowed). */
  SemaValue sema(Typed& t, const Expr& e) { return lower_expr(t.b, t.scope, e); }

  const Node* node(Typed& t, const Expr& e) {
    SemaValue v = sema(t, e);
    if (v.kind != SemaValue::Kind::Node) error(e.span, "expected an array or scalar here");
    return v.node;
  }

  /** A scalar expression as a loop-IR value, its work emitted into `at`. */
  const LExpr* scalar(const Expr& e, std::vector<LStmt>& at, DType* type = nullptr) {
    auto t = typed_scope();
    const Node* n = node(*t, e);
    if (n->rank() != 0) error(e.span, fmt::format("expected a scalar here, got {}", n->type.str()));
    if (type) *type = n->dtype();
    if (typing_) return nullptr;
    StatementLowering sl(K, at, {n}, where_, boundscheck_);
    return sl.scalar(n);
  }

  Type type_of(const Expr& e) {
    auto t = typed_scope();
    return node(*t, e)->type;
  }

  // --- locals ----------------------------------------------------------------

  Local& declare(const Expr& target, const Type& t) {
    auto it = locals_.find(target.name);
    if (it == locals_.end()) {
      Local l;
      l.type = strong(t);
      l.array = t.rank > 0;
      l.first = target.span;
      if (!l.array) l.var = new_var(t.dtype, target.name);
      else l.buf = placeholder_--;
      it = locals_.emplace(target.name, l).first;
      changed_ = true;
    }
    Local& l = it->second;
    bool array = t.rank > 0;
    if (array != l.array || (array && (t.rank != l.type.rank || t.dtype != l.type.dtype)))
      error(target.span, fmt::format("'{}' changes type from {} to {}; a local keeps one type (first assigned at line {})",
                                     target.name, l.type.str(), strong(t).str(), l.first.line));
    if (!array) {
      DType d = l.type.dtype == t.dtype ? t.dtype : promote_dtypes(l.type.dtype, t.dtype);
      if (d != l.type.dtype) {
        if (l.param) error(target.span, fmt::format("'{}' is a parameter of type {}; it cannot hold a {}", target.name,
                                                    l.type.str(), strong(t).str()));
        l.type.dtype = d;
        K.var_types[size_t(l.var)] = d;
        changed_ = true;
      }
    }
    return l;
  }

  // --- statements ------------------------------------------------------------

  void block(const std::vector<StmtPtr>& body, std::vector<LStmt>& at, int depth) {
    for (auto& s : body) stmt(*s, at, depth);
  }

  void stmt(const Stmt& s, std::vector<LStmt>& at, int depth) {
    where_ = fmt::format("{}:{}:{}: ", k_.src->name(), s.span.line, s.span.col);
    calls_.clear();  // a statement's calls are used by it alone
    if (s.kind != StmtKind::While && s.kind != StmtKind::AugAssign) {
      for (auto& t : s.targets) hoist_calls(*t, at);
      if (s.value) hoist_calls(*s.value, at);
      where_ = fmt::format("{}:{}:{}: ", k_.src->name(), s.span.line, s.span.col);
    }
    switch (s.kind) {
      case StmtKind::Pass: return;
      case StmtKind::Assign: return assign(s, at, depth);
      case StmtKind::AugAssign: return aug_assign(s, at, depth);
      case StmtKind::For: return for_loop(s, at, depth);
      case StmtKind::While: {
        // while c: body  is  while true: (c's work); if not c: break; body
        // so that c is computed afresh each time round.
        LStmt w{LStmtKind::While};
        DType t;
        hoist_calls(*s.value, w.body);
        const LExpr* c = truth(scalar(*s.value, w.body, &t), t, s.value->span);
        if (!typing_) {
          w.value = K.exprs->constant(DType::Bool, 0, 1);
          LStmt exit{LStmtKind::If};
          exit.value = K.exprs->unary(UnaryOp::Not, c);
          exit.body.push_back(LStmt{LStmtKind::Break});
          w.body.push_back(std::move(exit));
        }
        ++loop_depth_;
        block(s.body, w.body, depth + 1);
        --loop_depth_;
        at.push_back(std::move(w));
        return;
      }
      case StmtKind::If: {
        LStmt i{LStmtKind::If};
        DType t;
        i.value = truth(scalar(*s.value, at, &t), t, s.value->span);
        block(s.body, i.body, depth + 1);
        block(s.orelse, i.orelse, depth + 1);
        at.push_back(std::move(i));
        return;
      }
      case StmtKind::Break:
      case StmtKind::Continue:
        if (loop_depth_ == 0) error(s.span, fmt::format("'{}' outside a loop", s.kind == StmtKind::Break ? "break" : "continue"));
        at.push_back(LStmt{s.kind == StmtKind::Break ? LStmtKind::Break : LStmtKind::Continue});
        return;
      case StmtKind::Return: return ret(s, at, depth);
      case StmtKind::Expr:
        if (is_call(*s.value, "print")) error(s.span, "print() inside kernels is not supported; return the values instead");
        scalar_or_array_for_effect(*s.value);
        return;
      case StmtKind::Def: error(s.span, "kernels cannot be defined inside kernels");
    }
  }

  // An expression statement computes nothing anyone sees; type-check it.
  void scalar_or_array_for_effect(const Expr& e) {
    auto t = typed_scope();
    sema(*t, e);
  }

  const LExpr* truth(const LExpr* v, DType t, Span span) {
    if (typing_) return nullptr;
    (void)span;
    return K.exprs->cast(v, DType::Bool);
  }

  void assign(const Stmt& s, std::vector<LStmt>& at, int depth, bool checked = false) {
    for (auto& t : s.targets)
      if (t->kind == ExprKind::Tuple) return unpack(s, *t, at);
    const Expr& first = *s.targets[0];
    if (first.kind == ExprKind::Subscript) {
      for (auto& t : s.targets) element_store(*t, *s.value, at);
      return;
    }
    Type vt = type_of(*s.value);
    for (auto& t : s.targets) {
      if (t->kind == ExprKind::Subscript) {
        element_store(*t, *s.value, at);
        continue;
      }
      if (t->kind != ExprKind::Name) error(t->span, "cannot assign to this");
      if (!checked) check_prange_write(*t, s, false);
      Local& l = declare(*t, vt);
      if (l.array) {
        array_local(*t, l, *s.value, at, depth);
      } else {
        const LExpr* v = scalar(*s.value, at);
        l.assigned = true;
        if (!typing_) {
          LStmt a{LStmtKind::Assign};
          a.var = l.var;
          a.value = K.exprs->cast(v, l.type.dtype);
          at.push_back(a);
        }
      }
    }
  }

  // n, m = X.shape  and  a, b = b, a + b: scalars only.
  void unpack(const Stmt& s, const Expr& target, std::vector<LStmt>& at) {
    if (s.targets.size() != 1) error(s.span, "chained assignment with a tuple is not supported in kernels");
    auto t = typed_scope();
    SemaValue v = sema(*t, *s.value);
    if (v.kind != SemaValue::Kind::Tuple || v.items.size() != target.args.size())
      error(s.value->span, fmt::format("cannot unpack this into {} names", target.args.size()));
    // All values are computed before any name is bound (Python's order).
    std::vector<const LExpr*> vals;
    for (size_t i = 0; i < v.items.size(); ++i) {
      const Node* n = v.items[i];
      if (n->rank() != 0) error(target.args[i]->span, "only scalars can be unpacked inside kernels");
      if (target.args[i]->kind != ExprKind::Name) error(target.args[i]->span, "cannot assign to this");
      if (!typing_) {
        StatementLowering sl(K, at, {n}, where_, boundscheck_);
        const LExpr* e = sl.scalar(n);
        if (e->kind != LExprKind::Const) {  // pin the value before any target changes
          int tmp = new_var(e->dtype, "tmp");
          LStmt a{LStmtKind::Assign};
          a.var = tmp;
          a.value = e;
          at.push_back(a);
          e = K.exprs->var(tmp, e->dtype);
        }
        vals.push_back(e);
      }
    }
    for (size_t i = 0; i < v.items.size(); ++i) {
      const Expr& name = *target.args[i];
      check_prange_write(name, s, false);
      Local& l = declare(name, v.items[i]->type);
      l.assigned = true;
      if (typing_) continue;
      LStmt a{LStmtKind::Assign};
      a.var = l.var;
      a.value = K.exprs->cast(vals[i], l.type.dtype);
      at.push_back(a);
    }
  }

  void array_local(const Expr& target, Local& l, const Expr& value, std::vector<LStmt>& at, int depth) {
    if (l.param) error(target.span, fmt::format("'{}' is a parameter; assign its elements ({}[i] = ...) instead", target.name, target.name));
    auto t = typed_scope();
    const Node* n = node(*t, value);
    // A view of an array (r = X[i]) may be bound again anywhere, in loops
    // too: binding it only sets its bounds. Other arrays are allocated once.
    const Node* base = n;
    while (base->kind == ArrayOp::View) base = base->ops[0];
    bool view = n->kind == ArrayOp::View && base->kind == ArrayOp::Input && base->ival < kVarInput;
    if (l.assigned && view != l.rebindable)
      error(target.span, fmt::format("array '{}' is bound to a view and to another array; give each its own name", target.name));
    l.rebindable = view;
    if (!view && (depth > 0 || l.assigned))
      error(target.span, fmt::format("array '{}' must be assigned once, at the top level of the kernel (a slice "
                                     "such as {} = X[i] may be bound in loops)", target.name, target.name));
    l.assigned = true;
    if (typing_) return;
    // A name of another array is that array (NumPy aliasing), not a copy.
    if (n->kind == ArrayOp::Input && n->ival < kVarInput) {
      l.buf = int(n->ival);
      return;
    }
    // A slice of one is a view of its memory.
    if (view) return bind_view(l, n, base, at);
    BufferKind kind = returned_names_.count(target.name) ? BufferKind::Result : BufferKind::Temp;
    StatementLowering sl(K, at, {n}, where_, boundscheck_);
    l.type = strong(n->type);
    if (is_call(value, "empty") || is_call(value, "empty_like")) {
      // NumPy's empty: memory the kernel fills itself (no zero-fill pass).
      LStmt alloc{kind == BufferKind::Result ? LStmtKind::AllocResult : LStmtKind::AllocTemp};
      for (const Node* d : n->shape) {
        const LExpr* v = sl.scalar(d);
        if (v->kind != LExprKind::Const) {
          LStmt c{LStmtKind::Check};
          c.value = K.exprs->binary(BinaryOp::Ge, v, K.exprs->i64(0));
          c.message = "negative dimensions are not allowed";
          at.push_back(c);
        }
        alloc.args.push_back(v);
      }
      K.buffers.push_back(Buffer{target.name, kind, n->dtype(), n->rank(), true});
      l.buf = alloc.buf = int(K.buffers.size()) - 1;
      at.push_back(alloc);
      return;
    }
    l.buf = sl.array(n, kind);
  }

  // Freezes the parts of view `n` of buffer `base` into variables of `l`.
  void bind_view(Local& l, const Node* n, const Node* base, std::vector<LStmt>& at) {
    std::vector<const Node*> chain;
    for (const Node* v = n; v != base; v = v->ops[0]) chain.insert(chain.begin(), v);
    if (!l.view.empty()) {  // bound again: the same kind of view of the same array
      bool same = l.view.size() == chain.size() && l.buf == int(base->ival);
      for (size_t i = 0; same && i < chain.size(); ++i) same = l.view[i].steps == chain[i]->steps;
      if (!same)
        error(n->span, "a view bound again must view the same array with the same steps; give it another name");
    } else {  // the variables, once for every pass
      for (const Node* v : chain) {
        Local::Level level;
        level.steps = v->steps;
        for (size_t k = 0; k < v->steps.size(); ++k) {
          level.starts.push_back(new_var(DType::I64, "view.start"));
          level.lens.push_back(v->steps[k] ? new_var(DType::I64, "view.len") : -1);
        }
        l.view.push_back(level);
      }
    }
    int src = int(base->ival);
    l.buf = src;
    l.source = src < int(sigs_.size()) ? sigs_[size_t(src)] : InputSig{};
    if (src >= int(sigs_.size())) {
      const Buffer& b = K.buffers[size_t(src)];
      l.source.name = b.name;
      l.source.type = Type{b.dtype, b.rank, false};
      l.source.contiguous = b.contiguous;
    }
    StatementLowering sl(K, at, {}, where_, boundscheck_);
    for (size_t i = 0; i < chain.size(); ++i)
      for (size_t k = 0; k < chain[i]->steps.size(); ++k) {
        auto freeze = [&](int var, const Node* part) {
          LStmt a{LStmtKind::Assign};
          a.var = var;
          a.value = K.exprs->cast(sl.scalar(part), DType::I64);
          at.push_back(a);
        };
        freeze(l.view[i].starts[k], chain[i]->ops[1 + 2 * k]);
        if (chain[i]->steps[k]) freeze(l.view[i].lens[k], chain[i]->ops[2 + 2 * k]);
      }
    // An index out of range is an error when the view is made, as in NumPy.
    for (size_t k = 0; k < chain[0]->steps.size(); ++k)
      if (!chain[0]->steps[k]) checked_index(K.exprs->var(l.view[0].starts[k], DType::I64), src, int(k), at);
  }

  void aug_assign(const Stmt& s, std::vector<LStmt>& at, int depth) {
    // x op= e is x = x op e; for x[i] op= e the element is read, then written.
    const Expr& target = *s.targets[0];
    Expr bin(ExprKind::Binary, s.span);
    bin.binop = s.aug_op;
    bin.args.push_back(clone_expr(target));
    bin.args.push_back(clone_expr(*s.value));
    if (target.kind == ExprKind::Name) {
      check_prange_write(target, s, true);
      auto it = locals_.find(target.name);
      if (it == locals_.end() || !it->second.assigned)
        error(target.span, fmt::format("'{}' is used before it is assigned", target.name));
      if (it->second.array) {  // in place, as NumPy's x += y
        hoist_calls(bin, at);
        return view_store(target, it->second, bin, at);
      }
      Stmt a(StmtKind::Assign, s.span);
      a.targets.push_back(clone_expr(target));
      a.value = std::make_unique<Expr>(std::move(bin));
      hoist_calls(*a.value, at);
      return assign(a, at, depth, true);
    }
    hoist_calls(bin, at);
    element_store(target, bin, at);
  }


  // x[i] = v and X[i, j] = v: negative indices wrap, others are checked.
  void element_store(const Expr& target, const Expr& value, std::vector<LStmt>& at) {
    const Expr& base = *target.args[0];
    if (base.kind != ExprKind::Name) error(base.span, "only elements of named arrays can be assigned");
    auto it = locals_.find(base.name);
    if (it == locals_.end() || !it->second.assigned)
      error(base.span, fmt::format("unknown array '{}'", base.name));
    Local& l = it->second;
    if (!l.array) error(base.span, fmt::format("'{}' is a scalar, not an array", base.name));
    size_t nidx = target.args.size() - 1;
    bool slices = int(nidx) < l.type.rank || !l.view.empty();  // X[i] = row; through a view
    for (size_t k = 1; k < target.args.size(); ++k) slices |= target.args[k]->kind == ExprKind::Slice;
    if (slices) return view_store(target, l, value, at);
    if (int(nidx) != l.type.rank)
      error(target.span, fmt::format("'{}' has rank {}: give {} index{} to assign one element", base.name, l.type.rank,
                                     l.type.rank, l.type.rank == 1 ? "" : "es"));
    const LExpr* v = scalar(value, at);
    std::vector<const LExpr*> idx;
    for (size_t k = 1; k < target.args.size(); ++k) {
      DType t;
      const LExpr* i = scalar(*target.args[k], at, &t);
      if (!is_int(t)) error(target.args[k]->span, fmt::format("an index must be an integer, got {}", dtype_name(t)));
      if (!typing_) idx.push_back(checked_index(K.exprs->cast(i, DType::I64), l.buf, int(k - 1), at));
    }
    if (typing_) return;
    LStmt st{LStmtKind::Store};
    st.buf = l.buf;
    st.args = std::move(idx);
    st.value = K.exprs->cast(v, l.type.dtype);
    at.push_back(st);
  }

  // x[a:b] = v, X[i, :] = row, X[i] = row, x[:] = 0 and x op= v on an array:
  // v, broadcast to the view's shape, is written into the view's elements
  // in place, as NumPy does (the caller sees the change). When v reads the
  // array at other elements (x[1:] = x[:-1]) it is copied first, as NumPy
  // copies overlapping operands.
  void view_store(const Expr& target, const Local& l, const Expr& value, std::vector<LStmt>& at) {
    auto t = typed_scope();
    const Node* view = node(*t, target);
    const Node* v = node(*t, value);
    for (const Node* n = view; n->kind != ArrayOp::Input; n = n->ops[0])
      if (n->kind != ArrayOp::View) error(target.span, "only elements and slices of an array can be assigned");
    if (v->rank() > view->rank())
      error(value.span, fmt::format("could not broadcast input array from shape {} into shape {}", v->type.str(),
                                    view->type.str()));
    const Node* b = t->b.broadcast(v, view->shape, value.span);
    if (typing_) return;
    if (reads_other_elements(b, view, l.buf)) b = t->b.copy(b, value.span);
    StatementLowering sl(K, at, {b}, where_, boundscheck_);
    sl.store(view, l.buf, b);
  }

  const LExpr* checked_index(const LExpr* raw, int buf, int axis, std::vector<LStmt>& at) {
    LoopBuilder& b = *K.exprs;
    const LExpr* len = b.dim(buf, axis);
    if (boundscheck_) {
      LStmt c{LStmtKind::Check};
      c.value = b.binary(BinaryOp::BitAnd, b.binary(BinaryOp::Ge, raw, b.unary(UnaryOp::Neg, len)),
                         b.binary(BinaryOp::Lt, raw, len));
      c.check = CheckKind::Index;
      c.message = where_;
      c.args = {raw, b.i64(axis), len};
      at.push_back(c);
    }
    return b.select(b.binary(BinaryOp::Lt, raw, b.i64(0)), b.binary(BinaryOp::Add, raw, len), raw);
  }

  // The outer scalars of a prange, and how each is reduced ("+=", "*=",
  // "min", "max"; -= and /= are of the += and *= families).
  struct Prange {
    std::set<std::string> outer;
    std::map<std::string, std::string> kinds;
  };

  void for_loop(const Stmt& s, std::vector<LStmt>& at, int depth) {
    const Expr& it = *s.value;
    bool par = is_call(it, "prange");
    if (!par && !is_call(it, "range")) error(it.span, "a kernel's for loop runs over range(...) or prange(...)");
    if (!it.keywords.empty()) error(it.keywords[0].name_span, "range() takes no keyword arguments");
    size_t n = it.args.size() - 1;
    if (n < 1 || n > 3) error(it.span, fmt::format("range() takes 1 to 3 arguments, got {}", n));
    const Expr& target = *s.targets[0];
    if (target.kind != ExprKind::Name) error(target.span, "the loop variable must be a name");
    std::vector<const LExpr*> bounds;
    for (size_t k = 1; k <= n; ++k) {
      DType t;
      const LExpr* v = scalar(*it.args[k], at, &t);
      if (!is_int(t) && t != DType::Bool)
        error(it.args[k]->span, fmt::format("range() takes integers, got {}", dtype_name(t)));
      bounds.push_back(typing_ ? nullptr : K.exprs->cast(v, DType::I64));
    }
    Local& l = declare(target, Type{DType::I64, 0, false});
    if (l.type.dtype != DType::I64) error(target.span, fmt::format("loop variable '{}' must stay an integer", target.name));
    l.assigned = true;
    LStmt f{LStmtKind::For};
    f.var = l.var;
    if (!typing_) {
      f.lo = n == 1 ? K.exprs->i64(0) : bounds[0];
      f.hi = n == 1 ? bounds[0] : bounds[1];
      if (n == 3) {
        f.step = bounds[2];
        if (f.step->kind == LExprKind::Const && f.step->ival == 0) error(it.args[3]->span, "range() arg 3 must not be zero");
        if (f.step->kind != LExprKind::Const) {
          LStmt c{LStmtKind::Check};
          c.value = K.exprs->binary(BinaryOp::Ne, f.step, K.exprs->i64(0));
          c.message = "range() arg 3 must not be zero";
          at.push_back(c);
        }
      }
    }
    std::set<std::string> outer;
    for (auto& [name, loc] : locals_)
      if (loc.assigned && !loc.array && name != target.name) outer.insert(name);
    if (par) prange_.push_back(Prange{outer, {}});
    ++loop_depth_;
    block(s.body, f.body, depth + 1);
    --loop_depth_;
    if (par) {  // ir/passes/parallelize.h decides how it runs
      Prange p = std::move(prange_.back());
      prange_.pop_back();
      f.prange = true;
      for (auto& [name, family] : p.kinds) {
        AccKind kind = family == "+=" ? AccKind::Sum : family == "*=" ? AccKind::Prod
                     : family == "min" ? AccKind::Min : AccKind::Max;
        f.reductions.push_back(LoopReduction{locals_.at(name).var, kind});
      }
    }
    at.push_back(std::move(f));
  }

  // In a prange body an outer scalar may only be reduced: v += e, v -= e,
  // v *= e, v /= e, v = min(v, e), v = max(v, e), one kind per variable.
  void check_prange_write(const Expr& target, const Stmt& s, bool augmented) {
    for (auto& p : prange_) {
      if (!p.outer.count(target.name)) continue;
      std::string kind;
      if (augmented) {
        static const char* ops[] = {"+=", "-=", "*=", "/=", "//=", "%=", "**=", "&=", "|=", "^="};
        kind = ops[int(s.aug_op)];
        if (kind != "+=" && kind != "-=" && kind != "*=" && kind != "/=") kind.clear();
      } else if (s.value->kind == ExprKind::Call && s.value->args[0]->kind == ExprKind::Name &&
                 (s.value->args[0]->name == "min" || s.value->args[0]->name == "max") && s.value->args.size() == 3 &&
                 ((s.value->args[1]->kind == ExprKind::Name && s.value->args[1]->name == target.name) ||
                  (s.value->args[2]->kind == ExprKind::Name && s.value->args[2]->name == target.name))) {
        kind = s.value->args[0]->name;
      }
      if (kind.empty())
        error(target.span, fmt::format("'{}' is assigned inside a prange loop but lives outside it: iterations run in "
                                       "parallel, so only reductions (+=, -=, *=, /=, {} = min({}, ...), {} = max({}, ...)) "
                                       "may update it", target.name, target.name, target.name, target.name, target.name));
      bool add_like = kind == "+=" || kind == "-=";
      bool mul_like = kind == "*=" || kind == "/=";
      std::string family = add_like ? "+=" : mul_like ? "*=" : kind;
      auto seen = p.kinds.find(target.name);
      if (seen != p.kinds.end() && seen->second != family)
        error(target.span, fmt::format("'{}' is reduced two ways in one prange loop ({} and {}); use one kind of update",
                                       target.name, seen->second, kind));
      p.kinds[target.name] = family;
    }
  }

  void ret(const Stmt& s, std::vector<LStmt>& at, int depth) {
    returned_ = true;
    if (early_) return early_return(s, at);
    std::vector<const Expr*> values;
    if (s.value->kind == ExprKind::Tuple) {
      for (auto& a : s.value->args) values.push_back(a.get());
      out_.returns_tuple = true;
    } else {
      values.push_back(s.value.get());
    }
    if (typing_) {
      for (auto* v : values) type_of(*v);
      return;
    }
    out_.results.clear();
    K.results.clear();
    for (auto* v : values) {
      if (v->kind == ExprKind::Name) {
        auto it = locals_.find(v->name);
        if (it != locals_.end() && it->second.array && !it->second.param && it->second.view.empty() &&
            K.buffers[size_t(it->second.buf)].kind == BufferKind::Result &&
            std::find(K.results.begin(), K.results.end(), it->second.buf) == K.results.end()) {
          K.results.push_back(it->second.buf);
          out_.results.push_back(it->second.type);
          continue;
        }
      }
      auto t = typed_scope();
      const Node* n = node(*t, *v);
      StatementLowering sl(K, at, {n}, where_, boundscheck_);
      K.results.push_back(sl.array(n, BufferKind::Result));
      out_.results.push_back(strong(n->type));
    }
    if (def_.returns && !out_.returns_tuple) {
      Type got = out_.results[0];
      const Expr& a = *def_.returns;
      DType d;
      Type want{DType::F64, -1, false};
      if (a.kind == ExprKind::Name && dtype_from_name(a.name, d)) want = Type{d, 0, false};
      if (a.kind == ExprKind::Subscript && a.args[0]->kind == ExprKind::Name && dtype_from_name(a.args[0]->name, d))
        want = Type{d, int(a.args.size()) - 1, false};
      if (want.rank != got.rank || want.dtype != got.dtype)
        error(a.span, fmt::format("{}() is declared to return {} but returns {}", def_.name,
                                  want.rank < 0 ? "?" : want.str(), got.str()));
    }
  }

  // return e (or e1, e2) where returns may sit anywhere: scalars only, one
  // type per position (the promotion of all returns, as Numba unifies).
  void early_return(const Stmt& s, std::vector<LStmt>& at) {
    std::vector<const Expr*> values;
    bool tuple = s.value->kind == ExprKind::Tuple;
    if (tuple) for (auto& a : s.value->args) values.push_back(a.get());
    else values.push_back(s.value.get());
    if (typing_) {
      if (!ret_types_.empty() && (ret_types_.size() != values.size() || early_tuple_ != tuple))
        error(s.span, "every return of a kernel must give the same number of values");
      early_tuple_ = tuple;
      for (size_t r = 0; r < values.size(); ++r) {
        Type t = type_of(*values[r]);
        if (t.rank != 0)
          error(values[r]->span, "a kernel that returns from inside a loop or branch returns scalars only; "
                                 "return arrays at the end of the kernel");
        if (r == ret_types_.size()) ret_types_.push_back(t.dtype);
        else if (ret_types_[r] != t.dtype) {
          ret_types_[r] = promote_dtypes(ret_types_[r], t.dtype);
          changed_ = true;
        }
      }
      return;
    }
    for (size_t r = 0; r < values.size(); ++r) {
      const LExpr* v = scalar(*values[r], at);
      LStmt st{LStmtKind::Store};
      st.buf = K.results[r];
      st.value = K.exprs->cast(v, ret_types_[r]);
      at.push_back(st);
    }
    at.push_back(LStmt{LStmtKind::Return});
  }

  // --- calls of kernels with loops ---------------------------------------------
  //
  // f(args) where f has loops is lowered for the arguments' signatures and
  // its loop IR inlined before the statement that uses it (arguments in
  // order, innermost calls first): its array parameters are the caller's
  // buffers (element writes reach them), its scalars fresh variables, its
  // returns a loop that the return breaks out of. The statement then reads
  // the results as inputs (Scope::precomputed).

  struct CallResult {
    std::vector<Type> types;
    std::vector<int64_t> index;  // a buffer id, or kVarInput + a variable
    bool tuple = false;
  };

  void hoist_calls(const Expr& e, std::vector<LStmt>& at) {
    for (auto& a : e.args)
      if (a) hoist_calls(*a, at);
    for (auto& kw : e.keywords)
      if (kw.value) hoist_calls(*kw.value, at);
    if (e.kind != ExprKind::Call || e.args[0]->kind != ExprKind::Name || !kernels_) return;
    if (locals_.count(e.args[0]->name)) return;  // sema reports "'x' is not a function"
    auto it = kernels_->find(e.args[0]->name);
    if (it == kernels_->end() || !kernel_needs_loops(*it->second.def, kernels_)) return;
    inline_call(e, it->second, at);
  }

  void inline_call(const Expr& e, const KernelDef& kd, std::vector<LStmt>& at) {
    const Stmt& def = *kd.def;
    size_t np = def.params.size();
    if (std::find(stack_->begin(), stack_->end(), def.name) != stack_->end())
      error(e.span, fmt::format("kernel '{}' calls itself (directly or through others); recursion is not supported", def.name));
    if (stack_->size() > 64) error(e.span, "kernels call each other more than 64 deep");
    if (e.args.size() - 1 > np)
      error(e.span, fmt::format("{}() takes {} argument{} but {} were given", def.name, np, np == 1 ? "" : "s",
                                e.args.size() - 1));
    std::vector<const Expr*> args(np, nullptr);
    for (size_t i = 1; i < e.args.size(); ++i) args[i - 1] = e.args[i].get();
    for (auto& kw : e.keywords) {
      size_t i = 0;
      while (i < np && def.params[i].name != kw.name) ++i;
      if (i == np) error(kw.name_span, fmt::format("{}() got an unexpected keyword argument '{}'", def.name, kw.name));
      if (args[i]) error(kw.name_span, fmt::format("{}() got multiple values for argument '{}'", def.name, kw.name));
      args[i] = kw.value.get();
    }
    // Arguments, in order: arrays are buffers of the caller, scalars variables.
    std::vector<InputSig> sigs;
    std::vector<int> arg_buf(np, -1);
    std::vector<const LExpr*> arg_val(np, nullptr);
    for (size_t i = 0; i < np; ++i) {
      if (!args[i]) error(e.span, fmt::format("{}() is missing the argument '{}'", def.name, def.params[i].name));
      auto t = typed_scope();
      const Node* n = node(*t, *args[i]);
      InputSig sig;
      sig.name = def.params[i].name;
      sig.type = strong(n->type);
      if (n->rank() > 0) {
        if (n->kind == ArrayOp::Input && n->ival < kVarInput) {
          arg_buf[i] = int(n->ival);
          if (!typing_) sig.contiguous = K.buffers[size_t(arg_buf[i])].contiguous;
        } else if (!typing_) {
          StatementLowering sl(K, at, {n}, where_, boundscheck_);
          arg_buf[i] = sl.array(n, BufferKind::Temp);
        }
      } else if (!typing_) {
        StatementLowering sl(K, at, {n}, where_, boundscheck_);
        int v = new_var(sig.type.dtype, def.params[i].name);
        LStmt a{LStmtKind::Assign};
        a.var = v;
        a.value = K.exprs->cast(sl.scalar(n), sig.type.dtype);
        at.push_back(a);
        arg_val[i] = K.exprs->var(v, sig.type.dtype);
      }
      sigs.push_back(sig);
    }
    stack_->push_back(def.name);
    LoopKernel lk = KernelLowerer(kd, sigs, kernels_, boundscheck_, stack_).run();
    stack_->pop_back();
    CallResult& r = calls_[&e];
    r.types = lk.results;
    r.tuple = lk.returns_tuple;
    r.index.assign(r.types.size(), 0);
    if (typing_) {
      for (size_t i = 0; i < r.types.size(); ++i) r.index[i] = r.types[i].rank > 0 ? placeholder_-- : kVarInput;
      return;
    }
    // The callee's loop IR, renumbered into this kernel.
    const Kernel& C = lk.kernel;
    KernelSplice sp{K, C};
    for (size_t v = 0; v < C.var_types.size(); ++v) sp.vars.push_back(new_var(C.var_types[v], def.name + "." + C.var_names[v]));
    for (size_t b = 0; b < C.buffers.size(); ++b) {
      if (int(b) < C.num_inputs) {
        sp.bufs.push_back(arg_buf[b]);
        if (arg_buf[b] < 0) sp.scalar_inputs[int(b)] = arg_val[b];
        continue;
      }
      const Buffer& cb = C.buffers[b];
      if (cb.kind == BufferKind::Result && cb.rank == 0) {  // a scalar result: a variable
        sp.scalar_results[int(b)] = new_var(cb.dtype, def.name + ".ret");
        sp.bufs.push_back(-1);
        continue;
      }
      K.buffers.push_back(Buffer{def.name + "." + cb.name, BufferKind::Temp, cb.dtype, cb.rank, true});
      sp.bufs.push_back(int(K.buffers.size()) - 1);
    }
    // Locals start at zero on every call, as the kernel's own would.
    for (size_t v = 0; v < C.var_types.size(); ++v) {
      LStmt a{LStmtKind::Assign};
      a.var = sp.vars[v];
      a.value = K.exprs->constant(C.var_types[v], 0, 0);
      at.push_back(a);
    }
    if (contains_return(C.body)) {
      sp.flag = new_var(DType::Bool, def.name + ".returned");
      LStmt reset{LStmtKind::Assign};
      reset.var = sp.flag;
      reset.value = K.exprs->constant(DType::Bool, 0, 0);
      at.push_back(reset);
      LStmt w{LStmtKind::While};
      w.value = K.exprs->constant(DType::Bool, 0, 1);
      w.body = sp.stmts(C.body);
      w.body.push_back(LStmt{LStmtKind::Break});
      at.push_back(std::move(w));
    } else {
      for (auto& st : sp.stmts(C.body)) at.push_back(std::move(st));
    }
    for (size_t i = 0; i < r.types.size(); ++i) {
      auto scalar = sp.scalar_results.find(C.results[i]);
      r.index[i] = scalar != sp.scalar_results.end() ? kVarInput + scalar->second : sp.bufs[size_t(C.results[i])];
    }
  }

  const KernelDef& k_;
  const Stmt& def_;
  const std::vector<InputSig>& sigs_;
  const std::map<std::string, KernelDef>* kernels_;
  bool boundscheck_;
  std::vector<std::string>* stack_;  // the kernels being lowered, outermost first
  std::map<const Expr*, CallResult> calls_;
  LoopKernel out_;
  Kernel& K;
  std::map<std::string, Local> locals_;
  std::set<std::string> returned_names_;
  std::vector<Prange> prange_;
  bool typing_ = false, changed_ = false, returned_ = false;
  bool early_ = false, early_tuple_ = false;  // returns inside loops or branches
  std::vector<DType> ret_types_;
  int loop_depth_ = 0;
  std::string where_;  // "file:line:col: " of the statement being lowered
  int placeholder_ = int(kVarInput) - 1;  // pass-1 stand-ins for array locals
};

}  // namespace

bool kernel_needs_loops(const Stmt& def, const std::map<std::string, KernelDef>* kernels) {
  if (body_needs_loops(def.body)) return true;
  if (!kernels) return false;
  std::set<std::string> seen{def.name};
  return calls_loop_kernel(def.body, *kernels, seen);
}

LoopKernel lower_kernel(const KernelDef& k, const std::vector<InputSig>& sigs,
                        const std::map<std::string, KernelDef>* kernels, bool boundscheck) {
  std::vector<std::string> stack{k.def->name};
  LoopKernel lk = KernelLowerer(k, sigs, kernels, boundscheck, &stack).run();
  finish_kernel(lk.kernel);
  return lk;
}

}  // namespace numjit
