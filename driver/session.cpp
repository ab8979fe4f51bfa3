// The driver (driver.h) and the public numjit::Jit (numjit.hpp).
//
// A statement's expression goes: AST -> array IR (frontend/sema.h, free names
// bound to Input nodes typed from the session's values) -> fusion ->
// loop IR -> JitEngine -> run on the values' memory. Compiled kernels are
// cached in memory by expression text + input signatures + options, so a
// repeated eval skips everything but the call.
#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "codegen/jit.h"
#include "codegen/object_cache.h"
#include "driver/driver.h"
#include "support/diagnostics.h"
#include "frontend/kernel.h"
#include "frontend/lexer.h"
#include "frontend/parser.h"
#include "frontend/sema.h"
#include "ir/builtins.h"
#include "ir/interpreter.h"
#include "ir/loop_interpreter.h"
#include "ir/scalar_ops.h"
#include "ir/passes/fuse.h"
#include "ir/passes/lower_to_loops.h"
#include "ir/pipeline.h"
#include "runtime/context.h"
#include "runtime/npy.h"
#include "runtime/thread_pool.h"

namespace numjit {

namespace {

const char* kStageNames[] = {"tokens", "ast", "typed", "array", "fused", "loops", "llvm", "llvm-opt", "asm", "remarks"};

/** Names an expression reads (so only those become kernel inputs). */
void collect_names(const Expr& e, std::set<std::string>& out) {
  if (e.kind == ExprKind::Name) out.insert(e.name);
  for (auto& a : e.args)
    if (a) collect_names(*a, out);
  for (auto& k : e.keywords) collect_names(*k.value, out);
}

bool calls_load(const Expr& e) {
  if (e.kind == ExprKind::Call && e.args[0]->kind == ExprKind::Name && e.args[0]->name == "load") return true;
  for (auto& a : e.args)
    if (a && calls_load(*a)) return true;
  for (auto& k : e.keywords)
    if (calls_load(*k.value)) return true;
  return false;
}

InputSig signature(const std::string& name, const Value& v) {
  InputSig s;
  s.name = name;
  if (v.is_scalar() || v.array().ndim() == 0) {
    s.type = Type{v.dtype(), 0, v.is_scalar() && v.weak()};
    return s;
  }
  const Array& a = v.array();
  s.type = Type{a.dtype(), a.ndim(), false};
  for (int k = 0; k < a.ndim(); ++k) s.dim_is_one[k] = a.shape()[size_t(k)] == 1;
  s.contiguous = a.is_contiguous();
  return s;
}

/** Appends to `key` what signature(name, v) says of an argument (dtype,
 *  rank, length-1 dimensions, layout, weak) and, for a weak scalar, its
 *  bits: it is folded into the code as a constant (as in build()). */
void append_signature(std::string& key, const std::string& name, const Value& v) {
  key += name;
  key += ':';
  key += char('0' + int(v.dtype()));
  if (v.is_scalar() && v.weak()) {
    key += 'w';
    double f = is_float(v.dtype()) ? v.scalar<double>() : 0;
    int64_t i = is_float(v.dtype()) ? 0 : v.scalar<int64_t>();
    key.append(reinterpret_cast<const char*>(is_float(v.dtype()) ? static_cast<const void*>(&f) : &i), 8);
  } else if (v.is_scalar() || v.array().ndim() == 0) {
    key += 's';
  } else {
    const Array& a = v.array();
    key += char('0' + a.ndim());
    for (int k = 0; k < a.ndim(); ++k) key += a.shape()[size_t(k)] == 1 ? '1' : ':';
    if (!a.is_contiguous()) key += '~';
  }
  key += ';';
}

/** One compilation: the array IR of some expressions over typed inputs. */
struct Program {
  Context ctx;
  std::shared_ptr<const Source> src;
  Builder b{ctx, nullptr};
  std::vector<InputSig> sigs;
  std::vector<Value> inputs;
  std::vector<const Node*> roots;
  std::vector<std::string> names;
  std::string constants;  // weak scalars folded in as constants (part of the cache key)
  bool tuple = false;     // the expression is a tuple (x.shape, (a, b)), even of one value
  Span span;
  // A store (x[a:b] = e, x += e): roots[0] is written into store_view, Views
  // of input #store_buf, and the program has no results.
  const Node* store_view = nullptr;
  int store_buf = -1;

  explicit Program(std::shared_ptr<const Source> s) : src(std::move(s)), b(ctx, src.get()) {}
};

/** A kernel ready to call, and the types of its results. In reference mode
 *  the loop IR is kept and interpreted instead (ir/loop_interpreter.h). */
struct Compiled {
  std::shared_ptr<CompiledKernel> code;
  std::shared_ptr<const Kernel> loops;
  std::vector<Type> results;
};

std::string expr_text(const Source& src, const Span& span) {
  return src.text().substr(span.begin, span.end - span.begin);
}

}  // namespace

Stage parse_stage(std::string_view name) {
  for (int i = 0; i <= int(Stage::Remarks); ++i)
    if (name == kStageNames[i]) return Stage(i);
  std::string all;
  for (auto* n : kStageNames) all += std::string(all.empty() ? "" : ", ") + n;
  throw Error(fmt::format("unknown stage '{}'; the stages are {}", name, all));
}

const char* stage_name(Stage s) { return kStageNames[int(s)]; }

std::string default_cache_dir() { return ObjectCache::default_dir(); }
int clear_cache(const std::string& dir) { return ObjectCache::clear(dir); }

bool is_single_expression(const std::string& text) {
  try {
    Module m = parse(std::make_shared<const Source>("<input>", text));
    return m.body.size() == 1 && m.body[0]->kind == StmtKind::Expr;
  } catch (const Error&) {
    return false;
  }
}

std::string builtin_functions_text() {
  std::string out;
  for (const Builtin& f : builtins()) {
    std::string call = fmt::format("{}({})", f.name, f.arity == 1 ? "x" : f.arity == 2 ? "a, b" : "a, b, c");
    out += fmt::format("{:<14} {:<18} {}\n", call, result_rule_name(f.rule), f.doc);
  }
  return out;
}

class Session {
 public:
  explicit Session(Options o, bool reference = false) : opts_(std::move(o)), reference_(reference) {}

  const Options& options() const { return opts_; }

  // --- building programs ------------------------------------------------------

  /** Array IR for `e` (in `src`), its free names bound to `vars`. */
  /** A program over the variables that `exprs` name: weak scalars are
   *  folded in as constants, the other values become inputs; `scope`
   *  (which must outlive the lowering) gets their nodes, and load(). */
  std::unique_ptr<Program> program(std::shared_ptr<const Source> src, Span span,
                                   std::initializer_list<const Expr*> exprs, const std::map<std::string, Value>& vars,
                                   Scope& scope) {
    auto p = std::make_unique<Program>(std::move(src));
    p->span = span;
    std::set<std::string> used;
    for (const Expr* e : exprs) collect_names(*e, used);
    for (auto& [name, v] : vars) {
      if (!used.count(name)) {
        scope.other_names.push_back(name);
      } else if (v.is_scalar() && v.weak()) {
        bind_number(*p, scope, name, v);
      } else {
        bind_input(*p, scope, name, v, span);
      }
    }
    scope.kernels = &kernels_;
    Program* raw = p.get();
    scope.load = [raw, &scope, this](const std::string& path, Span at) -> const Node* {
      Array a;
      try {
        a = load_npy(path);
      } catch (const Error& err) {
        user_error(raw->src.get(), at, err.what());
      }
      return bind_input(*raw, scope, fmt::format("load{}", raw->sigs.size()), Value(a), at);
    };
    return p;
  }

  std::unique_ptr<Program> build(std::shared_ptr<const Source> src, const Expr& e,
                                 const std::map<std::string, Value>& vars, bool allow_tuple) {
    Scope scope;
    auto p = program(std::move(src), e.span, {&e}, vars, scope);
    SemaValue v = lower_expr(p->b, scope, e);
    if (v.kind == SemaValue::Kind::DType)
      user_error(p->src.get(), e.span, fmt::format("expected a value, got the dtype '{}'", dtype_name(v.dtype)));
    if (v.kind == SemaValue::Kind::Tuple) {
      if (!allow_tuple) user_error(p->src.get(), e.span, "expected an array or scalar, got a tuple");
      p->roots = v.items;
      p->tuple = true;
    } else {
      p->roots = {v.node};
    }
    return p;
  }

  // A variable bound to a literal expression is a Python number (NEP 50): a
  // weak constant, so `n = -1; 2 ** n` is 0.5 as in Python. Its value is part
  // of the cache key.
  static void bind_number(Program& p, Scope& scope, const std::string& name, const Value& v) {
    bool fl = is_float(v.dtype());
    scope.vars[name] = fl ? p.b.const_float(v.scalar<double>(), v.dtype(), true)
                          : v.dtype() == DType::Bool ? p.b.const_bool(v.scalar<bool>())
                                                     : p.b.const_int(v.scalar<int64_t>(), v.dtype(), true);
    p.constants += fl ? fmt::format("{}={:a};", name, v.scalar<double>()) : fmt::format("{}={};", name, v.scalar<int64_t>());
  }

  const Node* bind_input(Program& p, Scope& scope, const std::string& name, const Value& v, Span span) {
    InputSig sig = signature(name, v);
    const Node* n = p.b.input(int(p.sigs.size()), sig, span);
    p.sigs.push_back(sig);
    p.inputs.push_back(v);
    scope.vars[name] = n;
    return n;
  }

  std::string cache_key(const std::string& text, const Program& p) const {
    std::string key = fmt::format("{}|{}|{}|k{}|{}\n", opts_.opt_level, opts_.fastmath, opts_.boundscheck,
                                  kernels_version_, text);
    for (auto& s : p.sigs) key += s.str() + ";";
    return key + "|" + p.constants;
  }

  JitEngine& engine() {
    std::lock_guard<std::mutex> lock(engine_mu_);
    if (!engine_) {
      std::string dir;
      if (opts_.disk_cache) dir = opts_.cache_dir.empty() ? ObjectCache::default_dir() : opts_.cache_dir;
      engine_ = std::make_unique<JitEngine>(dir);
    }
    return *engine_;
  }

  ThreadPool& pool() {
    std::lock_guard<std::mutex> lock(engine_mu_);
    if (!pool_) pool_ = std::make_unique<ThreadPool>(opts_.threads > 0 ? opts_.threads : default_thread_count());
    return *pool_;
  }

  CodegenOptions codegen_options() const { return CodegenOptions{opts_.opt_level, opts_.fastmath}; }

  Kernel lower(const Program& p, const std::vector<std::string>& names) const {
    if (p.store_view) return compile_store(p.store_view, p.store_buf, p.roots[0], p.sigs, "kernel");
    return compile_expression(p.roots, names, p.sigs, "kernel");
  }
  Kernel lower(const Program& p) const { return lower(p, p.names); }

  std::shared_ptr<Compiled> compile(const Program& p, const std::string& key) {
    if (emit_ && emit_->first != Stage::Typed) emit_program(p);
    if (!key.empty()) {
      std::lock_guard<std::mutex> lock(cache_mu_);
      auto it = cache_.find(key);
      if (it != cache_.end()) return it->second;
    }
    auto c = std::make_shared<Compiled>();
    bool all_const = !p.store_view;
    for (auto* r : p.roots) all_const &= r->is_const();
    if (!p.store_view)
      for (auto* r : p.roots) c->results.push_back(r->type);
    if (!all_const) {
      if (reference_) c->loops = std::make_shared<const Kernel>(lower(p));
      else c->code = engine().compile(lower(p), codegen_options());
    }
    if (!key.empty()) {
      std::lock_guard<std::mutex> lock(cache_mu_);
      cache_.emplace(key, c);
    }
    return c;
  }

  // --- running -----------------------------------------------------------------

  /** Runs `c` on `inputs`; runtime errors are reported at `span` of `src`. */
  std::vector<Value> call(const Compiled& c, const std::vector<const Node*>& roots, const std::vector<Value>& inputs,
                          const Source* src, Span span) {
    std::vector<Value> out;
    if (!c.code && !c.loops) {
      for (auto* r : roots) out.push_back(Value::scalar(r->dtype(), r->fval, r->ival, r->type.weak));
      return out;
    }
    return invoke(c, inputs, src, span);
  }

  std::vector<Value> invoke(const Compiled& c, const std::vector<Value>& inputs, const Source* src, Span span) {
    if (c.loops) {
      std::vector<Value> out;
      try {
        out = interpret_kernel(*c.loops, inputs, pool().threads());
      } catch (const Error& e) {
        throw Error(src ? render_diagnostic(src, span, e.what()) : e.what());
      }
      for (size_t r = 0; r < out.size(); ++r)
        if (c.results[r].rank == 0) {
          const Value& v = out[r];
          out[r] = Value::scalar(v.dtype(), is_float(v.dtype()) ? v.scalar<double>() : 0,
                                 is_float(v.dtype()) ? 0 : v.scalar<int64_t>(), c.results[r].weak);
        }
      return out;
    }
    size_t ni = inputs.size(), nr = c.results.size();
    std::vector<nj_array_view> views(ni + nr);
    std::vector<int64_t> scalars(ni);
    for (size_t i = 0; i < ni; ++i) {
      const Value& v = inputs[i];
      if (v.is_array()) {
        views[i] = abi_view(v.array());
        continue;
      }
      void* slot = &scalars[i];
      visit_dtype(v.dtype(), [&](auto c) {
        using T = typename decltype(c)::type;
        *static_cast<T*>(slot) = v.scalar<T>();
      });
      views[i] = nj_array_view{slot, int32_t(v.dtype()), 0, {0, 0}, {0, 0}};
    }
    nj_ctx ctx;
    ctx.pool = &pool();
    ctx.pool_mu = &pool_mu_;
    int32_t rc = c.code->fn(views.data(), int64_t(views.size()), &ctx);
    if (rc != 0) {
      std::string msg = ctx.message.empty() ? fmt::format("kernel failed with code {}", rc) : ctx.message;
      throw Error(src ? render_diagnostic(src, span, msg) : msg);
    }
    std::vector<Value> out;
    for (size_t r = 0; r < nr; ++r) {
      Array a = adopt_result(ctx, views[ni + r]);
      const Type& t = c.results[r];
      if (t.rank == 0) {
        out.push_back(is_float(t.dtype) ? Value::scalar(t.dtype, a.at<double>(), 0, t.weak)
                                        : Value::scalar(t.dtype, 0, a.at<int64_t>(), t.weak));
      } else {
        out.push_back(Value(a));
      }
    }
    return out;
  }

  /** The loop kernel `e` calls, if it is a call of one. */
  const KernelDef* loop_kernel_call(const Expr& e) const {
    if (e.kind != ExprKind::Call || e.args[0]->kind != ExprKind::Name) return nullptr;
    auto it = kernels_.find(e.args[0]->name);
    if (it == kernels_.end() || !kernel_needs_loops(*it->second.def, &kernels_)) return nullptr;
    return &it->second;
  }

  bool calls_loop_kernel(const Expr& e) const {
    if (loop_kernel_call(e)) return true;
    for (auto& a : e.args)
      if (a && calls_loop_kernel(*a)) return true;
    for (auto& kw : e.keywords)
      if (kw.value && calls_loop_kernel(*kw.value)) return true;
    return false;
  }

  /** Replaces each call of a loop kernel inside `e` by the names of its
   *  results (`(call 1)` ...: not names a user can write), bound in `vars`. */
  void hoist_loop_calls(const std::shared_ptr<const Source>& src, Expr& e, std::map<std::string, Value>& vars,
                        int& count) {
    auto visit = [&](ExprPtr& child) {
      if (!child) return;
      hoist_loop_calls(src, *child, vars, count);
      const KernelDef* k = loop_kernel_call(*child);
      if (!k) return;
      std::vector<Value> vals = call_loop_kernel(src, *child, *k, vars);
      auto name_of = [&](const Value& v) {
        auto n = std::make_unique<Expr>(ExprKind::Name, child->span);
        n->name = fmt::format("(call {})", ++count);
        vars[n->name] = v;
        return n;
      };
      if (vals.size() == 1) {
        child = name_of(vals[0]);
        return;
      }
      auto t = std::make_unique<Expr>(ExprKind::Tuple, child->span);
      for (auto& v : vals) t->args.push_back(name_of(v));
      child = std::move(t);
    };
    for (auto& a : e.args) visit(a);
    for (auto& kw : e.keywords) visit(kw.value);
  }

  /** Runs loop kernel `k` called by `e`: arguments evaluated first, then
   *  the kernel compiled for their signature (once) and called on them. */
  std::vector<Value> call_loop_kernel(const std::shared_ptr<const Source>& src, const Expr& e, const KernelDef& k,
                                      const std::map<std::string, Value>& vars) {
    LoopCall call = prepare_loop_call(src, e, k, vars);
    return run_loop_call(*call.compiled, call.args, *k.src, *src, e.span);
  }

  /** A call of a loop kernel, ready to run: the arguments by parameter, the
   *  expression each came from (in the order they were evaluated), and the
   *  kernel compiled for their signature. */
  struct LoopCall {
    std::vector<Value> args;
    std::vector<std::pair<size_t, const Expr*>> order;  // parameter, argument expression
    std::shared_ptr<Compiled> compiled;
  };

  LoopCall prepare_loop_call(const std::shared_ptr<const Source>& src, const Expr& e, const KernelDef& k,
                             const std::map<std::string, Value>& vars) {
    const Stmt& def = *k.def;
    size_t np = def.params.size();
    if (e.args.size() - 1 > np)
      user_error(src.get(), e.span, fmt::format("{}() takes {} argument{} but {} were given", def.name, np,
                                                np == 1 ? "" : "s", e.args.size() - 1));
    LoopCall call;
    std::vector<Value>& args = call.args;
    args.resize(np);
    std::vector<bool> given(np, false);
    for (size_t i = 1; i < e.args.size(); ++i) {
      args[i - 1] = evaluate(src, *e.args[i], vars, false).at(0);
      given[i - 1] = true;
      call.order.push_back({i - 1, e.args[i].get()});
    }
    for (auto& kw : e.keywords) {
      size_t i = 0;
      while (i < np && def.params[i].name != kw.name) ++i;
      if (i == np) user_error(src.get(), kw.name_span, fmt::format("{}() got an unexpected keyword argument '{}'", def.name, kw.name));
      if (given[i]) user_error(src.get(), kw.name_span, fmt::format("{}() got multiple values for argument '{}'", def.name, kw.name));
      args[i] = evaluate(src, *kw.value, vars, false).at(0);
      given[i] = true;
      call.order.push_back({i, kw.value.get()});
    }
    std::vector<InputSig> sigs;
    std::string key = fmt::format("loop-kernel|k{}|{}|{}|{}(", kernels_version_, opts_.opt_level, opts_.boundscheck, def.name);
    for (size_t i = 0; i < np; ++i) {
      if (!given[i]) user_error(src.get(), e.span, fmt::format("{}() is missing the argument '{}'", def.name, def.params[i].name));
      InputSig s = signature(def.params[i].name, args[i]);
      s.type.weak = false;  // Numba types Python numbers as i64 / f64 / bool
      sigs.push_back(s);
      key += s.str() + ";";
    }
    if (emit_ && emit_->first != Stage::Typed) {
      LoopKernel lk = lower_kernel(k, sigs, &kernels_, opts_.boundscheck);
      std::string& out = *emit_->second;
      switch (emit_->first) {
        case Stage::Loops:
          out += print_kernel(lk.kernel);
          if (explain_) explain_kernel(lk.kernel);
          break;
        case Stage::Llvm: out += engine().text(lk.kernel, codegen_options(), CodegenText::Llvm); break;
        case Stage::LlvmOpt: out += engine().text(lk.kernel, codegen_options(), CodegenText::LlvmOpt); break;
        case Stage::Asm: out += engine().text(lk.kernel, codegen_options(), CodegenText::Asm); break;
        case Stage::Remarks: out += engine().text(lk.kernel, codegen_options(), CodegenText::Remarks); break;
        default: out += fmt::format("{}: a kernel with loops (see --emit=loops)\n", def.name); break;
      }
    }
    std::shared_ptr<Compiled> c;
    {
      std::lock_guard<std::mutex> lock(cache_mu_);
      auto it = cache_.find(key);
      if (it != cache_.end()) c = it->second;
    }
    if (!c) {
      LoopKernel lk = lower_kernel(k, sigs, &kernels_, opts_.boundscheck);
      if (std::getenv("NUMJIT_DEBUG")) std::cerr << print_kernel(lk.kernel);
      c = std::make_shared<Compiled>();
      c->results = lk.results;
      if (reference_) c->loops = std::make_shared<const Kernel>(std::move(lk.kernel));
      else c->code = engine().compile(lk.kernel, codegen_options());
      std::lock_guard<std::mutex> lock(cache_mu_);
      cache_.emplace(key, c);
    }
    call.compiled = std::move(c);
    return call;
  }

  /** Calls a prepared loop kernel; a runtime error names the failing
   *  statement of the kernel (`ksrc`) and the call at `span` of `src`. */
  std::vector<Value> run_loop_call(const Compiled& c, const std::vector<Value>& args, const Source& ksrc,
                                   const Source& src, Span span) {
    try {
      return invoke(c, args, nullptr, span);
    } catch (const Error& err) {
      throw Error(kernel_error(ksrc, err.what(), src, span));
    }
  }

  // A runtime error inside a kernel starts with the location of the failing
  // statement ("file:line:col: "): show that line, then where it was called.
  static std::string kernel_error(const Source& ksrc, const std::string& msg, const Source& call_src, Span call) {
    std::string prefix = ksrc.name() + ":";
    int line = 0, col = 0, used = 0;
    if (msg.compare(0, prefix.size(), prefix) == 0 &&
        std::sscanf(msg.c_str() + prefix.size(), "%d:%d: %n", &line, &col, &used) == 2 && used > 0 && line > 0) {
      Span at;
      at.line = line;
      at.col = col;
      std::string text = render_diagnostic(&ksrc, at, msg.substr(prefix.size() + size_t(used)));
      return text + fmt::format("    (in the call at {}:{}:{})\n", call_src.name(), call.line, call.col);
    }
    return render_diagnostic(&call_src, call, msg);
  }

  /** `x[...]` of an array variable as a view of its memory (NumPy basic
   *  indexing), or nullopt when `e` is not one. Element indices wrap and
   *  are checked. */
  std::optional<Array> view_of(const std::shared_ptr<const Source>& src, const Expr& e,
                               const std::map<std::string, Value>& vars) {
    if (e.kind != ExprKind::Subscript || e.args[0]->kind != ExprKind::Name) return std::nullopt;
    auto it = vars.find(e.args[0]->name);
    if (it == vars.end() || !it->second.is_array() || it->second.array().ndim() == 0) return std::nullopt;
    for (size_t k = 1; k < e.args.size(); ++k)
      if (e.args[k]->kind == ExprKind::Slice && e.args[k]->args[2] && e.args[k]->args[2]->kind != ExprKind::Int &&
          e.args[k]->args[2]->kind != ExprKind::Unary)
        return std::nullopt;
    auto p = build(src, e, vars, false);
    std::function<std::optional<Array>(const Node*)> apply = [&](const Node* n) -> std::optional<Array> {
      if (n->kind == ArrayOp::Input) return it->second.array();
      if (n->kind != ArrayOp::View) return std::nullopt;
      auto base = apply(n->ops[0]);
      if (!base) return std::nullopt;
      const Array& a = *base;
      auto scalar = [&](const Node* s) { return interpret({s}, p->inputs).at(0).scalar<int64_t>(); };
      char* data = static_cast<char*>(a.raw_data());
      std::vector<int64_t> shape, strides;
      for (int k = 0; k < a.ndim(); ++k) {
        int64_t step = n->steps[size_t(k)], stride = a.strides()[size_t(k)], len_k = a.shape()[size_t(k)];
        int64_t start = scalar(n->ops[size_t(1 + 2 * k)]);
        if (step == 0) {
          if (start < -len_k || start >= len_k) {
            nj_ctx ctx;
            nj_fail_index(&ctx, nullptr, start, k, len_k);
            user_error(src.get(), e.span, ctx.message);
          }
          if (start < 0) start += len_k;
        } else {
          shape.push_back(scalar(n->ops[size_t(2 + 2 * k)]));
          strides.push_back(stride * step);
        }
        data += start * stride * dtype_size(a.dtype());
      }
      return Array::view(data, a.dtype(), shape, strides);
    };
    return apply(p->roots[0]);
  }

  /** Evaluates expression `e` of `src` over `vars`. */
  std::vector<Value> evaluate(std::shared_ptr<const Source> src, const Expr& e, const std::map<std::string, Value>& vars,
                              bool allow_tuple) {
    last_tuple_ = false;
    // x[a:b], X[:, j]: a view of the variable's memory, as in NumPy.
    if (e.kind == ExprKind::Subscript) {
      if (auto v = view_of(src, e, vars); v && v->ndim() > 0) return {Value(*v)};
    }
    last_tuple_ = false;
    // A bare name is the value itself, not a copy: `y = x` and `f(x)` see
    // the same array, as in Python.
    if (e.kind == ExprKind::Name) {
      auto it = vars.find(e.name);
      if (it != vars.end()) return {it->second};
    }
    if (const KernelDef* k = loop_kernel_call(e)) {
      auto vals = call_loop_kernel(src, e, *k, vars);
      if (vals.size() != 1 && !allow_tuple) user_error(src.get(), e.span, "expected one value, got a tuple");
      last_tuple_ = vals.size() != 1;
      return vals;
    }
    if (calls_loop_kernel(e)) {
      // f(x) + 1 where f has loops: the calls run first (arguments in
      // order, innermost first), then the expression reads their results.
      std::map<std::string, Value> with = vars;
      ExprPtr rewritten = clone_expr(e);
      int count = 0;
      hoist_loop_calls(src, *rewritten, with, count);
      return evaluate(src, *rewritten, with, allow_tuple);
    }
    auto p = build(src, e, vars, allow_tuple);
    std::string key = calls_load(e) ? "" : cache_key(expr_text(*src, e.span), *p);
    auto c = compile(*p, key);
    last_tuple_ = p->tuple;
    return call(*c, p->roots, p->inputs, src.get(), e.span);
  }

  // --- eval fast path ------------------------------------------------------------

  Value eval(std::string_view expr, const Args& args) {
    // The key needs only the text and the argument signatures: a hit skips
    // parsing and compiling.
    // Built by appending, without temporaries: formatting it was a third of
    // a hit's own instructions.
    std::string key;
    key.reserve(32 + expr.size() + 16 * args.size());
    key += char('0' + opts_.opt_level);
    key += opts_.fastmath ? 'f' : '-';
    key += opts_.boundscheck ? 'b' : '-';
    key += std::to_string(kernels_version_);
    key += "|eval:";
    key += expr;
    key += '\n';
    for (auto& [name, v] : args) append_signature(key, name, v);
    std::shared_ptr<EvalEntry> entry;
    {
      std::lock_guard<std::mutex> lock(cache_mu_);
      auto it = eval_cache_.find(key);
      if (it != eval_cache_.end()) entry = it->second;
    }
    if (entry) return run_entry(*entry, args);
    auto src = std::make_shared<const Source>("<eval>", std::string(expr));
    Module m = parse(src);
    if (m.body.size() != 1 || m.body[0]->kind != StmtKind::Expr)
      throw Error(fmt::format("eval() takes one expression, got '{}'", expr));
    const Expr& e = *m.body[0]->value;
    std::map<std::string, Value> vars;
    for (auto& [name, v] : args) vars[name] = v;
    if (const KernelDef* k = loop_kernel_call(e)) {
      LoopCall call = prepare_loop_call(src, e, *k, vars);
      auto vals = run_loop_call(*call.compiled, call.args, *k->src, *src, e.span);
      if (vals.size() != 1) throw Error("eval() of a kernel that returns a tuple: use run() and get()");
      entry = loop_call_entry(src, e, *k, call, vars, args);
      if (entry) {
        std::lock_guard<std::mutex> lock(cache_mu_);
        eval_cache_.emplace(key, entry);
      }
      return vals[0];
    }
    entry = expr_entry(src, e, vars, args, "");
    if (entry->arg_index.size() != entry->sigs)
      throw Error("eval(): load() is not available in eval; pass arrays as arguments");
    {
      std::lock_guard<std::mutex> lock(cache_mu_);
      eval_cache_.emplace(key, entry);
    }
    return run_entry(*entry, args);
  }

  /** What a cached eval runs: one compiled expression over some of the
   *  arguments, or a call of a loop kernel whose arguments are arguments of
   *  the eval or compiled expressions over them. Immutable once cached. */
  struct EvalEntry {
    std::shared_ptr<const Source> src;
    Span span;
    std::shared_ptr<Compiled> compiled;  // the expression's kernel, or the loop kernel
    std::vector<int> arg_index;          // kernel input i is args[arg_index[i]]
    size_t sigs = 0;                     // inputs the expression has (arg_index.size() unless it loads)
    Value constant;                      // the value when the expression is constant
    bool folded = false;                 // weak scalar arguments were folded in as constants
    // A loop-kernel call (kernel_src set): each parameter's argument, in the
    // order the call evaluates them: args[index], or `expr` run on the args.
    struct LoopArg {
      size_t param = 0;
      int index = -1;
      std::shared_ptr<EvalEntry> expr;
    };
    std::vector<LoopArg> loop_args;
    std::shared_ptr<const Source> kernel_src;
  };

  Value run_entry(const EvalEntry& entry, const Args& args) {
    if (entry.kernel_src) {
      std::vector<Value> in(entry.loop_args.size());
      for (auto& a : entry.loop_args) in[a.param] = a.expr ? run_entry(*a.expr, args) : args[size_t(a.index)].second;
      return run_loop_call(*entry.compiled, in, *entry.kernel_src, *entry.src, entry.span).at(0);
    }
    if (!entry.compiled->code && !entry.compiled->loops) return entry.constant;
    std::vector<Value> inputs;
    inputs.reserve(entry.arg_index.size());
    for (int i : entry.arg_index) inputs.push_back(args[size_t(i)].second);
    return invoke(*entry.compiled, inputs, entry.src.get(), entry.span).at(0);
  }

  /** `e` (of `src`) compiled over `args` (bound as `vars`); a non-empty
   *  `text` shares the statement cache (keyed by it). */
  std::shared_ptr<EvalEntry> expr_entry(const std::shared_ptr<const Source>& src, const Expr& e,
                                        const std::map<std::string, Value>& vars, const Args& args,
                                        const std::string& text) {
    auto p = build(src, e, vars, false);
    auto entry = std::make_shared<EvalEntry>();
    entry->src = src;
    entry->span = e.span;
    entry->sigs = p->sigs.size();
    entry->folded = !p->constants.empty();
    for (auto& s : p->sigs)
      for (size_t i = 0; i < args.size(); ++i)
        if (args[i].first == s.name) entry->arg_index.push_back(int(i));
    entry->compiled = compile(*p, text.empty() ? "" : cache_key(text, *p));
    if (!entry->compiled->code && !entry->compiled->loops) {
      const Node* r = p->roots[0];
      entry->constant = Value::scalar(r->dtype(), r->fval, r->ival, r->type.weak);
    }
    return entry;
  }

  /** The eval entry of a loop-kernel call that just ran (`call`), or null
   *  when an argument must go through evaluate() each time: a subscript
   *  (it may be a view, which the kernel may write through), a nested
   *  loop-kernel call, load(), or an expression with a weak scalar folded
   *  in. */
  std::shared_ptr<EvalEntry> loop_call_entry(const std::shared_ptr<const Source>& src, const Expr& e,
                                             const KernelDef& k, const LoopCall& call,
                                             const std::map<std::string, Value>& vars, const Args& args) {
    auto entry = std::make_shared<EvalEntry>();
    entry->src = src;
    entry->span = e.span;
    entry->compiled = call.compiled;
    entry->kernel_src = k.src;
    for (auto& [param, x] : call.order) {
      EvalEntry::LoopArg a;
      a.param = param;
      if (x->kind == ExprKind::Name) {
        for (size_t i = 0; i < args.size(); ++i)  // the last one, as in `vars`
          if (args[i].first == x->name) a.index = int(i);
        if (a.index < 0) return nullptr;
      } else {
        if (x->kind == ExprKind::Subscript || calls_loop_kernel(*x) || calls_load(*x)) return nullptr;
        a.expr = expr_entry(src, *x, vars, args, expr_text(*src, x->span));
        if (a.expr->arg_index.size() != a.expr->sigs || a.expr->folded) return nullptr;
      }
      entry->loop_args.push_back(std::move(a));
    }
    return entry->loop_args.size() == call.args.size() ? entry : nullptr;
  }

  // --- scripts ----------------------------------------------------------------------

  void run(std::string_view source, std::string_view filename, bool echo) {
    auto src = std::make_shared<const Source>(std::string(filename), std::string(source));
    module_ = std::make_shared<Module>(parse(src));
    run_module(src, echo);
  }

  /** Runs module_'s statements: consecutive pure assignments as one program. */
  void run_module(const std::shared_ptr<const Source>& src, bool echo) {
    const auto& body = module_->body;
    for (size_t i = 0; i < body.size();) {
      size_t j = i;
      while (j < body.size() && batchable(*body[j])) ++j;
      if (j - i >= 2 && run_batch(src, i, j)) {
        i = j;
        continue;
      }
      statement(src, *body[i], echo);
      ++i;
    }
  }

  // --- batches: consecutive assignments compiled as one program ------------------
  //
  // `lo = min(x)` then `hi = max(x)`: the statements' values are the roots of
  // one program, so multi-output fusion reads x once. Only `name = expr`
  // where expr is a pure array expression is batched (no kernel with loops,
  // no load, print or save; not a bare name or a slice, which alias). Any
  // error, or a value that would alias another, and the statements run one
  // by one instead: they are pure, so running them again is the same, and
  // errors are reported by the statement that raises them, in order.

  bool batchable(const Stmt& s) const {
    if (s.kind != StmtKind::Assign || s.targets.size() != 1 || s.targets[0]->kind != ExprKind::Name) return false;
    const Expr& e = *s.value;
    if (e.kind == ExprKind::Name || e.kind == ExprKind::Subscript || e.kind == ExprKind::Tuple) return false;
    if (e.kind == ExprKind::Int || e.kind == ExprKind::Float || e.kind == ExprKind::Bool || e.kind == ExprKind::Unary)
      return false;  // n = 5, a = -0.5: Python numbers, bound without a kernel
    return !calls_load(e) && !calls_loop_kernel(e) && !loop_kernel_call(e) && !is_call_to(e, "print") &&
           !is_call_to(e, "save");
  }

  static bool computes(const Node* n) {
    switch (n->kind) {
      case ArrayOp::Unary:
      case ArrayOp::Binary:
      case ArrayOp::Math:
      case ArrayOp::Cast:
      case ArrayOp::Select:
      case ArrayOp::Reduce:
      case ArrayOp::Scan:
      case ArrayOp::GroupReduce:
      case ArrayOp::Iota:
      case ArrayOp::Random:
      case ArrayOp::Copy: return true;
      default: return false;
    }
  }

  bool run_batch(const std::shared_ptr<const Source>& src, size_t i, size_t j) {
    const auto& body = module_->body;
    std::vector<Value> vals;
    std::unique_ptr<Program> p;
    try {
      p = std::make_unique<Program>(src);
      p->span = body[i]->span;
      Scope scope;
      std::set<std::string> used;
      std::string text;
      for (size_t k = i; k < j; ++k) {
        collect_names(*body[k]->value, used);
        text += body[k]->targets[0]->name + " = " + expr_text(*src, body[k]->value->span) + "\n";
      }
      for (auto& [name, v] : vars_) {
        if (!used.count(name)) {
          scope.other_names.push_back(name);
        } else if (v.is_scalar() && v.weak()) {
          bind_number(*p, scope, name, v);
        } else {
          bind_input(*p, scope, name, v, body[i]->span);
        }
      }
      scope.kernels = &kernels_;
      for (size_t k = i; k < j; ++k) {
        SemaValue v = lower_expr(p->b, scope, *body[k]->value);
        if (v.kind != SemaValue::Kind::Node || !computes(v.node)) return false;
        if (std::find(p->roots.begin(), p->roots.end(), v.node) != p->roots.end()) return false;  // would share memory
        p->roots.push_back(v.node);
        p->names.push_back(body[k]->targets[0]->name);
        scope.vars[body[k]->targets[0]->name] = v.node;
      }
      auto c = compile(*p, cache_key(text, *p));
      if (std::getenv("NUMJIT_DEBUG")) std::cerr << "one kernel for " << text;
      vals = call(*c, p->roots, p->inputs, src.get(), body[i]->span);
    } catch (const Error&) {
      return false;
    }
    for (size_t k = 0; k < vals.size(); ++k) {
      vars_[p->names[k]] = vals[k];
      emit_typed(src, *body[i + k]->value, {p->names[k]}, {vals[k]});
    }
    return true;
  }

  /** Executes a top-level statement. */
  void statement(const std::shared_ptr<const Source>& src, const Stmt& s, bool echo) {
    switch (s.kind) {
      case StmtKind::Expr: {
        const Expr& e = *s.value;
        if (is_call_to(e, "print")) return print(src, e);
        if (is_call_to(e, "save")) return save(src, e);
        auto vals = evaluate(src, e, vars_, true);
        emit_typed(src, e, {"_"}, vals);
        if (echo) *out_ << show(vals) << "\n";
        return;
      }
      case StmtKind::Assign: return assign(src, s);
      case StmtKind::AugAssign: return aug_assign(src, s);
      case StmtKind::Pass: return;
      case StmtKind::Def:
        if (builtin_is(s.name))
          user_error(src.get(), s.span, fmt::format("'{}' is a builtin function; give the kernel another name", s.name));
        kernels_[s.name] = KernelDef{src, module_, &s};
        ++kernels_version_;
        return;
      default:
        user_error(src.get(), s.span, "for, while, if, break, continue and return run inside kernels: put them in a "
                                      "def and call it");
    }
  }

  static bool builtin_is(const std::string& name) {
    for (auto& b : builtin_names())
      if (b == name) return true;
    return false;
  }

  static bool is_call_to(const Expr& e, const char* fn) {
    return e.kind == ExprKind::Call && e.args[0]->kind == ExprKind::Name && e.args[0]->name == fn;
  }

  void assign(const std::shared_ptr<const Source>& src, const Stmt& s) {
    const Expr& e = *s.value;
    std::vector<std::string> names;
    for (auto& t : s.targets) {
      if (t->kind == ExprKind::Name) continue;
      if (t->kind == ExprKind::Tuple) {
        for (auto& item : t->args)
          if (item->kind != ExprKind::Name)
            user_error(src.get(), item->span, "only names can be unpacked into at the top level");
        continue;
      }
      if (t->kind == ExprKind::Subscript) continue;
      user_error(src.get(), t->span, "cannot assign to this");
    }
    for (auto& t : s.targets)
      if (t->kind == ExprKind::Name) names.push_back(t->name);
    // x[a:b] = e alone: e's loops write into x's elements (one program).
    if (s.targets.size() == 1 && s.targets[0]->kind == ExprKind::Subscript && !loop_kernel_call(e) &&
        !calls_loop_kernel(e))
      return store(src, *s.targets[0], e, vars_);
    emit_names_ = names;  // what emit_program calls the statement's values
    auto vals = evaluate(src, e, vars_, true);
    emit_names_.clear();
    emit_typed(src, e, names, vals);
    for (auto& t : s.targets) {
      if (t->kind == ExprKind::Subscript) store_value(src, *t, vals);
      else bind_target(src, *t, vals);
    }
  }

  void bind_target(const std::shared_ptr<const Source>& src, const Expr& t, const std::vector<Value>& vals) {
    if (t.kind == ExprKind::Name) {
      if (vals.size() != 1) user_error(src.get(), t.span, fmt::format("cannot bind a tuple of {} values to one name", vals.size()));
      vars_[t.name] = vals[0];
      return;
    }
    if (t.args.size() != vals.size())
      user_error(src.get(), t.span, fmt::format("cannot unpack {} value{} into {} names", vals.size(),
                                                vals.size() == 1 ? "" : "s", t.args.size()));
    for (size_t i = 0; i < vals.size(); ++i) vars_[t.args[i]->name] = vals[i];
  }

  // target = value, in place: one compiled program whose loops compute
  // `value` and write it into the elements of `target` (x[i], x[a:b],
  // X[i, :]: Views of an array variable; for x op= e the variable itself),
  // converted to its dtype; a scalar fills the view. As NumPy does, the
  // value is copied first when it reads the target's memory elsewhere (also
  // through another name: y = x[::-1]; x[:] = y). `aug` is the statement of
  // x op= e, whose result must also cast to x's dtype under 'same_kind'.
  void store(const std::shared_ptr<const Source>& src, const Expr& target, const Expr& value,
             const std::map<std::string, Value>& vars, const Stmt* aug = nullptr, bool value_checked = false) {
    if (!value_checked && (loop_kernel_call(value) || calls_loop_kernel(value)))  // kernels with loops run first
      return store_value(src, target, evaluate(src, value, vars, false), aug);
    const Expr& var = target.kind == ExprKind::Subscript ? *target.args[0] : target;
    auto it = var.kind == ExprKind::Name ? vars.find(var.name) : vars.end();
    if (it == vars.end() || !it->second.is_array() || it->second.array().ndim() == 0)
      user_error(src.get(), target.span, "only elements and slices of array variables can be assigned");
    Scope scope;
    auto p = program(src, target.span, {&target, &value}, vars, scope);
    const Node* view = lower_node(p->b, scope, target);
    const Node* base = view;
    while (base->kind == ArrayOp::View) base = base->ops[0];
    if (base->kind != ArrayOp::Input || base->rank() == 0)
      user_error(src.get(), target.span, "only elements and slices of array variables can be assigned");
    const Node* v = lower_node(p->b, scope, value);
    DType to = view->dtype();
    if (aug) {
      auto kind = [](DType t) { return t == DType::Bool ? 0 : is_int(t) ? 1 : 2; };
      if (kind(v->dtype()) > kind(to))
        user_error(src.get(), aug->span, fmt::format("Cannot cast ufunc '{}' output from dtype('{}') to dtype('{}') "
                                                     "with casting rule 'same_kind'", ufunc_name(aug->aug_op),
                                                     dtype_numpy_name(v->dtype()), dtype_numpy_name(to)));
      if (v->rank() > view->rank())
        user_error(src.get(), aug->span, fmt::format("non-broadcastable output operand with shape {} doesn't match "
                                                     "the broadcast shape {}", shape_of(src, target, vars),
                                                     shape_of(src, value, vars)));
    }
    // NumPy converts a float scalar as Python's int() does: NaN and the
    // infinities are errors (arrays convert elementwise, NaN giving the
    // integer's minimum). A scalar not known yet is computed first.
    if (v->rank() == 0 && is_float(v->dtype()) && is_int(to) && !value_checked) {
      if (!v->is_const()) return store_value(src, target, evaluate(src, value, vars, false), aug);
      if (std::isnan(v->fval)) user_error(src.get(), target.span, "cannot convert float NaN to integer");
      if (std::isinf(v->fval)) user_error(src.get(), target.span, "cannot convert float infinity to integer");
    }
    if (v->rank() > view->rank())
      user_error(src.get(), value.span, fmt::format("could not broadcast input array from shape {} into shape {}",
                                                    shape_of(src, value, vars), shape_of(src, target, vars)));
    const Node* b = p->b.broadcast(v, view->shape, value.span);
    int buf = int(base->ival);
    if (reads_other_elements(b, view, buf) || shares_memory(p->inputs, size_t(buf))) b = p->b.copy(b, value.span);
    p->roots = {b};
    p->store_view = view;
    p->store_buf = buf;
    if (emit_ && emit_->first == Stage::Typed)
      *emit_->second += fmt::format("{}: {} = {}\n", print_expr(target), v->type.str(), print_expr(value));
    std::string text = "store:" + expr_text(*src, target.span) + "=" +
                       (value.kind == ExprKind::Name ? value.name : expr_text(*src, value.span));
    auto c = compile(*p, calls_load(value) ? "" : cache_key(text, *p));
    invoke(*c, p->inputs, src.get(), aug ? aug->span : value.span);
  }

  // target = a value already computed (a tuple's items, a kernel's result).
  void store_value(const std::shared_ptr<const Source>& src, const Expr& target, const std::vector<Value>& vals,
                   const Stmt* aug = nullptr) {
    if (vals.size() != 1) user_error(src.get(), target.span, "cannot assign a tuple to elements");
    Value v = vals[0];
    if (v.is_array() && v.array().size() == 1 && v.array().ndim() > 0) {  // broadcasts as a scalar
      const Array& a = v.array();
      v = Value::scalar(a.dtype(), is_float(a.dtype()) ? a.at<double>(0, 0) : 0,
                        is_float(a.dtype()) ? 0 : a.at<int64_t>(0, 0));
    }
    if (v.is_scalar() && is_float(v.dtype())) {
      auto it = target.kind == ExprKind::Subscript && target.args[0]->kind == ExprKind::Name
                    ? vars_.find(target.args[0]->name) : vars_.end();
      if (it != vars_.end() && it->second.is_array() && is_int(it->second.dtype())) {
        double f = v.scalar<double>();
        if (std::isnan(f)) user_error(src.get(), target.span, "cannot convert float NaN to integer");
        if (std::isinf(f)) user_error(src.get(), target.span, "cannot convert float infinity to integer");
      }
    }
    std::map<std::string, Value> with = vars_;
    with["$value"] = v;
    Expr name(ExprKind::Name, target.span);
    name.name = "$value";
    store(src, target, name, with, aug, true);
  }

  // The shape of `e`'s value, as NumPy prints it (for messages).
  std::string shape_of(const std::shared_ptr<const Source>& src, const Expr& e, const std::map<std::string, Value>& vars) {
    Value v = evaluate(src, e, vars, false).at(0);
    return v.is_array() ? shape_tuple(v.array().shape()) : "()";
  }

  // Whether an array input other than #buf shares memory with input #buf.
  static bool shares_memory(const std::vector<Value>& inputs, size_t buf) {
    auto bytes = [](const Array& a) {
      auto lo = reinterpret_cast<uintptr_t>(a.raw_data()), hi = lo;
      for (int k = 0; k < a.ndim(); ++k) {
        int64_t ext = (a.shape()[size_t(k)] - 1) * a.strides()[size_t(k)] * dtype_size(a.dtype());
        if (a.shape()[size_t(k)] == 0) return std::pair<uintptr_t, uintptr_t>{0, 0};
        (ext < 0 ? lo : hi) += uintptr_t(ext);
      }
      return std::pair<uintptr_t, uintptr_t>{lo, hi + uintptr_t(dtype_size(a.dtype()))};
    };
    const Array& dst = inputs[buf].array();
    auto [dlo, dhi] = bytes(dst);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (i == buf || !inputs[i].is_array() || inputs[i].array().ndim() == 0) continue;
      auto [lo, hi] = bytes(inputs[i].array());
      if (lo < dhi && dlo < hi) return true;
    }
    return false;
  }

  void aug_assign(const std::shared_ptr<const Source>& src, const Stmt& s) {
    const Expr& target = *s.targets[0];
    if (target.kind != ExprKind::Subscript && target.kind != ExprKind::Name)
      user_error(src.get(), target.span, "cannot assign to this");
    // x op= e is x = x op e; x[i] op= e is x[i] = x[i] op e.
    Expr bin(ExprKind::Binary, s.span);
    bin.binop = s.aug_op;
    bin.args.push_back(clone_expr(target));
    bin.args.push_back(clone_expr(*s.value));
    if (target.kind == ExprKind::Subscript) return store(src, target, bin, vars_);
    auto old = vars_.find(target.name);
    if (old == vars_.end() || !old->second.is_array() || old->second.array().ndim() == 0) {
      auto vals = evaluate(src, bin, vars_, false);
      emit_typed(src, bin, {target.name}, vals);
      vars_[target.name] = vals[0];  // a scalar: a new value, as for Python numbers
      return;
    }
    // An array: NumPy's in-place ufunc (x += e is np.add(x, e, out=x)), so
    // every name and view sharing x's memory sees the update.
    store(src, target, bin, vars_, &s);
  }

  static const char* ufunc_name(BinOp op) {
    switch (op) {
      case BinOp::Add: return "add";
      case BinOp::Sub: return "subtract";
      case BinOp::Mul: return "multiply";
      case BinOp::Div: return "divide";
      case BinOp::FloorDiv: return "floor_divide";
      case BinOp::Mod: return "remainder";
      case BinOp::Pow: return "power";
      case BinOp::BitAnd: return "bitwise_and";
      case BinOp::BitOr: return "bitwise_or";
      case BinOp::BitXor: return "bitwise_xor";
      default: return "?";
    }
  }
  static std::string shape_tuple(const std::vector<int64_t>& sh) {
    std::string t = "(";
    for (size_t k = 0; k < sh.size(); ++k) t += (k ? "," : "") + std::to_string(sh[k]);
    return t + (sh.size() == 1 ? ",)" : ")");
  }


  void print(const std::shared_ptr<const Source>& src, const Expr& call) {
    if (!call.keywords.empty()) user_error(src.get(), call.keywords[0].name_span, "print() takes no keyword arguments");
    std::string line;
    for (size_t i = 1; i < call.args.size(); ++i) {
      const Expr& a = *call.args[i];
      if (i > 1) line += " ";
      if (a.kind == ExprKind::String) {
        line += a.name;
        continue;
      }
      auto vals = evaluate(src, a, vars_, true);
      line += show(vals);
    }
    if (!dry_) *out_ << line << "\n";
  }

  /** Python's text of the value(s) the last evaluate() gave: (5,) for a 1-tuple. */
  std::string show(const std::vector<Value>& vals) const {
    if (!last_tuple_ && vals.size() == 1) return format_value(vals[0]);
    std::string line = "(";
    for (size_t k = 0; k < vals.size(); ++k) line += (k ? ", " : "") + format_value(vals[k]);
    return line + (vals.size() == 1 ? ",)" : ")");
  }

  void save(const std::shared_ptr<const Source>& src, const Expr& call) {
    if (call.args.size() != 3 || call.args[1]->kind != ExprKind::String)
      user_error(src.get(), call.span, "save() takes a file name string and a value: save(\"x.npy\", x)");
    Value v = evaluate(src, *call.args[2], vars_, false).at(0);
    Array a;
    if (v.is_array()) {
      a = v.array();
    } else {
      a = Array::zeros(v.dtype(), {});
      visit_dtype(v.dtype(), [&](auto c) {
        using T = typename decltype(c)::type;
        *a.data<T>() = v.scalar<T>();
      });
    }
    if (dry_) return;  // emit(): nothing is written
    try {
      save_npy(call.args[1]->name, a);
    } catch (const Error& err) {
      user_error(src.get(), call.span, err.what());
    }
  }

  // --- stages ---------------------------------------------------------------------

  /** --emit=typed: `names: types = expr` of a statement, from its values. */
  void emit_typed(const std::shared_ptr<const Source>& src, const Expr& e, const std::vector<std::string>& names,
                  const std::vector<Value>& vals) {
    if (!emit_ || emit_->first != Stage::Typed) return;
    std::string types;
    for (auto& v : vals) {
      Type t{v.dtype(), v.is_array() ? v.array().ndim() : 0, v.is_scalar() && v.weak()};
      types += (types.empty() ? "" : ", ") + t.str();
    }
    std::string lhs;
    for (auto& n : names) lhs += (lhs.empty() ? "" : ", ") + n;
    *emit_->second += fmt::format("{}: {} = {}\n", lhs.empty() ? "_" : lhs, types, print_expr(e));
  }

  /** --emit and the REPL's :ir/:loops/:llvm/:asm: the stage of a program
   *  that run() compiles, as it compiles it (batches of statements
   *  included); programs of constants only are not compiled, so not shown. */
  void emit_program(const Program& p) {
    bool all_const = !p.store_view;
    for (auto* r : p.roots) all_const &= r->is_const();
    if (all_const) return;
    // One statement's program is named by the statement's targets.
    std::vector<std::string> names = p.names;
    if (names.empty()) names = emit_names_;
    names.resize(p.roots.size(), "_");
    auto lowered = [&] { return lower(p, names); };
    std::string& out = *emit_->second;
    switch (emit_->first) {
      case Stage::Array: out += print_array_ir(p.roots, names); return;
      case Stage::Fused: out += print_fusion(fuse(p.roots, names)); return;
      case Stage::Loops: {
        Kernel k = lowered();
        out += print_kernel(k);
        if (explain_) {
          FusionPlan plan = fuse(p.roots, names);
          explain_->fused += print_fusion(plan);
          explain_->fusion_groups += int(plan.materialised.size());
          explain_kernel(k);
        }
        return;
      }
      case Stage::Llvm: out += engine().text(lowered(), codegen_options(), CodegenText::Llvm); return;
      case Stage::LlvmOpt: out += engine().text(lowered(), codegen_options(), CodegenText::LlvmOpt); return;
      case Stage::Asm: out += engine().text(lowered(), codegen_options(), CodegenText::Asm); return;
      case Stage::Remarks: out += engine().text(lowered(), codegen_options(), CodegenText::Remarks); return;
      default: return;
    }
  }

  /** A stage of `source`: tokens and the AST from the text; the types of
   *  each statement; later stages are hooks on the path run() takes (the
   *  script runs, and each program it compiles is printed), except that
   *  nothing is written: save() and print() do nothing, and the arguments
   *  and variables are copies, so a kernel's writes never reach them. */
  std::string emit(std::string_view source, Stage stage, const Args& args, std::string_view filename) {
    auto src = std::make_shared<const Source>(std::string(filename), std::string(source));
    if (stage == Stage::Tokens) return print_tokens(lex(*src));
    auto m = std::make_shared<Module>(parse(src));
    if (stage == Stage::Ast) return print_ast(*m);
    std::string out;
    std::pair<Stage, std::string*> em{stage, &out};
    struct Restore {
      Session& s;
      std::map<std::string, Value> vars;
      std::shared_ptr<Module> module;
      ~Restore() {
        s.vars_ = std::move(vars);
        s.module_ = std::move(module);
        s.emit_ = nullptr;
        s.dry_ = false;
      }
    } restore{*this, vars_, module_};
    module_ = m;
    // Copies, so that a kernel's element writes reach neither the caller's
    // arrays nor the session's (a strided view stays itself: its copy would
    // be contiguous and compile another kernel than run's).
    auto copy = [](const Value& v) { return v.is_array() && v.array().is_contiguous() ? Value(v.array().copy()) : v; };
    for (auto& [name, v] : vars_) v = copy(v);
    for (auto& [name, v] : args) vars_[name] = copy(v);
    emit_ = &em;
    dry_ = true;
    run_module(src, false);
    return out;
  }

  /** What run() compiles for `source`: emit()'s loop IR, and each kernel's
   *  loops as codegen and LLVM made them (JitEngine::explain). */
  Explanation explain(std::string_view source, const Args& args, std::string_view filename) {
    Explanation ex;
    explain_ = &ex;
    struct Clear {
      Session& s;
      ~Clear() { s.explain_ = nullptr; }
    } clear{*this};
    ex.loop_ir = emit(source, Stage::Loops, args, filename);
    return ex;
  }

  void explain_kernel(const Kernel& k) {
    KernelExplanation ke;
    std::vector<std::string> lines;
    std::string text = print_kernel(k, &lines);
    ke.signature = text.substr(0, text.find('\n'));
    if (ke.signature.rfind("kernel ", 0) == 0) ke.signature.erase(0, 7);
    std::vector<LoopReport> reports = engine().explain(k, codegen_options());
    std::vector<const LStmt*> stmts = kernel_loops(k);
    std::vector<int> depth;  // of each loop, in kernel_loops() order
    walk_stmts(k.body, [&](const LStmt& st, int loops) {
      if (is_loop(st)) depth.push_back(loops);
    });
    for (size_t i = 0; i < reports.size(); ++i) {
      const LoopReport& r = reports[i];
      LoopExplanation le;
      le.depth = depth[i];
      le.loop = lines[i];
      if (!le.loop.empty() && le.loop.back() == ':') le.loop.pop_back();
      size_t colon = le.loop.find(": ");  // a reduction's accumulators follow its colon
      if (le.loop.rfind("reduce ", 0) == 0 && colon != std::string::npos) le.loop.erase(colon);
      le.parallel = r.code.task;
      if (!le.parallel) le.serial_reason = stmts[i]->serial_reason;
      using V = LoopExplanation::Vectorizer;
      if (r.code.reduce_lanes || r.code.scan_lanes) {
        le.vectorizer = V::Numjit;
        le.width = int(r.code.reduce_lanes ? r.code.reduce_lanes : r.code.scan_lanes);
        le.what = r.code.reduce_lanes ? "reduction" : "prefix scan";
      } else if (r.llvm_width > 1) {
        le.vectorizer = V::Llvm;
        le.width = r.llvm_width;
        le.interleave = std::max(r.llvm_interleave, 1);
      } else {
        le.why_not = r.llvm_reasons;
      }
      ke.loops.push_back(std::move(le));
    }
    for (const Buffer& b : k.buffers) {
      if (b.rank < 1) continue;
      int size = int(dtype_size(b.dtype));
      if (b.kind == BufferKind::Input) ke.reads.push_back({b.name, size});
      else if (b.kind == BufferKind::Result) ke.writes.push_back({b.name, size});
      else ke.temps.push_back({b.name, 2 * size});
    }
    explain_->kernels.push_back(std::move(ke));
  }

  /** Compiles kernel `name` for arguments of `sig` (contiguous arrays and
   *  strong scalars), for Jit::function. */
  std::tuple<std::shared_ptr<Compiled>, ThreadPool*, std::mutex*> bind(const std::string& name,
                                                                     const std::vector<std::pair<DType, int>>& sig) {
    auto it = kernels_.find(name);
    if (it == kernels_.end()) throw Error(fmt::format("Jit::function: no kernel named '{}' (define it with run(\"def {}(...): ...\"))", name, name));
    const Stmt& def = *it->second.def;
    if (sig.size() != def.params.size())
      throw Error(fmt::format("Jit::function: '{}' takes {} arguments, the signature has {}", name, def.params.size(), sig.size()));
    // Prototype arguments of the right types (their values do not matter).
    static double dummy[2];
    std::map<std::string, Value> vars;
    std::string call = name + "(";
    for (size_t i = 0; i < sig.size(); ++i) {
      std::string arg = fmt::format("a{:03}", i);
      auto [dt, rank] = sig[i];
      vars[arg] = rank == 0 ? Value::scalar(dt, 0, 0) : Value(Array::view(dummy, dt, {2}));
      call += (i ? ", " : "") + arg;
    }
    call += ")";
    auto src = std::make_shared<const Source>("<function>", call);
    auto m = std::make_shared<Module>(parse(src));
    const Expr& e = *m->body[0]->value;
    std::shared_ptr<Compiled> c;
    if (kernel_needs_loops(def, &kernels_)) {
      std::vector<InputSig> sigs;
      for (size_t i = 0; i < sig.size(); ++i) sigs.push_back(signature(def.params[i].name, vars[fmt::format("a{:03}", i)]));
      for (auto& s : sigs) s.type.weak = false;
      LoopKernel lk = lower_kernel(it->second, sigs, &kernels_, opts_.boundscheck);
      c = std::make_shared<Compiled>();
      c->results = lk.results;
      c->code = engine().compile(lk.kernel, codegen_options());
    } else {
      auto p = build(src, e, vars, true);
      if (p->sigs.size() != sig.size())
        throw Error(fmt::format("Jit::function: '{}' does not use all of its parameters; the fast path needs each one", name));
      c = compile(*p, "");
    }
    return {c, &pool(), &pool_mu_};
  }

  std::map<std::string, Value>& vars() { return vars_; }
  void set_output(std::ostream* o) { out_ = o ? o : &std::cout; }

 private:
  Options opts_;
  bool reference_ = false;  // interpret loop IR instead of compiling it
  std::mutex engine_mu_, cache_mu_;
  std::unique_ptr<JitEngine> engine_;
  std::unique_ptr<ThreadPool> pool_;
  std::mutex pool_mu_;  // one parallel region at a time; other callers run serially
  std::unordered_map<std::string, std::shared_ptr<Compiled>> cache_;
  std::unordered_map<std::string, std::shared_ptr<EvalEntry>> eval_cache_;
  std::map<std::string, Value> vars_;
  std::map<std::string, KernelDef> kernels_;
  uint64_t kernels_version_ = 0;       // part of cache keys: a redefinition recompiles
  std::shared_ptr<Module> module_;     // the module being run (kernels keep theirs)
  // emit(): the stage being printed (owned by emit(), which clears it on
  // every exit, errors included) and whether writes are skipped.
  std::pair<Stage, std::string*>* emit_ = nullptr;
  Explanation* explain_ = nullptr;  // explain(): emit_ is Loops, and each kernel is explained too
  bool dry_ = false;
  std::vector<std::string> emit_names_;  // the targets of the statement being run
  // Whether the last evaluate() on this thread gave a tuple (read right
  // after it by print and echo; thread-local so concurrent evals don't race).
  static thread_local bool last_tuple_;  // a loop kernel's stage is printed when it is called
  std::ostream* out_ = &std::cout;
};

thread_local bool Session::last_tuple_ = false;

namespace {
static_assert(sizeof(detail::RawView) == sizeof(nj_array_view) && offsetof(detail::RawView, shape) ==
              offsetof(nj_array_view, shape) && offsetof(detail::RawView, strides) == offsetof(nj_array_view, strides),
              "numjit.hpp's RawView must mirror nj_array_view");

/** What a typed Function holds: the compiled kernel and where it runs. */
struct BoundKernel {
  std::shared_ptr<const void> keep;  // the Compiled (owning the machine code)
  nj_kernel_fn fn = nullptr;
  ThreadPool* pool = nullptr;
  std::mutex* pool_mu = nullptr;
  int64_t ninputs = 0;
};
}  // namespace

void detail::CallTarget::call(RawView* views, int64_t nviews, std::vector<Value>* values) const {
  auto* b = static_cast<const BoundKernel*>(impl.get());
  if (!b) throw Error("calling an empty numjit::Function");
  nj_ctx ctx;
  ctx.pool = b->pool;
  ctx.pool_mu = b->pool_mu;
  auto* v = reinterpret_cast<nj_array_view*>(views);
  if (b->fn(v, nviews, &ctx) != 0) throw Error(ctx.message);
  if (values)
    for (int64_t r = b->ninputs; r < nviews; ++r) {
      Array a = adopt_result(ctx, v[r]);
      if (a.ndim() == 0)
        values->push_back(is_float(a.dtype()) ? Value::scalar(a.dtype(), a.at<double>(), 0)
                                              : Value::scalar(a.dtype(), 0, a.at<int64_t>()));
      else
        values->push_back(Value(a));
    }
}

// ---------------------------------------------------------------------------
// The public API

Jit::Jit(Options options) : session_(std::make_unique<Session>(std::move(options))) {}
Jit::~Jit() = default;
const Options& Jit::options() const { return session_->options(); }
Value Jit::eval(std::string_view expr, const Args& args) { return session_->eval(expr, args); }
void Jit::run(std::string_view source, std::string_view filename) { session_->run(source, filename, false); }
void Jit::run_interactive(std::string_view source, std::string_view filename) { session_->run(source, filename, true); }
std::string Jit::emit(std::string_view source, Stage stage, const Args& args, std::string_view filename) {
  return session_->emit(source, stage, args, filename);
}
Explanation Jit::explain(std::string_view source, const Args& args, std::string_view filename) {
  return session_->explain(source, args, filename);
}
int KernelExplanation::bytes_per_element() const {
  int n = 0;
  for (auto* list : {&reads, &writes, &temps})
    for (auto& [name, bytes] : *list) n += bytes;
  return n;
}
Value Jit::get(const std::string& name) const {
  auto& vars = session_->vars();
  auto it = vars.find(name);
  if (it == vars.end()) throw Error(fmt::format("no variable '{}' in this session", name));
  return it->second;
}
void Jit::set(const std::string& name, Value v) { session_->vars()[name] = std::move(v); }
void Jit::set_output(std::ostream* out) { session_->set_output(out); }

detail::CallTarget Jit::bind(std::string_view name, const Signature& sig, int result_dtype) {
  auto [compiled, pool, pool_mu] = session_->bind(std::string(name), sig);
  if (compiled->results.size() != 1)
    throw Error(fmt::format("Jit::function: '{}' returns {} values; bind one that returns one", name, compiled->results.size()));
  const Type& r = compiled->results[0];
  if (result_dtype >= 0 && (r.rank != 0 || int(r.dtype) != result_dtype))
    throw Error(fmt::format("Jit::function: '{}' returns {}, not {}", name, Type{r.dtype, r.rank, false}.str(),
                            dtype_name(DType(result_dtype))));
  if (!compiled->code) throw Error(fmt::format("Jit::function: '{}' is constant; nothing to call", name));
  auto b = std::make_shared<BoundKernel>();
  b->keep = compiled;
  b->fn = compiled->code->fn;
  b->pool = pool;
  b->pool_mu = pool_mu;
  b->ninputs = int64_t(sig.size());
  return detail::CallTarget{b};
}

std::string reference_run(std::string_view script, std::string_view filename) {
  Session s(Options{}, true);
  std::ostringstream out;
  s.set_output(&out);
  s.run(script, filename, false);
  return out.str();
}

Value reference_eval(std::string_view expr, const Args& args) {
  auto src = std::make_shared<const Source>("<eval>", std::string(expr));
  Module m = parse(src);
  if (m.body.size() != 1 || m.body[0]->kind != StmtKind::Expr)
    throw Error(fmt::format("reference_eval() takes one expression, got '{}'", expr));
  Context ctx;
  Builder b(ctx, src.get());
  Scope scope;
  std::vector<Value> inputs;
  std::set<std::string> used;
  collect_names(*m.body[0]->value, used);
  for (auto& [name, v] : args) {
    if (!used.count(name)) continue;
    scope.vars[name] = b.input(int(inputs.size()), signature(name, v), {});
    inputs.push_back(v);
  }
  const Node* root = lower_node(b, scope, *m.body[0]->value);
  try {
    return interpret({root}, inputs).at(0);
  } catch (const Error& e) {
    throw Error(render_diagnostic(src.get(), m.body[0]->value->span, e.what()));
  }
}

}  // namespace numjit
