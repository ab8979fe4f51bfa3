// Multi-output fusion of reductions: several results over the same
// iteration space read their inputs in one pass.
#pragma once

#include "ir/loop_ir.h"

namespace numjit {

/** Requires: loop IR. Guarantees: a ReduceLoop R2 that follows ReduceLoop R1
 *  in the same statement list, over the same extent, with empty bodies and
 *  accumulators of one family (all ordered float sums/products/min/max, or
 *  none), is folded into R1 when nothing between them or in R2 reads R1's
 *  results and nothing between them changes what R1 or R2 read; the
 *  statements between them move before R1. `lo, hi = min(x), max(x)` then
 *  reads x once. Each accumulator keeps its own fixed order
 *  (ir/reduce_order.h), so every result has the same bits as before.
 *  With `elementwise` (fused expressions, whose loop variables are the
 *  lowering's own), counted loops of stores over the same range that do not
 *  touch each other's buffers merge too, with the allocations and checks
 *  between them moved first (`a, b = x + 1, x * 2` reads x once); not two
 *  loops that could both raise an error. */
void merge_reductions(Kernel& k, bool elementwise);

}  // namespace numjit
