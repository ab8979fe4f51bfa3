// AST printers: the indented tree of --emit=ast, and a compact source-like
// form of one expression for messages and tests.
#include "frontend/ast.h"

#include <fmt/format.h>

#include "frontend/token.h"

namespace numjit {

const char* binop_text(BinOp op) {
  switch (op) {
    case BinOp::Add: return "+";
    case BinOp::Sub: return "-";
    case BinOp::Mul: return "*";
    case BinOp::Div: return "/";
    case BinOp::FloorDiv: return "//";
    case BinOp::Mod: return "%";
    case BinOp::Pow: return "**";
    case BinOp::BitAnd: return "&";
    case BinOp::BitOr: return "|";
    case BinOp::BitXor: return "^";
  }
  return "?";
}

const char* unop_text(UnOp op) {
  switch (op) {
    case UnOp::Neg: return "-";
    case UnOp::Pos: return "+";
    case UnOp::Invert: return "~";
    case UnOp::Not: return "not";
  }
  return "?";
}

const char* cmpop_text(CmpOp op) {
  switch (op) {
    case CmpOp::Lt: return "<";
    case CmpOp::Le: return "<=";
    case CmpOp::Gt: return ">";
    case CmpOp::Ge: return ">=";
    case CmpOp::Eq: return "==";
    case CmpOp::Ne: return "!=";
  }
  return "?";
}

namespace {

/** Shortest round-tripping text, always recognisable as a float ("1.0"). */
std::string float_text(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eni") == std::string::npos) s += ".0";  // not 1.5, 1e+20, inf, nan
  return s;
}

// --- print_expr ---------------------------------------------------------

std::string expr_text(const Expr& e);

/** Operators are fully parenthesised where they are operands of another. */
std::string operand_text(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Unary:
    case ExprKind::Binary:
    case ExprKind::Compare:
    case ExprKind::BoolOp:
    case ExprKind::IfExp: return "(" + expr_text(e) + ")";
    default: return expr_text(e);
  }
}

std::string join_text(const std::vector<ExprPtr>& items, size_t first) {
  std::string out;
  for (size_t i = first; i < items.size(); ++i) out += (i > first ? ", " : "") + expr_text(*items[i]);
  return out;
}

std::string expr_text(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Int: return std::to_string(e.ival);
    case ExprKind::Float: return float_text(e.fval);
    case ExprKind::Bool: return e.ival ? "True" : "False";
    case ExprKind::None: return "None";
    case ExprKind::String: return quoted(e.name);
    case ExprKind::Name: return e.name;
    case ExprKind::Unary:
      return unop_text(e.unop) + std::string(e.unop == UnOp::Not ? " " : "") + operand_text(*e.args[0]);
    case ExprKind::Binary:
      return fmt::format("{} {} {}", operand_text(*e.args[0]), binop_text(e.binop), operand_text(*e.args[1]));
    case ExprKind::Compare: {
      std::string out = operand_text(*e.args[0]);
      for (size_t i = 0; i < e.cmp_ops.size(); ++i)
        out += fmt::format(" {} {}", cmpop_text(e.cmp_ops[i]), operand_text(*e.args[i + 1]));
      return out;
    }
    case ExprKind::BoolOp: {
      std::string out;
      for (size_t i = 0; i < e.args.size(); ++i)
        out += (i ? (e.boolop == BoolOpKind::And ? " and " : " or ") : "") + operand_text(*e.args[i]);
      return out;
    }
    case ExprKind::IfExp:
      return fmt::format("{} if {} else {}", operand_text(*e.args[0]), operand_text(*e.args[1]),
                         operand_text(*e.args[2]));
    case ExprKind::Call: {
      std::string args = join_text(e.args, 1);
      for (const Keyword& k : e.keywords) args += (args.empty() ? "" : ", ") + k.name + "=" + expr_text(*k.value);
      return operand_text(*e.args[0]) + "(" + args + ")";
    }
    case ExprKind::Attribute: return operand_text(*e.args[0]) + "." + e.name;
    case ExprKind::Subscript: return operand_text(*e.args[0]) + "[" + join_text(e.args, 1) + "]";
    case ExprKind::Slice: {
      auto part = [&](int i) { return e.args[size_t(i)] ? expr_text(*e.args[size_t(i)]) : ""; };
      return part(0) + ":" + part(1) + (e.args[2] ? ":" + part(2) : "");
    }
    case ExprKind::Tuple: return "(" + join_text(e.args, 0) + (e.args.size() == 1 ? ",)" : ")");
  }
  return "?";
}

// --- print_ast ----------------------------------------------------------

class AstPrinter {
 public:
  std::string out;

  void statements(const std::vector<StmtPtr>& body, int depth) {
    for (const StmtPtr& s : body) statement(*s, depth);
  }

 private:
  void line(int depth, std::string_view text) {
    out.append(size_t(depth) * 2, ' ');
    out += text;
    out += '\n';
  }

  void expr(const Expr* e, int depth) {
    if (!e) {
      line(depth, "(none)");
      return;
    }
    switch (e->kind) {
      case ExprKind::Int: line(depth, fmt::format("Int {}", e->ival)); return;
      case ExprKind::Float: line(depth, "Float " + float_text(e->fval)); return;
      case ExprKind::Bool: line(depth, e->ival ? "Bool True" : "Bool False"); return;
      case ExprKind::None: line(depth, "None"); return;
      case ExprKind::String: line(depth, "String " + quoted(e->name)); return;
      case ExprKind::Name: line(depth, "Name " + e->name); return;
      case ExprKind::Unary: line(depth, fmt::format("Unary {}", unop_text(e->unop))); break;
      case ExprKind::Binary: line(depth, fmt::format("Binary {}", binop_text(e->binop))); break;
      case ExprKind::Compare: {
        std::string ops;
        for (CmpOp op : e->cmp_ops) ops += std::string(" ") + cmpop_text(op);
        line(depth, "Compare" + ops);
        break;
      }
      case ExprKind::BoolOp: line(depth, e->boolop == BoolOpKind::And ? "BoolOp and" : "BoolOp or"); break;
      case ExprKind::IfExp: line(depth, "IfExp"); break;
      case ExprKind::Call: line(depth, "Call"); break;
      case ExprKind::Attribute: line(depth, "Attribute " + e->name); break;
      case ExprKind::Subscript: line(depth, "Subscript"); break;
      case ExprKind::Slice: line(depth, "Slice"); break;
      case ExprKind::Tuple: line(depth, "Tuple"); break;
    }
    for (const ExprPtr& arg : e->args) expr(arg.get(), depth + 1);
    for (const Keyword& k : e->keywords) {
      line(depth + 1, "Keyword " + k.name);
      expr(k.value.get(), depth + 2);
    }
  }

  void block(std::string_view label, const std::vector<StmtPtr>& body, int depth) {
    line(depth, label);
    statements(body, depth + 1);
  }

  void statement(const Stmt& s, int depth) {
    switch (s.kind) {
      case StmtKind::Expr: line(depth, "Expr"); break;
      case StmtKind::Assign: line(depth, "Assign"); break;
      case StmtKind::AugAssign: line(depth, fmt::format("AugAssign {}=", binop_text(s.aug_op))); break;
      case StmtKind::If: line(depth, "If"); break;
      case StmtKind::For: line(depth, "For"); break;
      case StmtKind::While: line(depth, "While"); break;
      case StmtKind::Break: line(depth, "Break"); break;
      case StmtKind::Continue: line(depth, "Continue"); break;
      case StmtKind::Pass: line(depth, "Pass"); break;
      case StmtKind::Return: line(depth, "Return"); break;
      case StmtKind::Def: line(depth, "Def " + s.name); break;
    }
    for (const Param& p : s.params) {
      line(depth + 1, "Param " + p.name);
      if (p.annotation) expr(p.annotation.get(), depth + 2);
    }
    if (s.returns) {
      line(depth + 1, "Returns");
      expr(s.returns.get(), depth + 2);
    }
    for (const ExprPtr& target : s.targets) expr(target.get(), depth + 1);
    if (s.value) expr(s.value.get(), depth + 1);
    if (!s.body.empty()) block("Body", s.body, depth + 1);
    if (!s.orelse.empty()) block("Else", s.orelse, depth + 1);
  }
};

}  // namespace

std::string print_ast(const Module& m) {
  AstPrinter printer;
  printer.statements(m.body, 0);
  return printer.out;
}

std::string print_expr(const Expr& e) { return expr_text(e); }

ExprPtr clone_expr(const Expr& e) {
  auto c = std::make_unique<Expr>(e.kind, e.span);
  c->ival = e.ival;
  c->fval = e.fval;
  c->name = e.name;
  c->binop = e.binop;
  c->unop = e.unop;
  c->boolop = e.boolop;
  c->cmp_ops = e.cmp_ops;
  for (auto& a : e.args) c->args.push_back(a ? clone_expr(*a) : nullptr);
  for (auto& k : e.keywords) c->keywords.push_back(Keyword{k.name, k.name_span, clone_expr(*k.value)});
  return c;
}

}  // namespace numjit
