// The interactive REPL (SPEC section 3): reads entries from the user (one
// line, or several for a `def` block or an open bracket), runs them in one
// numjit::Jit session and shows the value of expression statements, or
// handles a :command (:help lists them). An error prints its diagnostic and
// the session keeps its variables. In: lines from standard input. Out: values
// and command output on standard output, diagnostics on standard error.
#pragma once

#include "numjit/numjit.hpp"

namespace numjit {

/** Runs the REPL until :quit or end of input and returns the exit status (0).
 *  With `line_editing` (standard input is a terminal) lines are read through
 *  libedit: editing, tab completion of variables, builtins and :commands, and
 *  history kept in $HOME/.numjit_history. Without it, plain lines are read
 *  from standard input; the prompts are still printed. */
int run_repl(const Options& options, bool line_editing);

}  // namespace numjit
