// The elementwise builtin functions: ir/builtins.def as a table.
#include "ir/builtins.h"

#include <fmt/format.h>

#include <map>

#include "support/diagnostics.h"

namespace numjit {

const char* result_rule_name(ResultRule r) {
  switch (r) {
    case ResultRule::Same: return "same";
    case ResultRule::Float: return "float";
    case ResultRule::FloatOrF64: return "float (ints: f64)";
    case ResultRule::Bool: return "bool";
    case ResultRule::Promoted: return "promoted";
  }
  return "?";
}

const std::vector<Builtin>& builtins() {
  using K = Builtin::Kind;
  using R = ResultRule;
  static const std::vector<Builtin> rows = [] {
    std::vector<Builtin> v = {
#define NUMJIT_LIBM_FN(id, name, fn, doc) {name, 1, R::Float, K::Math, int(MathFn::id), #fn, nullptr, doc},
#define NUMJIT_EXACT_FN(id, name, rule, doc) {name, 1, R::rule, K::Math, int(MathFn::id), nullptr, nullptr, doc},
#define NUMJIT_ALIAS_FN(name, id, doc) {name, 1, R::Same, K::Math, int(MathFn::id), nullptr, nullptr, doc},
#define NUMJIT_BINARY_FN(name, id, rule, doc) {name, 2, R::rule, K::Binary, int(BinaryOp::id), nullptr, nullptr, doc},
#define NUMJIT_FORMULA_FN(name, arity, rule, doc, ...) {name, arity, R::rule, K::Formula, 0, nullptr, __VA_ARGS__, doc},
#include "ir/builtins.def"
    };
    for (Builtin& alias : v)  // an alias has its opcode's result rule
      for (const Builtin& f : v)
        if (f.kind == K::Math && alias.kind == K::Math && f.op == alias.op) {
          alias.rule = f.rule;
          break;
        }
    return v;
  }();
  return rows;
}

const Builtin* find_builtin(const std::string& name) {
  static const std::map<std::string, const Builtin*> by_name = [] {
    std::map<std::string, const Builtin*> m;
    for (const Builtin& f : builtins()) m.emplace(f.name, &f);
    return m;
  }();
  auto it = by_name.find(name);
  return it == by_name.end() ? nullptr : it->second;
}

const Builtin& builtin_of(MathFn fn) {
  static const std::vector<const Builtin*> by_op = [] {
    std::vector<const Builtin*> v;
    for (const Builtin& f : builtins()) {
      if (f.kind != Builtin::Kind::Math) continue;
      if (size_t(f.op) >= v.size()) v.resize(size_t(f.op) + 1, nullptr);
      if (!v[size_t(f.op)]) v[size_t(f.op)] = &f;
    }
    return v;
  }();
  if (size_t(fn) >= by_op.size() || !by_op[size_t(fn)])
    internal_error("builtins", fmt::format("math opcode {} has no row", int(fn)));
  return *by_op[size_t(fn)];
}

const Node* apply_builtin(Builder& b, const Builtin& f, const std::vector<const Node*>& args, Span span) {
  switch (f.kind) {
    case Builtin::Kind::Math: return b.math(MathFn(f.op), args[0], span);
    case Builtin::Kind::Binary: return b.binary(BinaryOp(f.op), args[0], args[1], span);
    case Builtin::Kind::Formula: return f.formula(b, args.data(), span);
  }
  return nullptr;
}

}  // namespace numjit
