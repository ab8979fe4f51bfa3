// Loop IR -> LLVM IR. Internal to codegen/ (the only layer that sees LLVM).
#pragma once

#include <memory>
#include <string>

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

/** Emits `k` as the function `symbol` (the kernel ABI of runtime/abi.h):
 *  vectorised loops use explicit SIMD vectors whose lane counts are
 *  constants of the IR (reductions: ir/reduce_order.h), so the result bits
 *  do not depend on the host. */
std::unique_ptr<llvm::Module> emit_module(llvm::LLVMContext& ctx, const Kernel& k,
                                          const std::string& symbol, const TargetInfo& target);

}  // namespace numjit
