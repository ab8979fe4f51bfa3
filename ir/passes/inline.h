// Inlining: the loop IR of a called kernel copied into its caller.
#pragma once

#include <map>
#include <vector>

#include "ir/loop_ir.h"

namespace numjit {

/** Whether a return sits anywhere in `body`. */
bool contains_return(const std::vector<LStmt>& body);

/** Copies loop IR of kernel `C` (the callee, lowered for the call's
 *  signatures) into kernel `K` (the caller): variables and buffers
 *  renumbered by `vars` and `bufs`, scalar inputs replaced by the caller's
 *  values (`scalar_inputs`, by input number), scalar results into
 *  variables (`scalar_results`), array results turned into scratch buffers
 *  (AllocResult -> AllocTemp), and, when `flag` is a variable, a
 *  return into `flag = true` and a break out of every loop up to the one
 *  the caller wraps around the inlined body. frontend/kernel.cpp sets the
 *  maps up and places the copy. */
struct KernelSplice {
  KernelSplice(Kernel& k, const Kernel& c) : K(k), C(c) {}

  Kernel& K;
  const Kernel& C;
  std::vector<int> vars, bufs;
  std::map<int, const LExpr*> scalar_inputs;
  /** C's rank-0 results (buffer -> K's variable): their allocation goes,
   *  the store into one assigns the variable and a load of one reads it,
   *  so a scalar return costs no memory (a helper called per element). */
  std::map<int, int> scalar_results;
  int flag = -1;

  /** `e` of C as an expression of K. */
  const LExpr* ex(const LExpr* e);
  /** `body` of C as statements of K. */
  std::vector<LStmt> stmts(const std::vector<LStmt>& body);

 private:
  std::map<const LExpr*, const LExpr*> memo_;
};

}  // namespace numjit
