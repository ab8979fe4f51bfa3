// Runtime helpers called from JIT-compiled kernels (runtime/abi.h): memory,
// error reporting, integer powers, counter-based random numbers.
#include <fmt/format.h>

#include <sys/mman.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <atomic>
#include <mutex>
#include <new>
#include <vector>

#include "runtime/abi.h"
#include "runtime/context.h"

namespace numjit {

namespace {
std::atomic<int64_t> g_alloc_countdown{0};

bool injected_failure() {
  int64_t c = g_alloc_countdown.load(std::memory_order_relaxed);
  if (c <= 0) return false;
  return g_alloc_countdown.fetch_sub(1) == 1;
}

}  // namespace

void set_alloc_failure_countdown(int64_t n) { g_alloc_countdown.store(n); }

namespace {
// Large blocks (result arrays) are kept for reuse when freed: glibc returns
// blocks above its mmap threshold to the kernel at once, and faulting 80 MB
// of fresh pages back in costs more than the kernel that fills them (K2 and
// K8 ran 67 ms instead of 9 and 21 ms). A few blocks, up to a byte budget,
// stay mapped; an allocation takes one at most twice its size.
constexpr size_t kCacheMinBytes = size_t(1) << 20;
constexpr size_t kCacheMaxBytes = size_t(1) << 30;
constexpr size_t kCacheMaxBlocks = 4;

struct BlockCache {
  std::mutex mu;
  std::vector<std::pair<size_t, void*>> blocks;  // (capacity, memory)
  size_t bytes = 0;

  /** A block of at least n bytes (and at most 2n), with its capacity. */
  std::pair<void*, size_t> take(size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    for (size_t i = 0; i < blocks.size(); ++i) {
      auto [cap, p] = blocks[i];
      if (cap >= n && cap / 2 <= n) {
        blocks.erase(blocks.begin() + long(i));
        bytes -= cap;
        return {p, cap};
      }
    }
    return {nullptr, 0};
  }
  /** Keeps `p` of `cap` bytes, evicting the oldest blocks when full (so a
   *  program whose sizes change keeps the blocks of its recent sizes). */
  void give(size_t cap, void* p) {
    std::vector<void*> evicted;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (cap > kCacheMaxBytes) {
        evicted.push_back(p);
      } else {
        while (!blocks.empty() && (blocks.size() >= kCacheMaxBlocks || bytes + cap > kCacheMaxBytes)) {
          bytes -= blocks.front().first;
          evicted.push_back(blocks.front().second);
          blocks.erase(blocks.begin());
        }
        blocks.emplace_back(cap, p);
        bytes += cap;
      }
    }
    for (void* q : evicted) std::free(q);
  }
};

// Blocks of 4 MiB and more are 2 MiB-aligned and advised to use transparent
// huge pages, as NumPy does (numpy/core/src/multiarray/alloc.c): a stream
// over 4 KiB pages spends 9-25 % of its time on TLB misses and page faults.
constexpr size_t kHugeMinBytes = size_t(4) << 20;
constexpr size_t kHugePage = size_t(2) << 20;

void* huge_alloc(size_t cap) {
  void* p = std::aligned_alloc(kHugePage, cap);
  if (p) madvise(p, cap, MADV_HUGEPAGE);  // advice only: failure changes nothing
  return p;
}

BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache;  // never destroyed: frees may come late
  return *cache;
}
}  // namespace

std::shared_ptr<void> aligned_alloc_shared(int64_t nbytes) {
  if (nbytes < 0 || injected_failure()) return nullptr;
  size_t cap = size_t(nbytes < 64 ? 64 : (nbytes + 63) / 64 * 64);
  if (cap < kCacheMinBytes) {
    void* p = std::aligned_alloc(64, cap);
    if (!p) return nullptr;
    return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  }
  if (cap >= kHugeMinBytes) cap = (cap + kHugePage - 1) / kHugePage * kHugePage;
  auto [p, have] = block_cache().take(cap);
  if (!p) {
    p = cap >= kHugeMinBytes ? huge_alloc(cap) : std::aligned_alloc(64, cap);
    have = cap;
  }
  if (!p) return nullptr;
  return std::shared_ptr<void>(p, [have](void* q) { block_cache().give(have, q); });
}

namespace {
// Block partials of reductions, combined pairwise (ir/reduce_order.h) with
// the NaN-propagating min/max of ir/scalar_ops.h.
template <class T>
T combine_op(int32_t op, T a, T b) {
  switch (op) {
    case 0: return a + b;
    case 1: return a * b;
    case 2: return (std::isnan(b) || !(std::isnan(a) || a < b)) ? b : a;
    default: return (std::isnan(b) || !(std::isnan(a) || a > b)) ? b : a;
  }
}
// Power by squaring in unsigned arithmetic: wraps like NumPy's integers.
template <class U>
U ipow(int64_t base, int64_t exp) {
  U result = 1, b = U(base);
  for (; exp > 0; exp >>= 1, b *= b)
    if (exp & 1) result *= b;
  return result;
}

template <class T>
void combine(T* p, int64_t n, int32_t op) {
  for (int64_t s = 1; s < n; s *= 2)
    for (int64_t i = 0; i + s < n; i += 2 * s) p[i] = combine_op(op, p[i], p[i + s]);
}
}  // namespace

}  // namespace numjit

extern "C" {

void* nj_alloc_result(nj_ctx* ctx, nj_array_view* out, int32_t dtype, int32_t ndim, int64_t d0,
                      int64_t d1) {
  if (ndim == 0 && out->data) {  // the caller gave a slot for a scalar result
    out->dtype = dtype;
    out->ndim = 0;
    return out->data;
  }
  int64_t esize = numjit::dtype_size(numjit::DType(dtype));
  int64_t dims[2] = {ndim > 0 ? d0 : 1, ndim > 1 ? d1 : 1};
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0) {
      nj_fail(ctx, NJ_ERR_VALUE, "negative dimensions are not allowed");
      return nullptr;
    }
    if (d != 0 && count > std::numeric_limits<int64_t>::max() / esize / d) {
      nj_fail(ctx, NJ_ERR_ALLOC, "array is too big: its size in bytes overflows 64 bits");
      return nullptr;
    }
    count *= d;
  }
  auto mem = numjit::aligned_alloc_shared(count * esize);
  if (!mem) {
    ctx->code = NJ_ERR_ALLOC;
    ctx->message = fmt::format("out of memory: cannot allocate {} bytes for a result array", count * esize);
    return nullptr;
  }
  out->data = mem.get();
  out->dtype = dtype;
  out->ndim = ndim;
  out->shape[0] = ndim > 0 ? d0 : 0;
  out->shape[1] = ndim > 1 ? d1 : 0;
  out->strides[0] = ndim > 1 ? d1 : 1;
  out->strides[1] = 1;
  ctx->results.emplace_back(mem.get(), std::move(mem));
  return out->data;
}

void* nj_alloc_temp(nj_ctx* ctx, int64_t nbytes) {
  // Through the block cache, like results: a scan's 80 MB scratch array
  // would otherwise fault in fresh pages on every call.
  auto mem = numjit::aligned_alloc_shared(nbytes);
  if (!mem) {
    ctx->code = NJ_ERR_ALLOC;
    ctx->message = fmt::format("out of memory: cannot allocate {} bytes of scratch space", nbytes);
    return nullptr;
  }
  void* p = mem.get();
  ctx->temps.push_back(std::move(mem));
  return p;
}

int64_t nj_threads(nj_ctx* ctx) { return ctx->pool ? ctx->pool->threads() : 1; }

int32_t nj_parallel_for(nj_ctx* ctx, int64_t n, nj_task_fn task, void* closure) {
  if (n <= 0) return 0;
  std::unique_lock<std::mutex> lock;
  if (ctx->pool && ctx->pool->threads() > 1 && n > 1) lock = std::unique_lock<std::mutex>(*ctx->pool_mu, std::try_to_lock);
  if (!lock.owns_lock()) return task(closure, 0, n, ctx);
  int threads = ctx->pool->threads();
  std::vector<nj_ctx> sub(static_cast<size_t>(threads));
  std::vector<int32_t> rc(static_cast<size_t>(threads), 0);
  ctx->pool->run(n, [&](int t, int64_t begin, int64_t end) {
    try {
      rc[size_t(t)] = task(closure, begin, end, &sub[size_t(t)]);
    } catch (...) {  // nothing may unwind into a worker
      rc[size_t(t)] = nj_fail(&sub[size_t(t)], NJ_ERR_VALUE, "an exception escaped a parallel task");
    }
  });
  int32_t first = 0;
  for (size_t t = 0; t < sub.size(); ++t) {
    for (auto& tmp : sub[t].temps) ctx->temps.push_back(std::move(tmp));
    for (auto& r : sub[t].results) ctx->results.push_back(std::move(r));
    if (rc[t] != 0 && first == 0) {
      first = rc[t];
      ctx->code = sub[t].code;
      ctx->message = std::move(sub[t].message);
    }
  }
  return first;
}

int32_t nj_fail(nj_ctx* ctx, int32_t code, const char* msg) {
  ctx->code = code;
  ctx->message = msg;
  return code;
}

int32_t nj_fail_index(nj_ctx* ctx, const char* where, int64_t index, int64_t axis, int64_t size) {
  ctx->code = NJ_ERR_VALUE;
  ctx->message = fmt::format("{}index {} is out of bounds for axis {} with size {}", where ? where : "",
                             index, axis, size);
  return ctx->code;
}

int32_t nj_fail_shapes(nj_ctx* ctx, const char* what, int64_t a, int64_t b) {
  ctx->code = NJ_ERR_VALUE;
  ctx->message = fmt::format("{}operands could not be broadcast together with shapes ({},) ({},)",
                             what ? what : "", a, b);
  return ctx->code;
}

int32_t nj_fail_key(nj_ctx* ctx, int64_t key, int64_t position, int64_t ngroups) {
  ctx->code = NJ_ERR_VALUE;
  ctx->message = fmt::format("group key {} at position {} is outside [0, {})", key, position, ngroups);
  return ctx->code;
}


void nj_combine_partials(void* p, int64_t n, int32_t dtype, int32_t op) {
  if (dtype == NJ_F32) numjit::combine(static_cast<float*>(p), n, op);
  else numjit::combine(static_cast<double*>(p), n, op);
}

int64_t nj_ipow_i64(int64_t base, int64_t exp) { return numjit::ipow<uint64_t>(base, exp); }

int32_t nj_ipow_i32(int32_t base, int32_t exp) { return int32_t(numjit::ipow<uint32_t>(base, exp)); }

namespace {
// SplitMix64 finaliser over (seed, counter): a counter-based generator, so
// element i of a stream is independent of evaluation order and threads.
uint64_t mix(uint64_t seed, uint64_t counter) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ULL + counter * 0xD1B54A32D192ED03ULL + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  z = (z ^ (z >> 29)) * 0xBF58476D1CE4E5B9ULL;
  return z ^ (z >> 32);
}
double unit(uint64_t bits) { return double(bits >> 11) * 0x1.0p-53; }
}  // namespace

double nj_random_uniform(int64_t seed, int64_t index) { return unit(mix(uint64_t(seed), uint64_t(index) * 2)); }

double nj_random_normal(int64_t seed, int64_t index) {
  // Box-Muller from two uniforms of the element's own counters.
  double u1 = 1.0 - unit(mix(uint64_t(seed) ^ 0x5bd1e995ULL, uint64_t(index) * 2));
  double u2 = unit(mix(uint64_t(seed) ^ 0x5bd1e995ULL, uint64_t(index) * 2 + 1));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // extern "C"
