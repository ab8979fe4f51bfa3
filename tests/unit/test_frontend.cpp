// Unit tests of the frontend up to the AST: source, diagnostics, lexer, parser
// and the AST printers.
#include <doctest/doctest.h>

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "frontend/ast.h"
#include "support/diagnostics.h"
#include "frontend/lexer.h"
#include "frontend/parser.h"
#include "tests/unit/test_util.h"

using namespace numjit;

namespace {

std::vector<Token> tokens_of(const std::string& text) { return lex(Source("t.nj", text)); }

std::vector<Tok> kinds_of(const std::string& text) {
  std::vector<Tok> kinds;
  for (const Token& t : tokens_of(text)) kinds.push_back(t.kind);
  return kinds;
}

Module parse_text(const std::string& text) { return parse(std::make_shared<Source>("t.nj", text)); }

/** print_expr of the one expression statement in `text`. */
std::string expr_of(const std::string& text) {
  Module m = parse_text(text + "\n");
  REQUIRE(m.body.size() == 1);
  REQUIRE(m.body[0]->kind == StmtKind::Expr);
  return print_expr(*m.body[0]->value);
}

using test::error_of;

std::string parse_error(const std::string& text) {
  return error_of([&] { parse_text(text); });
}

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_SUITE("frontend") {

// --- source and diagnostics ------------------------------------------------

TEST_CASE("source maps offsets to lines and columns") {
  Source src("f.nj", "ab\ncd\r\n\nxyz");
  CHECK(src.line_col(0) == std::pair{1, 1});
  CHECK(src.line_col(1) == std::pair{1, 2});
  CHECK(src.line_col(3) == std::pair{2, 1});
  CHECK(src.line_col(8) == std::pair{4, 1});
  CHECK(src.line_col(11) == std::pair{4, 4});
  CHECK(src.line_text(1) == "ab");
  CHECK(src.line_text(2) == "cd");
  CHECK(src.line_text(3) == "");
  CHECK(src.line_text(4) == "xyz");
  CHECK(src.line_text(5) == "");
}

TEST_CASE("Span::merge covers both spans and keeps the first position") {
  Span a{4, 6, 1, 5}, b{10, 12, 2, 3};
  Span m = Span::merge(b, a);
  CHECK(m.begin == 4);
  CHECK(m.end == 12);
  CHECK(m.line == 1);
  CHECK(m.col == 5);
  CHECK(Span::merge(Span{}, a).begin == 4);
  CHECK(Span::merge(a, Span{}).end == 6);
}

TEST_CASE("diagnostics render the line with a caret and tildes") {
  Source src("k.nj", "y = 1\nx = sumx(p)\n");
  Span span{10, 14, 2, 5};
  CHECK(render_diagnostic(&src, span, "unknown name 'sumx'") ==
        "k.nj:2:5: error: unknown name 'sumx'\n"
        "    x = sumx(p)\n"
        "        ^~~~\n");
  CHECK(render_diagnostic(&src, Span{10, 10, 2, 5}, "here") == "k.nj:2:5: error: here\n    x = sumx(p)\n        ^\n");
  CHECK(render_diagnostic(nullptr, span, "no source") == "error: no source");
  CHECK(render_diagnostic(&src, Span{}, "no span") == "error: no span");
}

TEST_CASE("a span running past its line gets tildes to the end of the line only") {
  Source src("k.nj", "f(a,\n  b)\n");
  CHECK(render_diagnostic(&src, Span{0, 9, 1, 1}, "m") == "k.nj:1:1: error: m\n    f(a,\n    ^~~~\n");
}

TEST_CASE("user_error and internal_error throw numjit::Error") {
  Source src("k.nj", "abc\n");
  CHECK(error_of([&] { user_error(&src, Span{1, 2, 1, 2}, "bad b"); }) == "k.nj:1:2: error: bad b\n    abc\n     ^\n");
  CHECK(error_of([] { internal_error("fuse", "lost a node"); }) == "internal compiler error in fuse: lost a node");
}

TEST_CASE("nearest_name suggests close names only") {
  std::vector<std::string> names = {"sum", "cumsum", "mean", "max", "min", "argmax"};
  CHECK(nearest_name("sumx", names) == "sum");
  CHECK(nearest_name("meen", names) == "mean");
  CHECK(nearest_name("argmx", names) == "argmax");
  CHECK(nearest_name("mx", names) == "max");  // distance 1 is always allowed
  CHECK(nearest_name("zzzz", names) == "");
  CHECK(nearest_name("sum", names) == "");  // the name itself is no suggestion
  CHECK(nearest_name("x", {}) == "");
  CHECK(nearest_name("mix", {"max", "min"}) == "max");  // ties: alphabetical
}

// --- lexer -------------------------------------------------------------------

TEST_CASE("lexer: indentation gives INDENT and DEDENT, blank and comment lines vanish") {
  std::vector<Tok> kinds = kinds_of(
      "def f(x):\n"
      "    # a comment\n"
      "\n"
      "    if x:\n"
      "        return 1\n"
      "    return 2  # trailing\n");
  std::vector<Tok> expected = {
      Tok::KwDef,  Tok::Name,   Tok::LParen,   Tok::Name,    Tok::RParen,  Tok::Colon,   Tok::Newline,
      Tok::Indent, Tok::KwIf,   Tok::Name,     Tok::Colon,   Tok::Newline, Tok::Indent,  Tok::KwReturn,
      Tok::Int,    Tok::Newline, Tok::Dedent,  Tok::KwReturn, Tok::Int,    Tok::Newline, Tok::Dedent,
      Tok::Eof};
  CHECK(kinds == expected);
}

TEST_CASE("lexer: the last line needs no newline, brackets and backslashes join lines") {
  CHECK(kinds_of("x") == std::vector<Tok>{Tok::Name, Tok::Newline, Tok::Eof});
  CHECK(kinds_of("") == std::vector<Tok>{Tok::Eof});
  CHECK(kinds_of("\n  \n# c\n") == std::vector<Tok>{Tok::Eof});
  CHECK(kinds_of("f(1,\n      2)\n") ==
        std::vector<Tok>{Tok::Name, Tok::LParen, Tok::Int, Tok::Comma, Tok::Int, Tok::RParen, Tok::Newline, Tok::Eof});
  CHECK(kinds_of("x = 1 + \\\n    2\n") ==
        std::vector<Tok>{Tok::Name, Tok::Assign, Tok::Int, Tok::Plus, Tok::Int, Tok::Newline, Tok::Eof});
  CHECK(kinds_of("if a:\n    b\n") == std::vector<Tok>{Tok::KwIf, Tok::Name, Tok::Colon, Tok::Newline, Tok::Indent,
                                                       Tok::Name, Tok::Newline, Tok::Dedent, Tok::Eof});
}

TEST_CASE("lexer: integers in every base, with underscores") {
  auto int_value = [](const std::string& text) {
    std::vector<Token> t = tokens_of(text);
    REQUIRE(t[0].kind == Tok::Int);
    return t[0].ival;
  };
  CHECK(int_value("0") == 0);
  CHECK(int_value("42") == 42);
  CHECK(int_value("10_000_000") == 10000000);
  CHECK(int_value("0x_FF") == 255);
  CHECK(int_value("0b1010") == 10);
  CHECK(int_value("0o17") == 15);
  CHECK(int_value("9223372036854775807") == 9223372036854775807);
  CHECK(tokens_of("10_000")[0].text == "10_000");
}

TEST_CASE("lexer: floats") {
  auto float_value = [](const std::string& text) {
    std::vector<Token> t = tokens_of(text);
    REQUIRE(t[0].kind == Tok::Float);
    return t[0].fval;
  };
  CHECK(float_value("1.5") == 1.5);
  CHECK(float_value(".5") == 0.5);
  CHECK(float_value("1.") == 1.0);
  CHECK(float_value("1e-3") == 0.001);
  CHECK(float_value("2E+5") == 200000.0);
  CHECK(float_value("1_000.5") == 1000.5);
  CHECK(float_value("1.e2") == 100.0);
  CHECK(float_value("1e400") == std::numeric_limits<double>::infinity());
  CHECK(float_value("1e-400") == 0.0);
}

TEST_CASE("lexer: strings, operators and keywords") {
  std::vector<Token> t = tokens_of(R"(load("a\tb.npy") + 'it\'s\n')");
  CHECK(t[2].kind == Tok::String);
  CHECK(t[2].text == "a\tb.npy");
  CHECK(t[5].text == "it's\n");
  CHECK(kinds_of("** **= // //= -> != <= >= == = ~ ^= |= &= %=") ==
        std::vector<Tok>{Tok::StarStar, Tok::StarStarEq, Tok::SlashSlash, Tok::SlashSlashEq, Tok::Arrow,
                         Tok::NotEq, Tok::Le, Tok::Ge, Tok::EqEq, Tok::Assign, Tok::Tilde, Tok::CaretEq,
                         Tok::PipeEq, Tok::AmpEq, Tok::PercentEq, Tok::Newline, Tok::Eof});
  CHECK(kinds_of("and or not in True False None elif definitely") ==
        std::vector<Tok>{Tok::KwAnd, Tok::KwOr, Tok::KwNot, Tok::KwIn, Tok::KwTrue, Tok::KwFalse, Tok::KwNone,
                         Tok::KwElif, Tok::Name, Tok::Newline, Tok::Eof});
}

TEST_CASE("lexer: print_tokens shows position, kind and text") {
  CHECK(print_tokens(tokens_of("x = 'a\\n'\n")) ==
        "1:1 Name 'x'\n"
        "1:3 Assign '='\n"
        "1:5 String 'a\\n'\n"
        "1:10 Newline\n"
        "1:10 Eof\n");
}

TEST_CASE("lexer errors point at the offending text") {
  auto lex_error = [](const std::string& text) { return error_of([&] { tokens_of(text); }); };
  CHECK(lex_error("if a:\n\tb\n") ==
        "t.nj:2:1: error: tabs are not allowed for indentation; use spaces\n    \tb\n    ^\n");
  CHECK(lex_error("if a:\n    b\n  c\n") ==
        "t.nj:3:3: error: unindent does not match any outer indentation level\n      c\n      ^\n");
  CHECK(lex_error("x = a $ b") == "t.nj:1:7: error: unexpected character '$'\n    x = a $ b\n          ^\n");
  CHECK(lex_error("x = 9223372036854775808").find("1:5: error: integer literal too large") != std::string::npos);
  CHECK(lex_error("x = 0x1_0000_0000_0000_0000").find("integer literal too large") != std::string::npos);
  CHECK(lex_error("x = 'abc\n").find("1:5: error: unterminated string literal") != std::string::npos);
  CHECK(lex_error("x = 1__0").find("invalid number literal '1__0'") != std::string::npos);
  CHECK(lex_error("x = 0b102").find("invalid number literal '0b102'") != std::string::npos);
  CHECK(lex_error("x = 12abc").find("invalid number literal '12abc'") != std::string::npos);
  CHECK(lex_error("x = 012").find("leading zeros") != std::string::npos);
  CHECK(lex_error("x = 'a\\qb'").find("1:7: error: unknown escape sequence") != std::string::npos);
  CHECK(lex_error("x = \\ y").find("line continuation") != std::string::npos);
}

// --- expressions -------------------------------------------------------------

TEST_CASE("parser: Python precedence") {
  CHECK(expr_of("a + b * c") == "a + (b * c)");
  CHECK(expr_of("a - b - c") == "(a - b) - c");
  CHECK(expr_of("a * b // c % d / e") == "(((a * b) // c) % d) / e");
  CHECK(expr_of("-x ** 2") == "-(x ** 2)");
  CHECK(expr_of("2 ** -1") == "2 ** (-1)");
  CHECK(expr_of("a ** b ** c") == "a ** (b ** c)");
  CHECK(expr_of("-a * b") == "(-a) * b");
  CHECK(expr_of("~a & b | c ^ d") == "((~a) & b) | (c ^ d)");
  CHECK(expr_of("a + b < c & d") == "(a + b) < (c & d)");
  CHECK(expr_of("not a == b") == "not (a == b)");
  CHECK(expr_of("not a and b or c and not d") == "((not a) and b) or (c and (not d))");
  CHECK(expr_of("a or b or c") == "a or b or c");
  CHECK(expr_of("x if a or b else y if c else z") == "x if (a or b) else (y if c else z)");
  CHECK(expr_of("a + b if c else d") == "(a + b) if c else d");
  CHECK(expr_of("sum(p * q - f)") == "sum((p * q) - f)");
  CHECK(expr_of("(p[1:] - p[:-1]) / p[:-1]") == "(p[1:] - p[:-1]) / p[:-1]");
}

TEST_CASE("parser: chained comparisons are one Compare node") {
  Module m = parse_text("a < b <= c != d\n");
  const Expr& e = *m.body[0]->value;
  REQUIRE(e.kind == ExprKind::Compare);
  CHECK(e.args.size() == 4);
  CHECK(e.cmp_ops == std::vector<CmpOp>{CmpOp::Lt, CmpOp::Le, CmpOp::Ne});
  CHECK(print_expr(e) == "a < b <= c != d");
}

TEST_CASE("parser: literals, tuples and trailing commas") {
  CHECK(expr_of("(3, 4)") == "(3, 4)");
  CHECK(expr_of("(3,)") == "(3,)");
  CHECK(expr_of("()") == "()");
  CHECK(expr_of("(1)") == "1");
  CHECK(expr_of("f(a, b,)") == "f(a, b)");
  CHECK(expr_of("True or False or None") == "True or False or None");
  CHECK(expr_of("1.0 + 2.5e-3 + 'x'") == "(1.0 + 0.0025) + 'x'");
  CHECK(expr_of("zeros((3, 4))") == "zeros((3, 4))");
}

TEST_CASE("parser: calls with keywords, methods and attributes") {
  CHECK(expr_of("sum(X, axis=1)") == "sum(X, axis=1)");
  CHECK(expr_of("random(n, seed=3)") == "random(n, seed=3)");
  CHECK(expr_of("x.sum()") == "x.sum()");
  CHECK(expr_of("x.astype(f32).mean(axis=0)") == "x.astype(f32).mean(axis=0)");
  CHECK(expr_of("x.shape[0]") == "x.shape[0]");
  CHECK(expr_of("(a + b).sum()") == "(a + b).sum()");

  Module m = parse_text("x.sum(axis=1)\n");
  const Expr& call = *m.body[0]->value;
  REQUIRE(call.kind == ExprKind::Call);
  CHECK(call.args[0]->kind == ExprKind::Attribute);
  CHECK(call.args[0]->name == "sum");
  REQUIRE(call.keywords.size() == 1);
  CHECK(call.keywords[0].name == "axis");
  CHECK(call.keywords[0].value->ival == 1);
}

TEST_CASE("parser: subscripts and slices") {
  CHECK(expr_of("x[1:]") == "x[1:]");
  CHECK(expr_of("x[::2]") == "x[::2]");
  CHECK(expr_of("x[::-1]") == "x[::-1]");
  CHECK(expr_of("x[a:b:s]") == "x[a:b:s]");
  CHECK(expr_of("X[:, 0]") == "X[:, 0]");
  CHECK(expr_of("X[i, j]") == "X[i, j]");
  CHECK(expr_of("X[i, :]") == "X[i, :]");
  CHECK(expr_of("x[:]") == "x[:]");

  Module m = parse_text("x[::2]\n");
  const Expr& sub = *m.body[0]->value;
  REQUIRE(sub.kind == ExprKind::Subscript);
  const Expr& slice = *sub.args[1];
  REQUIRE(slice.kind == ExprKind::Slice);
  CHECK(slice.args[0] == nullptr);
  CHECK(slice.args[1] == nullptr);
  CHECK(slice.args[2]->ival == 2);
}

TEST_CASE("parser: spans of expressions") {
  Module m = parse_text("y = (a + b) * sum(c)\n");
  const Expr& e = *m.body[0]->value;
  CHECK(e.span.col == 5);
  CHECK(e.span.end - e.span.begin == 16);
  CHECK(e.args[1]->span.col == 15);
}

// --- statements --------------------------------------------------------------

TEST_CASE("parser: assignments") {
  Module m = parse_text(
      "a = b = 0\n"
      "n, m = X.shape\n"
      "a, b = f(x)\n"
      "out[i] = 1\n"
      "X[i, j] = 2\n"
      "t = 1, 2\n");
  REQUIRE(m.body.size() == 6);
  CHECK(m.body[0]->kind == StmtKind::Assign);
  CHECK(m.body[0]->targets.size() == 2);
  CHECK(m.body[1]->targets[0]->kind == ExprKind::Tuple);
  CHECK(m.body[1]->targets[0]->args.size() == 2);
  CHECK(m.body[2]->value->kind == ExprKind::Call);
  CHECK(m.body[3]->targets[0]->kind == ExprKind::Subscript);
  CHECK(m.body[4]->targets[0]->args.size() == 3);
  CHECK(m.body[5]->value->kind == ExprKind::Tuple);
}

TEST_CASE("parser: every augmented assignment") {
  const std::pair<const char*, BinOp> cases[] = {
      {"+=", BinOp::Add},      {"-=", BinOp::Sub}, {"*=", BinOp::Mul},    {"/=", BinOp::Div},
      {"//=", BinOp::FloorDiv}, {"%=", BinOp::Mod}, {"**=", BinOp::Pow},   {"&=", BinOp::BitAnd},
      {"|=", BinOp::BitOr},    {"^=", BinOp::BitXor}};
  for (const auto& [text, op] : cases) {
    Module m = parse_text(std::string("acc[i] ") + text + " x * 2\n");
    REQUIRE(m.body.size() == 1);
    CHECK(m.body[0]->kind == StmtKind::AugAssign);
    CHECK(m.body[0]->aug_op == op);
    CHECK(print_expr(*m.body[0]->value) == "x * 2");
  }
}

TEST_CASE("parser: control flow statements and the AST printer") {
  Module m = parse_text(
      "for i in range(3):\n"
      "    if i == 0:\n"
      "        continue\n"
      "    elif i == 1: pass\n"
      "    else:\n"
      "        break\n"
      "while n > 0:\n"
      "    n -= 1\n"
      "for i, j in pairs: print(i)\n");
  CHECK(print_ast(m) ==
        "For\n"
        "  Name i\n"
        "  Call\n"
        "    Name range\n"
        "    Int 3\n"
        "  Body\n"
        "    If\n"
        "      Compare ==\n"
        "        Name i\n"
        "        Int 0\n"
        "      Body\n"
        "        Continue\n"
        "      Else\n"
        "        If\n"
        "          Compare ==\n"
        "            Name i\n"
        "            Int 1\n"
        "          Body\n"
        "            Pass\n"
        "          Else\n"
        "            Break\n"
        "While\n"
        "  Compare >\n"
        "    Name n\n"
        "    Int 0\n"
        "  Body\n"
        "    AugAssign -=\n"
        "      Name n\n"
        "      Int 1\n"
        "For\n"
        "  Tuple\n"
        "    Name i\n"
        "    Name j\n"
        "  Name pairs\n"
        "  Body\n"
        "    Expr\n"
        "      Call\n"
        "        Name print\n"
        "        Name i\n");
}

TEST_CASE("parser: def with annotations, return values and a single-line suite") {
  Module m = parse_text(
      "def ewma(x: f64[:], alpha: f64) -> f64[:]:\n"
      "    out = empty_like(x)\n"
      "    return out\n"
      "def pair(a, b,): return a, b\n"
      "def nothing():\n"
      "    return\n");
  REQUIRE(m.body.size() == 3);
  const Stmt& ewma = *m.body[0];
  CHECK(ewma.kind == StmtKind::Def);
  CHECK(ewma.name == "ewma");
  REQUIRE(ewma.params.size() == 2);
  CHECK(ewma.params[0].name == "x");
  CHECK(print_expr(*ewma.params[0].annotation) == "f64[:]");
  CHECK(print_expr(*ewma.params[1].annotation) == "f64");
  CHECK(print_expr(*ewma.returns) == "f64[:]");
  CHECK(ewma.body.size() == 2);
  CHECK(ewma.span.line == 1);

  const Stmt& pair = *m.body[1];
  CHECK(pair.params.size() == 2);
  CHECK(pair.params[0].annotation == nullptr);
  CHECK(pair.returns == nullptr);
  REQUIRE(pair.body.size() == 1);
  CHECK(pair.body[0]->kind == StmtKind::Return);
  CHECK(print_expr(*pair.body[0]->value) == "(a, b)");

  CHECK(m.body[2]->body[0]->value == nullptr);
  CHECK(print_ast(m).find("Def ewma\n  Param x\n    Subscript\n      Name f64\n      Slice\n") == 0);
}

TEST_CASE("parser: SPEC kernels parse") {
  Module m = parse_text(
      "def returns(p):\n"
      "    out = empty(len(p) - 1)\n"
      "    for i in prange(len(p) - 1):          # parallel loop\n"
      "        out[i] = (p[i + 1] - p[i]) / p[i]\n"
      "    return out\n"
      "\n"
      "def filtered_value(p, q, sym):\n"
      "    return group_sum(sym, where(p > 100, p * q, 0.0), 64)\n"
      "x = filtered_value(p, q, s)\n");
  CHECK(m.body.size() == 3);
  CHECK(m.source->name() == "t.nj");
}

// --- errors ------------------------------------------------------------------

TEST_CASE("parse errors say what was expected and what was found, where") {
  CHECK(parse_error("x = (1 + \n") ==
        "t.nj:1:9: error: expected ')' to close '(' at 1:5, found end of input\n    x = (1 + \n            ^\n");
  CHECK(parse_error("x = (1 + 2]\n") ==
        "t.nj:1:11: error: expected ')' to close '(' at 1:5, found ']'\n    x = (1 + 2]\n              ^\n");
  CHECK(parse_error("y = f(1, , 2)\n").find("1:10: error: expected an expression, found ','") != std::string::npos);
  CHECK(parse_error("x = 1 +\n").find("1:8: error: expected an expression, found newline") != std::string::npos);
  CHECK(parse_error("if x\n    y = 1\n").find("1:5: error: expected ':' after the 'if' condition, found newline") !=
        std::string::npos);
  CHECK(parse_error("if x = 1:\n    y = 1\n").find("did you mean '=='?") != std::string::npos);
  CHECK(parse_error("x = 1 2\n").find("1:7: error: expected newline at the end of the statement, found number 2") !=
        std::string::npos);
  CHECK(parse_error("for 3 in x:\n    pass\n").find("expected a loop variable name, found number 3") !=
        std::string::npos);
  CHECK(parse_error("for i x:\n    pass\n").find("expected 'in' after the loop variable, found name 'x'") !=
        std::string::npos);
  CHECK(parse_error("if x:\ny = 1\n").find("2:1: error: expected an indented block after 'if' on line 1") !=
        std::string::npos);
  CHECK(parse_error("x = 1\n    y = 2\n").find("2:5: error: unexpected indent") != std::string::npos);
  CHECK(parse_error("x.3\n").find("expected") != std::string::npos);
  CHECK(parse_error("x.\n").find("expected an attribute name after '.', found newline") != std::string::npos);
  CHECK(parse_error("def (x): pass\n").find("expected a function name after 'def'") != std::string::npos);
  CHECK(parse_error("def f(x=1): pass\n").find("default parameter values are not supported") != std::string::npos);
  CHECK(parse_error("def f(x, x): pass\n").find("1:10: error: duplicate parameter 'x'") != std::string::npos);
  CHECK(parse_error("a if b\n").find("expected 'else'") != std::string::npos);
  CHECK(parse_error("x[]\n").find("expected an index, found ']'") != std::string::npos);
  CHECK(parse_error("else:\n    pass\n").find("'else' without a matching 'if'") != std::string::npos);
  CHECK(parse_error("a == not b\n").find("'not' cannot appear here") != std::string::npos);
}

TEST_CASE("invalid assignment targets") {
  CHECK(parse_error("f(x) = 1\n") ==
        "t.nj:1:1: error: invalid assignment target: cannot assign to a function call\n    f(x) = 1\n    ^~~~\n");
  CHECK(parse_error("1 = x\n").find("invalid assignment target: cannot assign to a literal") != std::string::npos);
  CHECK(parse_error("a + b = x\n").find("invalid assignment target") != std::string::npos);
  CHECK(parse_error("a = b + 1 = c\n").find("1:5: error: invalid assignment target") != std::string::npos);
  CHECK(parse_error("x.shape = 3\n").find("cannot assign to an attribute") != std::string::npos);
  CHECK(parse_error("a, f(b) = c\n").find("1:4: error: invalid assignment target") != std::string::npos);
  CHECK(parse_error("a, b += 1\n").find("invalid augmented assignment target: cannot assign to a tuple") !=
        std::string::npos);
}

TEST_CASE("misplaced statements and arguments") {
  CHECK(parse_error("break\n").find("1:1: error: 'break' outside loop") != std::string::npos);
  CHECK(parse_error("for i in x:\n    def f():\n        continue\n").find("'continue' outside loop") !=
        std::string::npos);
  CHECK(parse_error("return 1\n").find("'return' outside function") != std::string::npos);
  CHECK(parse_error("f(axis=1, x)\n").find("1:11: error: positional argument follows keyword argument") !=
        std::string::npos);
  CHECK(parse_error("f(x, axis=1, axis=2)\n").find("keyword argument 'axis' repeated") != std::string::npos);
  CHECK(parse_error("f(x)(y)\n").find("cannot call this expression") != std::string::npos);
}

TEST_CASE("panic mode: one diagnostic per bad statement, then parsing goes on") {
  std::string message = parse_error(
      "x = (1 +) * 2\n"
      "y = 1\n"
      "if y\n"
      "    z = ]\n"
      "    w = )\n"
      "def f(, x):\n"
      "    return 1\n"
      "q = 3 3\n");
  CHECK(count(message, "error:") == 4);
  CHECK(message.find("t.nj:1:9: error: expected an expression, found ')'") != std::string::npos);
  CHECK(message.find("t.nj:3:5: error: expected ':' after the 'if' condition") != std::string::npos);
  CHECK(message.find("t.nj:6:7: error: expected a parameter name, found ','") != std::string::npos);
  CHECK(message.find("t.nj:8:7: error: expected newline") != std::string::npos);
}

TEST_CASE("panic mode: errors inside a block do not leak out of it") {
  std::string message = parse_error(
      "def f(x):\n"
      "    y = = 1\n"
      "    return y\n"
      "z = 1 +\n");
  CHECK(count(message, "error:") == 2);
  CHECK(message.find("2:9: error: expected an expression, found '='") != std::string::npos);
  CHECK(message.find("4:8: error: expected an expression, found newline") != std::string::npos);
}

TEST_CASE("at most ten diagnostics") {
  std::string text;
  for (int i = 0; i < 30; ++i) text += "x = )\n";
  CHECK(count(parse_error(text), "error:") == 10);
}

TEST_CASE("deep nesting is an error, not a stack overflow") {
  std::string deep = "x = " + std::string(5000, '(') + "1" + std::string(5000, ')') + "\n";
  CHECK(parse_error(deep).find("expression nested too deeply") != std::string::npos);
  std::string unary = "x = " + std::string(5000, '-') + "1\n";
  CHECK(parse_error(unary).find("expression nested too deeply") != std::string::npos);
  std::string power = "x = 2";
  for (int i = 0; i < 3000; ++i) power += " ** 2";
  CHECK(parse_error(power + "\n").find("expression nested too deeply") != std::string::npos);
  std::string fine = "x = " + std::string(200, '(') + "1" + std::string(200, ')') + "\n";
  CHECK(parse_text(fine).body.size() == 1);
}

TEST_CASE("long elif chains and long operator chains parse") {
  std::string text = "if a == 0:\n    x = 0\n";
  for (int i = 1; i < 3000; ++i) text += "elif a == " + std::to_string(i) + ":\n    x = 1\n";
  CHECK(parse_text(text).body.size() == 1);
  std::string sum = "x = a";
  for (int i = 0; i < 3000; ++i) sum += " + a";
  CHECK(parse_text(sum + "\n").body.size() == 1);
}

// --- the REPL's question -------------------------------------------------

TEST_CASE("input_is_incomplete") {
  CHECK_FALSE(input_is_incomplete(""));
  CHECK_FALSE(input_is_incomplete("x = 1\n"));
  CHECK_FALSE(input_is_incomplete("sum(x)"));
  CHECK_FALSE(input_is_incomplete("if x: y = 1\n"));
  CHECK_FALSE(input_is_incomplete("s = 'a:'\n"));
  CHECK_FALSE(input_is_incomplete("x = 1  # a comment:\n"));
  CHECK_FALSE(input_is_incomplete("x = (1))\n"));  // an error, for the parser to report

  CHECK(input_is_incomplete("x = (1 +\n"));
  CHECK(input_is_incomplete("X[1,\n"));
  CHECK(input_is_incomplete("f('(', \n"));
  CHECK(input_is_incomplete("x = 1 + \\\n"));
  CHECK(input_is_incomplete("def f(x):\n"));
  CHECK(input_is_incomplete("def f(x):  # comment\n"));
  CHECK(input_is_incomplete("def f(x):\n    return x\n"));
  CHECK(input_is_incomplete("for i in range(3):\n    if i:\n        print(i)\n    else:\n"));
  CHECK_FALSE(input_is_incomplete("def f(x):\n    return x\n\n"));
  CHECK_FALSE(input_is_incomplete("def f(x):\n    return x\n    \n"));
}

}  // TEST_SUITE
