// Conditional updates in loops as selects.
#pragma once

#include "ir/loop_ir.h"

namespace numjit {

/** Requires: bounds checks versioned (ir/passes/bounds.h), so a loop's
 *  unchecked copy has no checks in its branches. Guarantees: an `if` inside
 *  a loop whose branches only assign scalars, from values that are safe to
 *  compute whatever the condition (no loads, which the condition may guard,
 *  no integer division, at most a few dozen operations), becomes
 *  assignments of selects: `if c: s += v; n += 1` is `s = s + select(c, v,
 *  -0.0); n = n + select(c, 1, 0)`. A running update keeps the variable
 *  out of the select (x + -0.0 is x for every x, x * 1.0 and x - 0.0
 *  too), so the loop carries one add, not an add and a select, as the loop
 *  it came from computes, bit for bit; integer updates vectorize. */
void if_convert(Kernel& k);

}  // namespace numjit
