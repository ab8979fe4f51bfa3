// Fusion: decides which array-IR nodes become arrays in memory.
#pragma once

#include <map>
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
  /** Scans fused into their one elementwise consumer: materialised node ->
   *  the rank-1 scans its loop runs (see lower_to_loops.cpp, scan_map). */
  std::map<const Node*, std::vector<const Node*>> scans_of;
};

/** Requires: a verified array-IR DAG. Guarantees: elementwise ops, casts,
 *  views, broadcasts, iota and random are fused into their consumer; the
 *  only arrays materialised are the roots and the results of group
 *  reductions, axis reductions, copies (a full reduction is a scalar) and
 *  scans, except a rank-1 scan whose uses all lead, through elementwise ops
 *  at the same index, to one rank-1 elementwise node: that node's loop runs
 *  the scan (drawdown `(cummax(e) - e) / cummax(e)` reads e and writes the
 *  result, and no `cummax` array exists). */
FusionPlan fuse(const std::vector<const Node*>& roots, const std::vector<std::string>& names = {});

/** One line per materialised node, with its fused expression inline
 *  (--emit=fused, golden tests). */
std::string print_fusion(const FusionPlan& plan);

}  // namespace numjit
