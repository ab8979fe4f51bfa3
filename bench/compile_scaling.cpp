// Compile time and memory against source size (issue 12 item 4), as
// numjit_bench's compile_scaling/* benchmarks:
//
//   compile_scaling/<shape>/<N>   a fresh `numjit --no-cache --threads 1`
//                                 process runs a generated script whose kernel
//                                 has N statements of <shape>, and calls it
//                                 once on 100 elements; the time is spawn to
//                                 exit (start-up, about 25 ms, included), the
//                                 counter peak_mb the process's peak resident
//                                 memory (wait4).
//
// The shapes:
//   chain       straight-line `y = y * y + y`, inlined into one fused
//               expression whose every node is used twice (2^N paths); N stops
//               at 400, under the array IR's height limit of 1000 operations
//   chain_loop  `t = t * t + t` on a scalar in one loop over the elements
//   independent `aK = x * K.5 + 1.0`, each its own array
//   writes      `out[i] = out[i] + x[i] * K.5` in one loop (bounds checks,
//               versioning, one long basic block)
//
// Linear means: time and peak_mb from N = 100 to N = 10 000 grow by at most
// 2 x 100 (bench/RESULTS.md has the table).
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

extern char** environ;

namespace numjit_bench {

namespace {

std::string script(const std::string& shape, int n) {
  std::string s;
  if (shape == "chain") {
    s = "def f(y):\n";
    for (int k = 0; k < n; ++k) s += "    y = y * y + y\n";
    s += "    return y\nx = random(100, seed=1) * 0.01\nprint(sum(f(x)))\n";
  } else if (shape == "chain_loop") {
    s = "def f(x):\n    out = empty_like(x)\n    for i in range(len(x)):\n        t = x[i]\n";
    for (int k = 0; k < n; ++k) s += "        t = t * t + t\n";
    s += "        out[i] = t\n    return out\nx = random(100, seed=1) * 0.0001\nprint(sum(f(x)))\n";
  } else if (shape == "independent") {
    s = "def f(x):\n";
    for (int k = 0; k < n; ++k) s += "    a" + std::to_string(k) + " = x * " + std::to_string(k) + ".5 + 1.0\n";
    s += "    return a" + std::to_string(n - 1) + "\nx = random(100, seed=1)\nprint(sum(f(x)))\n";
  } else {  // writes
    s = "def f(x):\n    out = zeros(len(x))\n    for i in range(len(x)):\n";
    for (int k = 0; k < n; ++k) s += "        out[i] = out[i] + x[i] * " + std::to_string(k) + ".5\n";
    s += "    return out\nx = random(100, seed=1)\nprint(sum(f(x)))\n";
  }
  return s;
}

std::string cli_path() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ((ec ? std::filesystem::path(".") : self.parent_path()) / "numjit").string();
}

void BM_scaling(benchmark::State& st, const std::string& shape, int n) {
  const std::string file = "/tmp/numjit-scaling-" + std::to_string(getpid()) + ".nj";
  std::ofstream(file) << script(shape, n);
  const std::string cli = cli_path();
  double peak_mb = 0;
  for (auto _ : st) {
    std::vector<std::string> args = {cli, "--no-cache", "--threads", "1", file};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    auto t0 = std::chrono::steady_clock::now();
    pid_t pid;
    if (posix_spawn(&pid, cli.c_str(), &fa, nullptr, argv.data(), environ) != 0) {
      st.SkipWithError(("cannot run " + cli).c_str());
      break;
    }
    int status = 0;
    rusage ru{};
    wait4(pid, &status, 0, &ru);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    posix_spawn_file_actions_destroy(&fa);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      st.SkipWithError((shape + " " + std::to_string(n) + ": numjit failed").c_str());
      break;
    }
    st.SetIterationTime(s);
    peak_mb = double(ru.ru_maxrss) / 1024;
  }
  st.counters["peak_mb"] = peak_mb;
  std::filesystem::remove(file);
}

}  // namespace

void register_scaling_benchmarks() {
  for (const char* shape : {"chain", "chain_loop", "independent", "writes"}) {
    std::vector<int> sizes = {10, 100, 1000, 10000};
    if (std::string(shape) == "chain") sizes = {10, 100, 400};
    for (int n : sizes) {
      std::string name = std::string("compile_scaling/") + shape + "/" + std::to_string(n);
      benchmark::RegisterBenchmark(name.c_str(), [shape, n](benchmark::State& st) { BM_scaling(st, shape, n); })
          ->UseManualTime()
          ->Iterations(n >= 1000 ? 1 : 5)
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace numjit_bench
