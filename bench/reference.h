// Hand-written C++ references for the numjit workload suite
// (/work/shared/BENCHMARKS.md).  Compiled -O3 -march=native -fno-math-errno
// (bench/CMakeLists.txt); plain single-threaded loops over raw pointers.
// Outputs go into caller-provided buffers.  Every kernel works on a range
// given by pointer + length, so a threaded driver can split the work into
// std::thread blocks by offsetting the pointers.
#pragma once

#include <cstdint>

namespace numjit_ref {

/** K1: sum(p*q - f) over n elements, with 8 independent accumulators. */
double k1_sum_pq_minus_f(const double* __restrict p, const double* __restrict q,
                         const double* __restrict f, int64_t n);

/** K2: out[i] = (p[i+1] - p[i]) / p[i], i < n-1 (out holds n-1 elements). */
void k2_returns(const double* __restrict p, double* __restrict out, int64_t n);

/** K8: out[i] = ((a*b + c)*d - e)/(a + 1.5) + sqrt(abs(b)). */
void k8_chain(const double* __restrict a, const double* __restrict b,
              const double* __restrict c, const double* __restrict d,
              const double* __restrict e, double* __restrict out, int64_t n);

/** K10: out[r] = sum_j X[r,j]*w[j], X row-major (rows, 16), w (16,). */
void k10_rowsum16(const double* __restrict X, const double* __restrict w,
                  double* __restrict out, int64_t rows);

/** STREAM triad: a[i] = b[i] + s*c[i]. */
void triad(double* __restrict a, const double* __restrict b,
           const double* __restrict c, double s, int64_t n);

/** Read bandwidth: sum of a[0..n), 8 independent accumulators. */
double readsum(const double* __restrict a, int64_t n);

}  // namespace numjit_ref
