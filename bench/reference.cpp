// See reference.h.  Compiled -O3 -march=native -fno-math-errno: without
// -fno-math-errno g++ cannot vectorize sqrt.  No -ffast-math: the sums use 8
// explicit accumulators instead of letting the compiler reassociate.
#include "reference.h"

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
