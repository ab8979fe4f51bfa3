// The driver: source -> array IR -> fusion -> loop IR -> machine code ->
// run, with the in-memory compile cache. Behind numjit::Jit; tests use the
// reference path to check the JIT against the interpreter.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "numjit/numjit.hpp"

namespace numjit {

/** Evaluates one expression with the reference interpreter instead of the
 *  JIT: the same parse, typing and array IR, then ir/interpreter.h. */
Value reference_eval(std::string_view expr, const Args& args = {});

/** Runs a script with every kernel (fused expressions and `def` kernels
 *  alike) lowered to loop IR and interpreted (ir/loop_interpreter.h), not
 *  compiled; returns what it printed. The oracle for code generation. */
std::string reference_run(std::string_view script, std::string_view filename = "<string>");

}  // namespace numjit
