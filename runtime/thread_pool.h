// The thread pool behind parallel loops: persistent workers started once,
// each region split statically into one contiguous range of blocks per
// thread (the caller runs the first), so the first failing block of a
// region is found the same way whatever the thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace numjit {

class ThreadPool {
 public:
  /** A pool of `threads` threads in all, the calling thread included. */
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const;

  /** Runs body(t, begin, end) on thread t for its range of [0, n) and
   *  returns when all are done. Not reentrant: one region at a time (the
   *  caller holds the pool). */
  void run(int64_t n, const std::function<void(int, int64_t, int64_t)>& body);

  /** Ranges run on worker threads (not the caller) by every pool of the
   *  process so far: tests see a parallel loop really use another thread. */
  static uint64_t worker_ranges();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/** Threads to use when Options::threads is 0: NUMJIT_NUM_THREADS, else the
 *  number of cores. */
int default_thread_count();

}  // namespace numjit
