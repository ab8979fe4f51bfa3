// Parser: tokens -> AST. Expressions go through one Pratt loop driven by a
// table of rules (clox's compiler.c); statements are recursive descent. The
// grammar rule each function parses is written above it.
//
// Recovery is panic mode: an error is recorded and thrown as SyntaxError,
// which the statement loop catches; it then skips to the start of the next
// statement (past any block the bad line opened), so one typo gives one
// diagnostic. At the end every diagnostic goes out in one numjit::Error.
#include "frontend/parser.h"

#include <array>
#include <fmt/format.h>
#include <optional>

#include "support/diagnostics.h"
#include "frontend/lexer.h"

namespace numjit {

namespace {

/** Binding power, loosest first: Python's precedence table. */
enum class Prec {
  None,
  Ternary,     // a if c else b
  Or,          // or
  And,         // and
  Not,         // not
  Comparison,  // < <= > >= == !=
  BitOr,       // |
  BitXor,      // ^
  BitAnd,      // &
  Term,        // + -
  Factor,      // * / // %
  Unary,       // - + ~
  Power,       // **
  Postfix,     // f(x)  x[i]  x.a
};

Prec next_higher(Prec p) { return Prec(int(p) + 1); }

/** Deeper expressions are refused rather than risk the C++ stack. */
constexpr int kMaxNesting = 1000;
/** Nesting plus chained infix operators (the AST's depth is at most twice this; sema
 *  refuses expressions deeper than 2000 with a diagnostic of its own). */
constexpr int kMaxDepth = 10000;
/** Parsing stops after this many diagnostics. */
constexpr size_t kMaxErrors = 10;

constexpr size_t kTokenKinds = 0
#define NUMJIT_COUNT_TOKEN(name, text) +1
    NUMJIT_FOR_EACH_TOKEN(NUMJIT_COUNT_TOKEN)
#undef NUMJIT_COUNT_TOKEN
    ;

/** Unwinds to the statement loop once the diagnostic has been recorded. */
struct SyntaxError {};

/** Sets an int for the lifetime of a scope; restores it on any exit. */
class ScopedValue {
 public:
  ScopedValue(int& ref, int value) : ref_(ref), saved_(ref) { ref_ = value; }
  ~ScopedValue() { ref_ = saved_; }
  ScopedValue(const ScopedValue&) = delete;
  ScopedValue& operator=(const ScopedValue&) = delete;

 private:
  int& ref_;
  int saved_;
};

std::optional<BinOp> binary_op(Tok t) {
  switch (t) {
    case Tok::Plus: return BinOp::Add;
    case Tok::Minus: return BinOp::Sub;
    case Tok::Star: return BinOp::Mul;
    case Tok::Slash: return BinOp::Div;
    case Tok::SlashSlash: return BinOp::FloorDiv;
    case Tok::Percent: return BinOp::Mod;
    case Tok::StarStar: return BinOp::Pow;
    case Tok::Amp: return BinOp::BitAnd;
    case Tok::Pipe: return BinOp::BitOr;
    case Tok::Caret: return BinOp::BitXor;
    default: return std::nullopt;
  }
}

std::optional<BinOp> augmented_op(Tok t) {
  switch (t) {
    case Tok::PlusEq: return BinOp::Add;
    case Tok::MinusEq: return BinOp::Sub;
    case Tok::StarEq: return BinOp::Mul;
    case Tok::SlashEq: return BinOp::Div;
    case Tok::SlashSlashEq: return BinOp::FloorDiv;
    case Tok::PercentEq: return BinOp::Mod;
    case Tok::StarStarEq: return BinOp::Pow;
    case Tok::AmpEq: return BinOp::BitAnd;
    case Tok::PipeEq: return BinOp::BitOr;
    case Tok::CaretEq: return BinOp::BitXor;
    default: return std::nullopt;
  }
}

std::optional<CmpOp> comparison_op(Tok t) {
  switch (t) {
    case Tok::Lt: return CmpOp::Lt;
    case Tok::Le: return CmpOp::Le;
    case Tok::Gt: return CmpOp::Gt;
    case Tok::Ge: return CmpOp::Ge;
    case Tok::EqEq: return CmpOp::Eq;
    case Tok::NotEq: return CmpOp::Ne;
    default: return std::nullopt;
  }
}

/** The token as the "found X" part of a message. */
std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::Name: return fmt::format("name '{}'", t.text);
    case Tok::Int:
    case Tok::Float: return fmt::format("number {}", t.text);
    case Tok::String: return "string " + quoted(t.text);
    default: return token_text(t.kind);
  }
}

/** What an invalid assignment target is, for the message. */
const char* target_description(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Int:
    case ExprKind::Float:
    case ExprKind::Bool:
    case ExprKind::None:
    case ExprKind::String: return "a literal";
    case ExprKind::Call: return "a function call";
    case ExprKind::Attribute: return "an attribute";
    case ExprKind::Compare: return "a comparison";
    case ExprKind::Tuple: return "a tuple";
    default: return "an expression";
  }
}

ExprPtr make_expr(ExprKind kind, Span span) { return std::make_unique<Expr>(kind, span); }
StmtPtr make_stmt(StmtKind kind, Span span) { return std::make_unique<Stmt>(kind, span); }

class Parser {
 public:
  explicit Parser(std::shared_ptr<const Source> src) : src_(std::move(src)), tokens_(lex(*src_)) {}

  // module ::= statement* EOF
  Module parse_module() {
    Module module;
    module.source = src_;
    try {
      module.body = statements_until(Tok::Eof);
    } catch (const SyntaxError&) {
      // Too many errors: report the ones we have.
    }
    if (!diagnostics_.empty()) {
      std::string message;
      for (const std::string& d : diagnostics_) message += d;
      throw Error(message);
    }
    return module;
  }

 private:
  using PrefixFn = ExprPtr (Parser::*)(const Token&, Prec);
  using InfixFn = ExprPtr (Parser::*)(ExprPtr, const Token&);
  struct Rule {
    PrefixFn prefix;  // parses an expression starting with the token
    InfixFn infix;    // parses an operator following an operand
    Prec prec;        // the infix operator's binding power
  };

  std::shared_ptr<const Source> src_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::vector<std::string> diagnostics_;
  int nesting_ = 0;         // parse_precedence calls in progress
  int depth_ = 0;           // those calls plus the infix operators they have applied
  int loop_depth_ = 0;      // enclosing loops of the innermost def
  int function_depth_ = 0;  // enclosing defs

  // --- the rule table ------------------------------------------------------

  static const Rule& rule(Tok t) {
    static const auto kRules = [] {
      std::array<Rule, kTokenKinds> r{};
      auto set = [&r](Tok t, PrefixFn prefix, InfixFn infix, Prec prec) { r[size_t(t)] = {prefix, infix, prec}; };
      set(Tok::LParen,     &Parser::grouping,    &Parser::call,       Prec::Postfix);
      set(Tok::LBracket,   nullptr,              &Parser::subscript,  Prec::Postfix);
      set(Tok::Dot,        nullptr,              &Parser::attribute,  Prec::Postfix);
      set(Tok::StarStar,   nullptr,              &Parser::power,      Prec::Power);
      set(Tok::Minus,      &Parser::unary,       &Parser::binary,     Prec::Term);
      set(Tok::Plus,       &Parser::unary,       &Parser::binary,     Prec::Term);
      set(Tok::Tilde,      &Parser::unary,       nullptr,             Prec::None);
      set(Tok::Star,       nullptr,              &Parser::binary,     Prec::Factor);
      set(Tok::Slash,      nullptr,              &Parser::binary,     Prec::Factor);
      set(Tok::SlashSlash, nullptr,              &Parser::binary,     Prec::Factor);
      set(Tok::Percent,    nullptr,              &Parser::binary,     Prec::Factor);
      set(Tok::Amp,        nullptr,              &Parser::binary,     Prec::BitAnd);
      set(Tok::Caret,      nullptr,              &Parser::binary,     Prec::BitXor);
      set(Tok::Pipe,       nullptr,              &Parser::binary,     Prec::BitOr);
      set(Tok::Lt,         nullptr,              &Parser::comparison, Prec::Comparison);
      set(Tok::Le,         nullptr,              &Parser::comparison, Prec::Comparison);
      set(Tok::Gt,         nullptr,              &Parser::comparison, Prec::Comparison);
      set(Tok::Ge,         nullptr,              &Parser::comparison, Prec::Comparison);
      set(Tok::EqEq,       nullptr,              &Parser::comparison, Prec::Comparison);
      set(Tok::NotEq,      nullptr,              &Parser::comparison, Prec::Comparison);
      set(Tok::KwNot,      &Parser::logical_not, nullptr,             Prec::None);
      set(Tok::KwAnd,      nullptr,              &Parser::boolean,    Prec::And);
      set(Tok::KwOr,       nullptr,              &Parser::boolean,    Prec::Or);
      set(Tok::KwIf,       nullptr,              &Parser::ternary,    Prec::Ternary);
      set(Tok::Name,       &Parser::name,        nullptr,             Prec::None);
      set(Tok::Int,        &Parser::literal,     nullptr,             Prec::None);
      set(Tok::Float,      &Parser::literal,     nullptr,             Prec::None);
      set(Tok::String,     &Parser::literal,     nullptr,             Prec::None);
      set(Tok::KwTrue,     &Parser::literal,     nullptr,             Prec::None);
      set(Tok::KwFalse,    &Parser::literal,     nullptr,             Prec::None);
      set(Tok::KwNone,     &Parser::literal,     nullptr,             Prec::None);
      return r;
    }();
    return kRules[size_t(t)];
  }

  // --- tokens and errors ---------------------------------------------------

  const Token& peek(size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  const Token& previous() const { return tokens_[pos_ - 1]; }
  bool check(Tok kind) const { return peek().kind == kind; }

  const Token& advance() {
    const Token& t = tokens_[pos_];
    if (t.kind != Tok::Eof) ++pos_;
    return t;
  }

  bool match(Tok kind) {
    if (!check(kind)) return false;
    advance();
    return true;
  }

  /** Records a diagnostic; parsing goes on unless there are too many. */
  void report(const Span& span, std::string_view message) {
    diagnostics_.push_back(render_diagnostic(src_.get(), span, message));
    if (diagnostics_.size() >= kMaxErrors) throw SyntaxError{};
  }

  [[noreturn]] void error_at(const Span& span, std::string_view message) {
    report(span, message);
    throw SyntaxError{};
  }

  /** "expected <what>, found <the next token>". */
  [[noreturn]] void error_expected(std::string_view what) {
    error_at(peek().span, fmt::format("expected {}, found {}", what, describe(peek())));
  }

  const Token& expect(Tok kind, std::string_view context) {
    if (!check(kind)) error_expected(fmt::format("{} {}", token_text(kind), context));
    return advance();
  }

  const Token& expect_closing(Tok closer, const Token& opener) {
    if (!check(closer))
      error_expected(fmt::format("{} to close '{}' at {}:{}", token_text(closer), opener.text, opener.span.line,
                                 opener.span.col));
    return advance();
  }

  /** Skips to the start of the next statement at the current block's level:
   *  past the next NEWLINE, and past the block a bad header opened. */
  void synchronize() {
    int depth = 0;  // blocks opened by the skipped lines
    while (!check(Tok::Eof)) {
      if (check(Tok::Dedent) && depth == 0) return;  // the enclosing block ends
      Tok kind = advance().kind;
      if (kind == Tok::Indent) ++depth;
      if (kind == Tok::Dedent) --depth;
      bool line_ended = kind == Tok::Newline || kind == Tok::Dedent;
      if (depth == 0 && line_ended && !check(Tok::Indent)) return;
    }
  }

  // --- statements ----------------------------------------------------------

  // statements ::= statement*      (up to `end`; a bad statement is skipped)
  std::vector<StmtPtr> statements_until(Tok end) {
    std::vector<StmtPtr> out;
    while (!check(end) && !check(Tok::Eof)) {
      try {
        out.push_back(statement());
      } catch (const SyntaxError&) {
        if (diagnostics_.size() >= kMaxErrors) throw;
        synchronize();
      }
    }
    return out;
  }

  // statement ::= if_stmt | for_stmt | while_stmt | def_stmt | simple_stmt NEWLINE
  StmtPtr statement() {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::KwIf: return if_statement();
      case Tok::KwFor: return for_statement();
      case Tok::KwWhile: return while_statement();
      case Tok::KwDef: return def_statement();
      case Tok::Indent: error_at(t.span, "unexpected indent");
      case Tok::KwElif:
      case Tok::KwElse: error_at(t.span, fmt::format("'{}' without a matching 'if'", t.text));
      default: break;
    }
    StmtPtr s = simple_statement();
    expect(Tok::Newline, "at the end of the statement");
    return s;
  }

  // suite ::= simple_stmt NEWLINE | NEWLINE INDENT statement+ DEDENT
  std::vector<StmtPtr> suite(const Token& keyword) {
    std::vector<StmtPtr> body;
    if (!match(Tok::Newline)) {
      body.push_back(simple_statement());
      expect(Tok::Newline, "at the end of the statement");
      return body;
    }
    if (!check(Tok::Indent))
      error_expected(fmt::format("an indented block after '{}' on line {}", keyword.text, keyword.span.line));
    advance();
    body = statements_until(Tok::Dedent);
    match(Tok::Dedent);
    return body;
  }

  // simple_stmt ::= 'pass' | 'break' | 'continue' | return_stmt | assignment | expression_list
  StmtPtr simple_statement() {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::KwPass: advance(); return make_stmt(StmtKind::Pass, t.span);
      case Tok::KwBreak:
      case Tok::KwContinue:
        advance();
        if (loop_depth_ == 0) report(t.span, fmt::format("'{}' outside loop", t.text));
        return make_stmt(t.kind == Tok::KwBreak ? StmtKind::Break : StmtKind::Continue, t.span);
      case Tok::KwReturn: return return_statement();
      default: return assignment_or_expression();
    }
  }

  // return_stmt ::= 'return' [expression_list]
  StmtPtr return_statement() {
    const Token& keyword = advance();
    if (function_depth_ == 0) report(keyword.span, "'return' outside function");
    StmtPtr s = make_stmt(StmtKind::Return, keyword.span);
    if (!check(Tok::Newline)) s->value = expression_list();
    s->span = Span::merge(keyword.span, previous().span);
    return s;
  }

  // assignment ::= (target_list '=')+ expression_list | target augop expression_list
  // expression_stmt ::= expression_list
  StmtPtr assignment_or_expression() {
    const Token& start = peek();
    ExprPtr first = expression_list();
    if (std::optional<BinOp> op = augmented_op(peek().kind)) {
      check_target(*first, /*augmented=*/true);
      advance();
      StmtPtr s = make_stmt(StmtKind::AugAssign, start.span);
      s->aug_op = *op;
      s->targets.push_back(std::move(first));
      s->value = expression_list();
      s->span = Span::merge(start.span, previous().span);
      return s;
    }
    if (!check(Tok::Assign)) {
      StmtPtr s = make_stmt(StmtKind::Expr, first->span);
      s->value = std::move(first);
      return s;
    }
    StmtPtr s = make_stmt(StmtKind::Assign, start.span);
    ExprPtr value = std::move(first);
    while (match(Tok::Assign)) {
      check_target(*value, /*augmented=*/false);
      s->targets.push_back(std::move(value));
      value = expression_list();
    }
    s->value = std::move(value);
    s->span = Span::merge(start.span, previous().span);
    return s;
  }

  // target ::= NAME | primary '[' indices ']'
  // target_list ::= target (',' target)* [',']       (a tuple is not augmentable)
  void check_target(const Expr& e, bool augmented) {
    const char* kind = augmented ? "invalid augmented assignment target" : "invalid assignment target";
    if (e.kind == ExprKind::Name || e.kind == ExprKind::Subscript) return;
    if (e.kind == ExprKind::Tuple && !augmented && !e.args.empty()) {
      for (const ExprPtr& item : e.args) {
        if (item->kind == ExprKind::Tuple)
          error_at(item->span, fmt::format("{}: nested tuples cannot be assigned to", kind));
        check_target(*item, false);
      }
      return;
    }
    error_at(e.span, fmt::format("{}: cannot assign to {}", kind, target_description(e)));
  }

  // condition ::= expression ':'     (after 'if', 'elif' or 'while')
  ExprPtr condition(const Token& keyword) {
    ExprPtr cond = expression();
    if (check(Tok::Assign))
      error_at(peek().span, fmt::format("expected ':' after the '{}' condition, found '='; did you mean '=='?",
                                        keyword.text));
    expect(Tok::Colon, fmt::format("after the '{}' condition", keyword.text));
    return cond;
  }

  // if_stmt ::= 'if' condition suite ('elif' condition suite)* ['else' ':' suite]
  StmtPtr if_statement() {
    // An elif chain is built in a loop, not by recursion, however long it is.
    std::vector<Stmt*> clauses;
    StmtPtr head;
    do {
      const Token& keyword = advance();
      StmtPtr clause = make_stmt(StmtKind::If, keyword.span);
      clause->value = condition(keyword);
      clause->body = suite(keyword);
      clauses.push_back(clause.get());
      if (head) clauses[clauses.size() - 2]->orelse.push_back(std::move(clause));
      else head = std::move(clause);
    } while (check(Tok::KwElif));
    if (check(Tok::KwElse)) {
      const Token& keyword = advance();
      expect(Tok::Colon, "after 'else'");
      clauses.back()->orelse = suite(keyword);
    }
    for (Stmt* clause : clauses) clause->span = Span::merge(clause->span, previous().span);
    return head;
  }

  // while_stmt ::= 'while' condition suite
  StmtPtr while_statement() {
    const Token& keyword = advance();
    StmtPtr s = make_stmt(StmtKind::While, keyword.span);
    s->value = condition(keyword);
    ScopedValue loop(loop_depth_, loop_depth_ + 1);
    s->body = suite(keyword);
    s->span = Span::merge(keyword.span, previous().span);
    return s;
  }

  // for_stmt ::= 'for' NAME (',' NAME)* 'in' expression_list ':' suite
  StmtPtr for_statement() {
    const Token& keyword = advance();
    StmtPtr s = make_stmt(StmtKind::For, keyword.span);
    std::vector<ExprPtr> names;
    do {
      if (!check(Tok::Name)) error_expected("a loop variable name");
      names.push_back(name(advance(), Prec::None));
    } while (match(Tok::Comma));
    if (names.size() == 1) {
      s->targets.push_back(std::move(names[0]));
    } else {
      ExprPtr tuple = make_expr(ExprKind::Tuple, Span::merge(names.front()->span, names.back()->span));
      tuple->args = std::move(names);
      s->targets.push_back(std::move(tuple));
    }
    expect(Tok::KwIn, "after the loop variable");
    s->value = expression_list();
    expect(Tok::Colon, "after the 'for' header");
    ScopedValue loop(loop_depth_, loop_depth_ + 1);
    s->body = suite(keyword);
    s->span = Span::merge(keyword.span, previous().span);
    return s;
  }

  // def_stmt ::= 'def' NAME '(' [param (',' param)* [',']] ')' ['->' expression] ':' suite
  // param ::= NAME [':' expression]
  StmtPtr def_statement() {
    const Token& keyword = advance();
    StmtPtr s = make_stmt(StmtKind::Def, keyword.span);
    if (!check(Tok::Name)) error_expected("a function name after 'def'");
    s->name = advance().text;
    const Token& open = expect(Tok::LParen, "after the function name");
    while (!check(Tok::RParen)) {
      if (!check(Tok::Name)) error_expected("a parameter name");
      const Token& name = advance();
      for (const Param& p : s->params)
        if (p.name == name.text) report(name.span, fmt::format("duplicate parameter '{}'", name.text));
      Param param{name.text, name.span, nullptr};
      if (match(Tok::Colon)) param.annotation = expression();
      if (check(Tok::Assign)) error_at(peek().span, "default parameter values are not supported");
      s->params.push_back(std::move(param));
      if (!match(Tok::Comma)) break;
    }
    expect_closing(Tok::RParen, open);
    if (match(Tok::Arrow)) s->returns = expression();
    expect(Tok::Colon, "after the function signature");
    ScopedValue loops(loop_depth_, 0);
    ScopedValue functions(function_depth_, function_depth_ + 1);
    s->body = suite(keyword);
    s->span = Span::merge(keyword.span, previous().span);
    return s;
  }

  // --- expressions ---------------------------------------------------------

  // expression_list ::= expression (',' expression)* [',']     (2+ items: a Tuple)
  ExprPtr expression_list() {
    ExprPtr first = expression();
    if (!check(Tok::Comma)) return first;
    ExprPtr tuple = make_expr(ExprKind::Tuple, first->span);
    tuple->args.push_back(std::move(first));
    while (match(Tok::Comma) && rule(peek().kind).prefix) tuple->args.push_back(expression());
    tuple->span = Span::merge(tuple->span, previous().span);
    return tuple;
  }

  // expression ::= ternary
  ExprPtr expression() { return parse_precedence(Prec::Ternary); }

  /** The Pratt loop: an operand, then every infix operator binding at least
   *  as tightly as `prec`. */
  ExprPtr parse_precedence(Prec prec) {
    ScopedValue nesting(nesting_, nesting_ + 1);
    if (nesting_ > kMaxNesting) error_at(peek().span, "expression nested too deeply");
    // Each infix operator makes the tree one level deeper on the left
    // (1+1+...+1, x[0][0]...): depth_ counts those and the nesting, so the
    // AST's depth stays bounded for every later recursion over it.
    ScopedValue depth(depth_, depth_ + 1);
    const Token& first = peek();
    PrefixFn prefix = rule(first.kind).prefix;
    if (!prefix) error_expected("an expression");
    advance();
    ExprPtr left = (this->*prefix)(first, prec);
    while (prec <= rule(peek().kind).prec) {
      const Token& op = advance();
      if (++depth_ > kMaxDepth)
        error_at(op.span, fmt::format("expression too deep: more than {} nested or chained operations", kMaxDepth));
      left = (this->*rule(op.kind).infix)(std::move(left), op);
    }
    return left;
  }

  // atom ::= NAME
  ExprPtr name(const Token& t, Prec) {
    ExprPtr e = make_expr(ExprKind::Name, t.span);
    e->name = t.text;
    return e;
  }

  // atom ::= INT | FLOAT | STRING | 'True' | 'False' | 'None'
  ExprPtr literal(const Token& t, Prec) {
    switch (t.kind) {
      case Tok::Int: {
        ExprPtr e = make_expr(ExprKind::Int, t.span);
        e->ival = t.ival;
        return e;
      }
      case Tok::Float: {
        ExprPtr e = make_expr(ExprKind::Float, t.span);
        e->fval = t.fval;
        return e;
      }
      case Tok::String: {
        ExprPtr e = make_expr(ExprKind::String, t.span);
        e->name = t.text;
        return e;
      }
      case Tok::KwNone: return make_expr(ExprKind::None, t.span);
      default: {
        ExprPtr e = make_expr(ExprKind::Bool, t.span);
        e->ival = t.kind == Tok::KwTrue;
        return e;
      }
    }
  }

  // atom ::= '(' ')' | '(' expression ')' | '(' expression ',' [expression (',' expression)* [',']] ')'
  ExprPtr grouping(const Token& open, Prec) {
    ExprPtr result;
    if (check(Tok::RParen)) {
      result = make_expr(ExprKind::Tuple, open.span);
    } else {
      result = expression();
      if (check(Tok::Comma)) {
        ExprPtr tuple = make_expr(ExprKind::Tuple, open.span);
        tuple->args.push_back(std::move(result));
        while (match(Tok::Comma) && !check(Tok::RParen)) tuple->args.push_back(expression());
        result = std::move(tuple);
      }
    }
    const Token& close = expect_closing(Tok::RParen, open);
    result->span = Span::merge(open.span, close.span);
    return result;
  }

  // unary ::= ('-' | '+' | '~') unary | power       (so -x**2 is -(x**2))
  ExprPtr unary(const Token& op, Prec) {
    ExprPtr e = make_expr(ExprKind::Unary, op.span);
    e->unop = op.kind == Tok::Minus ? UnOp::Neg : op.kind == Tok::Plus ? UnOp::Pos : UnOp::Invert;
    e->args.push_back(parse_precedence(Prec::Unary));
    e->span = Span::merge(op.span, e->args[0]->span);
    return e;
  }

  // not_test ::= 'not' not_test | comparison
  ExprPtr logical_not(const Token& op, Prec prec) {
    if (prec > Prec::Not) error_at(op.span, "'not' cannot appear here; put the 'not' expression in parentheses");
    ExprPtr e = make_expr(ExprKind::Unary, op.span);
    e->unop = UnOp::Not;
    e->args.push_back(parse_precedence(Prec::Not));
    e->span = Span::merge(op.span, e->args[0]->span);
    return e;
  }

  // binary ::= expression op expression     (left-associative: | ^ & + - * / // %)
  ExprPtr binary(ExprPtr left, const Token& op) {
    ExprPtr right = parse_precedence(next_higher(rule(op.kind).prec));
    return make_binary(*binary_op(op.kind), std::move(left), std::move(right));
  }

  // power ::= postfix '**' unary      (right-associative; 2 ** -1 is allowed)
  ExprPtr power(ExprPtr left, const Token&) {
    ExprPtr right = parse_precedence(Prec::Unary);
    return make_binary(BinOp::Pow, std::move(left), std::move(right));
  }

  ExprPtr make_binary(BinOp op, ExprPtr left, ExprPtr right) {
    ExprPtr e = make_expr(ExprKind::Binary, Span::merge(left->span, right->span));
    e->binop = op;
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(right));
    return e;
  }

  // comparison ::= bitor (compop bitor)+    (a < b < c is one Compare node)
  ExprPtr comparison(ExprPtr left, const Token& op) {
    ExprPtr e = make_expr(ExprKind::Compare, left->span);
    e->args.push_back(std::move(left));
    const Token* current = &op;
    while (true) {
      e->cmp_ops.push_back(*comparison_op(current->kind));
      e->args.push_back(parse_precedence(Prec::BitOr));
      if (!comparison_op(peek().kind)) break;
      current = &advance();
    }
    e->span = Span::merge(e->span, e->args.back()->span);
    return e;
  }

  // or_test ::= and_test ('or' and_test)+      and_test ::= not_test ('and' not_test)+
  ExprPtr boolean(ExprPtr left, const Token& op) {
    ExprPtr e = make_expr(ExprKind::BoolOp, left->span);
    e->boolop = op.kind == Tok::KwAnd ? BoolOpKind::And : BoolOpKind::Or;
    e->args.push_back(std::move(left));
    do {
      e->args.push_back(parse_precedence(next_higher(rule(op.kind).prec)));
    } while (match(op.kind));
    e->span = Span::merge(e->span, e->args.back()->span);
    return e;
  }

  // ternary ::= or_test ['if' or_test 'else' ternary]
  ExprPtr ternary(ExprPtr then, const Token&) {
    ExprPtr e = make_expr(ExprKind::IfExp, then->span);
    e->args.push_back(std::move(then));
    e->args.push_back(parse_precedence(Prec::Or));
    expect(Tok::KwElse, "after the condition of 'a if c else b'");
    e->args.push_back(parse_precedence(Prec::Ternary));
    e->span = Span::merge(e->span, e->args.back()->span);
    return e;
  }

  // call ::= postfix '(' [argument (',' argument)* [',']] ')'
  // argument ::= expression | NAME '=' expression
  ExprPtr call(ExprPtr callee, const Token& open) {
    if (callee->kind != ExprKind::Name && callee->kind != ExprKind::Attribute)
      error_at(callee->span, "cannot call this expression; only functions and methods can be called");
    ExprPtr e = make_expr(ExprKind::Call, callee->span);
    e->args.push_back(std::move(callee));
    while (!check(Tok::RParen)) {
      if (check(Tok::Name) && peek(1).kind == Tok::Assign) {
        const Token& key = advance();
        advance();
        for (const Keyword& k : e->keywords)
          if (k.name == key.text) report(key.span, fmt::format("keyword argument '{}' repeated", key.text));
        e->keywords.push_back(Keyword{key.text, key.span, expression()});
      } else {
        e->args.push_back(expression());
        if (!e->keywords.empty()) report(e->args.back()->span, "positional argument follows keyword argument");
      }
      if (!match(Tok::Comma)) break;
    }
    const Token& close = expect_closing(Tok::RParen, open);
    e->span = Span::merge(e->span, close.span);
    return e;
  }

  // attribute ::= postfix '.' NAME
  ExprPtr attribute(ExprPtr base, const Token&) {
    if (!check(Tok::Name)) error_expected("an attribute name after '.'");
    const Token& attr = advance();
    ExprPtr e = make_expr(ExprKind::Attribute, Span::merge(base->span, attr.span));
    e->name = attr.text;
    e->args.push_back(std::move(base));
    return e;
  }

  // subscript ::= postfix '[' index (',' index)* [','] ']'
  ExprPtr subscript(ExprPtr base, const Token& open) {
    ExprPtr e = make_expr(ExprKind::Subscript, base->span);
    e->args.push_back(std::move(base));
    do {
      if (check(Tok::RBracket) && e->args.size() > 1) break;
      e->args.push_back(index());
    } while (match(Tok::Comma));
    const Token& close = expect_closing(Tok::RBracket, open);
    e->span = Span::merge(e->span, close.span);
    return e;
  }

  // index ::= expression | [expression] ':' [expression] [':' [expression]]
  ExprPtr index() {
    const Token& start = peek();
    if (check(Tok::RBracket)) error_expected("an index");
    ExprPtr lower;
    if (!check(Tok::Colon)) {
      lower = expression();
      if (!check(Tok::Colon)) return lower;
    }
    advance();
    auto part = [this] {
      bool absent = check(Tok::Colon) || check(Tok::Comma) || check(Tok::RBracket);
      return absent ? ExprPtr() : expression();
    };
    ExprPtr slice = make_expr(ExprKind::Slice, start.span);
    slice->args.push_back(std::move(lower));
    slice->args.push_back(part());
    slice->args.push_back(match(Tok::Colon) ? part() : ExprPtr());
    slice->span = Span::merge(start.span, previous().span);
    return slice;
  }
};

}  // namespace

Module parse(std::shared_ptr<const Source> src) { return Parser(std::move(src)).parse_module(); }

bool input_is_incomplete(const std::string& text) {
  int depth = 0;                 // open brackets
  char quote = 0;                // inside a string opened by this quote
  bool continued = false;        // after a backslash that ends its line
  bool line_has_code = false;    // the current logical line has code
  bool line_indented = false;    // ... and space came before its first code
  bool last_indented = false;    // the last logical line with code was indented
  char last_code = 0;            // the last character of code
  int newlines_since_code = 0;   // logical line ends since then
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote) {
      if (c == '\\') ++i;
      else if (c == quote) quote = 0;
      else if (c == '\n') quote = 0;  // unterminated: the lexer will say so
      if (c != '\n') continue;
    }
    if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
    } else if (c == '\\' && (i + 1 == text.size() || text[i + 1] == '\n')) {
      continued = true;
      ++i;
    } else if (c == '\n') {
      continued = false;
      if (depth == 0) {
        ++newlines_since_code;
        line_has_code = line_indented = false;
      }
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
      if (!line_has_code) line_indented = true;
    } else {
      if (!line_has_code) last_indented = line_indented;
      line_has_code = true;
      continued = false;
      last_code = c;
      newlines_since_code = 0;
      if (c == '(' || c == '[') ++depth;
      else if ((c == ')' || c == ']') && depth > 0) --depth;
      else if (c == '\'' || c == '"') quote = c;
    }
  }
  if (depth > 0 || continued || last_code == ':') return true;
  return last_indented && newlines_since_code < 2;
}

}  // namespace numjit
