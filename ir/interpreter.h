// The reference interpreter: evaluates array IR node by node on host values,
// materialising every intermediate. Slow and simple on purpose: it is the
// oracle that fusion, lowering and codegen are tested against.
#pragma once

#include <vector>

#include "ir/array_ir.h"

namespace numjit {

/** Evaluates `roots` with `inputs[i]` bound to Input #i. Results are owning
 *  arrays (rank 0 for scalars: use Value::scalar). Runtime errors (index out
 *  of range, shape mismatch, bad group key, empty min) throw numjit::Error
 *  with the same text the JIT reports. */
std::vector<Value> interpret(const std::vector<const Node*>& roots, const std::vector<Value>& inputs);

}  // namespace numjit
