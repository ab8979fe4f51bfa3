// Lowering: a fusion plan -> one loop-IR kernel.
#pragma once

#include <memory>
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

/** An Input node numbered kVarInput + v reads loop-IR variable v (a kernel's
 *  scalar local); other Input numbers are buffer ids. */
constexpr int64_t kVarInput = int64_t(1) << 20;

/** Whether `value` reads buffer `buf` other than element for element
 *  through `view` (Input #buf, or Views of it), so that a store of `value`
 *  into `view` must copy it first, as NumPy copies overlapping operands.
 *  Scalars, and the arrays fusion always computes first (group and axis
 *  reductions, copies), are done before the store loop starts, so they do
 *  not count; a scan may run inside the loop, so it does. */
bool reads_other_elements(const Node* value, const Node* view, int buf);

/** Lowers the array IR of one statement of a `def` kernel into `k`, at the
 *  end of `at`. Requires: inputs numbered as buffers of `k` or kVarInput + v.
 *  Guarantees: the same fusion and loops as lower_to_loops. */
class StatementLowering {
 public:
  /** `where` prefixes the messages of index and shape errors; without
   *  `boundscheck` element reads are not checked (Options::boundscheck). */
  StatementLowering(Kernel& k, std::vector<LStmt>& at, const std::vector<const Node*>& roots, std::string where = "",
                    bool boundscheck = true);
  ~StatementLowering();
  /** A rank-0 value (its checks and loops are emitted first). */
  const LExpr* scalar(const Node* n);
  /** `n` computed into a new buffer of `kind` (Result or Temp); its id. */
  int array(const Node* n, BufferKind kind);
  /** Writes `value` (a root of this lowering, of `view`'s shape after
   *  broadcasting) into the elements of `view` of buffer `buf`: `view` is
   *  buffer `buf`'s Input node or Views of it. The caller copies `value`
   *  first when it reads `buf` at other elements (NumPy's overlap rule). */
  void store(const Node* view, int buf, const Node* value);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace numjit
