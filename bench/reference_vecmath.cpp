// K5's vectorized reference (see reference.h): the same plain loop as
// k5_transcendental_scalar, in a file of its own because here exp and log1p
// are declared with GCC's simd attribute -- what glibc's <math.h> does for
// them only under -ffast-math (bits/math-vector.h) -- so g++ calls libmvec's
// _ZGVdN4v_exp / _ZGVdN4v_log1p, four lanes at a time on AVX2, while the
// arithmetic stays IEEE (no -ffast-math; same flags as reference.cpp).
// numjit maps exp and log1p to the same libmvec functions.
#include <cmath>
#include <cstdint>

#include "reference.h"

extern "C" {
__attribute__((simd("notinbranch"))) double exp(double) noexcept;
__attribute__((simd("notinbranch"))) double log1p(double) noexcept;
}

namespace numjit_ref {

void k5_transcendental(const double* __restrict x, const double* __restrict y,
                       double* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = ::exp(-0.5 * x[i] * x[i]) * 0.3989422804014327 + ::log1p(std::fabs(y[i]));
}

}  // namespace numjit_ref
