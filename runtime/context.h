// The per-call context behind the opaque nj_ctx of the kernel ABI: the
// error a kernel leaves, and the memory it allocates. C++ only; JIT code
// sees a pointer and calls the helpers of runtime/abi.h.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "numjit/numjit.hpp"
#include "runtime/abi.h"
#include "runtime/thread_pool.h"

struct nj_ctx {
  int32_t code = NJ_OK;
  std::string message;
  /** Owners of result arrays, in allocation order; the host adopts them. */
  std::vector<std::pair<void*, std::shared_ptr<void>>> results;
  /** Scratch memory, freed with the context. */
  std::vector<std::shared_ptr<void>> temps;
  /** The pool parallel loops run on (null: serial), and who holds it. */
  numjit::ThreadPool* pool = nullptr;
  std::mutex* pool_mu = nullptr;
};

namespace numjit {

/** 64-byte-aligned memory of `nbytes` (at least one byte), or null. */
std::shared_ptr<void> aligned_alloc_shared(int64_t nbytes);

/** Test hook: the next `n`-th allocation through the runtime fails (0: off). */
void set_alloc_failure_countdown(int64_t n);

/** Wraps result view `v` of a finished call as an owning Array (the memory
 *  was allocated through nj_alloc_result into `ctx`). */
Array adopt_result(nj_ctx& ctx, const nj_array_view& v);

/** A view of `a` in ABI form (no copy). */
nj_array_view abi_view(const Array& a);

}  // namespace numjit
