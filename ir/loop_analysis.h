// Index analysis of loop-IR expressions, for the passes that decide how a
// loop runs (ir/passes/vector_reductions.cpp) and for codegen, which emits
// what they decided. Memoised per (expression, variable): every query over
// a kernel is linear in its number of distinct expressions.
#pragma once

#include <cstdint>
#include <map>
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
