// Verifiers for the two IRs (ir/pipeline.cpp runs them after every pass).
// A failure is a compiler bug, reported by internal_error naming the pass
// after which the IR stopped holding; user errors are found earlier.
#pragma once

#include <string>
#include <vector>

#include "ir/array_ir.h"
#include "ir/loop_ir.h"

namespace numjit {

/** Checks the array IR under `roots`: operands present, a shape entry per
 *  axis and each a rank-0 i64 node, ranks that follow the op (elementwise:
 *  the operands' broadcast rank; views: one axis per sliced source axis),
 *  Input numbers below `num_inputs` (or loop-IR variables), dtypes that
 *  follow the op (comparisons give bool). Linear in the number of nodes. */
void verify_array_ir(const std::vector<const Node*>& roots, size_t num_inputs, const std::string& after_pass);

/** Checks a loop-IR kernel: every Var, Dim, Load and Store names a variable
 *  or buffer that exists, with its dtype and one i64 index per axis; an
 *  Assign or Store writes a value of the target's dtype; conditions are
 *  bool and loop bounds i64; operands of arithmetic share a dtype; result
 *  and scratch buffers are allocated before they are read or written (in
 *  statement order); no Return, Break or Continue leaves a parallel loop;
 *  results are Result buffers. Linear in the kernel's size. */
void verify_loop_ir(const Kernel& k, const std::string& after_pass);

}  // namespace numjit
