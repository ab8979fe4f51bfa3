// Fault tests (SPEC section 4, issue 6): the allocator failing inside a
// kernel and inside a parallel region, errors on every worker at once, a
// .npy file cut short in its data, an unwritable, full or corrupt disk
// cache. After each the same Jit keeps working (and, in the ASan build,
// nothing leaks). The allocator fails through the runtime's test hook
// (runtime/context.h set_alloc_failure_countdown).
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>
#include <xxhash.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "numjit/numjit.hpp"
#include "tests/unit/test_util.h"
#include "runtime/context.h"

using namespace numjit;
namespace fs = std::filesystem;

namespace {

using test::error_of;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

/** Arms the allocation-failure hook for one scope: the n-th allocation
 *  through the runtime from now on fails. */
struct FailAllocation {
  explicit FailAllocation(int64_t n) { set_alloc_failure_countdown(n); }
  ~FailAllocation() { set_alloc_failure_countdown(0); }
};

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name) {
    path = fs::temp_directory_path() / fmt::format("numjit_faults_{}_{}", name, getpid());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

Options with(int threads, std::string cache_dir = "") {
  Options o;
  o.threads = threads;
  o.disk_cache = !cache_dir.empty();
  o.cache_dir = std::move(cache_dir);
  return o;
}

/** The Jit still compiles and runs something new and something cached. */
void still_works(Jit& jit, int salt) {
  std::vector<double> x(50000, 1.5);
  CHECK(jit.eval(fmt::format("sum(x * {})", salt), {{"x", x}}).scalar<double>() == 75000.0 * salt);
  CHECK(jit.eval("sum(x * 2)", {{"x", x}}).scalar<double>() == 150000.0);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

/** The cache files (.njo) in `dir`. */
std::vector<fs::path> cache_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".njo") out.push_back(e.path());
  return out;
}

}  // namespace

TEST_SUITE("faults") {

TEST_CASE("allocation failure inside a kernel is an out-of-memory error and the Jit goes on") {
  Jit jit(with(1));
  std::vector<double> x(1000, 2.0);
  jit.eval("x * 3", {{"x", x}});  // compiled before the allocator fails
  {
    FailAllocation fail(1);
    CHECK(contains(error_of([&] { jit.eval("x * 3", {{"x", x}}); }),
                   "out of memory: cannot allocate 8000 bytes for a result array"));
  }
  CHECK(jit.eval("x * 3", {{"x", x}}).array().to_vector<double>()[999] == 6.0);
  // Scratch space: a scan's first allocation is its result, the second... the
  // failure is reported whichever allocation it hits.
  for (int n = 1; n <= 3; ++n) {
    CAPTURE(n);
    std::string e;
    {
      FailAllocation fail(n);
      e = error_of([&] { jit.eval("cumsum(x) + sum(x)", {{"x", x}}); });
    }
    if (e != "(no error)") CHECK(contains(e, "out of memory: cannot allocate"));
  }
  // A kernel with loops that allocates its result.
  jit.run("def twice(x):\n    out = empty_like(x)\n    for i in range(len(x)):\n        out[i] = 2 * x[i]\n"
          "    return out\n");
  jit.set("x", Value(Array::view(x)));
  {
    FailAllocation fail(1);
    CHECK(contains(error_of([&] { jit.run("y = twice(x)"); }), "out of memory: cannot allocate 8000 bytes"));
  }
  jit.run("y = twice(x)");
  CHECK(jit.get("y").array().to_vector<double>()[0] == 4.0);
  // Arrays the script makes (zeros, load) go through the same allocator.
  {
    FailAllocation fail(1);
    CHECK(contains(error_of([&] { jit.run("z = zeros(100)"); }), "out of memory"));
  }
  still_works(jit, 3);
}

TEST_CASE("allocation failure inside a parallel region reaches the caller and the Jit goes on") {
  // Rows of 100 000 elements are reduced in 4096-element blocks: each row's
  // block partials are scratch space allocated by the worker that reduces
  // the row, inside the parallel region.
  Jit jit(with(2));
  const int64_t rows = 64, cols = 100000;
  std::vector<double> data(size_t(rows * cols), 0.5);
  Value X(Array::view(data.data(), DType::F64, {rows, cols}));
  Value want = jit.eval("sum(X, axis=1)", {{"X", X}});
  REQUIRE(want.array().to_vector<double>()[63] == 50000.0);
  int failed = 0;
  for (int n = 2; n <= 40; n += 3) {
    CAPTURE(n);
    std::string e;
    {
      FailAllocation fail(n);
      e = error_of([&] { jit.eval("sum(X, axis=1)", {{"X", X}}); });
    }
    if (e == "(no error)") continue;
    ++failed;
    CHECK(contains(e, "out of memory: cannot allocate"));
    CHECK(contains(e, "bytes of scratch space"));
    // The same call, with the allocator back, gives the same bits.
    CHECK(jit.eval("sum(X, axis=1)", {{"X", X}}).array().to_vector<double>() == want.array().to_vector<double>());
  }
  CHECK(failed > 5);
  // And a parallel prange whose kernel's allocation fails.
  jit.run("def scaled(x):\n    out = empty_like(x)\n    for i in prange(len(x)):\n        out[i] = 3 * x[i]\n"
          "    return out\n");
  std::vector<double> x(200000, 1.0);
  jit.set("x", Value(Array::view(x)));
  {
    FailAllocation fail(1);
    CHECK(contains(error_of([&] { jit.run("y = scaled(x)"); }), "out of memory: cannot allocate 1600000 bytes"));
  }
  jit.run("y = scaled(x)");
  CHECK(jit.get("y").array().to_vector<double>()[199999] == 3.0);
  still_works(jit, 5);
}

TEST_CASE("an error on every worker at once: one message, the first, and the Jit goes on") {
  Jit jit(with(2));
  std::vector<int64_t> base(200000, 2), expo(200000, -1);
  for (int round = 0; round < 20; ++round)
    CHECK(contains(error_of([&] { jit.eval("b ** e", {{"b", base}, {"e", expo}}); }),
                   "integers to negative integer powers are not allowed"));
  // Every iteration of a parallel prange fails its bounds check.
  jit.run("def shifted(x):\n    out = empty_like(x)\n    for i in prange(len(x)):\n        out[i] = x[i + len(x)]\n"
          "    return out\n");
  std::vector<double> x(200000, 1.0);
  jit.set("x", Value(Array::view(x)));
  for (int round = 0; round < 20; ++round) {
    std::string e = error_of([&] { jit.run("y = shifted(x)"); });
    // The first block's error wins: index len(x) at i = 0.
    CHECK(contains(e, "index 200000 is out of bounds for axis 0 with size 200000"));
  }
  for (auto& e : expo) e = 2;
  CHECK(jit.eval("b ** e", {{"b", base}, {"e", expo}}).array().to_vector<int64_t>()[199999] == 4);
  still_works(jit, 7);
}

TEST_CASE("a .npy file truncated in the middle of its data") {
  TempDir dir("npy");
  Jit jit(with(1));
  std::string path = dir.file("p.npy");
  jit.run(fmt::format("save(\"{}\", arange(1000) * 0.5)", path));
  fs::resize_file(path, fs::file_size(path) - 4001);
  std::string e = error_of([&] { jit.run(fmt::format("y = load(\"{}\")", path)); });
  CHECK(contains(e, fmt::format("cannot load '{}': file is truncated: expected 8000 bytes of data, found 3999", path)));
  // The variables and the Jit are as they were.
  CHECK_THROWS_AS(jit.get("y"), Error);
  jit.run(fmt::format("save(\"{}\", arange(10) * 0.5)\ny = load(\"{}\")", path, path));
  CHECK(jit.get("y").array().to_vector<double>()[9] == 4.5);
  // Cut inside the header too.
  fs::resize_file(path, 30);
  CHECK(contains(error_of([&] { jit.run(fmt::format("y = load(\"{}\")", path)); }), "cannot load"));
  still_works(jit, 11);
}

TEST_CASE("an unwritable cache directory only disables the disk cache") {
  TempDir dir("unwritable");
  std::string file = dir.file("a-file");
  write_file(file, "not a directory");
  {
    Jit jit(with(1, file + "/cache"));  // a path under a regular file
    still_works(jit, 13);
  }
  {
    Jit jit(with(1, "/proc/numjit-cache-cannot-exist"));  // even root cannot create it
    still_works(jit, 13);
  }
}

TEST_CASE("a full disk: cache writes fail, nothing half-written is left, the kernels run") {
  TempDir dir("full");
  // A file size limit of 64 bytes makes every write of an object fail with
  // EFBIG, as a full disk fails with ENOSPC.
  struct rlimit old;
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 64;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  {
    Jit jit(with(1, dir.path.string()));
    still_works(jit, 17);
  }
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  int left = 0;
  for (auto& e : fs::directory_iterator(dir.path)) {
    MESSAGE("left in the cache: " << e.path().filename().string());
    ++left;
  }
  CHECK(left == 0);
  // With room again the cache fills.
  {
    Jit jit(with(1, dir.path.string()));
    still_works(jit, 17);
  }
  CHECK(cache_files(dir.path).size() == 2);
}

TEST_CASE("corrupt cache entries are ignored, even with a valid checksum") {
  TempDir dir("corrupt");
  std::vector<double> x(50000, 1.5);
  auto run = [&] {
    Jit jit(with(1, dir.path.string()));
    CHECK(jit.eval("sum(x * 19)", {{"x", x}}).scalar<double>() == 75000.0 * 19);
    still_works(jit, 19);
  };
  run();
  auto files = cache_files(dir.path);
  REQUIRE(files.size() == 2);
  // File layout (codegen/object_cache.cpp): magic | key size | key | object
  // size | object | XXH3 of the object. Garbage in the object with a
  // checksum that matches it: the file passes every check of the cache and
  // reaches the linker.
  auto rewrite = [&](auto mangle) {
    for (auto& f : cache_files(dir.path)) {
      std::string data = read_file(f);
      uint64_t klen, olen;
      std::memcpy(&klen, data.data() + 8, 8);
      size_t at = 16 + klen;
      std::memcpy(&olen, data.data() + at, 8);
      at += 8;
      std::string object = data.substr(at, olen);
      mangle(object);
      uint64_t n = object.size(), sum = XXH3_64bits(object.data(), object.size());
      std::string out = data.substr(0, 16 + klen);
      out.append(reinterpret_cast<const char*>(&n), 8);
      out += object;
      out.append(reinterpret_cast<const char*>(&sum), 8);
      write_file(f, out);
    }
  };
  rewrite([](std::string& o) { o.assign(o.size(), '\x5a'); });  // not an object file at all
  run();
  rewrite([](std::string& o) { o.resize(64); });  // an ELF header and nothing else
  run();
  rewrite([](std::string& o) {  // the ELF header intact, the sections garbage
    for (size_t i = 64; i < o.size(); ++i) o[i] = char(i * 131);
  });
  run();
  // Plain garbage and empty files.
  for (auto& f : cache_files(dir.path)) write_file(f, "NJOBJ001 garbage");
  run();
  for (auto& f : cache_files(dir.path)) write_file(f, "");
  run();
}

}  // TEST_SUITE
