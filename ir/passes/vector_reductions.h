// Marks the reductions that codegen writes as explicit vectors.
#pragma once

#include "ir/loop_ir.h"

namespace numjit {

/** Requires: reductions merged (multi_output). Guarantees: a ReduceLoop is
 *  marked `vectorize` exactly when codegen writes it as explicit vectors of
 *  ir/reduce_order.h's lanes, and `parallel` when it also runs its blocks
 *  on the thread pool (not inside another parallel loop): its accumulators are all float sums, products, minima or maxima,
 *  its body is empty, and each value is vectorizable (IndexAnalysis). Other
 *  reductions run serially (float: the same lanes one element at a time;
 *  integer and arg reductions: one accumulator, which LLVM may vectorize).
 *  Codegen reads the marks; `--emit=loops` and `:explain` show them. */
void mark_vector_reductions(Kernel& k);

}  // namespace numjit
