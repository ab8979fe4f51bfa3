#include "ir/passes/fuse.h"

#include <fmt/format.h>

#include <algorithm>
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

bool elementwise(const Node* n) {
  switch (n->kind) {
    case ArrayOp::Unary:
    case ArrayOp::Binary:
    case ArrayOp::Math:
    case ArrayOp::Cast:
    case ArrayOp::Select: return true;
    default: return false;
  }
}

bool is_const_one(const Node* d) { return d->is_const() && d->ival == 1; }

// The one materialised node whose loop can run rank-1 scan `s`, or null: every
// use of s leads through unmaterialised elementwise rank-1 nodes (element k
// of each is computed from element k of s) to the same rank-1 elementwise or
// copy node.
const Node* scan_owner(const Node* s, const std::map<const Node*, std::vector<const Node*>>& users,
                       const std::set<const Node*>& materialised) {
  if (s->rank() != 1 || is_const_one(s->shape[0])) return nullptr;
  const Node* owner = nullptr;
  std::vector<const Node*> work = {s};
  std::set<const Node*> seen;
  while (!work.empty()) {
    const Node* x = work.back();
    work.pop_back();
    if (!seen.insert(x).second) continue;
    auto it = users.find(x);
    if (it == users.end()) return nullptr;
    for (const Node* u : it->second) {
      if (u->rank() != 1 || is_const_one(u->shape[0])) return nullptr;
      bool copy = u->kind == ArrayOp::Copy;
      if (!elementwise(u) && !copy) return nullptr;
      if (materialised.count(u)) {
        if (owner && owner != u) return nullptr;
        owner = u;
      } else if (copy) {
        return nullptr;
      } else {
        work.push_back(u);
      }
    }
  }
  return owner;
}
}  // namespace

FusionPlan fuse(const std::vector<const Node*>& roots, const std::vector<std::string>& names) {
  FusionPlan plan;
  plan.roots = roots;
  plan.root_names = names;
  std::vector<const Node*> order = topo_order(roots);
  std::map<const Node*, std::vector<const Node*>> users;
  for (const Node* n : order) {
    if (n->rank() > 0 && must_materialise(n)) plan.materialised.insert(n);
    for (const Node* o : n->ops) {
      auto& u = users[o];
      if (std::find(u.begin(), u.end(), n) == u.end()) u.push_back(n);
    }
  }
  for (const Node* r : roots) plan.materialised.insert(r);
  for (const Node* n : order) {
    if (n->kind != ArrayOp::Scan || std::find(roots.begin(), roots.end(), n) != roots.end()) continue;
    if (const Node* owner = scan_owner(n, users, plan.materialised)) {
      plan.materialised.erase(n);
      plan.scans_of[owner].push_back(n);
    }
  }
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
