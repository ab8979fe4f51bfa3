// Sema: typed lowering of AST expressions to array IR.
//
// Requires: a parsed expression and the types of the names it may use.
// Guarantees: every builtin, method, keyword and subscript is resolved; each
// node is typed with NumPy's rules and shapes broadcast (or an Error points
// at the offending source span, with "did you mean" for unknown names).
#pragma once

#include <functional>
#include <memory>
#include <map>
#include <string>
#include <vector>

#include "frontend/ast.h"
#include "ir/array_ir.h"

namespace numjit {

/** The result of lowering an expression: one node, or a tuple of them
 *  (`x.shape`, `(3, 4)`, a dtype name used as a value is a Kind::DType). */
struct SemaValue {
  enum class Kind { Node, Tuple, DType } kind = Kind::Node;
  const Node* node = nullptr;
  std::vector<const Node*> items;
  DType dtype = DType::F64;
};

/** A `def` kernel: its source and AST (kept alive with it). */
struct KernelDef {
  std::shared_ptr<const Source> src;
  std::shared_ptr<const Module> module;
  const Stmt* def = nullptr;
};

/** Names an expression can see. */
struct Scope {
  std::map<std::string, const Node*> vars;
  /** Further names in scope that the expression does not use (for "did you mean"). */
  std::vector<std::string> other_names;
  /** Kernels that calls may name (inlined into the caller's array IR). */
  const std::map<std::string, KernelDef>* kernels = nullptr;
  /** Values of calls computed before the expression (calls of kernels with
   *  loops, which run as statements of their own), by call expression. */
  std::map<const Expr*, SemaValue> precomputed;
  /** Resolves `load("path")` to an input node (the session reads the file). */
  std::function<const Node*(const std::string& path, Span span)> load;
};

/** Lowers `e` to array IR with `b`, resolving names in `scope`. */
SemaValue lower_expr(Builder& b, const Scope& scope, const Expr& e);

/** Lowers `e` and requires a single node (not a tuple or dtype). */
const Node* lower_node(Builder& b, const Scope& scope, const Expr& e);

/** Every builtin function name, for "did you mean" and REPL completion. */
const std::vector<std::string>& builtin_names();

/** The dtype named by `name` (f64, float64, int32, bool, ...), if any. */
bool dtype_from_name(const std::string& name, DType& out);

}  // namespace numjit
