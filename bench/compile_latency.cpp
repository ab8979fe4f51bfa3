// Compile latency of the workload kernels (issue 5 item 6), as numjit_bench's
// compile/* benchmarks:
//
//   compile/<K>/cold        a fresh Jit, disk cache off: run the kernel's defs
//                           and eval its expression once (parse -> machine
//                           code -> one call on 64 elements). The LLVM JIT of
//                           the fresh Jit is created beforehand, untimed (by
//                           an eval of `x + 1.0`): that cost is once per Jit,
//                           and compile/engine/cold measures it.
//   compile/<K>/memory-hit  the same eval again in the same Jit: cache lookup,
//                           argument binding and the call on 64 elements.
//   compile/<K>/disk-hit    a new process per iteration (numjit_compile_probe,
//                           next to numjit_bench) on a cache directory that an
//                           earlier probe filled: the kernel's first eval in
//                           that process, timed inside it (manual time); the
//                           counters engine_ms (the process's first eval,
//                           which creates its LLVM JIT and is a disk hit too)
//                           and process_ms (spawn to exit, seen from here).
//   compile/engine/cold     a fresh Jit's first eval of `x + 1.0`, disk cache
//                           off: creating the LLVM JIT plus one tiny compile.
//
// Default options otherwise (opt level 3). The disk-hit cache directory is a
// fresh one under /tmp, removed at exit.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>

#include "compile_kernels.h"

namespace numjit_bench {

namespace {

using Clock = std::chrono::steady_clock;

/** A temporary cache directory for the disk-hit benchmarks, removed at exit. */
const std::string& probe_cache_dir() {
  struct Dir {
    std::string path;
    Dir() {
      char tmpl[] = "/tmp/numjit-bench-cache-XXXXXX";
      if (char* d = mkdtemp(tmpl)) path = d;
    }
    ~Dir() {
      std::error_code ec;
      if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
  };
  static Dir dir;
  return dir.path;
}

std::string probe_path() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (ec ? std::filesystem::path(".") : self.parent_path()) / "numjit_compile_probe";
}

struct ProbeResult {
  bool ok = false;
  double engine_ms = 0, kernel_ms = 0, process_ms = 0;
  long long new_files = -1;
  std::string error;
};

/** Runs the probe once (a new process) and parses its line. */
ProbeResult run_probe(const std::string& kernel) {
  ProbeResult r;
  const std::string cmd = "'" + probe_path() + "' '" + probe_cache_dir() + "' '" + kernel + "' 2>&1";
  const auto t0 = Clock::now();
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) {
    r.error = "cannot run " + cmd;
    return r;
  }
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  const int status = pclose(f);
  r.process_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (status != 0 || std::sscanf(out.c_str(), "engine_ms=%lf kernel_ms=%lf new_files=%lld", &r.engine_ms,
                                 &r.kernel_ms, &r.new_files) != 3) {
    r.error = "numjit_compile_probe " + kernel + " failed: " + out;
    return r;
  }
  r.ok = true;
  return r;
}

numjit::Options cold_options() {
  numjit::Options o;
  o.disk_cache = false;
  return o;
}

void BM_cold(benchmark::State& st, const CompileKernel& k) {
  SmallInputs in;
  const numjit::Args args = small_args(in, k.expr);
  const numjit::Args warm{{"x", numjit::Array::view(in.x)}};
  for (auto _ : st) {
    st.PauseTiming();
    auto jit = std::make_unique<numjit::Jit>(cold_options());
    try {
      numjit::Value v = jit->eval("x + 1.0", warm);  // creates the LLVM JIT
      (void)v;
    } catch (const std::exception& ex) {
      st.SkipWithError(ex.what());
      return;
    }
    st.ResumeTiming();
    try {
      compile_and_call(*jit, k, args);
    } catch (const std::exception& ex) {
      st.SkipWithError(ex.what());
      return;
    }
    st.PauseTiming();
    jit.reset();
    st.ResumeTiming();
  }
}

void BM_memory_hit(benchmark::State& st, const CompileKernel& k) {
  SmallInputs in;
  const numjit::Args args = small_args(in, k.expr);
  numjit::Jit jit(cold_options());
  try {
    compile_and_call(jit, k, args);
  } catch (const std::exception& ex) {
    st.SkipWithError(ex.what());
    return;
  }
  for (auto _ : st) {
    numjit::Value v = jit.eval(k.expr, args);
    benchmark::DoNotOptimize(v);
  }
}

void BM_disk_hit(benchmark::State& st, const CompileKernel& k) {
  if (probe_cache_dir().empty()) {
    st.SkipWithError("cannot create a temporary cache directory");
    return;
  }
  ProbeResult fill = run_probe(k.id);  // compiles and writes the cache (unless an earlier run did)
  if (!fill.ok) {
    st.SkipWithError(fill.error.c_str());
    return;
  }
  double engine = 0, process = 0;
  for (auto _ : st) {
    ProbeResult r = run_probe(k.id);
    if (!r.ok) {
      st.SkipWithError(r.error.c_str());
      return;
    }
    if (r.new_files != 0) {
      st.SkipWithError(("not a disk hit: the probe wrote " + std::to_string(r.new_files) + " cache files").c_str());
      return;
    }
    st.SetIterationTime(r.kernel_ms / 1e3);
    engine += r.engine_ms;
    process += r.process_ms;
  }
  const double it = double(st.iterations());
  if (it > 0) {
    st.counters["engine_ms"] = engine / it;
    st.counters["process_ms"] = process / it;
  }
}

void BM_engine_cold(benchmark::State& st) {
  SmallInputs in;
  const numjit::Args warm{{"x", numjit::Array::view(in.x)}};
  for (auto _ : st) {
    st.PauseTiming();
    auto jit = std::make_unique<numjit::Jit>(cold_options());
    st.ResumeTiming();
    numjit::Value v = jit->eval("x + 1.0", warm);
    benchmark::DoNotOptimize(v);
    st.PauseTiming();
    jit.reset();
    st.ResumeTiming();
  }
}

}  // namespace

void register_compile_benchmarks() {
  benchmark::RegisterBenchmark("compile/engine/cold", BM_engine_cold)->UseRealTime()->Unit(benchmark::kMillisecond);
  for (const CompileKernel& k : compile_kernels()) {
    const std::string base = std::string("compile/") + k.id;
    benchmark::RegisterBenchmark((base + "/cold").c_str(), [&k](benchmark::State& st) { BM_cold(st, k); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((base + "/memory-hit").c_str(),
                                 [&k](benchmark::State& st) { BM_memory_hit(st, k); })
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    // A process each iteration (~30 ms of wall time): a fixed, small count.
    benchmark::RegisterBenchmark((base + "/disk-hit").c_str(), [&k](benchmark::State& st) { BM_disk_hit(st, k); })
        ->UseManualTime()
        ->Iterations(20)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace numjit_bench
