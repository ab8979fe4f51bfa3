// Loop IR -> LLVM IR. Internal to codegen/ (the only layer that sees LLVM).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "codegen/jit.h"
#include "ir/loop_ir.h"

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace numjit {

/** What codegen needs to know of the target. */
struct TargetInfo {
  std::string cpu, features;
  bool avx2 = false, avx512 = false;
  bool fastmath = false;
};

/** The libmvec variants the target can run: 'e' (AVX-512: 8 f64 or 16 f32
 *  lanes), 'd' (AVX2: 4 or 8), or 'b' (SSE2, every x86-64 host: 2 or 4),
 *  as in the names _ZGVeN8v_exp, _ZGVdN4v_exp, _ZGVbN2v_exp. */
struct VectorMath {
  char isa;
  unsigned f64_lanes;
  unsigned lanes(bool f32) const { return f32 ? 2 * f64_lanes : f64_lanes; }
};
inline VectorMath vector_math(const TargetInfo& t) {
  if (t.avx512) return {'e', 8};
  if (t.avx2) return {'d', 4};
  return {'b', 2};
}

/** Emits `k` as the function `symbol` (the kernel ABI of runtime/abi.h):
 *  vectorised loops use explicit SIMD vectors whose lane counts are
 *  constants of the IR (reductions: ir/reduce_order.h), so the result bits
 *  do not depend on the host. */
std::unique_ptr<llvm::Module> emit_module(llvm::LLVMContext& ctx, const Kernel& k,
                                          const std::string& symbol, const TargetInfo& target,
                                          std::vector<LoopCode>* report = nullptr);

}  // namespace numjit
