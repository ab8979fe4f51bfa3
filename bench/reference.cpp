// See reference.h.  Compiled -O3 -march=native -fno-math-errno: without
// -fno-math-errno g++ cannot vectorize sqrt.  No -ffast-math: the sums use 8
// explicit accumulators instead of letting the compiler reassociate.
#include "reference.h"

#include <bit>
#include <cmath>

namespace numjit_ref {

double k1_sum_pq_minus_f(const double* __restrict p, const double* __restrict q,
                         const double* __restrict f, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 += p[i + 0] * q[i + 0] - f[i + 0];
    s1 += p[i + 1] * q[i + 1] - f[i + 1];
    s2 += p[i + 2] * q[i + 2] - f[i + 2];
    s3 += p[i + 3] * q[i + 3] - f[i + 3];
    s4 += p[i + 4] * q[i + 4] - f[i + 4];
    s5 += p[i + 5] * q[i + 5] - f[i + 5];
    s6 += p[i + 6] * q[i + 6] - f[i + 6];
    s7 += p[i + 7] * q[i + 7] - f[i + 7];
  }
  for (; i < n; ++i) s0 += p[i] * q[i] - f[i];
  return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

void k2_returns(const double* __restrict p, double* __restrict out, int64_t n) {
  for (int64_t i = 0; i + 1 < n; ++i) out[i] = (p[i + 1] - p[i]) / p[i];
}

void k8_chain(const double* __restrict a, const double* __restrict b,
              const double* __restrict c, const double* __restrict d,
              const double* __restrict e, double* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = ((a[i] * b[i] + c[i]) * d[i] - e[i]) / (a[i] + 1.5) + std::sqrt(std::fabs(b[i]));
}

void k10_rowsum16(const double* __restrict X, const double* __restrict w,
                  double* __restrict out, int64_t rows) {
  constexpr int K = 16;
  double wl[K];
  for (int j = 0; j < K; ++j) wl[j] = w[j];
  for (int64_t r = 0; r < rows; ++r) {
    const double* __restrict x = X + r * K;
    // Four interleaved partial sums (j mod 4): one vector of products per
    // step, then a short tree -- instead of a 16-long dependent add chain.
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int j = 0; j < K; j += 4) {
      s0 += x[j + 0] * wl[j + 0];
      s1 += x[j + 1] * wl[j + 1];
      s2 += x[j + 2] * wl[j + 2];
      s3 += x[j + 3] * wl[j + 3];
    }
    out[r] = (s0 + s1) + (s2 + s3);
  }
}

double k3_block_max(const double* __restrict e, int64_t n) {
  constexpr double kNegInf = -__builtin_inf();
  double m[8] = {kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) m[j] = e[i + j] > m[j] ? e[i + j] : m[j];
  for (; i < n; ++i) m[0] = e[i] > m[0] ? e[i] : m[0];
  double r = m[0];
  for (int j = 1; j < 8; ++j) r = m[j] > r ? m[j] : r;
  return r;
}

double k3_drawdown(const double* __restrict e, double* __restrict out, int64_t n, double peak) {
  constexpr int64_t kChunk = 512;
  double run[kChunk];
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t m = n - i0 < kChunk ? n - i0 : kChunk;
    const double* __restrict x = e + i0;
    double* __restrict o = out + i0;
    for (int64_t j = 0; j < m; ++j) {  // serial: one vmaxsd per element
      peak = x[j] > peak ? x[j] : peak;
      run[j] = peak;
    }
    for (int64_t j = 0; j < m; ++j) o[j] = (run[j] - x[j]) / run[j];  // vectorized
  }
  return peak;
}

bool k4_group_sum64(const int32_t* __restrict sym, const double* __restrict p,
                    const double* __restrict q, double* __restrict table, int64_t n) {
  // In chunks: the key check and where(p > 100, p*q, 0.0) run vectorized
  // (g++ turns a ?: in the scalar loop into a jump, mispredicted half of the
  // time: 6 ns an element), then a scalar scatter-add in element order.
  constexpr int64_t kChunk = 256;
  double v[kChunk];
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t m = n - i0 < kChunk ? n - i0 : kChunk;
    const int32_t* __restrict k = sym + i0;
    const double* __restrict a = p + i0;
    const double* __restrict b = q + i0;
    uint32_t bad = 0;
    for (int64_t j = 0; j < m; ++j) bad |= static_cast<uint32_t>(k[j]) >= 64u;
    if (bad) return false;
    for (int64_t j = 0; j < m; ++j) {  // where() as a bit mask: g++ will not
      // vectorize the ?: (it does not speculate the multiply); this is the same select.
      const uint64_t mask = uint64_t(0) - uint64_t(a[j] > 100.0);
      v[j] = std::bit_cast<double>(std::bit_cast<uint64_t>(a[j] * b[j]) & mask);
    }
    for (int64_t j = 0; j < m; ++j) table[k[j]] += v[j];
  }
  return true;
}

void k5_transcendental_scalar(const double* __restrict x, const double* __restrict y,
                              double* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = std::exp(-0.5 * x[i] * x[i]) * 0.3989422804014327 + std::log1p(std::fabs(y[i]));
}

void k6_ewma(const double* __restrict x, double* __restrict out, int64_t n, double a) {
  const double b = 1 - a;
  double prev = x[0];
  out[0] = prev;
  for (int64_t i = 1; i < n; ++i) {
    prev = a * x[i] + b * prev;  // one multiply-add chain of latency per element
    out[i] = prev;
  }
}

void k9_rolling_mean(const double* __restrict x, double* __restrict out, int64_t lo, int64_t hi, int64_t w) {
  if (lo >= hi) return;
  const double wd = double(w);
  double s = 0;
  for (int64_t i = lo; i < lo + w; ++i) s += x[i];
  out[lo] = s / wd;
  for (int64_t j = lo + 1; j < hi; ++j) {
    s += x[j + w - 1] - x[j - 1];
    out[j] = s / wd;
  }
}

void triad(double* __restrict a, const double* __restrict b,
           const double* __restrict c, double s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

double readsum(const double* __restrict a, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 += a[i + 0];
    s1 += a[i + 1];
    s2 += a[i + 2];
    s3 += a[i + 3];
    s4 += a[i + 4];
    s5 += a[i + 5];
    s6 += a[i + 6];
    s7 += a[i + 7];
  }
  for (; i < n; ++i) s0 += a[i];
  return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

}  // namespace numjit_ref
