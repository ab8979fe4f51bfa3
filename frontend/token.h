// Tokens of the numjit language (Python-flavoured: NEWLINE, INDENT, DEDENT).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "support/source.h"

namespace numjit {

#define NUMJIT_FOR_EACH_TOKEN(X)                                                   \
  X(Eof, "end of input") X(Newline, "newline") X(Indent, "indent")                 \
  X(Dedent, "dedent") X(Name, "name") X(Int, "integer") X(Float, "number")         \
  X(String, "string")                                                              \
  /* keywords */                                                                   \
  X(KwDef, "'def'") X(KwReturn, "'return'") X(KwIf, "'if'") X(KwElif, "'elif'")    \
  X(KwElse, "'else'") X(KwFor, "'for'") X(KwIn, "'in'") X(KwWhile, "'while'")      \
  X(KwBreak, "'break'") X(KwContinue, "'continue'") X(KwPass, "'pass'")            \
  X(KwAnd, "'and'") X(KwOr, "'or'") X(KwNot, "'not'") X(KwTrue, "'True'")          \
  X(KwFalse, "'False'") X(KwNone, "'None'")                                        \
  /* punctuation */                                                                \
  X(LParen, "'('") X(RParen, "')'") X(LBracket, "'['") X(RBracket, "']'")          \
  X(Comma, "','") X(Colon, "':'") X(Dot, "'.'") X(Arrow, "'->'")                   \
  X(Plus, "'+'") X(Minus, "'-'") X(Star, "'*'") X(Slash, "'/'")                    \
  X(SlashSlash, "'//'") X(Percent, "'%'") X(StarStar, "'**'") X(Amp, "'&'")        \
  X(Pipe, "'|'") X(Caret, "'^'") X(Tilde, "'~'") X(Lt, "'<'") X(Le, "'<='")        \
  X(Gt, "'>'") X(Ge, "'>='") X(EqEq, "'=='") X(NotEq, "'!='") X(Assign, "'='")     \
  X(PlusEq, "'+='") X(MinusEq, "'-='") X(StarEq, "'*='") X(SlashEq, "'/='")        \
  X(SlashSlashEq, "'//='") X(PercentEq, "'%='") X(StarStarEq, "'**='")             \
  X(AmpEq, "'&='") X(PipeEq, "'|='") X(CaretEq, "'^='")

enum class Tok {
#define NUMJIT_TOKEN_ENUM(name, text) name,
  NUMJIT_FOR_EACH_TOKEN(NUMJIT_TOKEN_ENUM)
#undef NUMJIT_TOKEN_ENUM
};

/** How the token kind is shown in "expected X" messages, e.g. "')'". */
const char* token_text(Tok t);
/** The enum name, e.g. "RParen" (for --emit=tokens). */
const char* token_name(Tok t);

/** `s` as a single-quoted literal with escapes, e.g. 'a\n' (for
 *  --emit=tokens and print_expr). */
std::string quoted(std::string_view s);

/** One lexeme and where it is. */
struct Token {
  Tok kind = Tok::Eof;
  Span span;
  std::string text;  // the lexeme; for String, the decoded contents
  int64_t ival = 0;  // the value of an Int literal
  double fval = 0;   // the value of a Float literal
};

}  // namespace numjit
