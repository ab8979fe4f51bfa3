// Loop IR: interned expression builder and the printer.
#include "ir/loop_ir.h"

#include <functional>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>
#include <unordered_map>

#include "ir/scalar_ops.h"

namespace numjit {

const char* acc_kind_name(AccKind k) {
  static const char* names[] = {"sum", "prod", "min", "max", "any", "all", "argmin", "argmax"};
  return names[int(k)];
}

namespace {
using Key = std::tuple<int, int, int, int64_t, uint64_t, int, int, std::vector<const LExpr*>>;
Key key_of(const LExpr& e) {
  uint64_t fb;
  std::memcpy(&fb, &e.fval, 8);
  return Key{int(e.kind), int(e.dtype), e.op, e.ival, fb, e.var, e.buf, e.ops};
}
bool all_const(const LExpr& e) {
  for (auto* o : e.ops)
    if (o->kind != LExprKind::Const) return false;
  return !e.ops.empty();
}
Scalar value_of(const LExpr* c) { return Scalar{c->fval, c->ival}; }
}  // namespace

struct LoopBuilder::Impl {
  std::map<Key, std::unique_ptr<LExpr>> table;
};

LoopBuilder::LoopBuilder() : impl_(std::make_unique<Impl>()) {}
LoopBuilder::~LoopBuilder() = default;

const LExpr* LoopBuilder::make(LExpr e) {
  // Fold operations on constants with the interpreter's semantics.
  if (all_const(e)) {
    Scalar r;
    bool folded = true;
    DType in = e.ops[0]->dtype;
    switch (e.kind) {
      case LExprKind::Unary: r = eval_unary(UnaryOp(e.op), e.dtype, value_of(e.ops[0])); break;
      case LExprKind::Binary:
        if (BinaryOp(e.op) == BinaryOp::Pow && !is_float(in) && e.ops[1]->ival < 0) folded = false;
        else r = eval_binary(BinaryOp(e.op), in, value_of(e.ops[0]), value_of(e.ops[1]));
        break;
      case LExprKind::Math: r = eval_math(MathFn(e.op), in, value_of(e.ops[0])); break;
      case LExprKind::Cast: r = cast_scalar(value_of(e.ops[0]), in, e.dtype); break;
      case LExprKind::Select: r = value_of(e.ops[0]->ival ? e.ops[1] : e.ops[2]); break;
      default: folded = false; break;
    }
    if (folded) return constant(e.dtype, r.f, r.i);
  }
  Key k = key_of(e);
  auto it = impl_->table.find(k);
  if (it != impl_->table.end()) return it->second.get();
  auto p = std::make_unique<LExpr>(std::move(e));
  const LExpr* r = p.get();
  impl_->table.emplace(std::move(k), std::move(p));
  return r;
}

const LExpr* LoopBuilder::constant(DType t, double f, int64_t i) {
  LExpr e{LExprKind::Const, t};
  Scalar s = make_scalar(t, f, i);
  e.fval = s.f;
  e.ival = s.i;
  return make(std::move(e));
}
const LExpr* LoopBuilder::var(int id, DType t) {
  LExpr e{LExprKind::Var, t};
  e.var = id;
  return make(std::move(e));
}
const LExpr* LoopBuilder::dim(int buf, int axis) {
  LExpr e{LExprKind::Dim, DType::I64};
  e.buf = buf;
  e.ival = axis;
  return make(std::move(e));
}
const LExpr* LoopBuilder::load(int buf, DType t, std::vector<const LExpr*> index) {
  LExpr e{LExprKind::Load, t};
  e.buf = buf;
  e.ops = std::move(index);
  return make(std::move(e));
}
const LExpr* LoopBuilder::unary(UnaryOp op, const LExpr* a) {
  LExpr e{LExprKind::Unary, a->dtype};
  e.op = int(op);
  e.ops = {a};
  return make(std::move(e));
}
const LExpr* LoopBuilder::binary(BinaryOp op, const LExpr* a, const LExpr* b) {
  // Identities that keep index arithmetic readable (exact for integers).
  if (!is_float(a->dtype)) {
    auto is = [](const LExpr* x, int64_t v) { return x->kind == LExprKind::Const && x->ival == v; };
    if (op == BinaryOp::Add && is(b, 0)) return a;
    if (op == BinaryOp::Add && is(a, 0)) return b;
    if (op == BinaryOp::Sub && is(b, 0)) return a;
    if (op == BinaryOp::Mul && is(b, 1)) return a;
    if (op == BinaryOp::Mul && is(a, 1)) return b;
    if (op == BinaryOp::FloorDiv && is(b, 1) && a->dtype != DType::Bool) return a;  // the rows of an (N, 1) array
    if (op == BinaryOp::Mod && is(b, 1) && a->dtype != DType::Bool) return constant(a->dtype, 0, 0);
  }
  if (a == b && !is_float(a->dtype) && (op == BinaryOp::Eq || op == BinaryOp::Le || op == BinaryOp::Ge))
    return constant(DType::Bool, 0, 1);  // x == x (not for floats: NaN)
  LExpr e{LExprKind::Binary, is_comparison(op) ? DType::Bool : a->dtype};
  e.op = int(op);
  e.ops = {a, b};
  return make(std::move(e));
}
const LExpr* LoopBuilder::math(MathFn fn, DType out, const LExpr* a) {
  LExpr e{LExprKind::Math, out};
  e.op = int(fn);
  e.ops = {a};
  return make(std::move(e));
}
const LExpr* LoopBuilder::cast(const LExpr* a, DType t) {
  if (a->dtype == t) return a;
  LExpr e{LExprKind::Cast, t};
  e.ops = {a};
  return make(std::move(e));
}
const LExpr* LoopBuilder::select(const LExpr* c, const LExpr* a, const LExpr* b) {
  if (a == b) return a;
  LExpr e{LExprKind::Select, a->dtype};
  e.ops = {c, a, b};
  return make(std::move(e));
}
const LExpr* LoopBuilder::random(int kind, const LExpr* seed, const LExpr* index) {
  LExpr e{LExprKind::Random, DType::F64};
  e.op = kind;
  e.ops = {seed, index};
  return make(std::move(e));
}
const LExpr* LoopBuilder::threads() { return make(LExpr{LExprKind::Threads, DType::I64}); }
const LExpr* LoopBuilder::rebuild(const LExpr& e, std::vector<const LExpr*> ops) {
  LExpr c = e;
  c.ops = std::move(ops);
  return make(std::move(c));
}

// ---------------------------------------------------------------------------
// Walks

void for_each_expr(const LExpr* root, std::unordered_set<const LExpr*>& seen,
                   const std::function<void(const LExpr*)>& f) {
  if (!root || seen.count(root)) return;
  // (node, next operand to visit)
  std::vector<std::pair<const LExpr*, size_t>> stack{{root, 0}};
  seen.insert(root);
  while (!stack.empty()) {
    auto& [e, next] = stack.back();
    if (next < e->ops.size()) {
      const LExpr* o = e->ops[next++];
      if (seen.insert(o).second) stack.push_back({o, 0});
      continue;
    }
    const LExpr* done = e;
    stack.pop_back();
    f(done);
  }
}

void stmt_exprs(const LStmt& s, const std::function<void(const LExpr*)>& f) {
  for (const LExpr* e : {s.value, s.lo, s.hi, s.step})
    if (e) f(e);
  for (const LExpr* e : s.args) f(e);
  for (const Accumulator& a : s.accs) f(a.value);
}

void for_each_root(const std::vector<LStmt>& body, const std::function<void(const LExpr*)>& f) {
  for (const LStmt& s : body) {
    stmt_exprs(s, f);
    for_each_root(s.body, f);
    for_each_root(s.orelse, f);
  }
}

// ---------------------------------------------------------------------------
// Printer

namespace {
// An expression used in several places and larger than kInlineSize nodes, or
// one at a height that is a multiple of kMaxInlineHeight, is printed once as
// `let eN = ...` before the first statement that uses it and by name after
// that: the text stays linear in the kernel's size however much the
// expressions share, and printing never recurses deeper than
// kMaxInlineHeight (a 20 000-term chain prints). Small shared expressions
// (`p[i]`, `(s4 + i8)`) stay inline, where they read best.
class Printer {
 public:
  static constexpr int64_t kInlineSize = 8;
  static constexpr int kMaxInlineHeight = 32;

  explicit Printer(const Kernel& k) : k_(k) {
    std::unordered_set<const LExpr*> seen;
    for_each_root(k_.body, [&](const LExpr* root) {
      ++uses_[root];
      for_each_expr(root, seen, [&](const LExpr* e) {
        int64_t size = 1;
        int height = 0;
        for (const LExpr* o : e->ops) {
          ++uses_[o];
          size = std::min<int64_t>(size + size_[o], int64_t(1) << 40);
          height = std::max(height, height_[o] + 1);
        }
        size_[e] = size;
        height_[e] = height;
      });
    });
  }

  bool named(const LExpr* e) const {
    if (e->ops.empty()) return false;
    int h = height_.at(e);
    return (uses_.at(e) > 1 && size_.at(e) > kInlineSize) || (h > 0 && h % kMaxInlineHeight == 0);
  }

  // Prints the lets that the expressions of `s` need and that are not printed yet.
  void lets(const LStmt& s, const std::string& pad) {
    stmt_exprs(s, [&](const LExpr* root) {
      for_each_expr(root, walked_, [&](const LExpr* e) {
        if (!named(e) || names_.count(e)) return;
        std::string text = inline_expr(e);
        std::string name = fmt::format("e{}", names_.size());
        names_.emplace(e, name);
        out_ += fmt::format("{}let {} = {}\n", pad, name, text);
      });
    });
  }

  std::string expr(const LExpr* e) {
    auto it = names_.find(e);
    if (it != names_.end()) return it->second;
    return inline_expr(e);
  }

  std::string inline_expr(const LExpr* e) {
    switch (e->kind) {
      case LExprKind::Const:
        if (is_float(e->dtype)) return fmt::format("{}{}", e->fval, e->dtype == DType::F32 ? "f" : "");
        if (e->dtype == DType::Bool) return e->ival ? "true" : "false";
        return fmt::format("{}{}", e->ival, e->dtype == DType::I32 ? "i32" : "");
      case LExprKind::Var: return k_.var_names[size_t(e->var)];
      case LExprKind::Dim: return fmt::format("{}.shape[{}]", k_.buffers[size_t(e->buf)].name, e->ival);
      case LExprKind::Load: {
        std::string s = k_.buffers[size_t(e->buf)].name + "[";
        for (size_t i = 0; i < e->ops.size(); ++i) s += (i ? ", " : "") + expr(e->ops[i]);
        return s + "]";
      }
      case LExprKind::Unary:
        return fmt::format("{}({})", UnaryOp(e->op) == UnaryOp::Neg ? "-" : "~", expr(e->ops[0]));
      case LExprKind::Binary: {
        static const char* sym[] = {"+", "-", "*", "/", "//", "%", "**", "&", "|", "^",
                                    "<", "<=", ">", ">=", "==", "!="};
        BinaryOp op = BinaryOp(e->op);
        if (int(op) < 16) return fmt::format("({} {} {})", expr(e->ops[0]), sym[int(op)], expr(e->ops[1]));
        return fmt::format("{}({}, {})", binary_op_name(op), expr(e->ops[0]), expr(e->ops[1]));
      }
      case LExprKind::Math: return fmt::format("{}({})", math_fn_name(MathFn(e->op)), expr(e->ops[0]));
      case LExprKind::Cast: return fmt::format("{}({})", dtype_name(e->dtype), expr(e->ops[0]));
      case LExprKind::Select:
        return fmt::format("select({}, {}, {})", expr(e->ops[0]), expr(e->ops[1]), expr(e->ops[2]));
      case LExprKind::Random:
        return fmt::format("random_{}({}, {})", e->op ? "normal" : "uniform", expr(e->ops[0]), expr(e->ops[1]));
      case LExprKind::Threads: return "threads()";
    }
    return "?";
  }

  void stmts(const std::vector<LStmt>& body, int indent) {
    for (auto& s : body) stmt(s, indent);
  }

  void stmt(const LStmt& s, int indent) {
    std::string pad(size_t(indent * 2), ' ');
    lets(s, pad);
    const size_t start = out_.size() + pad.size();
    if (loop_lines && (s.kind == LStmtKind::For || s.kind == LStmtKind::While || s.kind == LStmtKind::ReduceLoop)) {
      loop_lines->emplace_back();
      line_of_ = &loop_lines->back();
    }
    stmt_text(s, indent, pad, start);
  }

  // The line of the loop being printed, once it is printed.
  void loop_line(size_t start) {
    if (!line_of_) return;
    *line_of_ = out_.substr(start, out_.size() - start - 1);
    line_of_ = nullptr;
  }

  void stmt_text(const LStmt& s, int indent, const std::string& pad, size_t start) {
    auto args = [&] {
      std::string r;
      for (size_t i = 0; i < s.args.size(); ++i) r += (i ? ", " : "") + expr(s.args[i]);
      return r;
    };
    switch (s.kind) {
      case LStmtKind::Assign:
        out_ += fmt::format("{}{}: {} = {}\n", pad, k_.var_names[size_t(s.var)],
                            dtype_name(k_.var_types[size_t(s.var)]), expr(s.value));
        break;
      case LStmtKind::Store:
        out_ += fmt::format("{}{}[{}] = {}\n", pad, k_.buffers[size_t(s.buf)].name, args(), expr(s.value));
        break;
      case LStmtKind::For: {
        std::string prange;
        if (s.prange) {
          prange = " prange";
          for (auto& r : s.reductions)
            prange += fmt::format(" {}={}", k_.var_names[size_t(r.var)], acc_kind_name(r.kind));
        }
        out_ += fmt::format("{}for {} in [{}, {}){}{}{}{}{}:\n", pad, k_.var_names[size_t(s.var)], expr(s.lo),
                            expr(s.hi), s.step ? " step " + expr(s.step) : "", prange, s.parallel ? " parallel" : "",
                            s.vectorize ? " vectorized" : "", s.scan ? " scan" : "");
        loop_line(start);
        stmts(s.body, indent + 1);
        break;
      }
      case LStmtKind::While:
        out_ += fmt::format("{}while {}:\n", pad, expr(s.value));
        loop_line(start);
        stmts(s.body, indent + 1);
        break;
      case LStmtKind::Break: out_ += pad + "break\n"; break;
      case LStmtKind::Continue: out_ += pad + "continue\n"; break;
      case LStmtKind::Return: out_ += pad + "return\n"; break;
      case LStmtKind::ReduceLoop: {
        std::string accs;
        for (auto& a : s.accs)
          accs += fmt::format(" {}={}({})", k_.var_names[size_t(a.result_var)], acc_kind_name(a.kind), expr(a.value));
        const char* range = s.extent == ExtentRange::Short ? " short" : s.extent == ExtentRange::Long ? " long" : "";
        out_ += fmt::format("{}reduce {} in [0, {}){}{}{}:{}\n", pad, k_.var_names[size_t(s.var)], expr(s.hi),
                            s.parallel ? " parallel" : "", s.vectorize ? " vectorized" : "", range, accs);
        loop_line(start);
        stmts(s.body, indent + 1);
        break;
      }
      case LStmtKind::If:
        out_ += fmt::format("{}if {}:\n", pad, expr(s.value));
        stmts(s.body, indent + 1);
        if (!s.orelse.empty()) {
          out_ += pad + "else:\n";
          stmts(s.orelse, indent + 1);
        }
        break;
      case LStmtKind::Check: {
        static const char* kinds[] = {"message", "index", "shapes", "key"};
        out_ += fmt::format("{}check {} else {}({}{}{})\n", pad, expr(s.value), kinds[int(s.check)],
                            s.message.empty() ? "" : "\"" + s.message + "\"",
                            s.message.empty() || s.args.empty() ? "" : ", ", args());
        break;
      }
      case LStmtKind::AllocResult:
      case LStmtKind::AllocTemp:
        out_ += fmt::format("{}{} = {}({}) : {}\n", pad, k_.buffers[size_t(s.buf)].name,
                            s.kind == LStmtKind::AllocResult ? "alloc_result" : "alloc_temp", args(),
                            dtype_name(k_.buffers[size_t(s.buf)].dtype));
        break;
    }
  }

  std::string run() {
    out_ += fmt::format("kernel {}(", k_.name);
    for (int i = 0; i < k_.num_inputs; ++i) {
      const Buffer& b = k_.buffers[size_t(i)];
      out_ += fmt::format("{}{}: {}{}{}", i ? ", " : "", b.name, dtype_name(b.dtype),
                          b.rank == 0 ? "" : b.rank == 1 ? "[:]" : "[:, :]", b.contiguous ? "" : "~");
    }
    out_ += ") -> (";
    for (size_t i = 0; i < k_.results.size(); ++i) out_ += (i ? ", " : "") + k_.buffers[size_t(k_.results[i])].name;
    out_ += ")\n";
    stmts(k_.body, 1);
    return out_;
  }

 private:
  const Kernel& k_;
  std::string out_;
  std::unordered_map<const LExpr*, int> uses_, height_;
  std::unordered_map<const LExpr*, int64_t> size_;
  std::unordered_map<const LExpr*, std::string> names_;
  std::unordered_set<const LExpr*> walked_;  // the lets under these are printed
  std::string* line_of_ = nullptr;           // the loop line being printed

 public:
  std::vector<std::string>* loop_lines = nullptr;
};
}  // namespace

std::string print_kernel(const Kernel& k, std::vector<std::string>* loop_lines) {
  Printer p(k);
  p.loop_lines = loop_lines;
  return p.run();
}

std::vector<const LStmt*> kernel_loops(const Kernel& k) {
  std::vector<const LStmt*> loops;
  walk_stmts(k.body, [&](const LStmt& s, int) {
    if (is_loop(s)) loops.push_back(&s);
  });
  return loops;
}

}  // namespace numjit
