#include "ir/passes/fuse.h"

#include <fmt/format.h>

#include <map>

namespace numjit {

namespace {
bool must_materialise(const Node* n) {
  switch (n->kind) {
    case ArrayOp::Scan:
    case ArrayOp::GroupReduce:
    case ArrayOp::Copy:
      return true;
    case ArrayOp::Reduce:
      return n->rank() > 0;  // a full reduction is a scalar in a register
    default:
      return false;
  }
}
}  // namespace

FusionPlan fuse(const std::vector<const Node*>& roots, const std::vector<std::string>& names) {
  FusionPlan plan;
  plan.roots = roots;
  plan.root_names = names;
  for (const Node* n : topo_order(roots))
    if (n->rank() > 0 && must_materialise(n)) plan.materialised.insert(n);
  for (const Node* r : roots) plan.materialised.insert(r);
  return plan;
}

namespace {
class FusedPrinter {
 public:
  explicit FusedPrinter(const FusionPlan& p) : p_(p) {}

  std::string inline_expr(const Node* n, bool top) {
    if (!n) return "_";
    if (!top && names_.count(n)) return names_.at(n);
    switch (n->kind) {
      case ArrayOp::Input: return n->name;
      case ArrayOp::Const:
        if (is_float(n->dtype())) return fmt::format("{}", n->fval);
        if (n->dtype() == DType::Bool) return n->ival ? "True" : "False";
        return std::to_string(n->ival);
      case ArrayOp::Dim: return fmt::format("{}.shape[{}]", n->ops[0]->name, n->ival);
      default: break;
    }
    std::string s;
    switch (n->kind) {
      case ArrayOp::Unary: s = unary_op_name(n->opcode<UnaryOp>()); break;
      case ArrayOp::Binary: s = binary_op_name(n->opcode<BinaryOp>()); break;
      case ArrayOp::Math: s = math_fn_name(n->opcode<MathFn>()); break;
      case ArrayOp::Cast: s = std::string("as_") + dtype_name(n->dtype()); break;
      case ArrayOp::Reduce: s = reduce_op_name(n->opcode<ReduceOp>()); break;
      case ArrayOp::Scan: s = scan_op_name(n->opcode<ScanOp>()); break;
      case ArrayOp::GroupReduce: s = std::string("group_") + group_op_name(n->opcode<GroupOp>()); break;
      default: s = array_op_name(n->kind); break;
    }
    s += "(";
    for (size_t i = 0; i < n->ops.size(); ++i) s += (i ? ", " : "") + inline_expr(n->ops[i], false);
    if (n->kind == ArrayOp::View) {
      s += ", steps=";
      for (size_t i = 0; i < n->steps.size(); ++i) s += (i ? "," : "") + std::to_string(n->steps[i]);
    }
    if ((n->kind == ArrayOp::Reduce || n->kind == ArrayOp::Scan) && n->ival >= 0)
      s += fmt::format(", axis={}", n->ival);
    return s + ")";
  }

  std::string run() {
    std::string out;
    int k = 0;
    for (const Node* n : topo_order(p_.roots)) {
      if (!p_.materialised.count(n)) continue;
      std::string name = fmt::format("%{}", k++);
      std::string line = fmt::format("{} = loop over {}{}: {}\n", name, n->type.str(),
                                     n->rank() ? "" : " (scalar)", inline_expr(n, true));
      names_[n] = name;
      out += line;
    }
    for (size_t r = 0; r < p_.roots.size(); ++r)
      out += fmt::format("{} {}\n", r < p_.root_names.size() ? p_.root_names[r] : "return",
                         names_.at(p_.roots[r]));
    return out;
  }

 private:
  const FusionPlan& p_;
  std::map<const Node*, std::string> names_;
};
}  // namespace

std::string print_fusion(const FusionPlan& plan) { return FusedPrinter(plan).run(); }

}  // namespace numjit
