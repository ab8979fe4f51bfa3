// libFuzzer target: arbitrary source text -> lexer, parser, sema (typing and
// shape checking) and kernel lowering, without compiling or running
// anything. Every input must end in success or a numjit::Error; anything
// else (a crash, a sanitizer report, another exception, a hang) is a finding.
//
// The names below are in scope for the text, so that the fuzzer reaches the
// typing and shape rules and not only "unknown name".
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "frontend/kernel.h"
#include "frontend/parser.h"
#include "frontend/sema.h"
#include "numjit/numjit.hpp"

using namespace numjit;

namespace {

InputSig sig_of(const std::string& name, DType t, int rank, bool weak = false) {
  InputSig s;
  s.name = name;
  s.type = Type{t, rank, weak};
  return s;
}

/** A signature for kernel parameter `p`: its annotation when it names a
 *  dtype (`f32`, `i64[:]`, `f64[:, :]`), otherwise f64[:]. */
InputSig param_sig(const Param& p) {
  DType t = DType::F64;
  const Expr* a = p.annotation.get();
  if (a && a->kind == ExprKind::Name && dtype_from_name(a->name, t)) return sig_of(p.name, t, 0);
  if (a && a->kind == ExprKind::Subscript && a->args[0]->kind == ExprKind::Name &&
      dtype_from_name(a->args[0]->name, t))
    return sig_of(p.name, t, a->args.size() >= 3 ? 2 : 1);
  return sig_of(p.name, DType::F64, 1);
}

void bind(Scope& scope, const Expr& target, const SemaValue& v) {
  if (target.kind == ExprKind::Name && v.kind == SemaValue::Kind::Node) scope.vars[target.name] = v.node;
  if (target.kind == ExprKind::Tuple && v.kind == SemaValue::Kind::Tuple)
    for (size_t i = 0; i < target.args.size() && i < v.items.size(); ++i)
      if (target.args[i]->kind == ExprKind::Name) scope.vars[target.args[i]->name] = v.items[i];
}

void check(const std::shared_ptr<const Source>& src) {
  auto m = std::make_shared<Module>(parse(src));
  Context ctx;
  Builder b(ctx, src.get());
  std::map<std::string, KernelDef> kernels;
  Scope scope;
  scope.kernels = &kernels;
  scope.load = [](const std::string& path, Span) -> const Node* {
    throw Error("cannot load '" + path + "': files are not read by the fuzzer");
  };
  int index = 0;
  auto input = [&](const char* name, DType t, int rank, bool weak = false) {
    scope.vars[name] = b.input(index++, sig_of(name, t, rank, weak), {});
  };
  input("x", DType::F64, 1);
  input("y", DType::F64, 1);
  input("f", DType::F32, 1);
  input("k", DType::I64, 1);
  input("j", DType::I32, 1);
  input("m", DType::Bool, 1);
  input("X", DType::F64, 2);
  input("n", DType::I64, 0, true);
  input("a", DType::F64, 0);
  for (auto& s : m->body) {
    try {
      switch (s->kind) {
        case StmtKind::Expr: lower_expr(b, scope, *s->value); break;
        case StmtKind::Assign: {
          SemaValue v = lower_expr(b, scope, *s->value);
          for (auto& t : s->targets) bind(scope, *t, v);
          break;
        }
        case StmtKind::AugAssign: {
          Expr bin(ExprKind::Binary, s->span);
          bin.binop = s->aug_op;
          bin.args.push_back(clone_expr(*s->targets[0]));
          bin.args.push_back(clone_expr(*s->value));
          bind(scope, *s->targets[0], lower_expr(b, scope, bin));
          break;
        }
        case StmtKind::Def: {
          kernels[s->name] = KernelDef{src, m, s.get()};
          if (kernel_needs_loops(*s)) {
            std::vector<InputSig> sigs;
            for (auto& p : s->params) sigs.push_back(param_sig(p));
            lower_kernel(kernels[s->name], sigs, &kernels, true);
          }
          break;
        }
        default: break;
      }
    } catch (const Error&) {
      // A diagnostic: the next statement is checked on its own.
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto src = std::make_shared<const Source>("fuzz.nj", std::string(reinterpret_cast<const char*>(data), size));
  try {
    check(src);
  } catch (const Error&) {
  }
  return 0;
}
