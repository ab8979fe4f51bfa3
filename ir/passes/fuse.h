// Fusion: decides which array-IR nodes become arrays in memory.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "ir/array_ir.h"

namespace numjit {

/** Which nodes are computed into memory; everything else is recomputed
 *  inline, element by element, inside the loop of the node that uses it. */
struct FusionPlan {
  std::vector<const Node*> roots;
  std::vector<std::string> root_names;
  std::set<const Node*> materialised;  // roots, and nodes no consumer can fuse
};

/** Requires: a verified array-IR DAG. Guarantees: elementwise ops, casts,
 *  views, broadcasts, iota and random are fused into their consumer; the
 *  only arrays materialised are the roots and the results of scans, group
 *  reductions, axis reductions and copies (a full reduction is a scalar). */
FusionPlan fuse(const std::vector<const Node*>& roots, const std::vector<std::string>& names = {});

/** One line per materialised node, with its fused expression inline
 *  (--emit=fused, golden tests). */
std::string print_fusion(const FusionPlan& plan);

}  // namespace numjit
