// Parallelisation of the user's prange loops (a pass of ir/pipeline.cpp).
#pragma once

#include "ir/loop_ir.h"

namespace numjit {

/** Iterations per block of a prange reduction: fixed, so the blocks (and
 *  the bits of the result) do not depend on the thread count. */
constexpr int64_t kPrangeReductionBlock = 1024;

/** Requires: For loops marked `prange` by the kernel lowering, each with
 *  the outer scalars its iterations reduce (the frontend has checked that
 *  they are only reduced, one way each). Guarantees: a prange that does not
 *  leave early (break, return) and is not inside another prange runs on
 *  the thread pool: without reductions it is marked `parallel` (each task
 *  has private copies of the locals); with reductions it becomes fixed
 *  blocks of kPrangeReductionBlock trips, each reducing into its own
 *  partial from the identity, then one ReduceLoop over the partials in
 *  block order and `v = init op total`, so the result is the same at any
 *  thread count, in the JIT and the interpreter. Other pranges run in
 *  order. No loop is marked `prange` afterwards. */
void parallelize_pranges(Kernel& k);

/** Requires: pranges parallelised, bounds checks versioned. Guarantees: a
 *  `range` loop of a kernel that is not inside another loop, has unit
 *  step, no return, allocation or numjit reduction in its body (serial
 *  loops of its own may be there, with their breaks and continues), whose
 *  scalars are private to an iteration (each read follows an assignment of
 *  the same iteration on every path; none read after the loop unless
 *  assigned again first, per escaping_vars) and whose stores write rows
 *  that move with the loop variable (each stored buffer's first index is
 *  one expression, affine in it with a nonzero coefficient and otherwise
 *  invariant; any load of a stored buffer reads the iteration's own row; no
 *  store into one argument while another is read, as they may overlap) is
 *  marked `parallel`: its iterations are independent, so running them on
 *  the thread pool gives the serial loop's results exactly. Reductions stay
 *  serial (their order is the loop's). */
void parallelize_independent_loops(Kernel& k);

}  // namespace numjit
