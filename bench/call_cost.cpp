// numjit_bench's calls/* benchmarks (issue 13): what a small kernel called
// once per element from a loop kernel costs. The same loop three ways, over
// 10^6 f64 at 1 thread (10^6 elements in, 10^6 out: in cache on most CPUs,
// so the loop's own work, not memory, sets the time):
//   calls/helper     `out[i] = h(x[i])` with `def h(v): return v * 0.5 + 1.0`,
//                    and `a, b = h2(x[i])` with a helper returning a tuple
//   calls/inline     the helper's body written into the loop by hand
//   calls/cpp        the loop in C++
// The per-call cost is (helper - inline) / n; each reports ns_per_elem.
// This file is compiled as the references are (-O3 -march=native).
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <random>
#include <vector>

#include "numjit/numjit.hpp"

namespace numjit_bench {
namespace {

constexpr int64_t kN = 1'000'000;

const char* kSource = R"(
def h(v):
    return v * 0.5 + 1.0

def h2(v):
    return v * 0.5, v + 1.0

def helper(x, out):
    for i in range(x.shape[0]):
        out[i] = h(x[i])
    return out[0]

def inline(x, out):
    for i in range(x.shape[0]):
        out[i] = x[i] * 0.5 + 1.0
    return out[0]

def helper_tuple(x, out):
    for i in range(x.shape[0]):
        a, b = h2(x[i])
        out[i] = a * b
    return out[0]

def inline_tuple(x, out):
    for i in range(x.shape[0]):
        v = x[i]
        out[i] = (v * 0.5) * (v + 1.0)
    return out[0]
)";

struct Calls {
  std::vector<double> x, out;
  std::unique_ptr<numjit::Jit> jit;
};

Calls& calls() {
  static Calls c = [] {
    Calls c;
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> u(1.0, 2.0);
    c.x.resize(kN);
    c.out.assign(kN, 0.0);
    for (double& v : c.x) v = u(rng);
    numjit::Options o;
    o.threads = 1;
    c.jit = std::make_unique<numjit::Jit>(o);
    c.jit->run(kSource, "<calls>");
    return c;
  }();
  return c;
}

__attribute__((noinline)) double cpp_loop(const double* __restrict x, double* __restrict out, int64_t n, bool tuple) {
  if (tuple)
    for (int64_t i = 0; i < n; ++i) out[i] = (x[i] * 0.5) * (x[i] + 1.0);
  else
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * 0.5 + 1.0;
  return out[0];
}

void finish(benchmark::State& st, std::chrono::steady_clock::time_point t0) {
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  if (st.iterations() > 0) st.counters["ns_per_elem"] = ns / (double(st.iterations()) * double(kN));
}

void BM_numjit(benchmark::State& st, const char* kernel) {
  Calls& c = calls();
  auto f = c.jit->function<double(numjit::View<const double>, numjit::View<double>)>(kernel);
  numjit::View<const double> x(c.x.data(), kN);
  numjit::View<double> out(c.out.data(), kN);
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) benchmark::DoNotOptimize(f(x, out));
  finish(st, t0);
}

void BM_cpp(benchmark::State& st, bool tuple) {
  Calls& c = calls();
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) benchmark::DoNotOptimize(cpp_loop(c.x.data(), c.out.data(), kN, tuple));
  finish(st, t0);
}

}  // namespace

void register_call_benchmarks() {
  auto reg = [](const char* name, auto fn) {
    benchmark::RegisterBenchmark(name, fn)->UseRealTime()->Unit(benchmark::kMicrosecond);
  };
  reg("calls/helper/threads:1", [](benchmark::State& st) { BM_numjit(st, "helper"); });
  reg("calls/inline/threads:1", [](benchmark::State& st) { BM_numjit(st, "inline"); });
  reg("calls/cpp/threads:1", [](benchmark::State& st) { BM_cpp(st, false); });
  reg("calls/helper-tuple/threads:1", [](benchmark::State& st) { BM_numjit(st, "helper_tuple"); });
  reg("calls/inline-tuple/threads:1", [](benchmark::State& st) { BM_numjit(st, "inline_tuple"); });
  reg("calls/cpp-tuple/threads:1", [](benchmark::State& st) { BM_cpp(st, true); });
}

}  // namespace numjit_bench
