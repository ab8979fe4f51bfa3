// See reference.h.  Compiled -O3 -march=native -fno-math-errno: without
// -fno-math-errno g++ cannot vectorize sqrt.  No -ffast-math: the sums use 8
// explicit accumulators instead of letting the compiler reassociate.
#include "reference.h"

#include <immintrin.h>

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
  int64_t r = 0;
#if defined(__AVX2__)
  // Four rows a step: w stays in four registers, each row's products go
  // into one 4-lane accumulator (lane l sums columns l, l+4, l+8, l+12), and
  // the four accumulators reduce together (two hadds and a cross-lane add)
  // into one vector of four results: no per-row horizontal sum.
  const __m256d w0 = _mm256_loadu_pd(w), w1 = _mm256_loadu_pd(w + 4), w2 = _mm256_loadu_pd(w + 8),
                w3 = _mm256_loadu_pd(w + 12);
  auto row = [&](const double* x) {
    __m256d s = _mm256_mul_pd(_mm256_loadu_pd(x), w0);
    s = _mm256_add_pd(s, _mm256_mul_pd(_mm256_loadu_pd(x + 4), w1));
    s = _mm256_add_pd(s, _mm256_mul_pd(_mm256_loadu_pd(x + 8), w2));
    return _mm256_add_pd(s, _mm256_mul_pd(_mm256_loadu_pd(x + 12), w3));
  };
  for (; r + 4 <= rows; r += 4) {
    const double* x = X + r * K;
    __m256d a = row(x), b = row(x + K), c = row(x + 2 * K), d = row(x + 3 * K);
    __m256d ab = _mm256_hadd_pd(a, b);  // a0+a1 b0+b1 a2+a3 b2+b3
    __m256d cd = _mm256_hadd_pd(c, d);
    __m256d lo = _mm256_permute2f128_pd(ab, cd, 0x20), hi = _mm256_permute2f128_pd(ab, cd, 0x31);
    __m256d t = _mm256_add_pd(lo, hi);  // a b c d, each (l0+l1) + (l2+l3)
    _mm256_storeu_pd(out + r, t);
  }
#endif
  for (; r < rows; ++r) {
    const double* __restrict x = X + r * K;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int j = 0; j < K; j += 4) {
      s0 += x[j + 0] * w[j + 0];
      s1 += x[j + 1] * w[j + 1];
      s2 += x[j + 2] * w[j + 2];
      s3 += x[j + 3] * w[j + 3];
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
  int64_t i = 0;
#if defined(__AVX512F__)
  // The running max eight lanes at a time: a prefix max inside the vector in
  // three shift-and-max steps, then the max with the carried peak broadcast;
  // the peak for the next step is the last lane. Exact: max does not round.
  const __m512d ninf = _mm512_set1_pd(-__builtin_inf());
  const __m512i s1 = _mm512_set_epi64(6, 5, 4, 3, 2, 1, 0, 0), s2 = _mm512_set_epi64(5, 4, 3, 2, 1, 0, 0, 0),
                s4 = _mm512_set_epi64(3, 2, 1, 0, 0, 0, 0, 0), last = _mm512_set1_epi64(7);
  __m512d carry = _mm512_set1_pd(peak);
  for (; i + 8 <= n; i += 8) {
    __m512d x = _mm512_loadu_pd(e + i);
    __m512d m = _mm512_max_pd(x, _mm512_mask_permutexvar_pd(ninf, 0xFE, s1, x));
    m = _mm512_max_pd(m, _mm512_mask_permutexvar_pd(ninf, 0xFC, s2, m));
    m = _mm512_max_pd(m, _mm512_mask_permutexvar_pd(ninf, 0xF0, s4, m));
    m = _mm512_max_pd(m, carry);
    _mm512_storeu_pd(out + i, _mm512_div_pd(_mm512_sub_pd(m, x), m));
    carry = _mm512_permutexvar_pd(last, m);
  }
  peak = _mm512_cvtsd_f64(carry);
#elif defined(__AVX2__)
  // The same four lanes at a time (two shift-and-max steps).
  const __m256d ninf = _mm256_set1_pd(-__builtin_inf());
  __m256d carry = _mm256_set1_pd(peak);
  for (; i + 4 <= n; i += 4) {
    __m256d x = _mm256_loadu_pd(e + i);
    __m256d sh1 = _mm256_blend_pd(_mm256_permute4x64_pd(x, 0x90), ninf, 0x1);   // -inf x0 x1 x2
    __m256d m = _mm256_max_pd(x, sh1);
    __m256d sh2 = _mm256_blend_pd(_mm256_permute4x64_pd(m, 0x40), ninf, 0x3);   // -inf -inf m0 m1
    m = _mm256_max_pd(_mm256_max_pd(m, sh2), carry);
    _mm256_storeu_pd(out + i, _mm256_div_pd(_mm256_sub_pd(m, x), m));
    carry = _mm256_permute4x64_pd(m, 0xFF);
  }
  peak = _mm256_cvtsd_f64(carry);
#endif
  for (; i < n; ++i) {
    peak = e[i] > peak ? e[i] : peak;
    out[i] = (peak - e[i]) / peak;
  }
  return peak;
}

// where(p > 100, p * q, 0.0) as a bit mask: g++ turns the ?: into a jump,
// mispredicted half of the time on K4's data (6 ns an element).
static inline double where_gt100(double p, double q) {
  const uint64_t mask = uint64_t(0) - uint64_t(p > 100.0);
  return std::bit_cast<double>(std::bit_cast<uint64_t>(p * q) & mask);
}

bool k4_group_sum64(const int32_t* __restrict sym, const double* __restrict p,
                    const double* __restrict q, double* __restrict table, int64_t n) {
  // One pass: the key check folds into a flag, the add goes into one of four
  // private tables in turn (a run of equal keys no longer waits on the
  // previous add's store), the key masked to [0, 64) so a bad key cannot
  // write outside; the tables are added at the end, and a bad key makes the
  // whole result an error. (Measured on Zen 5: 9.0 ms for n = 1e7, against
  // 17 ms for a chunked variant that computes where() vectorized first.)
  alignas(64) double t[4][64] = {};
  uint32_t bad = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int j = 0; j < 4; ++j) {
      const uint32_t k = static_cast<uint32_t>(sym[i + j]);
      bad |= k >= 64u;
      t[j][k & 63u] += where_gt100(p[i + j], q[i + j]);
    }
  }
  for (; i < n; ++i) {
    const uint32_t k = static_cast<uint32_t>(sym[i]);
    bad |= k >= 64u;
    t[0][k & 63u] += where_gt100(p[i], q[i]);
  }
  for (int g = 0; g < 64; ++g) table[g] += (t[0][g] + t[1][g]) + (t[2][g] + t[3][g]);
  return bad == 0;
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
