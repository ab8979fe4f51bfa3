// numjit_bench: the workload suite of /work/shared/BENCHMARKS.md.
//
// Benchmark names are K<id>/<impl>/threads:<T> (impl: numjit or cpp) plus the
// bandwidth ceiling triad/cpp/threads:1 and readsum/cpp/threads:1. All are
// registered with UseRealTime(), so Google Benchmark reports them with a
// "/real_time" suffix (K1/numjit/threads:1/real_time); bench/ratios.py strips
// it and computes the numjit/cpp ratios:
//
//   ./numjit_bench --benchmark_repetitions=10 --benchmark_format=json > r.json
//   python3 bench/ratios.py r.json
//
// Inputs: f64, uniform in [1, 2) from std::mt19937_64(42), n = 10'000'000
// (K10: X (n/10, 16), w (16,)); NUMJIT_BENCH_N=<n> shrinks n for a smoke test.
// They are allocated once, shared by every benchmark, and viewed by numjit
// (no copies). Before anything is timed each numjit result is checked against
// the C++ reference; a mismatch exits with status 1.
//
// Counters: bytes_per_second (bytes read + written per iteration, each input
// array counted once) and ns_per_elem (K10: per element of X).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "numjit/numjit.hpp"
#include "reference.h"

namespace {

// ---------------------------------------------------------------- inputs --

/** 64-byte-aligned storage, as numjit's own arrays are. */
template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  AlignedAllocator() = default;
  template <class U> AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  template <class U> bool operator==(const AlignedAllocator<U>&) const { return true; }
};
using Buf = std::vector<double, AlignedAllocator<double>>;

constexpr int64_t kCols = 16;        // K10 row length
constexpr int64_t kDefaultN = 10'000'000;

struct Inputs {
  int64_t n = 0;     // length of the 1-D arrays
  int64_t rows = 0;  // K10: X is (rows, kCols)
  Buf p, q, f;       // K1, K2 (p)
  Buf a, b, c, d, e; // K8
  Buf X, w;          // K10
  Buf out;           // n: reference outputs of K2, K8, triad (pre-faulted)
  Buf out_rows;      // rows: reference output of K10
};

int64_t bench_n() {
  const char* s = std::getenv("NUMJIT_BENCH_N");
  if (!s || !*s) return kDefaultN;
  char* end = nullptr;
  long long v = std::strtoll(s, &end, 10);
  if (*end != '\0' || v < 2) {
    std::fprintf(stderr, "numjit_bench: NUMJIT_BENCH_N must be an integer >= 2, got '%s'\n", s);
    std::exit(2);
  }
  return v;
}

Inputs& inputs() {
  static Inputs in = [] {
    Inputs r;
    r.n = bench_n();
    r.rows = std::max<int64_t>(1, r.n / 10);
    std::mt19937_64 gen(42);
    std::uniform_real_distribution<double> uni(1.0, 2.0);
    auto fill = [&](Buf& v, int64_t len) {
      v.resize(size_t(len));
      for (double& x : v) x = uni(gen);
    };
    fill(r.p, r.n); fill(r.q, r.n); fill(r.f, r.n);
    fill(r.a, r.n); fill(r.b, r.n); fill(r.c, r.n); fill(r.d, r.n); fill(r.e, r.n);
    fill(r.X, r.rows * kCols); fill(r.w, kCols);
    r.out.assign(size_t(r.n), 0.0);
    r.out_rows.assign(size_t(r.rows), 0.0);
    return r;
  }();
  return in;
}

numjit::Array view(Buf& v) { return numjit::Array::view(v.data(), numjit::DType::F64, {int64_t(v.size())}); }
numjit::Array view2(Buf& v, int64_t rows, int64_t cols) {
  return numjit::Array::view(v.data(), numjit::DType::F64, {rows, cols});
}

/** One Jit per thread count, created on first use. */
numjit::Jit& jit_for(int threads) {
  static std::map<int, std::unique_ptr<numjit::Jit>> jits;
  auto& j = jits[threads];
  if (!j) {
    numjit::Options opts;  // (not Options{.threads = T}: -Wextra warns about the other fields)
    opts.threads = threads;
    j = std::make_unique<numjit::Jit>(opts);
  }
  return *j;
}

// --------------------------------------------------------------- kernels --

const char* const kK1 = "sum(p * q - f)";
const char* const kK2 = "(p[1:] - p[:-1]) / p[:-1]";
const char* const kK8 = "((a * b + c) * d - e) / (a + 1.5) + sqrt(abs(b))";
const char* const kK10 = "sum(X * w, axis=1)";

numjit::Args args_k1(Inputs& in) { return {{"p", view(in.p)}, {"q", view(in.q)}, {"f", view(in.f)}}; }
numjit::Args args_k2(Inputs& in) { return {{"p", view(in.p)}}; }
numjit::Args args_k8(Inputs& in) {
  return {{"a", view(in.a)}, {"b", view(in.b)}, {"c", view(in.c)}, {"d", view(in.d)}, {"e", view(in.e)}};
}
numjit::Args args_k10(Inputs& in) { return {{"X", view2(in.X, in.rows, kCols)}, {"w", view(in.w)}}; }

using Clock = std::chrono::steady_clock;

/** bytes_per_second (a rate over the benchmark's real time) and ns_per_elem,
 *  timed here from t0 (taken just before the timing loop) -- a kInvert rate
 *  counter would hold the same number but the console prints it with a
 *  misleading "s" unit. */
void set_counters(benchmark::State& st, Clock::time_point t0, int64_t bytes_per_iter,
                  int64_t elems_per_iter) {
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  const double iters = double(st.iterations());
  st.SetBytesProcessed(int64_t(st.iterations()) * bytes_per_iter);
  if (iters > 0 && elems_per_iter > 0) st.counters["ns_per_elem"] = ns / (iters * double(elems_per_iter));
}

constexpr int64_t B = sizeof(double);
int64_t bytes_k1(const Inputs& in) { return 3 * B * in.n; }
int64_t bytes_k2(const Inputs& in) { return B * in.n + B * (in.n - 1); }
int64_t bytes_k8(const Inputs& in) { return 6 * B * in.n; }
int64_t bytes_k10(const Inputs& in) { return B * in.rows * kCols + B * kCols + B * in.rows; }

/** Times jit.eval(expr, args) after one warm-up eval (which compiles). */
void run_numjit(benchmark::State& st, int threads, const char* expr, const numjit::Args& args,
                int64_t bytes, int64_t elems) {
  numjit::Jit& jit = jit_for(threads);
  try {
    numjit::Value warm = jit.eval(expr, args);
    (void)warm;
  } catch (const std::exception& ex) {
    st.SkipWithError(ex.what());
    return;
  }
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    numjit::Value v = jit.eval(expr, args);
    if (v.is_array()) {
      void* data = v.array().raw_data();
      benchmark::DoNotOptimize(data);
    } else {
      double r = v.scalar<double>();
      benchmark::DoNotOptimize(r);
    }
    benchmark::ClobberMemory();
  }
  set_counters(st, t0, bytes, elems);
}

/** The references at T threads: [0, n) in T contiguous blocks, one
 *  std::thread each (the caller runs the first); returns each block's result. */
template <class F>
auto blocks(int T, int64_t n, F f) {
  using R = decltype(f(int64_t(0), int64_t(0)));
  std::vector<R> out(static_cast<size_t>(T));
  std::vector<std::thread> th;
  for (int t = 1; t < T; ++t) th.emplace_back([&, t] { out[size_t(t)] = f(n * t / T, n * (t + 1) / T); });
  out[0] = f(0, n / T);
  for (auto& x : th) x.join();
  return out;
}

void BM_K1_numjit(benchmark::State& st, int threads) {
  Inputs& in = inputs();
  run_numjit(st, threads, kK1, args_k1(in), bytes_k1(in), in.n);
}
void BM_K1_cpp(benchmark::State& st, int T) {
  Inputs& in = inputs();
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    auto parts = blocks(T, in.n, [&](int64_t b, int64_t e) {
      return numjit_ref::k1_sum_pq_minus_f(in.p.data() + b, in.q.data() + b, in.f.data() + b, e - b);
    });
    double r = 0;
    for (double x : parts) r += x;
    benchmark::DoNotOptimize(r);
  }
  set_counters(st, t0, bytes_k1(in), in.n);
}

void BM_K2_numjit(benchmark::State& st, int threads) {
  Inputs& in = inputs();
  run_numjit(st, threads, kK2, args_k2(in), bytes_k2(in), in.n - 1);
}
void BM_K2_cpp(benchmark::State& st, int T) {
  Inputs& in = inputs();
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    blocks(T, in.n - 1, [&](int64_t b, int64_t e) {
      numjit_ref::k2_returns(in.p.data() + b, in.out.data() + b, e - b + 1);
      return 0;
    });
    benchmark::DoNotOptimize(in.out.data());
    benchmark::ClobberMemory();
  }
  set_counters(st, t0, bytes_k2(in), in.n - 1);
}

void BM_K8_numjit(benchmark::State& st, int threads) {
  Inputs& in = inputs();
  run_numjit(st, threads, kK8, args_k8(in), bytes_k8(in), in.n);
}
void BM_K8_cpp(benchmark::State& st, int T) {
  Inputs& in = inputs();
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    blocks(T, in.n, [&](int64_t b, int64_t e) {
      numjit_ref::k8_chain(in.a.data() + b, in.b.data() + b, in.c.data() + b, in.d.data() + b, in.e.data() + b,
                           in.out.data() + b, e - b);
      return 0;
    });
    benchmark::DoNotOptimize(in.out.data());
    benchmark::ClobberMemory();
  }
  set_counters(st, t0, bytes_k8(in), in.n);
}

void BM_K10_numjit(benchmark::State& st, int threads) {
  Inputs& in = inputs();
  run_numjit(st, threads, kK10, args_k10(in), bytes_k10(in), in.rows * kCols);
}
void BM_K10_cpp(benchmark::State& st, int T) {
  Inputs& in = inputs();
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    blocks(T, in.rows, [&](int64_t b, int64_t e) {
      numjit_ref::k10_rowsum16(in.X.data() + b * kCols, in.w.data(), in.out_rows.data() + b, e - b);
      return 0;
    });
    benchmark::DoNotOptimize(in.out_rows.data());
    benchmark::ClobberMemory();
  }
  set_counters(st, t0, bytes_k10(in), in.rows * kCols);
}

void BM_triad_cpp(benchmark::State& st, int T) {
  Inputs& in = inputs();
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    blocks(T, in.n, [&](int64_t b, int64_t e) {
      numjit_ref::triad(in.out.data() + b, in.p.data() + b, in.q.data() + b, 3.0, e - b);
      return 0;
    });
    benchmark::DoNotOptimize(in.out.data());
    benchmark::ClobberMemory();
  }
  set_counters(st, t0, 3 * B * in.n, in.n);  // STREAM convention: 2 reads + 1 write
}
void BM_readsum_cpp(benchmark::State& st, int T) {
  Inputs& in = inputs();
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    auto parts = blocks(T, in.n, [&](int64_t b, int64_t e) { return numjit_ref::readsum(in.p.data() + b, e - b); });
    double r = 0;
    for (double x : parts) r += x;
    benchmark::DoNotOptimize(r);
  }
  set_counters(st, t0, B * in.n, in.n);
}

// ------------------------------------------------------------ verification --

bool approx_equal(double got, double want, double rtol) {
  if (got == want) return true;
  if (std::isnan(got) || std::isnan(want)) return false;
  return std::fabs(got - want) <= rtol * std::max(std::fabs(got), std::fabs(want));
}

/** Compares a 1-D f64 numjit result with want[0..len); prints the first mismatch. */
bool check_array(const char* id, const numjit::Value& v, const double* want, int64_t len, double rtol) {
  if (!v.is_array()) {
    std::fprintf(stderr, "verify %s: FAILED: numjit returned a scalar, expected an array of %lld\n", id,
                 (long long)len);
    return false;
  }
  const numjit::Array& arr = v.array();
  if (arr.dtype() != numjit::DType::F64 || arr.ndim() != 1 || arr.shape()[0] != len) {
    std::string shape;
    for (int64_t s : arr.shape()) shape += (shape.empty() ? "" : ", ") + std::to_string(s);
    std::fprintf(stderr, "verify %s: FAILED: numjit returned %s (%s), expected f64 (%lld)\n", id,
                 numjit::dtype_name(arr.dtype()), shape.c_str(), (long long)len);
    return false;
  }
  const double* got = arr.is_contiguous() ? arr.data<double>() : nullptr;
  double max_rel = 0;
  for (int64_t i = 0; i < len; ++i) {
    double g = got ? got[i] : arr.at<double>(i);
    if (!approx_equal(g, want[i], rtol)) {
      std::fprintf(stderr, "verify %s: FAILED at [%lld]: numjit %.17g, reference %.17g\n", id,
                   (long long)i, g, want[i]);
      return false;
    }
    if (g != want[i]) max_rel = std::max(max_rel, std::fabs(g - want[i]) / std::fabs(want[i]));
  }
  std::fprintf(stderr, "verify %s: ok (%lld elements, max rel diff %.3g)\n", id, (long long)len, max_rel);
  return true;
}

/** Runs every numjit kernel once (this also compiles it) and checks it. */
bool verify(int threads) {
  Inputs& in = inputs();
  numjit::Jit& jit = jit_for(threads);
  bool ok = true;
  try {
    {
      double want = numjit_ref::k1_sum_pq_minus_f(in.p.data(), in.q.data(), in.f.data(), in.n);
      double got = jit.eval(kK1, args_k1(in)).scalar<double>();
      if (approx_equal(got, want, 1e-9)) {
        std::fprintf(stderr, "verify K1: ok (numjit %.17g, reference %.17g)\n", got, want);
      } else {
        std::fprintf(stderr, "verify K1: FAILED: numjit %.17g, reference %.17g\n", got, want);
        ok = false;
      }
    }
    numjit_ref::k2_returns(in.p.data(), in.out.data(), in.n);
    ok &= check_array("K2", jit.eval(kK2, args_k2(in)), in.out.data(), in.n - 1, 1e-12);

    numjit_ref::k8_chain(in.a.data(), in.b.data(), in.c.data(), in.d.data(), in.e.data(),
                         in.out.data(), in.n);
    ok &= check_array("K8", jit.eval(kK8, args_k8(in)), in.out.data(), in.n, 1e-12);

    numjit_ref::k10_rowsum16(in.X.data(), in.w.data(), in.out_rows.data(), in.rows);
    ok &= check_array("K10", jit.eval(kK10, args_k10(in)), in.out_rows.data(), in.rows, 1e-12);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "verify: numjit failed: %s\n", ex.what());
    return false;
  }
  return ok;
}

// ---------------------------------------------------------- registration --

void register_all() {
  auto reg = [](const std::string& name, auto fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime()->Unit(benchmark::kMillisecond);
  };
  // 1 thread, and every core (when there are several): numjit and the
  // references at the same thread count.
  std::vector<int> counts = {1};
  if (int all = int(std::thread::hardware_concurrency()); all > 1) counts.push_back(all);
  for (int T : counts) {
    const std::string t = "/threads:" + std::to_string(T);
    reg("K1/numjit" + t, [T](benchmark::State& st) { BM_K1_numjit(st, T); });
    reg("K1/cpp" + t, [T](benchmark::State& st) { BM_K1_cpp(st, T); });
    reg("K2/numjit" + t, [T](benchmark::State& st) { BM_K2_numjit(st, T); });
    reg("K2/cpp" + t, [T](benchmark::State& st) { BM_K2_cpp(st, T); });
    reg("K8/numjit" + t, [T](benchmark::State& st) { BM_K8_numjit(st, T); });
    reg("K8/cpp" + t, [T](benchmark::State& st) { BM_K8_cpp(st, T); });
    reg("K10/numjit" + t, [T](benchmark::State& st) { BM_K10_numjit(st, T); });
    reg("K10/cpp" + t, [T](benchmark::State& st) { BM_K10_cpp(st, T); });
    reg("triad/cpp" + t, [T](benchmark::State& st) { BM_triad_cpp(st, T); });
    reg("readsum/cpp" + t, [T](benchmark::State& st) { BM_readsum_cpp(st, T); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  Inputs& in = inputs();
  benchmark::AddCustomContext("numjit_bench.n", std::to_string(in.n));
  benchmark::AddCustomContext("numjit_bench.k10_shape", std::to_string(in.rows) + "x" + std::to_string(kCols));
  benchmark::AddCustomContext("numjit_bench.seed", "mt19937_64(42), uniform [1,2)");

  if (!verify(1)) {
    std::fprintf(stderr, "numjit_bench: numjit results differ from the C++ reference; not benchmarking\n");
    return 1;
  }

  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
