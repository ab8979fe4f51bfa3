// The abstract syntax tree: what the parser produces, before any typing.
// Plain tagged structs; every node carries the span of its source text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/source.h"

namespace numjit {

enum class BinOp { Add, Sub, Mul, Div, FloorDiv, Mod, Pow, BitAnd, BitOr, BitXor };
enum class UnOp { Neg, Pos, Invert /* ~ */, Not /* not */ };
enum class CmpOp { Lt, Le, Gt, Ge, Eq, Ne };
enum class BoolOpKind { And, Or };

/** "+", "-", ... as written in source. */
const char* binop_text(BinOp op);
const char* unop_text(UnOp op);
const char* cmpop_text(CmpOp op);

enum class ExprKind {
  Int,        // ival
  Float,      // fval
  Bool,       // ival 0/1
  None,       // `None` (only meaningful inside slices and keyword values)
  String,     // name holds the text
  Name,       // name
  Unary,      // unop, args[0]
  Binary,     // binop, args[0], args[1]
  Compare,    // args[0] cmp_ops[0] args[1] cmp_ops[1] args[2] ...
  BoolOp,     // boolop over args (two or more)
  IfExp,      // args = {then, cond, else}:  then if cond else else
  Call,       // args[0] callee (Name or Attribute), args[1..] positional; keywords
  Attribute,  // args[0].name
  Subscript,  // args[0][args[1], args[2], ...]; an index may be a Slice
  Slice,      // args = {lower, upper, step}, each possibly null
  Tuple,      // args
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Keyword {
  std::string name;
  Span name_span;
  ExprPtr value;
};

struct Expr {
  ExprKind kind;
  Span span;
  int64_t ival = 0;
  double fval = 0;
  std::string name;
  BinOp binop = BinOp::Add;
  UnOp unop = UnOp::Neg;
  BoolOpKind boolop = BoolOpKind::And;
  std::vector<CmpOp> cmp_ops;
  std::vector<ExprPtr> args;  // see ExprKind; Slice parts may be null
  std::vector<Keyword> keywords;

  Expr(ExprKind k, Span s) : kind(k), span(s) {}
};

enum class StmtKind {
  Expr,       // value
  Assign,     // targets[0] = targets[1] = ... = value  (a target may be a Tuple)
  AugAssign,  // targets[0] <binop>= value
  If,         // if value: body  else: orelse   (elif is an If inside orelse)
  For,        // for targets[0] in value: body
  While,      // while value: body
  Break,
  Continue,
  Pass,
  Return,     // return value (may be null; a Tuple for several values)
  Def,        // def name(params) -> returns: body
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;

struct Param {
  std::string name;
  Span span;
  ExprPtr annotation;  // may be null; e.g. `f64`, `f64[:]`, `i32[:, :]`
};

struct Stmt {
  StmtKind kind;
  Span span;
  std::vector<ExprPtr> targets;
  ExprPtr value;
  BinOp aug_op = BinOp::Add;
  std::vector<StmtPtr> body, orelse;
  // Def
  std::string name;
  std::vector<Param> params;
  ExprPtr returns;  // may be null

  Stmt(StmtKind k, Span s) : kind(k), span(s) {}
};

/** A parsed file, string or REPL entry. */
struct Module {
  std::shared_ptr<const Source> source;
  std::vector<StmtPtr> body;
};

/** Python-like text of the tree, one node per line, indented (--emit=ast). */
std::string print_ast(const Module& m);
std::string print_expr(const Expr& e);  // compact source-like form

/** A deep copy of `e` (for rewrites such as x += e  ->  x = x + e). */
ExprPtr clone_expr(const Expr& e);

}  // namespace numjit
