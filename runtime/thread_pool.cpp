// Thread pool (thread_pool.h). Workers spin briefly on a generation counter
// after each region, then sleep on a condition variable: back-to-back
// kernels launch in well under a microsecond, idle workers cost nothing.
#include "runtime/thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace numjit {

namespace {
constexpr int kSpinIterations = 20000;
std::atomic<uint64_t> g_worker_ranges{0};

inline void cpu_relax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}
}  // namespace

struct ThreadPool::Impl {
  int threads;
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake, done_cv;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};
  bool stop = false;
  int64_t n = 0;
  const std::function<void(int, int64_t, int64_t)>* body = nullptr;

  void range(int t, int64_t& begin, int64_t& end) const {
    begin = n * t / threads;
    end = n * (t + 1) / threads;
  }

  void work(int t) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t g = generation.load(std::memory_order_acquire);
      for (int spin = 0; g == seen && spin < kSpinIterations; ++spin) {
        cpu_relax();
        g = generation.load(std::memory_order_acquire);
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lock(mu);
        wake.wait(lock, [&] { return stop || generation.load() != seen; });
        if (stop) return;
        g = generation.load();
      }
      seen = g;
      int64_t b, e;
      range(t, b, e);
      if (b < e) {
        (*body)(t, b, e);
        g_worker_ranges.fetch_add(1, std::memory_order_relaxed);
      }
      if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mu);
        done_cv.notify_one();
      }
    }
  }
};

ThreadPool::ThreadPool(int threads) : impl_(std::make_unique<Impl>()) {
  impl_->threads = threads < 1 ? 1 : threads;
  for (int t = 1; t < impl_->threads; ++t) impl_->workers.emplace_back([this, t] { impl_->work(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->wake.notify_all();
  for (auto& w : impl_->workers) w.join();
}

int ThreadPool::threads() const { return impl_->threads; }

uint64_t ThreadPool::worker_ranges() { return g_worker_ranges.load(std::memory_order_relaxed); }

void ThreadPool::run(int64_t n, const std::function<void(int, int64_t, int64_t)>& body) {
  Impl& p = *impl_;
  if (p.threads == 1 || n <= 1) {
    if (n > 0) body(0, 0, n);
    return;
  }
  p.n = n;
  p.body = &body;
  p.pending.store(p.threads - 1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.generation.fetch_add(1, std::memory_order_acq_rel);
  }
  p.wake.notify_all();
  int64_t b, e;
  p.range(0, b, e);
  if (b < e) body(0, b, e);
  for (int spin = 0; p.pending.load(std::memory_order_acquire) != 0 && spin < kSpinIterations; ++spin) cpu_relax();
  if (p.pending.load(std::memory_order_acquire) != 0) {
    std::unique_lock<std::mutex> lock(p.mu);
    p.done_cv.wait(lock, [&] { return p.pending.load() == 0; });
  }
}

int default_thread_count() {
  if (const char* env = std::getenv("NUMJIT_NUM_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 1024) return int(v);
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : int(hc);
}

}  // namespace numjit
