// The workload kernels as compile-latency subjects (issue 5 item 6), shared
// by numjit_bench's compile/* benchmarks (bench/compile_latency.cpp) and the
// fresh-process probe (bench/compile_probe.cpp), so both compile exactly the
// same source for the same argument signatures.
//
// Each kernel is an optional block of `def`s (run first) and one expression
// evaluated over small inputs (n = 64, K10's X 8 x 16): the machine code
// depends on dtypes, ranks and layout, not on n, so compiling it costs what
// it costs at n = 1e7, and the one call on 64 elements adds well under a
// microsecond (so an in-memory hit is measured, not the kernel's work).
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "numjit/numjit.hpp"

namespace numjit_bench {

struct CompileKernel {
  const char* id;    // "K1", ..., "K2-prange"
  const char* defs;  // kernel definitions run before the expression ("" if none)
  const char* expr;  // evaluated with small_args()
};

inline const std::vector<CompileKernel>& compile_kernels() {
  static const std::vector<CompileKernel> ks = {
      {"K1", "", "sum(p * q - f)"},
      {"K2", "", "(p[1:] - p[:-1]) / p[:-1]"},
      {"K3", "", "(cummax(e) - e) / cummax(e)"},
      {"K4", "", "group_sum(sym, where(p > 100, p * q, 0.0), 64)"},
      {"K5", "", "exp(-0.5 * x * x) * 0.3989422804014327 + log1p(abs(y))"},
      {"K6",
       "def ewma(x: f64[:], alpha: f64) -> f64[:]:\n"
       "    out = empty_like(x)\n"
       "    out[0] = x[0]\n"
       "    for i in range(1, len(x)):\n"
       "        out[i] = alpha * x[i] + (1 - alpha) * out[i - 1]\n"
       "    return out\n",
       "ewma(p, 0.1)"},
      {"K8", "", "((a * b + c) * d - e) / (a + 1.5) + sqrt(abs(b))"},
      {"K9",
       "def rolling_mean(x, w):\n"
       "    n = len(x)\n"
       "    out = empty(n - w + 1)\n"
       "    s = 0.0\n"
       "    for i in range(w):\n"
       "        s += x[i]\n"
       "    out[0] = s / w\n"
       "    for i in range(w, n):\n"
       "        s += x[i] - x[i - w]\n"
       "        out[i - w + 1] = s / w\n"
       "    return out\n",
       "rolling_mean(p, 20)"},
      {"K10", "", "sum(X * w, axis=1)"},
      {"K2-prange",
       "def returns(p):\n"
       "    out = empty(len(p) - 1)\n"
       "    for i in prange(len(p) - 1):\n"
       "        out[i] = (p[i + 1] - p[i]) / p[i]\n"
       "    return out\n",
       "returns(p)"},
  };
  return ks;
}

inline const CompileKernel* find_compile_kernel(const std::string& id) {
  for (const auto& k : compile_kernels())
    if (id == k.id) return &k;
  return nullptr;
}

/** Small inputs for every name the kernels use (owned here, viewed by Args). */
struct SmallInputs {
  static constexpr int64_t kN = 64, kRows = 8, kCols = 16;
  std::vector<double> p, q, f, a, b, c, d, e, x, y, X, w;
  std::vector<int32_t> sym;
  SmallInputs() {
    auto fill = [](std::vector<double>& v, size_t n, double base) {
      v.resize(n);
      for (size_t i = 0; i < n; ++i) v[i] = base + double((i * 37) % 101) / 101.0;
    };
    for (auto* v : {&p, &q, &f, &a, &b, &c, &d, &e, &x, &y}) fill(*v, kN, 1.0);
    fill(X, kRows * kCols, 1.0);
    fill(w, kCols, 1.0);
    sym.resize(kN);
    for (size_t i = 0; i < sym.size(); ++i) sym[i] = int32_t(i % 64);
  }
};

/** The arguments `expr` uses, viewed from `in` (only those: eval's cache key
 *  has one entry per argument given). */
inline numjit::Args small_args(SmallInputs& in, const std::string& expr) {
  auto uses = [&](const std::string& name) {
    for (size_t i = expr.find(name); i != std::string::npos; i = expr.find(name, i + 1)) {
      const bool l = i == 0 || !isalnum(static_cast<unsigned char>(expr[i - 1]));
      const bool r = i + name.size() == expr.size() || !isalnum(static_cast<unsigned char>(expr[i + name.size()]));
      if (l && r) return true;
    }
    return false;
  };
  numjit::Args args;
  auto add = [&](const char* name, std::vector<double>& v) {
    if (uses(name)) args.emplace_back(name, numjit::Array::view(v));
  };
  add("p", in.p); add("q", in.q); add("f", in.f);
  add("a", in.a); add("b", in.b); add("c", in.c); add("d", in.d); add("e", in.e);
  add("x", in.x); add("y", in.y); add("w", in.w);
  if (uses("X")) args.emplace_back("X", numjit::Array::view(in.X.data(), numjit::DType::F64, {SmallInputs::kRows, SmallInputs::kCols}));
  if (uses("sym")) args.emplace_back("sym", numjit::Array::view(in.sym));
  return args;
}

/** Compiles (or loads) and calls kernel `k` once in `jit`: parse -> callable
 *  -> one call. The result is discarded. */
inline void compile_and_call(numjit::Jit& jit, const CompileKernel& k, const numjit::Args& args) {
  if (*k.defs) jit.run(k.defs, "<bench>");
  numjit::Value v = jit.eval(k.expr, args);
  (void)v;
}

/** Registers compile/<K>/cold, compile/<K>/memory-hit, compile/<K>/disk-hit
 *  for every kernel above, and compile/engine/cold (bench/compile_latency.cpp). */
void register_compile_benchmarks();
/** compile_scaling/... (bench/compile_scaling.cpp). */
void register_scaling_benchmarks();

/** calls/... (bench/call_cost.cpp): a small kernel called per element from a loop. */
void register_call_benchmarks();

}  // namespace numjit_bench
