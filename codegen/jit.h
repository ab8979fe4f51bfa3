// The JIT engine: loop-IR kernels -> LLVM IR -> optimised -> machine code,
// through ORC LLJIT. LLVM stays behind this header (pimpl); every LLVM error
// becomes numjit::Error here.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ir/loop_ir.h"
#include "runtime/abi.h"

namespace numjit {

struct CodegenOptions {
  int opt_level = 2;      // 0 none, 1 and 3 LLVM's O1 and O3, 2 numjit's pipeline (jit.cpp)
  bool fastmath = false;  // reassociation and contraction on float ops
};

/** Machine code of one kernel; the code is freed with the last reference. */
class CompiledKernel {
 public:
  ~CompiledKernel();
  nj_kernel_fn fn = nullptr;

 private:
  friend class JitEngine;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/** Text a kernel produces at the later stages (--emit=llvm|llvm-opt|asm),
 *  or the remarks of LLVM's loop vectorizer while it is optimised
 *  (--emit=remarks): one line per remark,
 *  `FUNCTION: loop-vectorize passed|missed|analysis [loop 'HEADER']: MESSAGE`,
 *  in the order LLVM emitted them. */
enum class CodegenText { Llvm, LlvmOpt, Asm, Remarks };

/** What codegen made of one loop of kernel_loops(k) (llvm_codegen.h). */
struct LoopCode {
  bool task = false;          // its iterations (or a reduction's blocks) run as tasks on the thread pool
  unsigned reduce_lanes = 0;  // a float reduction written as vectors of these lanes (reduce_order.h)
  unsigned scan_lanes = 0;    // a running value written as prefix scans over vectors of these lanes
};

/** What became of one loop of kernel_loops(k) (:explain): what codegen
 *  wrote, and what LLVM's loop vectorizer said of it. */
struct LoopReport {
  LoopCode code;
  int llvm_width = 0, llvm_interleave = 0;  // the vectorizer's choice; 0: it did not vectorize the loop
  std::vector<std::string> llvm_reasons;     // its analysis and missed remarks (why not)
};

/** One LLJIT instance for the host CPU. Thread-safe: compiles are serialised. */
class JitEngine {
 public:
  /** Creates the JIT for the host (throws numjit::Error on failure), with
   *  its on-disk cache in `cache_dir` (empty: no disk cache). */
  explicit JitEngine(const std::string& cache_dir = "");
  ~JitEngine();
  JitEngine(const JitEngine&) = delete;
  JitEngine& operator=(const JitEngine&) = delete;

  /** Compiles `k` to callable code, or loads it from the disk cache. */
  std::shared_ptr<CompiledKernel> compile(const Kernel& k, const CodegenOptions& opts);

  /** What compile() did so far (tests and benchmarks of the cache). */
  struct Stats {
    int64_t compiles = 0;   // kernels built through LLVM
    int64_t disk_hits = 0;  // kernels loaded from the disk cache
    int64_t two_part = 0;   // compiles generated as two objects on two threads
  };
  Stats stats() const;

  /** The LLVM IR (before or after optimisation), assembly or vectorization
   *  remarks of `k`. Builds in a context of its own and never touches the
   *  code caches; only Remarks installs a diagnostic handler, so compile()
   *  pays nothing for it. */
  std::string text(const Kernel& k, const CodegenOptions& opts, CodegenText what);
  /** Each loop of `k` as compile() makes it (LoopReport), in kernel_loops()
   *  order. Like text(): a context of its own, the caches untouched. */
  std::vector<LoopReport> explain(const Kernel& k, const CodegenOptions& opts);

  /** Host CPU name and feature string (part of cache keys). */
  std::string host_cpu() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::mutex mu_;
};

}  // namespace numjit
