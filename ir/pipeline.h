// The compiler's pipeline on one screen: every pass from typed array IR to
// the loop IR that codegen emits, in order, for expressions and `def`
// kernels alike (ir/pipeline.cpp). Before it: source -> tokens -> AST
// (frontend/parser) -> typed array IR (frontend/sema; a `def` kernel with
// loops: frontend/kernel, which lowers each statement with the passes of
// the expression pipeline). After it: codegen/llvm_codegen (loop IR -> LLVM
// IR), codegen/jit (LLVM's passes, machine code, linking).
//
// After each pass the IR is verified (ir/verify.h) unless NUMJIT_VERIFY=0,
// or NDEBUG is defined and NUMJIT_VERIFY is not 1, and printed to standard
// error when NUMJIT_TRACE names the pass (NUMJIT_TRACE=fuse,bounds or all).
#pragma once

#include <string>
#include <vector>

#include "ir/array_ir.h"
#include "ir/loop_ir.h"

namespace numjit {

/** The roots of a program (typed array IR over inputs `sigs`, named
 *  `names`) as one loop-IR kernel `name`. */
Kernel compile_expression(const std::vector<const Node*>& roots, const std::vector<std::string>& names,
                          const std::vector<InputSig>& sigs, const std::string& name);

/** `view[...] = value` as one loop-IR kernel `name` with no results: the
 *  loops that compute `value` (already broadcast to `view`'s shape, and
 *  copied when it reads `view`'s buffer elsewhere) write into the elements
 *  of `view`, Views of Input #buf (or the Input itself), in place. */
Kernel compile_store(const Node* view, int buf, const Node* value, const std::vector<InputSig>& sigs,
                     const std::string& name);

/** The loop-IR passes of a `def` kernel after frontend/kernel lowered it. */
void finish_kernel(Kernel& k);

/** Verifies `k` and traces it as the output of pass `pass` (see above). */
void after_pass(const std::string& pass, const Kernel& k);

}  // namespace numjit
