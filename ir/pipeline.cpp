// The pipeline (see pipeline.h): one line a pass.
#include "ir/pipeline.h"

#include <cstdlib>
#include <iostream>
#include <string_view>

#include "ir/passes/bounds.h"
#include "ir/passes/fuse.h"
#include "ir/passes/if_convert.h"
#include "ir/passes/lower_to_loops.h"
#include "ir/passes/multi_output.h"
#include "ir/passes/parallelize.h"
#include "ir/passes/short_rows.h"
#include "ir/passes/vector_reductions.h"
#include "ir/verify.h"

namespace numjit {

namespace {

bool verifying() {
  const char* v = std::getenv("NUMJIT_VERIFY");
#ifdef NDEBUG
  return v && std::string_view(v) == "1";
#else
  return !(v && std::string_view(v) == "0");
#endif
}

bool traced(std::string_view pass) {
  const char* t = std::getenv("NUMJIT_TRACE");
  if (!t) return false;
  std::string_view list(t);
  if (list == "all") return true;
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (list.substr(0, comma) == pass) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

void after_pass(const std::string& pass, const Kernel& k) {
  if (verifying()) verify_loop_ir(k, pass);
  if (traced(pass)) std::cerr << "-- after " << pass << "\n" << print_kernel(k);
}

Kernel compile_expression(const std::vector<const Node*>& roots, const std::vector<std::string>& names,
                          const std::vector<InputSig>& sigs, const std::string& name) {
  if (verifying()) verify_array_ir(roots, sigs.size(), "sema");
  FusionPlan plan = fuse(roots, names);
  if (traced("fuse")) std::cerr << "-- after fuse\n" << print_fusion(plan);
  Kernel k = lower_to_loops(plan, sigs, name);
  after_pass("lower_to_loops", k);
  merge_reductions(k, true);  // reductions of the same elements share a loop
  after_pass("merge_reductions", k);
  mark_vector_reductions(k);  // float reductions codegen writes as vectors, in parallel blocks
  after_pass("vector_reductions", k);
  specialize_short_rows(k);  // rows of 4..32 elements: one loop copy per exact length
  after_pass("short_rows", k);
  return k;
}

Kernel compile_store(const Node* view, int buf, const Node* value, const std::vector<InputSig>& sigs,
                     const std::string& name) {
  if (verifying()) verify_array_ir({view, value}, sigs.size(), "sema");
  Kernel k;
  k.name = name;
  k.exprs = std::make_shared<LoopBuilder>();
  for (auto& sig : sigs)
    k.buffers.push_back(Buffer{sig.name, BufferKind::Input, sig.type.dtype, sig.type.rank, sig.contiguous});
  k.num_inputs = int(sigs.size());
  StatementLowering(k, k.body, {value}).store(view, buf, value);
  after_pass("lower_to_loops", k);
  merge_reductions(k, true);
  after_pass("merge_reductions", k);
  mark_vector_reductions(k);
  after_pass("vector_reductions", k);
  return k;
}

void finish_kernel(Kernel& k) {
  after_pass("lower_kernel", k);
  parallelize_pranges(k);  // pranges run on the thread pool; their reductions in fixed blocks
  after_pass("parallelize", k);
  merge_reductions(k, false);  // a user's loop variables live on after their loop
  after_pass("merge_reductions", k);
  version_bounds_checks(k);  // loops whose indices are in range run a copy without checks
  after_pass("bounds", k);
  if_convert(k);  // conditional scalar updates in loops become selects
  after_pass("if_convert", k);
  parallelize_independent_loops(k);  // range loops whose iterations are independent run on the pool
  after_pass("auto_parallel", k);
  mark_vector_reductions(k);
  after_pass("vector_reductions", k);
  specialize_short_rows(k);
  after_pass("short_rows", k);
}

}  // namespace numjit
