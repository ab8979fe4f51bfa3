// The parser: tokens -> AST (frontend/ast.h), for the whole language of
// SPEC section 1. Syntax errors are collected with panic-mode recovery (one
// diagnostic per bad statement) and thrown together.
#pragma once

#include <memory>
#include <string>

#include "frontend/ast.h"
#include "support/source.h"

namespace numjit {

/** Lexes and parses `src` (not null). Throws numjit::Error carrying every
 *  rendered diagnostic (at most ten) if the text is not a valid program. */
Module parse(std::shared_ptr<const Source> src);

/** For the REPL: whether `text` needs more lines before it can be parsed. True
 *  if it ends inside an open bracket or after a backslash continuation, if its
 *  last line of code ends in ':', or if that line is indented (a block) and
 *  no blank line has followed it yet. Never throws; bad text is "complete",
 *  so that parsing it reports the error. */
bool input_is_incomplete(const std::string& text);

}  // namespace numjit
