// The loop-IR interpreter: runs a Kernel one element at a time, with the
// element semantics of ir/scalar_ops.h and the reduction order of
// ir/reduce_order.h. It is the oracle for code generation of everything that
// reaches the loop IR — fused expressions and `def` kernels with loops — the
// way ir/interpreter.h is the oracle for fusion and lowering.
#pragma once

#include <vector>

#include "ir/loop_ir.h"

namespace numjit {

/** Runs `k` with `inputs[i]` as buffer i (arrays are read and written in
 *  place, scalars as rank-0 values) and returns its results in order.
 *  Parallel loops run in order; `threads` is what threads() reads outside
 *  them, so a kernel takes the path the JIT takes at that thread count.
 *  Runtime errors throw numjit::Error with the generated code's messages. */
std::vector<Value> interpret_kernel(const Kernel& k, const std::vector<Value>& inputs, int threads = 1);

}  // namespace numjit
