/* numjit kernel ABI: the plain-C contract between JIT-compiled kernels and
 * the host runtime.  No C++ type and no exception crosses this boundary.
 *
 *   int32_t kernel(nj_array_view* args, int64_t nargs, nj_ctx* ctx);
 *
 * args[0 .. ninputs) are the inputs (arrays, and scalars as rank-0 views);
 * args[ninputs .. nargs) are result slots the kernel fills: it allocates each
 * result through nj_alloc_result and writes the view.  A kernel returns 0 on
 * success or a non-zero code after leaving a message in ctx (nj_fail*).
 *
 * Strides are counted in elements, not bytes; shape and strides have room
 * for rank 2, the largest rank of the language.  Booleans are one byte.
 */
#ifndef NUMJIT_RUNTIME_ABI_H
#define NUMJIT_RUNTIME_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Element types; the numbering is part of the ABI and of cache keys. */
enum nj_dtype { NJ_BOOL = 0, NJ_I32 = 1, NJ_I64 = 2, NJ_F32 = 3, NJ_F64 = 4 };

/** A strided view of memory of rank 0, 1 or 2. */
typedef struct nj_array_view {
  void* data;
  int32_t dtype;
  int32_t ndim;
  int64_t shape[2];
  int64_t strides[2]; /* in elements */
} nj_array_view;

/** Per-call context: error state and allocations (defined in runtime/). */
typedef struct nj_ctx nj_ctx;

typedef int32_t (*nj_kernel_fn)(nj_array_view* args, int64_t nargs, nj_ctx* ctx);

/** Error codes a kernel may return. */
enum nj_status {
  NJ_OK = 0,
  NJ_ERR_VALUE = 1,  /* a NumPy ValueError / IndexError equivalent */
  NJ_ERR_ALLOC = 2,  /* allocation failed or size overflowed */
};

/** Allocates a result array of `ndim` dims (64-byte aligned, C order) and
 *  fills `out`; ownership passes to the host. A rank-0 result whose `out`
 *  already has data (the typed fast path's slot) is written there instead.  Returns the data pointer, or
 *  null after recording an error in ctx. */
void* nj_alloc_result(nj_ctx* ctx, nj_array_view* out, int32_t dtype,
                      int32_t ndim, int64_t d0, int64_t d1);

/** Allocates scratch memory freed by the host when the call returns.
 *  Returns null after recording an error in ctx. */
void* nj_alloc_temp(nj_ctx* ctx, int64_t nbytes);

/** Records a fixed message (a constant string of the kernel). Returns code. */
int32_t nj_fail(nj_ctx* ctx, int32_t code, const char* msg);

/** Records "index I is out of bounds for axis A with size N" (NumPy's
 *  IndexError text), prefixed by `where` when not null. Returns an error code. */
int32_t nj_fail_index(nj_ctx* ctx, const char* where, int64_t index,
                      int64_t axis, int64_t size);

/** Records "operands could not be broadcast together with shapes (a,) (b,)"
 *  style messages for a runtime length mismatch. Returns an error code. */
int32_t nj_fail_shapes(nj_ctx* ctx, const char* what, int64_t a, int64_t b);

/** Records an out-of-range group key. Returns an error code. */
int32_t nj_fail_key(nj_ctx* ctx, int64_t key, int64_t position, int64_t ngroups);

/** One range [begin, end) of blocks of a parallel loop; returns 0 or an
 *  error code after leaving a message in ctx (a context of its own). */
typedef int32_t (*nj_task_fn)(void* closure, int64_t begin, int64_t end, nj_ctx* ctx);

/** Runs task over blocks [0, n), split into one contiguous range per pool
 *  thread (or all on the caller when there is no pool, one block, or the
 *  pool is busy). Returns 0, or the code of the failing range that comes
 *  first, whose message is moved into ctx. */
int32_t nj_parallel_for(nj_ctx* ctx, int64_t n, nj_task_fn task, void* closure);

/** The threads a parallel loop of this call may use: the pool's size, or 1
 *  without a pool and inside a parallel task (nested loops run serially). */
int64_t nj_threads(nj_ctx* ctx);

/** Combines `n` block partials of a reduction in place, pairwise over block
 *  index (ir/reduce_order.h), and returns the result in p[0]. `dtype` is
 *  the partials' NJ_F32 or NJ_F64 (f32 sums keep f64 partials and pass
 *  NJ_F64); `op` is 0 sum, 1 prod, 2 min, 3 max (NaN-propagating). */
void nj_combine_partials(void* p, int64_t n, int32_t dtype, int32_t op);

/** Integer power by squaring, shared by kernels and the interpreter; a
 *  negative exponent must have been rejected before the call. */
int64_t nj_ipow_i64(int64_t base, int64_t exp);
int32_t nj_ipow_i32(int32_t base, int32_t exp);

/** Counter-based random numbers: element `index` of stream `seed`.  The
 *  same (seed, index) always gives the same value, whatever the order or
 *  thread that asks, so random(n) fuses and parallelises deterministically. */
double nj_random_uniform(int64_t seed, int64_t index);
double nj_random_normal(int64_t seed, int64_t index);

#ifdef __cplusplus
}
#endif

#endif
