// A host application that embeds numjit through its installed CMake package.
//
// The host owns its market data (prices, quantities, fees, int32 symbol keys,
// an n x 16 factor matrix and its weights) in ordinary std::vectors. One
// numjit::Jit compiles the workload kernels on their first call; every tick
// after that the host updates its buffers in place and calls the same kernels
// again, which reuse the machine code and read the host's memory directly
// (numjit::Array views: no copy in, one owning result out). Each result is
// checked against a plain C++ loop; any mismatch makes the exit status 1.
//
//   market_host [N]      N trades per tick (default 1,000,000)
#include <numjit/numjit.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int64_t kSymbols = 64;
constexpr int64_t kFactors = 16;
constexpr double kPriceLimit = 100.0;  // K4 counts only trades above this price
constexpr double kAlpha = 0.1;         // EWMA smoothing

/** The host's own buffers; numjit only ever sees views of them. */
struct MarketData {
  std::vector<double> price, qty, fee;
  std::vector<int32_t> symbol;  // keys in [0, kSymbols)
  int64_t rows = 0;
  std::vector<double> factors;  // rows x kFactors, row-major
  std::vector<double> weights;  // kFactors

  MarketData(int64_t n, uint64_t seed) : price(n), qty(n), fee(n), symbol(n), rows(n / kFactors) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> noise(0.0, 0.002);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::uniform_int_distribution<int32_t> sym(0, kSymbols - 1);
    double p = 100.0;
    for (int64_t i = 0; i < n; ++i) {
      p *= 1.0 + noise(rng);
      price[i] = p;
      qty[i] = 1 + std::floor(unit(rng) * 500);
      fee[i] = 0.0005 * price[i] * qty[i];
      symbol[i] = sym(rng);
    }
    factors.resize(size_t(rows * kFactors));
    for (double& x : factors) x = noise(rng) * 500;
    weights.resize(kFactors);
    for (int64_t j = 0; j < kFactors; ++j) weights[j] = 1.0 / double(j + 1);
  }

  /** A new tick: the host rewrites its buffers in place. */
  void tick(int t) {
    for (size_t i = 0; i < price.size(); ++i) {
      price[i] *= 1.0 + 0.001 * std::sin(double(i) * 0.01 + t);
      fee[i] = 0.0005 * price[i] * qty[i];
    }
    for (size_t i = 0; i < factors.size(); ++i) factors[i] = -factors[i] * 0.999;
  }
};

/** Largest error of one kernel over all ticks, in units of its tolerance. */
struct Kernel {
  Kernel(const char* name, const char* source) : name(name), source(source) {}
  const char* name;
  const char* source;
  double first_ms = 0;              // first call: compile (or disk-cache load) + run
  std::vector<double> later_ms;     // later calls: cached machine code
  double worst = 0;                 // max |got - want| / tolerance
  std::string problem;

  void record(double err_over_tol) { worst = std::max(worst, std::isnan(err_over_tol) ? 1e300 : err_over_tol); }
  bool ok() const { return problem.empty() && worst <= 1.0; }
};

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

template <class F> numjit::Value timed(Kernel& k, bool first, F&& f) {
  double t0 = now_ms();
  numjit::Value v = f();
  double dt = now_ms() - t0;
  if (first) k.first_ms = dt;
  else k.later_ms.push_back(dt);
  return v;
}

/** `got` must be an owning f64 array of `n` elements (a result, not a view). */
const double* result_array(Kernel& k, const numjit::Value& got, int64_t n) {
  if (!got.is_array() || got.array().dtype() != numjit::DType::F64 || got.array().size() != n ||
      !got.array().owns_memory() || !got.array().is_contiguous()) {
    k.problem = "result is not an owning f64 array of " + std::to_string(n) + " elements";
    return nullptr;
  }
  return got.array().data<double>();
}

// A sum of m terms, in any order, is within about m * eps * sum|term| of the
// exact value; elementwise results are within a few ulps.
constexpr double kEps = 2.220446049250313e-16;
double err(double got, double want, double tol) { return std::abs(got - want) / tol; }

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  if (n < 2 * kFactors) {
    std::fprintf(stderr, "usage: market_host [N >= %lld]\n", (long long)(2 * kFactors));
    return 2;
  }
  const int ticks = 4;

  try {
    MarketData md(n, 42);
    numjit::Jit jit;  // one JIT for the whole process; it owns the compiled code

    // A loop kernel, compiled per argument signature on its first call.
    jit.run(
        "def ewma(x, a):\n"
        "    out = empty_like(x)\n"
        "    out[0] = x[0]\n"
        "    for i in range(1, len(x)):\n"
        "        out[i] = a * x[i] + (1 - a) * out[i - 1]\n"
        "    return out\n",
        "host_kernels.nj");

    std::vector<Kernel> kernels = {
        {"K1  pnl", "sum(p * q - f)"},
        {"K2  returns", "(p[1:] - p[:-1]) / p[:-1]"},
        {"K4  group pnl", "group_sum(s, where(p > limit, p * q, 0.0), nsym)"},
        {"K10 factor score", "sum(X * w, axis=1)"},
        {"ewma(p, 0.1)", "ewma(p, 0.1)"},
    };

    for (int t = 0; t < ticks; ++t) {
      if (t > 0) md.tick(t);
      const bool first = t == 0;
      // Views of the host's memory; building them copies nothing.
      numjit::Array X = numjit::Array::view(md.factors.data(), numjit::DType::F64, {md.rows, kFactors});
      if (X.owns_memory() || X.raw_data() != md.factors.data()) kernels[3].problem = "X is not a view";
      const numjit::Args market = {{"p", md.price}, {"q", md.qty}, {"f", md.fee}};

      {  // K1: fused map-reduce, one pass over three buffers
        Kernel& k = kernels[0];
        numjit::Value v = timed(k, first, [&] { return jit.eval(k.source, market); });
        double want = 0, scale = 0;
        for (int64_t i = 0; i < n; ++i) {
          double x = md.price[i] * md.qty[i] - md.fee[i];
          want += x;
          scale += std::abs(x);
        }
        if (!v.is_scalar() || v.dtype() != numjit::DType::F64) k.problem = "not an f64 scalar";
        else k.record(err(v.scalar<double>(), want, double(n) * kEps * scale + 1e-300));
      }
      {  // K2: returns, three loads of one buffer and no temporary
        Kernel& k = kernels[1];
        numjit::Value v = timed(k, first, [&] { return jit.eval(k.source, {{"p", md.price}}); });
        if (const double* r = result_array(k, v, n - 1))
          for (int64_t i = 0; i + 1 < n; ++i) {
            double want = (md.price[i + 1] - md.price[i]) / md.price[i];
            k.record(err(r[i], want, 4 * kEps * std::abs(want) + 1e-300));
          }
      }
      {  // K4: filtered group sum over int32 symbol keys; host scalars as arguments
        Kernel& k = kernels[2];
        numjit::Value v = timed(k, first, [&] {
          return jit.eval(k.source, {{"s", md.symbol}, {"p", md.price}, {"q", md.qty},
                                     {"limit", kPriceLimit}, {"nsym", kSymbols}});
        });
        std::vector<double> want(kSymbols, 0.0), scale(kSymbols, 0.0);
        for (int64_t i = 0; i < n; ++i)
          if (md.price[i] > kPriceLimit) {
            want[md.symbol[i]] += md.price[i] * md.qty[i];
            scale[md.symbol[i]] += std::abs(md.price[i] * md.qty[i]);
          }
        if (const double* g = result_array(k, v, kSymbols))
          for (int64_t s = 0; s < kSymbols; ++s)
            k.record(err(g[s], want[s], double(n) * kEps * scale[s] + 1e-300));
      }
      {  // K10: weighted row sums of a 2-D host buffer
        Kernel& k = kernels[3];
        numjit::Value v = timed(k, first, [&] { return jit.eval(k.source, {{"X", X}, {"w", md.weights}}); });
        if (const double* r = result_array(k, v, md.rows))
          for (int64_t i = 0; i < md.rows; ++i) {
            double want = 0, scale = 0;
            for (int64_t j = 0; j < kFactors; ++j) {
              want += md.factors[i * kFactors + j] * md.weights[j];
              scale += std::abs(md.factors[i * kFactors + j] * md.weights[j]);
            }
            k.record(err(r[i], want, kFactors * kEps * scale + 1e-300));
          }
      }
      {  // EWMA: the def kernel with a loop, called through eval
        Kernel& k = kernels[4];
        numjit::Value v = timed(k, first, [&] { return jit.eval(k.source, {{"p", md.price}}); });
        if (const double* e = result_array(k, v, n)) {
          double want = md.price[0];
          for (int64_t i = 0; i < n; ++i) {
            if (i > 0) want = kAlpha * md.price[i] + (1 - kAlpha) * want;
            k.record(err(e[i], want, 64 * kEps * std::abs(want) + 1e-300));
          }
        }
      }
    }

    std::printf("numjit embedded: %lld trades, %lld x %lld factor matrix, %d ticks\n", (long long)n,
                (long long)md.rows, (long long)kFactors, ticks);
    std::printf("  %-17s %-50s %9s %9s  %s\n", "kernel", "source", "first ms", "later ms", "check");
    bool all_ok = true;
    for (Kernel& k : kernels) {
      std::sort(k.later_ms.begin(), k.later_ms.end());
      double later = k.later_ms.empty() ? 0 : k.later_ms[k.later_ms.size() / 2];
      char worst[64];
      std::snprintf(worst, sizeof worst, " (max error %.2g of tolerance)", k.worst);
      std::string check = k.ok() ? "ok" : "MISMATCH";
      check += k.problem.empty() ? worst : " (" + k.problem + ")";
      std::printf("  %-17s %-50s %9.2f %9.2f  %s\n", k.name, k.source, k.first_ms, later, check.c_str());
      all_ok = all_ok && k.ok();
    }
    std::printf("%s\n", all_ok ? "all results match the C++ reference loops"
                               : "FAILED: some results differ from the C++ reference loops");
    return all_ok ? 0 : 1;
  } catch (const numjit::Error& e) {
    std::fprintf(stderr, "numjit error:\n%s\n", e.what());
    return 1;
  }
}
