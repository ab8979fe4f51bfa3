// The one order in which every reduction combines its elements, so results
// are bit-identical across thread counts and SIMD widths, and the reference
// interpreter can check the JIT bit for bit.
//
//   - The reduced elements, in row-major order, are cut into blocks of
//     kReduceBlock elements.
//   - Within a block, element k goes to lane k % kReduceLanes; each lane
//     folds its elements in order starting from the identity.  The lanes are
//     then combined as a tree: for w = kReduceLanes/2 ... 1, lane[l] op= lane[l+w].
//   - Block results are combined pairwise: for s = 1, 2, 4 ...:
//     p[i] op= p[i + s] for i = 0, 2s, 4s ... while i + s < nblocks.
//
// The lane count is a constant of the IR, not of the host, and the block
// size a constant of the library: threads only decide who computes a block.
//
// Accumulation dtype: an f32 *sum* (sum, the sums inside mean/var/std, dot,
// and the block partials of prange `+=`) accumulates in f64 — each f32
// element is widened exactly, the lanes, the lane tree and the block
// partials are f64 — and the f64 total is rounded to f32 once at the end.
// The error is then the final rounding (half an f32 ulp of the result) plus
// at most (128 + 5 + log2(nblocks)) * 2^-53 * sum(|x|) from the f64 order,
// under 2^-45 * sum(|x|) for any practical n; NumPy's f32 pairwise sum folds
// 16 elements per leaf in f32, bound ~(16 + log2(n/128)) * 2^-24 * sum(|x|).
// The result dtype stays f32 (NumPy's rules). Products, min and max of f32,
// and every f64 or integer reduction, accumulate in their own dtype.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/types.h"

namespace numjit {

/** The dtype the lanes and partials of a sum of `t` hold (see above). */
inline DType sum_accumulator(DType t) { return t == DType::F32 ? DType::F64 : t; }

constexpr int64_t kReduceLanes = 32;
constexpr int64_t kReduceBlock = 4096;

/** Reduces elements 0..n-1 (read through `get`) with `op` in the fixed order. */
template <class T, class Get, class Op>
T ordered_reduce(int64_t n, T identity, Get get, Op op) {
  int64_t nblocks = (n + kReduceBlock - 1) / kReduceBlock;
  if (nblocks == 0) return identity;
  std::vector<T> partial(size_t(nblocks), identity);
  for (int64_t b = 0; b < nblocks; ++b) {
    T lane[kReduceLanes];
    for (auto& l : lane) l = identity;
    int64_t begin = b * kReduceBlock, end = begin + kReduceBlock < n ? begin + kReduceBlock : n;
    for (int64_t k = begin; k < end; ++k) lane[(k - begin) % kReduceLanes] = op(lane[(k - begin) % kReduceLanes], get(k));
    for (int64_t w = kReduceLanes / 2; w >= 1; w /= 2)
      for (int64_t l = 0; l < w; ++l) lane[l] = op(lane[l], lane[l + w]);
    partial[size_t(b)] = lane[0];
  }
  for (int64_t s = 1; s < nblocks; s *= 2)
    for (int64_t i = 0; i + s < nblocks; i += 2 * s) partial[size_t(i)] = op(partial[size_t(i)], partial[size_t(i + s)]);
  return partial[0];
}

}  // namespace numjit
