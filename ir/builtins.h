// The elementwise builtin functions: the rows of ir/builtins.def as data.
#pragma once

#include <string>
#include <vector>

#include "ir/array_ir.h"

namespace numjit {

/** How a builtin's result dtype follows its arguments'. */
enum class ResultRule {
  Same,        // the argument's dtype
  Float,       // floats stay, ints become f64, bool f32
  FloatOrF64,  // floats stay, ints and bool become f64 (NumPy 1.24's floor)
  Bool,        // bool
  Promoted,    // the arguments promoted together (NEP 50)
};
const char* result_rule_name(ResultRule r);

/** One row of ir/builtins.def. */
struct Builtin {
  enum class Kind { Math, Binary, Formula };
  using Formula = const Node* (*)(Builder& b, const Node* const* args, Span span);

  const char* name;
  int arity;
  ResultRule rule;
  Kind kind;
  int op = 0;                  // Math: MathFn; Binary: BinaryOp
  const char* libm = nullptr;  // Math rows computed by libm: its name (f32 adds 'f')
  Formula formula = nullptr;   // Formula rows
  const char* doc = "";
};

/** Every row, in the order of ir/builtins.def. */
const std::vector<Builtin>& builtins();
/** The row named `name`, or null. */
const Builtin* find_builtin(const std::string& name);
/** The first row of a math opcode (its own name, not an alias). */
const Builtin& builtin_of(MathFn fn);
/** f(args...) in the array IR; the caller has checked args.size() == f.arity. */
const Node* apply_builtin(Builder& b, const Builtin& f, const std::vector<const Node*>& args, Span span);

}  // namespace numjit
