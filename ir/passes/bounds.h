// Bounds-check versioning: loops whose element accesses can be proven in
// range before they start run a copy without the checks.
#pragma once

#include "ir/loop_ir.h"

namespace numjit {

/** Requires: a kernel's loop IR (checks as kernels and lowering emit them).
 *  Guarantees: each innermost counted loop (step 1) with index checks of
 *  the form `invariant + i` or `invariant` (i its variable, the invariants
 *  free of loads and of variables its body assigns, lengths of buffers its
 *  body does not allocate; at most 32 distinct indices) becomes
 *    if (every such index is in [0, len) for the first and last i): the loop
 *    without those checks, negative-index wraps of those indices dropped
 *    else: the loop unchanged
 *  Checks of other indices (read from memory: `h[b]`) stay in both copies.
 *  so the fast copy can vectorise, and the results and errors are the same
 *  (the checked copy runs whenever any check could fail). */
void version_bounds_checks(Kernel& k);

}  // namespace numjit
