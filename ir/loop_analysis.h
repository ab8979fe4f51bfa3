// Index analysis of loop-IR expressions, for the passes that decide how a
// loop runs (ir/passes/vector_reductions.cpp) and for codegen, which emits
// what they decided. Memoised per (expression, variable): every query over
// a kernel is linear in its number of distinct expressions.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>
#include <utility>

#include "ir/loop_ir.h"

namespace numjit {

class IndexAnalysis {
 public:
  /** Whether `e` reads variable `var`. */
  bool depends(const LExpr* e, int var);
  /** Whether `e` is coef * var + (something that does not read var), an
   *  i64 index; sets coef. */
  bool affine(const LExpr* e, int var, int64_t& coef);
  /** Whether `e` can be evaluated for 32 consecutive values of `var` at
   *  once: its loads' indices are affine in var (unit stride: a vector
   *  load; other strides: a gather). */
  bool vectorizable(const LExpr* e, int var);

 private:
  bool affine_impl(const LExpr* e, int var, int64_t& coef);
  bool vectorizable_impl(const LExpr* e, int var);
  std::map<std::pair<const LExpr*, int>, bool> depends_, vectorizable_;
  std::map<std::pair<const LExpr*, int>, std::pair<bool, int64_t>> affine_;
};

}  // namespace numjit

namespace numjit {

/** The variables of `k` whose value can flow from one statement list into
 *  another: some statement reads one where the nearest earlier statement of
 *  its own list that writes it is not a plain assignment (a loop, an if
 *  writing it inside, or none at all). The others are the lowering's
 *  temporaries and locals set before use in one block: private to that
 *  block (ir/passes/if_convert.h, parallelize.h). */
std::set<int> escaping_vars(const Kernel& k);

/** The variables statement `s` itself reads (not its body's). */
std::vector<int> vars_read_by(const LStmt& s);

}  // namespace numjit
