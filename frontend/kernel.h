// Kernels with loops: a `def` whose body has for/while/if, element writes
// or early control flow is compiled on its own, once per argument
// signature, to the same loop IR as fused expressions.
//
// Requires: a parsed `def` and the signatures of its arguments (scalars as
// Numba types them: i64, f64, bool). Guarantees: every local has one type,
// the promotion of everything assigned to it (Numba's rule); each
// expression goes through sema and fusion like a script's; element reads
// and writes are bounds-checked (negative indices wrap); the kernel's
// results are its return values, in order.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "frontend/sema.h"
#include "ir/loop_ir.h"

namespace numjit {

/** Whether `def` needs the loop path (it cannot be inlined as straight-line
 *  array code): loops, branches, element or slice writes, or a call of a
 *  kernel in `kernels` that needs it. */
bool kernel_needs_loops(const Stmt& def, const std::map<std::string, KernelDef>* kernels = nullptr);

/** A loop kernel compiled for one signature. */
struct LoopKernel {
  Kernel kernel;
  std::vector<Type> results;  // the returned values' types, in order
  bool returns_tuple = false;
};

/** Lowers `k` for arguments with signatures `sigs` (one per parameter). */
LoopKernel lower_kernel(const KernelDef& k, const std::vector<InputSig>& sigs,
                        const std::map<std::string, KernelDef>* kernels, bool boundscheck);

}  // namespace numjit
