// numjit_compile_probe: one fresh process that compiles one workload kernel
// against a given on-disk cache, and says how long that took. numjit_bench's
// compile/<K>/disk-hit benchmarks spawn it once per iteration (a new process
// each time, as issue 5 asks), after one run that filled the cache.
//
//   numjit_compile_probe CACHE_DIR KERNEL     (KERNEL: K1 ... K10, K2-prange)
//
// In the process: a Jit on CACHE_DIR; first `x + 1.0` on 16 elements, which
// creates the LLVM JIT (and is itself a disk hit once the cache is warm);
// then the kernel's defs and expression, timed alone (compile_kernels.h:
// parse, type, fuse, lower, look the object up on disk, link it, one call on
// 64 elements). Prints one line:
//
//   engine_ms=<first eval> kernel_ms=<the kernel> new_files=<n>
//
// new_files counts cache files the process added (0: everything was a hit).
// Exit status 0, or 1 with a message on stderr.
//
//   numjit_compile_probe --emit=STAGE [--nobounds] KERNEL
//
// prints stage STAGE (loops, llvm-opt, asm, ...) of the kernel instead, with
// Options::boundscheck off under --nobounds (the CLI has no such flag): the
// evidence for bench/RESULTS.md.
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "compile_kernels.h"

namespace {

int64_t count_files(const std::string& dir) {
  int64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec)) ++n;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  if (argc >= 3 && std::string(argv[1]).rfind("--emit=", 0) == 0) {
    const bool nobounds = argc == 4 && std::string(argv[2]) == "--nobounds";
    const numjit_bench::CompileKernel* k = numjit_bench::find_compile_kernel(argv[argc - 1]);
    if (!k || (argc == 4 && !nobounds) || argc > 4) {
      std::fprintf(stderr, "usage: %s --emit=STAGE [--nobounds] KERNEL\n", argv[0]);
      return 1;
    }
    try {
      numjit::Options opts;
      opts.disk_cache = false;
      opts.boundscheck = !nobounds;
      numjit::Jit jit(opts);
      numjit_bench::SmallInputs in;
      const std::string src = std::string(k->defs) + "r = " + k->expr + "\n";
      std::fputs(jit.emit(src, numjit::parse_stage(std::string(argv[1]).substr(7)), numjit_bench::small_args(in, k->expr))
                     .c_str(),
                 stdout);
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "%s: %s\n", argv[0], ex.what());
      return 1;
    }
    return 0;
  }
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CACHE_DIR KERNEL\n", argv[0]);
    return 1;
  }
  const std::string dir = argv[1];
  const numjit_bench::CompileKernel* k = numjit_bench::find_compile_kernel(argv[2]);
  if (!k) {
    std::fprintf(stderr, "%s: unknown kernel '%s'\n", argv[0], argv[2]);
    return 1;
  }
  try {
    const int64_t before = count_files(dir);
    numjit::Options opts;
    opts.cache_dir = dir;
    opts.disk_cache = true;
    numjit::Jit jit(opts);
    std::vector<double> small(16, 1.5);
    const auto t0 = Clock::now();
    numjit::Value warm = jit.eval("x + 1.0", {{"x", small}});
    (void)warm;
    const auto t1 = Clock::now();
    numjit_bench::SmallInputs in;
    numjit::Args args = numjit_bench::small_args(in, k->expr);
    const auto t2 = Clock::now();
    numjit_bench::compile_and_call(jit, *k, args);
    const auto t3 = Clock::now();
    const double ms = 1e3;
    std::printf("engine_ms=%.6f kernel_ms=%.6f new_files=%lld\n",
                std::chrono::duration<double>(t1 - t0).count() * ms,
                std::chrono::duration<double>(t3 - t2).count() * ms, (long long)(count_files(dir) - before));
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "%s: %s\n", argv[0], ex.what());
    return 1;
  }
  return 0;
}
