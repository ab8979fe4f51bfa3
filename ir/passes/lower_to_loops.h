// Lowering: a fusion plan -> one loop-IR kernel.
#pragma once

#include <string>
#include <vector>

#include "ir/loop_ir.h"
#include "ir/passes/fuse.h"

namespace numjit {

/** Requires: a FusionPlan over array IR whose Input #i is `inputs[i]`.
 *  Guarantees: one Kernel whose results are the plan's roots, in order; each
 *  materialised node is computed by one loop nest (a ReduceLoop for
 *  reductions) that evaluates its fused operands element by element; scalar
 *  work and checks (shapes, indices, empty reductions) run before the loops
 *  that need them; no array op survives. */
Kernel lower_to_loops(const FusionPlan& plan, const std::vector<InputSig>& inputs,
                      const std::string& name);

}  // namespace numjit
