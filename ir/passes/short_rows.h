// Row loops over vector reductions, split by the rows' length.
#pragma once

#include "ir/loop_ir.h"

namespace numjit {

/** Requires: vector reductions marked. Guarantees: a loop whose body is
 *  vector reductions over one loop-invariant, non-constant extent (a
 *  buffer's length: the rows of `sum(X * w, axis=1)`) plus scalar
 *  assignments and stores becomes `if extent <= 32: <the loop, its
 *  reductions marked short> else: <the loop, marked long>`
 *  (LStmt::extent), so codegen emits one path of each reduction
 *  (reduce_order.h: a row of at most 32 elements is one vector) in each
 *  copy. Same values in the same order; a row loop of K10 no longer
 *  carries the long path's blocks and calls, whose spills it paid for on
 *  every row (7.3 -> 3.4 ms on K10 at 1 thread, bench/RESULTS.md). */
void specialize_short_rows(Kernel& k);

}  // namespace numjit
