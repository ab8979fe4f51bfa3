// numjit_bench: the workload suite of /work/shared/BENCHMARKS.md.
//
// Benchmark names are K<id>/<impl>/threads:<T> (impl: numjit, cpp, or the
// variants cpp-scalar for K5: scalar libm calls; numjit-prange for K2 and K9
// written as prange kernels; numjit-nobounds and numjit-prange-nobounds with
// Options::boundscheck off) plus the bandwidth ceiling
// triad/cpp/threads:<T> and readsum/cpp/threads:<T>, and the compile
// latencies compile/<K>/{cold,memory-hit,disk-hit} (compile_latency.cpp;
// --benchmark_filter=compile... runs only those, without the big inputs).
// The loop kernels K6 (EWMA, a = 0.1), K9 (rolling mean, window 20) and K2 as
// prange take p as input and are called through the typed fast path. All are
// registered with UseRealTime(), so Google Benchmark reports them with a
// "/real_time" suffix (K1/numjit/threads:1/real_time); bench/ratios.py strips
// it and computes the numjit/cpp ratios:
//
//   ./numjit_bench --benchmark_repetitions=10 --benchmark_format=json > r.json
//   python3 bench/ratios.py r.json
//
// Inputs, n = 10'000'000 (NUMJIT_BENCH_N=<n> overrides it), all drawn in this
// order from one std::mt19937_64(42):
//   K1, K2, K8: p q f a b c d e, f64 uniform in [1, 2); K10: X (n/10, 16) and
//   w (16,), the same;
//   K3: e3, a positive random walk: l += 0.002 * (u - 0.5), e3 = 100 * exp(l),
//       u uniform in [0, 1);
//   K4: p4 f64 uniform in [90, 110) (about half pass p > 100), q of K1, and
//       sym i32 uniform in [0, 64);
//   K5: x5, y5 f64 uniform in [-4, 4);
//   K7: the first 1000 elements of p, q, f (K1 at n = 1000, in microseconds).
// They are allocated once, shared by every benchmark, and viewed by numjit
// (no copies). Before anything is timed each numjit result is checked against
// the C++ reference at every thread count that is benchmarked (K3 exactly,
// K4 to 1e-10 relative since the references add the per-thread tables in
// another order, K5 to 1e-12 relative since libm and libmvec may differ by an
// ulp or so); a mismatch exits with status 1.
//
// The references at T threads split [0, n) into T contiguous std::thread
// blocks (blocks()); K3 is a two-pass block scan (per-block max, exclusive
// scan of the block maxima, every block rescanned from its carry), K4 sums
// into per-thread 64-entry tables added in thread order.
//
// Counters: bytes_per_second (bytes read + written per iteration, each input
// array counted once) and ns_per_elem (K10: per element of X).
#include <benchmark/benchmark.h>

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "compile_kernels.h"
#include "numjit/numjit.hpp"
#include "reference.h"

namespace {

// ---------------------------------------------------------------- inputs --

/** Storage as numjit's own arrays (and NumPy's) get it: 64-byte-aligned,
 *  and from 4 MiB on 2 MiB-aligned with MADV_HUGEPAGE (runtime/helpers.cpp). */
template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr size_t kHugeMin = size_t(4) << 20, kHuge = size_t(2) << 20;
  AlignedAllocator() = default;
  template <class U> AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(size_t n) {
    size_t bytes = n * sizeof(T);
    if (bytes < kHugeMin) return static_cast<T*>(::operator new(bytes, std::align_val_t{64}));
    bytes = (bytes + kHuge - 1) / kHuge * kHuge;
    void* p = std::aligned_alloc(kHuge, bytes);
    if (!p) throw std::bad_alloc();
    madvise(p, bytes, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugeMin) ::operator delete(p, std::align_val_t{64});
    else std::free(p);
  }
  template <class U> bool operator==(const AlignedAllocator<U>&) const { return true; }
};
using Buf = std::vector<double, AlignedAllocator<double>>;
using BufI32 = std::vector<int32_t, AlignedAllocator<int32_t>>;

constexpr int64_t kCols = 16;        // K10 row length
constexpr int64_t kDefaultN = 10'000'000;
constexpr int64_t kK7N = 1000;       // K7: call overhead, K1 at this n
constexpr int kGroups = 64;          // K4

struct Inputs {
  int64_t n = 0;     // length of the 1-D arrays
  int64_t rows = 0;  // K10: X is (rows, kCols)
  Buf p, q, f;       // K1, K2 (p)
  Buf a, b, c, d, e; // K8
  Buf X, w;          // K10
  Buf e3;            // K3
  Buf p4;            // K4 (with q)
  BufI32 sym;        // K4 keys
  Buf x5, y5;        // K5
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
    // (Drawn after the inputs above, so those keep the values they had
    // before K3-K5 were added.)
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    r.e3.resize(size_t(r.n));
    double l = 0;
    for (double& x : r.e3) {
      l += 0.002 * (u01(gen) - 0.5);
      x = 100.0 * std::exp(l);
    }
    std::uniform_real_distribution<double> around100(90.0, 110.0);
    r.p4.resize(size_t(r.n));
    for (double& x : r.p4) x = around100(gen);
    std::uniform_int_distribution<int32_t> key(0, kGroups - 1);
    r.sym.resize(size_t(r.n));
    for (int32_t& k : r.sym) k = key(gen);
    std::uniform_real_distribution<double> pm4(-4.0, 4.0);
    r.x5.resize(size_t(r.n));
    r.y5.resize(size_t(r.n));
    for (double& x : r.x5) x = pm4(gen);
    for (double& y : r.y5) y = pm4(gen);
    r.out.assign(size_t(r.n), 0.0);
    r.out_rows.assign(size_t(r.rows), 0.0);
    return r;
  }();
  return in;
}

numjit::Array view(Buf& v) { return numjit::Array::view(v.data(), numjit::DType::F64, {int64_t(v.size())}); }
numjit::Array view(BufI32& v) { return numjit::Array::view(v.data(), numjit::DType::I32, {int64_t(v.size())}); }
numjit::Array view_prefix(Buf& v, int64_t len) { return numjit::Array::view(v.data(), numjit::DType::F64, {len}); }
numjit::Array view2(Buf& v, int64_t rows, int64_t cols) {
  return numjit::Array::view(v.data(), numjit::DType::F64, {rows, cols});
}

/** One Jit per thread count (and bounds-check setting), created on first use. */
numjit::Jit& jit_for(int threads, bool boundscheck = true) {
  static std::map<std::pair<int, bool>, std::unique_ptr<numjit::Jit>> jits;
  auto& j = jits[{threads, boundscheck}];
  if (!j) {
    numjit::Options opts;  // (not Options{.threads = T}: -Wextra warns about the other fields)
    opts.threads = threads;
    opts.boundscheck = boundscheck;
    j = std::make_unique<numjit::Jit>(opts);
  }
  return *j;
}

// --------------------------------------------------------------- kernels --

const char* const kK1 = "sum(p * q - f)";
const char* const kK2 = "(p[1:] - p[:-1]) / p[:-1]";
const char* const kK8 = "((a * b + c) * d - e) / (a + 1.5) + sqrt(abs(b))";
const char* const kK10 = "sum(X * w, axis=1)";
// K3 as one eval: peak = cummax(e) appears twice (numjit computes it once).
const char* const kK3 = "(cummax(e) - e) / cummax(e)";
const char* const kK4 = "group_sum(sym, where(p > 100, p * q, 0.0), 64)";
const char* const kK5 = "exp(-0.5 * x * x) * 0.3989422804014327 + log1p(abs(y))";

// Loop kernels (issue 4): K6 and K9 have no array form; K2 also as prange.
constexpr double kK6Alpha = 0.1;
constexpr int64_t kK9Window = 20;
constexpr int64_t kK9Block = 65536;  // K9's prange kernel: outputs per block
const char* const kLoopKernels = R"(
def ewma(x: f64[:], alpha: f64) -> f64[:]:
    out = empty_like(x)
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = alpha * x[i] + (1 - alpha) * out[i - 1]
    return out

def rolling_mean(x, w, out):
    n = len(x)
    s = 0.0
    for i in range(w):
        s += x[i]
    out[0] = s / w
    for i in range(w, n):
        s += x[i] - x[i - w]
        out[i - w + 1] = s / w
    return s

def rolling_mean_blocks(x, w, out):
    m = len(x) - w + 1
    for b in prange((m + 65535) // 65536):
        lo = b * 65536
        hi = min(lo + 65536, m)
        s = 0.0
        for i in range(lo, lo + w):
            s += x[i]
        out[lo] = s / w
        for i in range(lo + 1, hi):
            s += x[i + w - 1] - x[i - 1]
            out[i] = s / w
    return m

def returns(p):
    out = empty(len(p) - 1)
    for i in prange(len(p) - 1):
        out[i] = (p[i + 1] - p[i]) / p[i]
    return out
)";

/** The loop kernels bound through the typed fast path (Jit::function) of
 *  one Jit: a call is the kernel plus a few tens of nanoseconds.
 *
 *  K9 writes into the caller's output (as its C++ reference does) instead
 *  of returning a new array of n - 19 elements: the runtime's block cache
 *  (runtime/helpers.cpp) records a reused block at the size asked for, so a
 *  block once used for n - 19 elements can never again hold n, and with its
 *  four slots full every later n-element result (K2, K6, K8 ...) faulted in
 *  80 MB of fresh pages per call (K6 75.7 ms instead of 21; bench/RESULTS.md). */
struct LoopKernels {
  using In = numjit::View<const double>;
  using Out = numjit::View<double>;
  numjit::Function<numjit::Value(In, double)> ewma;
  numjit::Function<double(In, int64_t, Out)> rolling_mean;
  numjit::Function<int64_t(In, int64_t, Out)> rolling_mean_blocks;
  numjit::Function<numjit::Value(In)> returns;
};

LoopKernels& loop_kernels(int threads, bool boundscheck = true) {
  static std::map<std::pair<int, bool>, std::unique_ptr<LoopKernels>> all;
  auto& k = all[{threads, boundscheck}];
  if (!k) {
    numjit::Jit& jit = jit_for(threads, boundscheck);
    jit.run(kLoopKernels, "<bench>");
    auto lk = std::make_unique<LoopKernels>();
    lk->ewma = jit.function<numjit::Value(LoopKernels::In, double)>("ewma");
    lk->rolling_mean = jit.function<double(LoopKernels::In, int64_t, LoopKernels::Out)>("rolling_mean");
    lk->rolling_mean_blocks = jit.function<int64_t(LoopKernels::In, int64_t, LoopKernels::Out)>("rolling_mean_blocks");
    lk->returns = jit.function<numjit::Value(LoopKernels::In)>("returns");
    k = std::move(lk);
  }
  return *k;
}

numjit::Args args_k1(Inputs& in) { return {{"p", view(in.p)}, {"q", view(in.q)}, {"f", view(in.f)}}; }
numjit::Args args_k2(Inputs& in) { return {{"p", view(in.p)}}; }
numjit::Args args_k8(Inputs& in) {
  return {{"a", view(in.a)}, {"b", view(in.b)}, {"c", view(in.c)}, {"d", view(in.d)}, {"e", view(in.e)}};
}
numjit::Args args_k10(Inputs& in) { return {{"X", view2(in.X, in.rows, kCols)}, {"w", view(in.w)}}; }
numjit::Args args_k3(Inputs& in) { return {{"e", view(in.e3)}}; }
numjit::Args args_k4(Inputs& in) { return {{"sym", view(in.sym)}, {"p", view(in.p4)}, {"q", view(in.q)}}; }
numjit::Args args_k5(Inputs& in) { return {{"x", view(in.x5)}, {"y", view(in.y5)}}; }
numjit::Args args_k7(Inputs& in) {
  return {{"p", view_prefix(in.p, kK7N)}, {"q", view_prefix(in.q, kK7N)}, {"f", view_prefix(in.f, kK7N)}};
}

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
int64_t bytes_k3(const Inputs& in) { return 2 * B * in.n; }
int64_t bytes_k4(const Inputs& in) { return (2 * B + int64_t(sizeof(int32_t))) * in.n + B * kGroups; }
int64_t bytes_k5(const Inputs& in) { return 3 * B * in.n; }
int64_t bytes_k7() { return 3 * B * kK7N; }
int64_t bytes_k6(const Inputs& in) { return 2 * B * in.n; }
int64_t bytes_k9(const Inputs& in) { return B * in.n + B * (in.n - kK9Window + 1); }

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
 *  std::thread each (the caller runs the first); f(t, begin, end) runs block
 *  t; returns each block's result (so R must not be bool: vector<bool>). */
template <class F>
auto blocks_i(int T, int64_t n, F f) {
  using R = decltype(f(0, int64_t(0), int64_t(0)));
  std::vector<R> out(static_cast<size_t>(T));
  std::vector<std::thread> th;
  for (int t = 1; t < T; ++t) th.emplace_back([&, t] { out[size_t(t)] = f(t, n * t / T, n * (t + 1) / T); });
  out[0] = f(0, 0, n / T);
  for (auto& x : th) x.join();
  return out;
}
/** blocks_i without the block index: f(begin, end). */
template <class F>
auto blocks(int T, int64_t n, F f) {
  return blocks_i(T, n, [&f](int, int64_t b, int64_t e) { return f(b, e); });
}

/** K3 at T threads into out[0..n). One thread: one scan. Several: the
 *  two-pass block scan (each block's max; the carry of block t is the max of
 *  blocks 0..t-1; every block rescanned from its carry). Exact either way:
 *  max does not round. */
void ref_k3(Inputs& in, int T, double* out) {
  constexpr double kNegInf = -std::numeric_limits<double>::infinity();
  const double* e = in.e3.data();
  if (T == 1) {
    numjit_ref::k3_drawdown(e, out, in.n, kNegInf);
    return;
  }
  std::vector<double> maxes = blocks(T, in.n, [&](int64_t b, int64_t x) { return numjit_ref::k3_block_max(e + b, x - b); });
  std::vector<double> carry(size_t(T), kNegInf);
  for (int t = 1; t < T; ++t) carry[size_t(t)] = std::max(carry[size_t(t - 1)], maxes[size_t(t - 1)]);
  blocks_i(T, in.n, [&](int t, int64_t b, int64_t x) {
    return numjit_ref::k3_drawdown(e + b, out + b, x - b, carry[size_t(t)]);
  });
}

/** K4 at T threads into table[0..64): a private table per thread, added in
 *  thread order (one thread: the elements' order, as numjit). False when a
 *  key is out of range. */
bool ref_k4(Inputs& in, int T, double* table) {
  struct alignas(64) Table { double v[kGroups]; };
  std::vector<Table> part(static_cast<size_t>(T), Table{});
  std::vector<int> ok = blocks_i(T, in.n, [&](int t, int64_t b, int64_t e) {
    return int(numjit_ref::k4_group_sum64(in.sym.data() + b, in.p4.data() + b, in.q.data() + b,
                                          part[size_t(t)].v, e - b));
  });
  for (int g = 0; g < kGroups; ++g) {
    double s = part[0].v[g];
    for (int t = 1; t < T; ++t) s += part[size_t(t)].v[g];
    table[g] = s;
  }
  return std::all_of(ok.begin(), ok.end(), [](int x) { return x != 0; });
}

/** K5 at T threads into out[0..n), libmvec (vec) or scalar libm. */
void ref_k5(Inputs& in, int T, double* out, bool vec) {
  blocks(T, in.n, [&](int64_t b, int64_t e) {
    (vec ? numjit_ref::k5_transcendental : numjit_ref::k5_transcendental_scalar)(in.x5.data() + b, in.y5.data() + b,
                                                                                 out + b, e - b);
    return 0;
  });
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

void BM_K3_numjit(benchmark::State& st, int threads) {
  Inputs& in = inputs();
  run_numjit(st, threads, kK3, args_k3(in), bytes_k3(in), in.n);
}
void BM_K3_cpp(benchmark::State& st, int T) {
  Inputs& in = inputs();
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    ref_k3(in, T, in.out.data());
    benchmark::DoNotOptimize(in.out.data());
    benchmark::ClobberMemory();
  }
  set_counters(st, t0, bytes_k3(in), in.n);
}

void BM_K4_numjit(benchmark::State& st, int threads) {
  Inputs& in = inputs();
  run_numjit(st, threads, kK4, args_k4(in), bytes_k4(in), in.n);
}
void BM_K4_cpp(benchmark::State& st, int T) {
  Inputs& in = inputs();
  double table[kGroups];
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    if (!ref_k4(in, T, table)) {
      st.SkipWithError("K4 reference: key out of range");
      return;
    }
    benchmark::DoNotOptimize(table);
    benchmark::ClobberMemory();
  }
  set_counters(st, t0, bytes_k4(in), in.n);
}

void BM_K5_numjit(benchmark::State& st, int threads) {
  Inputs& in = inputs();
  run_numjit(st, threads, kK5, args_k5(in), bytes_k5(in), in.n);
}
void BM_K5_cpp(benchmark::State& st, int T, bool vec) {
  Inputs& in = inputs();
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    ref_k5(in, T, in.out.data(), vec);
    benchmark::DoNotOptimize(in.out.data());
    benchmark::ClobberMemory();
  }
  set_counters(st, t0, bytes_k5(in), in.n);
}

/** K7, call overhead: K1 at n = 1000, one call per iteration (the arguments
 *  are built once, outside the loop, as for the other kernels). */
void BM_K7_numjit(benchmark::State& st, int threads) {
  Inputs& in = inputs();
  run_numjit(st, threads, kK1, args_k7(in), bytes_k7(), kK7N);
}
void BM_K7_cpp(benchmark::State& st) {
  Inputs& in = inputs();
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    double r = numjit_ref::k1_sum_pq_minus_f(in.p.data(), in.q.data(), in.f.data(), kK7N);
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
  set_counters(st, t0, bytes_k7(), kK7N);
}

/** Times a typed-fast-path call returning an array (one call compiled
 *  and checked already by verify()). */
template <class F>
void run_loop_kernel(benchmark::State& st, F call, int64_t bytes, int64_t elems) {
  try {
    numjit::Value warm = call();
    (void)warm;
  } catch (const std::exception& ex) {
    st.SkipWithError(ex.what());
    return;
  }
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    numjit::Value v = call();
    void* data = v.array().raw_data();
    benchmark::DoNotOptimize(data);
    benchmark::ClobberMemory();
  }
  set_counters(st, t0, bytes, elems);
}

/** K7 for a loop kernel: jit.eval("ewma(p, 0.1)") at n = 1000 against the
 *  same kernel through the typed fast path (Jit::function); the difference
 *  is eval's overhead for a call of a kernel with loops. */
void BM_K7_loop_eval(benchmark::State& st) {
  Inputs& in = inputs();
  loop_kernels(1);  // defines ewma in jit_for(1)
  numjit::Args args{{"p", view_prefix(in.p, kK7N)}};
  run_numjit(st, 1, "ewma(p, 0.1)", args, 2 * B * kK7N, kK7N);
}
void BM_K7_loop_fn(benchmark::State& st) {
  Inputs& in = inputs();
  LoopKernels& k = loop_kernels(1);
  numjit::View<const double> p(in.p.data(), kK7N);
  run_loop_kernel(st, [&] { return k.ewma(p, kK6Alpha); }, 2 * B * kK7N, kK7N);
}
void BM_K6_numjit(benchmark::State& st, bool boundscheck) {
  Inputs& in = inputs();
  LoopKernels& k = loop_kernels(1, boundscheck);
  run_loop_kernel(st, [&] { return k.ewma(in.p, kK6Alpha); }, bytes_k6(in), in.n);
}
void BM_K6_cpp(benchmark::State& st) {
  Inputs& in = inputs();
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    numjit_ref::k6_ewma(in.p.data(), in.out.data(), in.n, kK6Alpha);
    benchmark::DoNotOptimize(in.out.data());
    benchmark::ClobberMemory();
  }
  set_counters(st, t0, bytes_k6(in), in.n);
}

/** K9 at T threads into out[0..n-w+1): T contiguous output blocks. */
void ref_k9(Inputs& in, int T, double* out) {
  blocks(T, in.n - kK9Window + 1, [&](int64_t b, int64_t e) {
    numjit_ref::k9_rolling_mean(in.p.data(), out, b, e, kK9Window);
    return 0;
  });
}
/** K9 into the caller's buffer (pre-faulted, as the reference's): the
 *  sequential kernel (blocked = false, one thread) or the prange one over
 *  65536-output blocks. */
void BM_K9_numjit(benchmark::State& st, int threads, bool blocked, bool boundscheck = true) {
  Inputs& in = inputs();
  LoopKernels& k = loop_kernels(threads, boundscheck);
  numjit::View<double> out(in.out.data(), in.n - kK9Window + 1);
  try {
    blocked ? double(k.rolling_mean_blocks(in.p, kK9Window, out)) : k.rolling_mean(in.p, kK9Window, out);
  } catch (const std::exception& ex) {
    st.SkipWithError(ex.what());
    return;
  }
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    double r = blocked ? double(k.rolling_mean_blocks(in.p, kK9Window, out)) : k.rolling_mean(in.p, kK9Window, out);
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
  set_counters(st, t0, bytes_k9(in), in.n - kK9Window + 1);
}
void BM_K9_cpp(benchmark::State& st, int T) {
  Inputs& in = inputs();
  const Clock::time_point t0 = Clock::now();
  for (auto _ : st) {
    ref_k9(in, T, in.out.data());
    benchmark::DoNotOptimize(in.out.data());
    benchmark::ClobberMemory();
  }
  set_counters(st, t0, bytes_k9(in), in.n - kK9Window + 1);
}

/** K2 written as a prange kernel (`returns` above), against K2/cpp. */
void BM_K2_prange(benchmark::State& st, int threads, bool boundscheck) {
  Inputs& in = inputs();
  LoopKernels& k = loop_kernels(threads, boundscheck);
  run_loop_kernel(st, [&] { return k.returns(in.p); }, bytes_k2(in), in.n - 1);
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

/** Compares got[0..len) with want[0..len) (rtol 0: bit for bit); prints the
 *  first mismatch, or the largest relative difference. */
bool check_buf(const std::string& id, const double* got, const double* want, int64_t len, double rtol) {
  double max_rel = 0;
  for (int64_t i = 0; i < len; ++i) {
    if (!approx_equal(got[i], want[i], rtol)) {
      std::fprintf(stderr, "verify %s: FAILED at [%lld]: got %.17g, reference %.17g\n", id.c_str(), (long long)i,
                   got[i], want[i]);
      return false;
    }
    if (got[i] != want[i]) max_rel = std::max(max_rel, std::fabs(got[i] - want[i]) / std::fabs(want[i]));
  }
  std::fprintf(stderr, "verify %s: ok (%lld elements, max rel diff %.3g)\n", id.c_str(), (long long)len, max_rel);
  return true;
}

/** Compares a 1-D f64 numjit result with want[0..len); prints the first mismatch. */
bool check_array(const std::string& id_, const numjit::Value& v, const double* want, int64_t len, double rtol) {
  const char* id = id_.c_str();
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
  if (arr.is_contiguous()) return check_buf(id_, arr.data<double>(), want, len, rtol);
  std::vector<double> got = arr.to_vector<double>();
  return check_buf(id_, got.data(), want, len, rtol);
}

bool check_scalar(const std::string& id, double got, double want, double rtol) {
  const bool ok = approx_equal(got, want, rtol);
  std::fprintf(stderr, "verify %s: %s (numjit %.17g, reference %.17g)\n", id.c_str(), ok ? "ok" : "FAILED", got, want);
  return ok;
}

/** Runs every numjit kernel once at `threads` threads (this also compiles
 *  it) and checks it against the reference at the same thread count; the
 *  threaded references of K3, K4 and K5 are checked against their one-thread
 *  form too. */
bool verify(int threads) {
  Inputs& in = inputs();
  numjit::Jit& jit = jit_for(threads);
  const std::string t = " (threads:" + std::to_string(threads) + ")";
  bool ok = true;
  try {
    ok &= check_scalar("K1" + t, jit.eval(kK1, args_k1(in)).scalar<double>(),
                       numjit_ref::k1_sum_pq_minus_f(in.p.data(), in.q.data(), in.f.data(), in.n), 1e-9);

    numjit_ref::k2_returns(in.p.data(), in.out.data(), in.n);
    ok &= check_array("K2" + t, jit.eval(kK2, args_k2(in)), in.out.data(), in.n - 1, 1e-12);

    numjit_ref::k8_chain(in.a.data(), in.b.data(), in.c.data(), in.d.data(), in.e.data(),
                         in.out.data(), in.n);
    ok &= check_array("K8" + t, jit.eval(kK8, args_k8(in)), in.out.data(), in.n, 1e-12);

    numjit_ref::k10_rowsum16(in.X.data(), in.w.data(), in.out_rows.data(), in.rows);
    ok &= check_array("K10" + t, jit.eval(kK10, args_k10(in)), in.out_rows.data(), in.rows, 1e-12);

    // K3: exact (max does not round; the division is the same IEEE op).
    ref_k3(in, threads, in.out.data());
    if (threads > 1) {
      Buf one(size_t(in.n));
      ref_k3(in, 1, one.data());
      ok &= check_buf("K3 cpp two-pass vs one pass" + t, in.out.data(), one.data(), in.n, 0.0);
    }
    ok &= check_array("K3" + t, jit.eval(kK3, args_k3(in)), in.out.data(), in.n, 0.0);

    // K4: the per-thread tables add in another order than numjit's one pass.
    double table[kGroups];
    if (!ref_k4(in, threads, table)) {
      std::fprintf(stderr, "verify K4: reference found a key out of range\n");
      return false;
    }
    if (threads > 1) {
      double one[kGroups];
      ref_k4(in, 1, one);
      ok &= check_buf("K4 cpp per-thread tables vs one table" + t, table, one, kGroups, 1e-10);
    }
    ok &= check_array("K4" + t, jit.eval(kK4, args_k4(in)), table, kGroups, 1e-10);

    // K5: libmvec against libm in numjit and in the references.
    ref_k5(in, threads, in.out.data(), /*vec=*/true);
    {
      Buf scalar(size_t(in.n));
      ref_k5(in, threads, scalar.data(), /*vec=*/false);
      ok &= check_buf("K5 cpp libmvec vs cpp-scalar libm" + t, in.out.data(), scalar.data(), in.n, 1e-12);
    }
    ok &= check_array("K5" + t, jit.eval(kK5, args_k5(in)), in.out.data(), in.n, 1e-12);

    // Loop kernels, through the typed fast path, bit for bit (the same
    // operations in the same order), with and without bounds checks.
    for (bool bc : {true, false}) {
      LoopKernels& lk = loop_kernels(threads, bc);
      const std::string v = bc ? "" : " nobounds";
      numjit_ref::k2_returns(in.p.data(), in.out.data(), in.n);
      ok &= check_array("K2 prange" + v + t, lk.returns(in.p), in.out.data(), in.n - 1, 0.0);
      if (threads == 1) {
        numjit_ref::k6_ewma(in.p.data(), in.out.data(), in.n, kK6Alpha);
        ok &= check_array("K6" + v + t, lk.ewma(in.p, kK6Alpha), in.out.data(), in.n, 0.0);
      }
    }
    {
      LoopKernels& lk = loop_kernels(threads);
      const int64_t m = in.n - kK9Window + 1;
      Buf got(static_cast<size_t>(m), -1.0);
      numjit::View<double> out(got.data(), m);
      if (threads == 1) {
        ref_k9(in, 1, in.out.data());
        lk.rolling_mean(in.p, kK9Window, out);
        ok &= check_buf("K9" + t, got.data(), in.out.data(), m, 0.0);
      }
      // The blocked kernel restarts its window sum every 65536 outputs, the
      // reference at each of its T blocks: the sums round differently.
      ref_k9(in, threads, in.out.data());
      std::fill(got.begin(), got.end(), -1.0);
      lk.rolling_mean_blocks(in.p, kK9Window, out);
      ok &= check_buf("K9 prange blocks" + t, got.data(), in.out.data(), m, 1e-9);
      if (threads > 1) {
        Buf one(static_cast<size_t>(m));
        ref_k9(in, 1, one.data());
        ok &= check_buf("K9 cpp blocks vs one pass" + t, in.out.data(), one.data(), m, 1e-9);
      }
    }

    ok &= check_scalar("K7" + t, jit.eval(kK1, args_k7(in)).scalar<double>(),
                       numjit_ref::k1_sum_pq_minus_f(in.p.data(), in.q.data(), in.f.data(), kK7N), 1e-12);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "verify%s: numjit failed: %s\n", t.c_str(), ex.what());
    return false;
  }
  return ok;
}

/** 1, and every core when there are several. */
std::vector<int> thread_counts() {
  std::vector<int> counts = {1};
  if (int all = int(std::thread::hardware_concurrency()); all > 1) counts.push_back(all);
  return counts;
}

// ---------------------------------------------------------- registration --

void register_all() {
  auto reg = [](const std::string& name, auto fn, benchmark::TimeUnit unit = benchmark::kMillisecond) {
    benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime()->Unit(unit);
  };
  // 1 thread, and every core (when there are several): numjit and the
  // references at the same thread count.
  for (int T : thread_counts()) {
    const std::string t = "/threads:" + std::to_string(T);
    reg("K1/numjit" + t, [T](benchmark::State& st) { BM_K1_numjit(st, T); });
    reg("K1/cpp" + t, [T](benchmark::State& st) { BM_K1_cpp(st, T); });
    reg("K2/numjit" + t, [T](benchmark::State& st) { BM_K2_numjit(st, T); });
    reg("K2/cpp" + t, [T](benchmark::State& st) { BM_K2_cpp(st, T); });
    reg("K3/numjit" + t, [T](benchmark::State& st) { BM_K3_numjit(st, T); });
    reg("K3/cpp" + t, [T](benchmark::State& st) { BM_K3_cpp(st, T); });
    reg("K4/numjit" + t, [T](benchmark::State& st) { BM_K4_numjit(st, T); });
    reg("K4/cpp" + t, [T](benchmark::State& st) { BM_K4_cpp(st, T); });
    reg("K5/numjit" + t, [T](benchmark::State& st) { BM_K5_numjit(st, T); });
    reg("K5/cpp" + t, [T](benchmark::State& st) { BM_K5_cpp(st, T, /*vec=*/true); });
    reg("K5/cpp-scalar" + t, [T](benchmark::State& st) { BM_K5_cpp(st, T, /*vec=*/false); });
    reg("K8/numjit" + t, [T](benchmark::State& st) { BM_K8_numjit(st, T); });
    reg("K8/cpp" + t, [T](benchmark::State& st) { BM_K8_cpp(st, T); });
    reg("K10/numjit" + t, [T](benchmark::State& st) { BM_K10_numjit(st, T); });
    reg("K10/cpp" + t, [T](benchmark::State& st) { BM_K10_cpp(st, T); });
    reg("K2/numjit-prange" + t, [T](benchmark::State& st) { BM_K2_prange(st, T, true); });
    reg("K2/numjit-prange-nobounds" + t, [T](benchmark::State& st) { BM_K2_prange(st, T, false); });
    reg("K9/numjit-prange" + t, [T](benchmark::State& st) { BM_K9_numjit(st, T, /*blocked=*/true); });
    reg("K9/cpp" + t, [T](benchmark::State& st) { BM_K9_cpp(st, T); });
    reg("triad/cpp" + t, [T](benchmark::State& st) { BM_triad_cpp(st, T); });
    reg("readsum/cpp" + t, [T](benchmark::State& st) { BM_readsum_cpp(st, T); });
  }
  // Sequential loop kernels: K6 (a recurrence) and K9's one-pass running
  // sum run on one thread whatever the pool has.
  reg("K6/numjit/threads:1", [](benchmark::State& st) { BM_K6_numjit(st, true); });
  reg("K6/numjit-nobounds/threads:1", [](benchmark::State& st) { BM_K6_numjit(st, false); });
  reg("K6/cpp/threads:1", [](benchmark::State& st) { BM_K6_cpp(st); });
  reg("K9/numjit/threads:1", [](benchmark::State& st) { BM_K9_numjit(st, 1, /*blocked=*/false); });
  reg("K9/numjit-nobounds/threads:1", [](benchmark::State& st) { BM_K9_numjit(st, 1, false, false); });
  // K7: call overhead at n = 1000, in microseconds. The reference is one
  // direct call (a std::thread per call would cost more than the work); numjit
  // also at all threads, where its pool must not make a small call slower.
  reg("K7/numjit/threads:1", [](benchmark::State& st) { BM_K7_numjit(st, 1); }, benchmark::kMicrosecond);
  reg("K7/cpp/threads:1", [](benchmark::State& st) { BM_K7_cpp(st); }, benchmark::kMicrosecond);
  reg("K7/numjit-loop-eval/threads:1", [](benchmark::State& st) { BM_K7_loop_eval(st); }, benchmark::kMicrosecond);
  reg("K7/numjit-loop-fn/threads:1", [](benchmark::State& st) { BM_K7_loop_fn(st); }, benchmark::kMicrosecond);
  for (int T : thread_counts())
    if (T > 1)
      reg("K7/numjit/threads:" + std::to_string(T), [T](benchmark::State& st) { BM_K7_numjit(st, T); },
          benchmark::kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
  // --benchmark_filter=compile... or calls...: only the compile-latency or
  // call-cost benchmarks, which use inputs of their own; skip the
  // 10M-element inputs and the verification of the workload kernels.
  bool compile_only = false;
  for (int i = 1; i < argc; ++i)
    for (const char* own : {"--benchmark_filter=compile", "--benchmark_filter=^compile", "--benchmark_filter=calls",
                            "--benchmark_filter=^calls"})  // compile_scaling too
      compile_only |= std::string(argv[i]).rfind(own, 0) == 0;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (compile_only) {
    numjit_bench::register_compile_benchmarks();
    numjit_bench::register_scaling_benchmarks();
    numjit_bench::register_call_benchmarks();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
  }

  Inputs& in = inputs();
  benchmark::AddCustomContext("numjit_bench.n", std::to_string(in.n));
  benchmark::AddCustomContext("numjit_bench.k10_shape", std::to_string(in.rows) + "x" + std::to_string(kCols));
  benchmark::AddCustomContext("numjit_bench.seed", "mt19937_64(42), uniform [1,2)");

  benchmark::AddCustomContext("numjit_bench.inputs",
                              "K1 K2 K8 K10 uniform [1,2); K3 e=100*exp(cumsum(0.002*(u-0.5))); "
                              "K4 p uniform [90,110), sym i32 uniform [0,64); K5 x, y uniform [-4,4); K7 n=1000");

  bool ok = true;
  for (int T : thread_counts()) ok &= verify(T);
  if (!ok) {
    std::fprintf(stderr, "numjit_bench: numjit results differ from the C++ reference; not benchmarking\n");
    return 1;
  }

  register_all();
  numjit_bench::register_compile_benchmarks();
  numjit_bench::register_scaling_benchmarks();
  numjit_bench::register_call_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
