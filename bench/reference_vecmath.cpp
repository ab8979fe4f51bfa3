// K5's vectorized reference (see reference.h): what an expert writes, the
// loop over vectors calling glibc's libmvec entry points explicitly, in the
// widest variant the CPU runs (the same one numjit calls, codegen/llvm_codegen.h
// vector_math): _ZGVeN8v_exp / _ZGVeN8v_log1p with AVX-512 (8 lanes),
// _ZGVdN4v_* with AVX2 (4 lanes), else the plain loop with exp and log1p
// declared simd (g++ picks the variant; SSE2's 2 lanes on such a CPU). The
// arithmetic is IEEE (no -ffast-math, no FMA contraction), in numjit's order:
// exp((-0.5 * x) * x) * c + log1p(|y|). The remainder calls scalar libm, as
// numjit's does.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "reference.h"

extern "C" {
__attribute__((simd("notinbranch"))) double exp(double) noexcept;
__attribute__((simd("notinbranch"))) double log1p(double) noexcept;
#if defined(__AVX512F__)
__m512d _ZGVeN8v_exp(__m512d);
__m512d _ZGVeN8v_log1p(__m512d);
#elif defined(__AVX2__)
__m256d _ZGVdN4v_exp(__m256d);
__m256d _ZGVdN4v_log1p(__m256d);
#endif
}

namespace numjit_ref {

void k5_transcendental(const double* __restrict x, const double* __restrict y,
                       double* __restrict out, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  const __m512d h = _mm512_set1_pd(-0.5), c = _mm512_set1_pd(0.3989422804014327);
  for (; i + 8 <= n; i += 8) {
    __m512d xv = _mm512_loadu_pd(x + i);
    __m512d ay = _mm512_abs_pd(_mm512_loadu_pd(y + i));
    __m512d e = _ZGVeN8v_exp(_mm512_mul_pd(_mm512_mul_pd(h, xv), xv));
    _mm512_storeu_pd(out + i, _mm512_add_pd(_mm512_mul_pd(e, c), _ZGVeN8v_log1p(ay)));
  }
#elif defined(__AVX2__)
  const __m256d h = _mm256_set1_pd(-0.5), c = _mm256_set1_pd(0.3989422804014327);
  const __m256d abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
  for (; i + 4 <= n; i += 4) {
    __m256d xv = _mm256_loadu_pd(x + i);
    __m256d ay = _mm256_and_pd(_mm256_loadu_pd(y + i), abs_mask);
    __m256d e = _ZGVdN4v_exp(_mm256_mul_pd(_mm256_mul_pd(h, xv), xv));
    _mm256_storeu_pd(out + i, _mm256_add_pd(_mm256_mul_pd(e, c), _ZGVdN4v_log1p(ay)));
  }
#endif
  for (; i < n; ++i)
    out[i] = ::exp(-0.5 * x[i] * x[i]) * 0.3989422804014327 + ::log1p(std::fabs(y[i]));
}

}  // namespace numjit_ref
