// The compiled-code caches: in memory (a repeated compile is free) and on
// disk (a new engine, as in a new process, loads instead of compiling; a
// corrupt or foreign file is ignored; an unusable directory disables it).
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "codegen/jit.h"
#include "codegen/object_cache.h"
#include "frontend/parser.h"
#include "frontend/sema.h"
#include "ir/passes/fuse.h"
#include "ir/passes/lower_to_loops.h"
#include "ir/pipeline.h"
#include "runtime/context.h"

using namespace numjit;
namespace fs = std::filesystem;

namespace {

/** The loop IR of `expr` over one f64[:] input `x`. */
Kernel kernel_of(const std::string& expr) {
  auto src = std::make_shared<Source>("c.nj", expr + "\n");
  Module m = parse(src);
  Context ctx;
  Builder b(ctx, src.get());
  InputSig sig;
  sig.name = "x";
  sig.type = Type{DType::F64, 1, false};
  Scope scope;
  scope.vars["x"] = b.input(0, sig, {});
  const Node* root = lower_node(b, scope, *m.body[0]->value);
  return compile_expression({root}, {"r"}, {sig}, "k");  // the passes run() uses
}

std::string fmt_name(const std::string& name) { return "numjit_cache_" + name + "_" + std::to_string(getpid()); }

double run_sum(CompiledKernel& k, std::vector<double>& x) {
  nj_array_view views[2] = {abi_view(Array::view(x)), {}};
  nj_ctx ctx;
  REQUIRE(k.fn(views, 2, &ctx) == 0);
  return adopt_result(ctx, views[1]).at<double>();
}



}  // namespace

TEST_SUITE("cache") {

TEST_CASE("a new engine loads a kernel from the disk cache instead of compiling it") {
  fs::path dir = fs::temp_directory_path() / fmt_name("hit");
  fs::remove_all(dir);
  std::vector<double> x = {1, 2, 3.5};
  Kernel k = kernel_of("sum(x * 2)");
  {
    JitEngine a(dir.string());
    auto c = a.compile(k, {});
    CHECK(run_sum(*c, x) == 13.0);
    CHECK(a.stats().compiles == 1);
    CHECK(a.compile(k, {}) == c);  // the same kernel again is the loaded one
    CHECK(a.stats().compiles == 1);
  }
  JitEngine b(dir.string());
  auto c = b.compile(k, {});
  CHECK(b.stats().compiles == 0);
  CHECK(b.stats().disk_hits == 1);
  CHECK(run_sum(*c, x) == 13.0);
  // Other options are another key.
  CodegenOptions o0;
  o0.opt_level = 0;
  b.compile(k, o0);
  CHECK(b.stats().compiles == 1);
  fs::remove_all(dir);
}

TEST_CASE("a kernel with a parallel task is built as two objects that link, compiled or loaded, at every opt level") {
  fs::path dir = fs::temp_directory_path() / fmt_name("parts");
  fs::remove_all(dir);
  std::vector<double> x(100000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = double(i % 7) - 2.5;
  double want = 0;
  for (double v : x) want += v * 2;  // exact: small integers and halves
  Kernel k = kernel_of("sum(x * 2)");  // the kernel and the task of its blocks
  for (int level = 0; level <= 3; ++level) {
    CAPTURE(level);
    CodegenOptions o;
    o.opt_level = level;
    {
      JitEngine a(dir.string());
      CHECK(run_sum(*a.compile(k, o), x) == want);
      CHECK(a.stats().two_part == 1);
    }
    JitEngine b(dir.string());
    CHECK(run_sum(*b.compile(k, o), x) == want);
    CHECK(b.stats().disk_hits == 1);
  }
  JitEngine one("");
  one.compile(kernel_of("x + 1"), {});  // elementwise: also a kernel and a task
  one.compile(kernel_of("x[0] + 1"), {});  // one function
  CHECK(one.stats().compiles == 2);
  CHECK(one.stats().two_part == 1);
  fs::remove_all(dir);
}

TEST_CASE("the vectorizer remarks of :explain compile nothing and leave the caches alone") {
  fs::path dir = fs::temp_directory_path() / fmt_name("remarks");
  fs::remove_all(dir);
  Kernel k = kernel_of("cumsum(x) * 2");
  JitEngine e(dir.string());
  std::string remarks = e.text(k, {}, CodegenText::Remarks);
  CHECK(remarks.find(": loop-vectorize ") != std::string::npos);
  CHECK(e.stats().compiles == 0);
  CHECK(e.stats().disk_hits == 0);
  CHECK((!fs::exists(dir) || fs::is_empty(dir)));  // nothing written to disk
  e.compile(k, {});
  CHECK(e.stats().compiles == 1);  // the first real compile is a miss
  CHECK(e.text(k, {}, CodegenText::Remarks) == remarks);
  CHECK(e.stats().compiles == 1);
  fs::remove_all(dir);
}

TEST_CASE("a corrupt or truncated cache file is ignored and rewritten") {
  fs::path dir = fs::temp_directory_path() / fmt_name("corrupt");
  fs::remove_all(dir);
  std::vector<double> x = {1, 2};
  Kernel k = kernel_of("sum(x + 1)");
  { JitEngine(dir.string()).compile(k, {}); }
  int files = 0;
  for (auto& e : fs::directory_iterator(dir)) {
    ++files;
    fs::resize_file(e.path(), fs::file_size(e.path()) / 2);
  }
  CHECK(files == 1);
  {
    JitEngine e(dir.string());
    CHECK(run_sum(*e.compile(k, {}), x) == 5.0);
    CHECK(e.stats().compiles == 1);
  }
  for (auto& e : fs::directory_iterator(dir)) std::ofstream(e.path(), std::ios::binary) << "NJOBJ001 garbage";
  {
    JitEngine e(dir.string());
    CHECK(run_sum(*e.compile(k, {}), x) == 5.0);
    CHECK(e.stats().compiles == 1);
  }
  JitEngine e(dir.string());
  e.compile(k, {});
  CHECK(e.stats().disk_hits == 1);  // the rewritten file is good again
  CHECK(ObjectCache::clear(dir.string()) == 1);
  fs::remove_all(dir);
}

TEST_CASE("an unusable cache directory only disables the disk cache") {
  fs::path file = fs::temp_directory_path() / fmt_name("file");
  std::ofstream(file) << "not a directory";
  JitEngine e((file / "sub").string());
  std::vector<double> x = {4};
  CHECK(run_sum(*e.compile(kernel_of("sum(x)"), {}), x) == 4.0);
  ObjectCache c((file / "sub").string());
  CHECK(!c.enabled());
  fs::remove(file);
}

TEST_CASE("the key holds everything: a file stored under one key is not read for another") {
  fs::path dir = fs::temp_directory_path() / fmt_name("keys");
  fs::remove_all(dir);
  ObjectCache c(dir.string());
  REQUIRE(c.store("key one", "object one"));
  CHECK(c.load("key one") == std::optional<std::string>("object one"));
  CHECK(!c.load("key two"));
  fs::remove_all(dir);
}

}  // TEST_SUITE
