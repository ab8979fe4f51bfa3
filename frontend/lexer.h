// The lexer: source text -> tokens, Python style. Logical lines end in NEWLINE;
// leading spaces become INDENT/DEDENT; newlines inside () and [] and after a
// backslash join lines; blank and comment-only lines vanish. The stream always
// ends NEWLINE (if the last line had tokens), DEDENT..., EOF.
#pragma once

#include <string>
#include <vector>

#include "support/source.h"
#include "frontend/token.h"

namespace numjit {

/** The tokens of `src`. Throws numjit::Error (a rendered diagnostic) at the
 *  first lexical error: a bad character, number or string, a tab in the
 *  indentation, an inconsistent dedent, or a bracket still open at the end. */
std::vector<Token> lex(const Source& src);

/** One token a line, "line:col Kind 'text'" (for --emit=tokens). */
std::string print_tokens(const std::vector<Token>& tokens);

}  // namespace numjit
