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

/** K10: out[r] = sum_j X[r,j]*w[j], X row-major (rows, 16), w (16,). With
 *  AVX2, four rows a step: w in registers, one 4-lane accumulator a row,
 *  the four reduced together into one vector of results. */
void k10_rowsum16(const double* __restrict X, const double* __restrict w,
                  double* __restrict out, int64_t rows);

/** K3, pass 1 of the two-pass block scan: max of e[0..n) (-inf when n == 0),
 *  8 independent accumulators. */
double k3_block_max(const double* __restrict e, int64_t n);

/** K3, drawdown: peak = running max of e, starting from `peak`;
 *  out[i] = (peak_i - e[i]) / peak_i, in one pass over vectors: a prefix
 *  max inside each vector (shift-and-max steps), the max with the carried
 *  peak, the division; the next peak is the last lane (AVX-512: 8 lanes,
 *  AVX2: 4; otherwise scalar). Bit-exact: max does not round. Returns the
 *  final peak. One thread: peak = -inf. Several: each block starts from the
 *  max of the blocks before it (k3_block_max). */
double k3_drawdown(const double* __restrict e, double* __restrict out, int64_t n, double peak);

/** K4: table[sym[i]] += (p[i] > 100 ? p[i] * q[i] : 0.0) for i < n into
 *  table[0..64) (the caller zeroes it), in one pass that also checks every
 *  key (numjit must raise an error for a key outside [0, 64)) and adds into
 *  four private tables in turn, summed at the end. Returns false when a key
 *  was out of range (the table is then meaningless). */
bool k4_group_sum64(const int32_t* __restrict sym, const double* __restrict p,
                    const double* __restrict q, double* __restrict table, int64_t n);

/** K5 through scalar libm: out[i] = exp(-0.5*x*x) * 0.3989422804014327 +
 *  log1p(|y|), one std::exp and one std::log1p call per element (g++ does not
 *  vectorize these calls without -ffast-math). The "scalar libm" baseline. */
void k5_transcendental_scalar(const double* __restrict x, const double* __restrict y,
                              double* __restrict out, int64_t n);

/** K5 through glibc's libmvec, called explicitly in the widest variant the
 *  CPU runs (AVX-512: _ZGVeN8v_exp, _ZGVeN8v_log1p; AVX2: _ZGVdN4v_*), the
 *  arithmetic IEEE as in numjit (reference_vecmath.cpp). */
void k5_transcendental(const double* __restrict x, const double* __restrict y,
                       double* __restrict out, int64_t n);

/** K6: EWMA, out[0] = x[0], out[i] = a*x[i] + (1-a)*out[i-1] for 0 < i < n;
 *  the previous output kept in a register (n >= 1). Sequential. */
void k6_ewma(const double* __restrict x, double* __restrict out, int64_t n, double a);

/** K9: rolling mean of window w over outputs [lo, hi) (hi <= n - w + 1):
 *  out[j] = mean(x[j..j+w)) as a running sum -- the window sum of x[lo..lo+w)
 *  once, then for each later output add the entering element minus the
 *  leaving one, s += x[j+w-1] - x[j-1], and out[j] = s / w. One thread: the
 *  whole range [0, n-w+1); T threads: T contiguous output blocks, each
 *  starting its own window sum. */
void k9_rolling_mean(const double* __restrict x, double* __restrict out, int64_t lo, int64_t hi, int64_t w);

/** STREAM triad: a[i] = b[i] + s*c[i]. */
void triad(double* __restrict a, const double* __restrict b,
           const double* __restrict c, double s, int64_t n);

/** Read bandwidth: sum of a[0..n), 8 independent accumulators. */
double readsum(const double* __restrict a, int64_t n);

}  // namespace numjit_ref
