// Codegen and JIT: the generated code's properties (vector width, vector
// math), bit-exact agreement with the interpreter, views of host memory
// and errors raised inside kernels.
#include <doctest/doctest.h>

#include <cmath>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <random>
#include <regex>
#include <thread>

#include "driver/driver.h"
#include "numjit/numjit.hpp"

using namespace numjit;

namespace {

std::vector<double> randoms(size_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(-1, 2);
  std::vector<double> v(n);
  for (auto& x : v) x = u(g);
  return v;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_SUITE("codegen") {

TEST_CASE("float sums are vectorized and vector math comes from libmvec") {
  Jit jit;
  std::vector<double> p(16), q(16);
  std::string k1 = jit.emit("sum(p * q - p)", Stage::LlvmOpt, {{"p", p}, {"q", q}});
  CHECK(std::regex_search(k1, std::regex(R"(fadd <\d+ x double>)")));
  std::string k5 = jit.emit("exp(-0.5 * p * p) + log1p(abs(q))", Stage::LlvmOpt, {{"p", p}, {"q", q}});
  // The host's libmvec variants (test_vecmath.cpp checks each family).
  std::string isa = __builtin_cpu_supports("avx512f") ? "_ZGVeN8v_" : __builtin_cpu_supports("avx2") ? "_ZGVdN4v_" : "_ZGVbN2v_";
  CHECK(k5.find(isa + "exp") != std::string::npos);
  CHECK(k5.find(isa + "log1p") != std::string::npos);
  std::string asm_text = jit.emit("p * q", Stage::Asm, {{"p", p}, {"q", q}});
  CHECK(asm_text.find("vmulpd") != std::string::npos);
}

TEST_CASE("reductions match the interpreter bit for bit at every size") {
  Jit jit;
  for (size_t n : {0, 1, 5, 31, 32, 33, 100, 4095, 4096, 4097, 8193, 100003}) {
    auto p = randoms(n, n), q = randoms(n, n + 1);
    Args args{{"p", p}, {"q", q}};
    for (const char* e : {"sum(p * q - p)", "prod(1 + p / 1000)", "max(p * q)", "min(p - q)", "mean(p)", "var(q)"}) {
      if (n == 0 && (std::string(e).find("max") != std::string::npos || std::string(e).find("min") != std::string::npos))
        continue;
      CAPTURE(n);
      CAPTURE(e);
      double got = jit.eval(e, args).scalar<double>();
      double want = reference_eval(e, args).scalar<double>();
      CHECK((same_bits(got, want) || (std::isnan(got) && std::isnan(want))));
    }
  }
}

TEST_CASE("row reductions of every short length match the interpreter") {
  Jit jit;
  for (int64_t cols : {1, 2, 3, 4, 5, 8, 9, 16, 17, 31, 32, 33, 70}) {
    auto x = randoms(size_t(7 * cols), uint64_t(cols));
    auto w = randoms(size_t(cols), 99);
    Args args{{"X", Array::view(x.data(), DType::F64, {7, cols})}, {"w", w}};
    Value got = jit.eval("sum(X * w, axis=1)", args);
    Value want = reference_eval("sum(X * w, axis=1)", args);
    CAPTURE(cols);
    auto a = got.array().to_vector<double>(), b = want.array().to_vector<double>();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(same_bits(a[i], b[i]));
  }
}

TEST_CASE("strided and transposed views of host memory are read in place") {
  Jit jit;
  std::vector<double> m = {1, 2, 3, 4, 5, 6};  // 2 x 3, row-major
  auto t = Array::view(m.data(), DType::F64, {3, 2}, {1, 3});  // its transpose
  Value r = jit.eval("sum(T, axis=1)", {{"T", t}});
  CHECK(r.array().to_vector<double>() == std::vector<double>{5, 7, 9});
  auto every_other = Array::view(m.data(), DType::F64, {3}, {2});
  CHECK(jit.eval("sum(x)", {{"x", every_other}}).scalar<double>() == 9.0);
  CHECK(jit.eval("x[::-1]", {{"x", every_other}}).array().to_vector<double>() == std::vector<double>{5, 3, 1});
}

TEST_CASE("integer division by zero gives 0 and never traps") {
  Jit jit;
  std::vector<int64_t> a = {7, -7, INT64_MIN, 5}, b = {0, 0, -1, 2};
  Value q = jit.eval("a // b", {{"a", a}, {"b", b}});
  CHECK(q.array().to_vector<int64_t>() == std::vector<int64_t>{0, 0, INT64_MIN, 2});
  Value r = jit.eval("a % b", {{"a", a}, {"b", b}});
  CHECK(r.array().to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0, 1});
  std::vector<int32_t> c = {9, -9}, z = {0, 0};
  CHECK(jit.eval("c // z", {{"c", c}, {"z", z}}).array().to_vector<int32_t>() == std::vector<int32_t>{0, 0});
}

TEST_CASE("float to int casts of NaN and out-of-range values give INT_MIN, like NumPy on x86") {
  Jit jit;
  std::vector<double> x = {NAN, 1e300, -1e300, -3.7, 3.7};
  CHECK(jit.eval("i64(x)", {{"x", x}}).array().to_vector<int64_t>() ==
        std::vector<int64_t>{INT64_MIN, INT64_MIN, INT64_MIN, -3, 3});
  CHECK(jit.eval("i32(x)", {{"x", x}}).array().to_vector<int32_t>() ==
        std::vector<int32_t>{INT32_MIN, INT32_MIN, INT32_MIN, -3, 3});
}

// Codegen tests |d| < 2^63 (2^31) and JitEngine turns the scalar form into
// cvttsd2si (jit.cpp, truncate_like_x86); both must keep the edges: the
// bounds themselves, the values just inside them, infinities, -0.0; in
// vector loops (200 elements), scalar remainders (the 11 alone) and a
// kernel's scalar loop, from f64 and from f32.
TEST_CASE("float to int casts at the edges of the integer range, in vector code, scalar code and kernels") {
  Jit jit;
  const double p63 = 9223372036854775808.0, p31 = 2147483648.0;
  std::vector<double> edge = {-p63, p63, std::nextafter(p63, 0), -p31 - 0.5, -p31 - 1, -p31, p31 - 0.5, p31,
                              INFINITY, -INFINITY, -0.0};
  auto i64_of = [&](double v) { return std::isnan(v) || !(std::fabs(v) < p63) ? INT64_MIN : int64_t(v); };
  auto i32_of = [&](double v) { return !(v > -p31 - 1 && v < p31) ? INT32_MIN : int32_t(v); };
  for (size_t n : {edge.size(), size_t(200)}) {
    std::vector<double> x(n);
    for (size_t i = 0; i < n; ++i) x[i] = edge[i % edge.size()];
    std::vector<float> xf(x.begin(), x.end());
    std::vector<int64_t> want64, wantf;
    std::vector<int32_t> want32;
    for (size_t i = 0; i < n; ++i) {
      want64.push_back(i64_of(x[i]));
      want32.push_back(i32_of(x[i]));
      wantf.push_back(i64_of(double(xf[i])));
    }
    CAPTURE(n);
    CHECK(jit.eval("i64(x)", {{"x", x}}).array().to_vector<int64_t>() == want64);
    CHECK(jit.eval("i32(x)", {{"x", x}}).array().to_vector<int32_t>() == want32);
    CHECK(jit.eval("i64(xf)", {{"xf", xf}}).array().to_vector<int64_t>() == wantf);
    // A kernel loop that LLVM cannot vectorize (a conditional store): scalar.
    jit.run("def conv(x):\n    out = zeros(x.shape[0], dtype=i64)\n    for i in range(x.shape[0]):\n"
            "        b = int(x[i])\n        if b != 12345:\n            out[i] = b\n    return out\n");
    CHECK(jit.eval("conv(x)", {{"x", x}}).array().to_vector<int64_t>() == want64);
  }
}

TEST_CASE("errors inside kernels reach the host as numjit::Error") {
  Jit jit;
  std::vector<double> p(5), q(6);
  CHECK_THROWS_WITH_AS(jit.eval("p + q", {{"p", p}, {"q", q}}),
                       doctest::Contains("operands could not be broadcast together with shapes (5,) (6,)"), Error);
  CHECK_THROWS_WITH_AS(jit.eval("p[7]", {{"p", p}}), doctest::Contains("index 7 is out of bounds for axis 0 with size 5"),
                       Error);
  std::vector<int64_t> keys = {0, 3, 9};
  CHECK_THROWS_WITH_AS(jit.eval("group_sum(k, k, 4)", {{"k", keys}}), doctest::Contains("group key 9 at position 2"),
                       Error);
  std::vector<double> empty;
  CHECK_THROWS_WITH_AS(jit.eval("max(e)", {{"e", empty}}), doctest::Contains("zero-size array"), Error);
  // The Jit keeps working after an error.
  CHECK(jit.eval("sum(p)", {{"p", p}}).scalar<double>() == 0.0);
}

TEST_CASE("a cached expression is recompiled for a new signature") {
  Jit jit;
  std::vector<double> d = {1.5, 2.5};
  std::vector<int32_t> i = {1, 2};
  CHECK(jit.eval("x * 2", {{"x", d}}).dtype() == DType::F64);
  CHECK(jit.eval("x * 2", {{"x", i}}).dtype() == DType::I32);
  CHECK(jit.eval("x * 2", {{"x", i}}).array().to_vector<int32_t>() == std::vector<int32_t>{2, 4});
}

}  // TEST_SUITE

TEST_SUITE("parallel") {

TEST_CASE("reductions give the same bits with 1, 2 and 3 threads") {
  auto p = randoms(300007, 5), q = randoms(300007, 6);
  std::vector<double> results[3];
  for (int threads : {1, 2, 3}) {
    Options o;
    o.threads = threads;
    Jit jit(o);
    Args args{{"p", p}, {"q", q}};
    for (const char* e : {"sum(p * q - p)", "mean(p)", "var(q)", "max(p)", "prod(1 + p / 1e6)", "dot(p, q)"})
      results[threads - 1].push_back(jit.eval(e, args).scalar<double>());
  }
  for (size_t i = 0; i < results[0].size(); ++i) {
    CHECK(same_bits(results[0][i], results[1][i]));
    CHECK(same_bits(results[0][i], results[2][i]));
  }
}

TEST_CASE("reductions fused into one loop give the bits each gives alone, at 1 and 2 threads") {
  auto x = randoms(300007, 41);
  std::vector<double> few(x.begin(), x.begin() + 7);  // every lane holds at most one element
  for (int threads : {1, 2}) {
    Options o;
    o.threads = threads;
    Jit jit(o);
    jit.set("x", Value(x));
    jit.set("few", Value(few));
    jit.run("def stats(x):\n    return min(x), max(x), sum(x * 2), prod(1 + x / 1e6), mean(x)\n"
            "mn, mx, s2, p, m = stats(x)\n"
            "a, b, c = sum(few), prod(few), max(few)\n");
    for (auto [name, expr] : std::vector<std::pair<const char*, const char*>>{
             {"mn", "min(x)"}, {"mx", "max(x)"}, {"s2", "sum(x * 2)"}, {"p", "prod(1 + x / 1e6)"}, {"m", "mean(x)"},
             {"a", "sum(few)"}, {"b", "prod(few)"}, {"c", "max(few)"}}) {
      CAPTURE(expr);
      CHECK(same_bits(jit.get(name).scalar<double>(), jit.eval(expr, {{"x", x}, {"few", few}}).scalar<double>()));
    }
  }
}

TEST_CASE("parallel elementwise and row loops match one thread") {
  auto x = randoms(200003, 9);
  auto m = randoms(5000 * 40, 10);
  Options o;
  o.threads = 2;
  Jit two(o);
  o.threads = 1;
  Jit one(o);
  Args args{{"x", x}, {"M", Array::view(m.data(), DType::F64, {5000, 40})}};
  for (const char* e : {"(x[1:] - x[:-1]) / x[:-1]", "sum(M * 2, axis=1)", "cumsum(M, axis=1)[:, 39]", "exp(x) - 1"}) {
    CAPTURE(e);
    CHECK(two.eval(e, args).array().to_vector<double>() == one.eval(e, args).array().to_vector<double>());
  }
}

TEST_CASE("scans fused into their consumer give the serial answer, bit for bit, at 1, 2 and 3 threads") {
  // Long enough for the two-pass parallel form (n >= 4 blocks of 16384),
  // with NaNs, and an odd tail; X is scanned flat.
  const size_t n = 300007;
  auto e = randoms(n, 21), f = randoms(n, 22);
  for (double& x : e) x = 100 * std::exp(x - 0.5);
  e[100000] = NAN;
  std::vector<int32_t> k(n);
  for (size_t i = 0; i < n; ++i) k[i] = int32_t((i * 7919) % 2001) - 1000;
  auto nan_max = [](double run, double x) { return (std::isnan(run) || run > x) && !std::isnan(x) ? run : x; };
  auto nan_min = [](double run, double x) { return (std::isnan(run) || run < x) && !std::isnan(x) ? run : x; };
  // What each expression must give, computed in order.
  std::vector<std::pair<const char*, std::vector<double>>> want;
  {
    std::vector<double> dd(n), mm(n), mf(n), fs(n), ks(n);
    double hi = -INFINITY, lo = INFINITY, hf = -INFINITY, sf = 0;
    int64_t sk = 0;
    for (size_t i = 0; i < n; ++i) {
      hi = nan_max(hi, e[i]);
      lo = nan_min(lo, e[i]);
      hf = nan_max(hf, f[i]);
      sf = i ? sf + f[i] : f[i];
      sk += k[i];
      dd[i] = (hi - e[i]) / hi;
      mm[i] = lo * 2 + hi;
      mf[i] = hf * 0.5;
      fs[i] = sf - f[i];
      ks[i] = double(sk) / 2;
    }
    want = {{"(cummax(e) - e) / cummax(e)", dd}, {"cummin(e) * 2 + cummax(e)", mm},
            {"cummax(X) * 0.5", mf}, {"cumsum(f) - f", fs}, {"cumsum(k) / 2", ks}};
  }
  Args args{{"e", e}, {"f", f}, {"k", k}, {"X", Array::view(f.data(), DType::F64, {int64_t(n / 7), 7})}};
  for (int threads : {1, 2, 3}) {
    Options o;
    o.threads = threads;
    o.disk_cache = false;
    Jit jit(o);
    for (auto& [expr, expected] : want) {
      CAPTURE(expr);
      CAPTURE(threads);
      std::vector<double> got = jit.eval(expr, args).array().to_vector<double>();
      // X holds the first n / 7 * 7 elements of f.
      size_t len = std::string(expr).find('X') != std::string::npos ? n / 7 * 7 : n;
      REQUIRE(got.size() == len);
      size_t bad = 0;
      for (size_t i = 0; i < len; ++i) bad += !(same_bits(got[i], expected[i]) || (std::isnan(got[i]) && std::isnan(expected[i])));
      CHECK(bad == 0);
    }
  }
  // Integer running sums wrap as NumPy's do; here they must just agree.
  Options o;
  o.threads = 2;
  Jit two(o);
  std::vector<int64_t> big(n, INT64_MAX / 3);
  std::vector<int64_t> r = two.eval("cumsum(b) + 1", {{"b", big}}).array().to_vector<int64_t>();
  uint64_t acc = 0;
  size_t bad = 0;
  for (size_t i = 0; i < n; ++i) bad += r[i] != int64_t((acc += uint64_t(INT64_MAX / 3)) + 1);
  CHECK(bad == 0);
}

TEST_CASE("group reductions run in blocks: same bits at 1, 2 and 3 threads, the first bad key is reported") {
  const size_t n = 300007;  // 19 blocks of 16384
  auto v = randoms(n, 31);
  std::vector<int32_t> k(n);
  for (size_t i = 0; i < n; ++i) k[i] = int32_t((i * 2654435761u) % 61);
  v[5000] = NAN;  // group k[5000]'s max and min are NaN
  std::vector<double> want_sum(64, 0.0), want_max(64, -INFINITY);
  std::vector<int64_t> want_count(64, 0), want_isum(64, 0);
  for (size_t i = 0; i < n; ++i) {
    if (!std::isnan(v[i])) want_sum[size_t(k[i])] += v[i];
    want_count[size_t(k[i])]++;
    want_isum[size_t(k[i])] += int64_t(i % 1000);
  }
  std::vector<int64_t> ik(n);
  for (size_t i = 0; i < n; ++i) ik[i] = int64_t(i % 1000);
  const char* exprs[] = {"group_sum(k, where(v == v, v, 0.0), 64)", "group_mean(k, v * 2, 64)", "group_max(k, v, 64)",
                         "group_min(k, f32(v), 64)"};
  std::vector<std::vector<double>> first;
  for (int threads : {1, 2, 3}) {
    Options o;
    o.threads = threads;
    o.disk_cache = false;
    Jit jit(o);
    Args args{{"k", k}, {"v", v}, {"ik", ik}};
    for (size_t e = 0; e < std::size(exprs); ++e) {
      CAPTURE(exprs[e]);
      Value r = jit.eval(exprs[e], args);
      std::vector<double> got = r.dtype() == DType::F32 ? [&] {
        auto f = r.array().to_vector<float>();
        return std::vector<double>(f.begin(), f.end());
      }() : r.array().to_vector<double>();
      if (threads == 1) first.push_back(got);
      for (size_t g = 0; g < got.size(); ++g)
        CHECK((same_bits(got[g], first[e][g]) || (std::isnan(got[g]) && std::isnan(first[e][g]))));
    }
    std::vector<double> sum = jit.eval(exprs[0], args).array().to_vector<double>();
    for (size_t g = 0; g < 61; ++g) CHECK(sum[g] == doctest::Approx(want_sum[g]).epsilon(1e-12));
    CHECK(sum[63] == 0.0);
    CHECK(jit.eval("group_count(k, v, 64)", args).array().to_vector<int64_t>() == want_count);
    CHECK(jit.eval("group_sum(k, ik, 64)", args).array().to_vector<int64_t>() == want_isum);
    auto mx = jit.eval("group_max(k, v, 64)", args).array().to_vector<double>();
    CHECK(std::isnan(mx[size_t(k[5000])]));
    CHECK(std::isnan(mx[62]));  // an empty group
    // Bad keys in two blocks: the first in element order is reported.
    std::vector<int32_t> bad = k;
    bad[200000] = 64;
    bad[70000] = -1;
    CHECK_THROWS_WITH_AS(jit.eval("group_sum(k, v, 64)", {{"k", bad}, {"v", v}}),
                         doctest::Contains("group key -1 at position 70000"), Error);
  }
}

TEST_CASE("an error inside a parallel region reaches the caller, the first one wins, and the Jit goes on") {
  Options o;
  o.threads = 2;
  Jit jit(o);
  std::vector<int64_t> base(100000, 2), expo(100000, 1);
  expo[70000] = -1;
  expo[90000] = -2;
  CHECK_THROWS_WITH_AS(jit.eval("b ** e", {{"b", base}, {"e", expo}}),
                       doctest::Contains("integers to negative integer powers are not allowed"), Error);
  expo[70000] = expo[90000] = 3;
  Value r = jit.eval("b ** e", {{"b", base}, {"e", expo}});
  CHECK(r.array().to_vector<int64_t>()[70000] == 8);
}

}  // TEST_SUITE

TEST_SUITE("threads") {

TEST_CASE("one Jit used from several host threads at once: concurrent compiles and calls") {
  Options o;
  o.disk_cache = false;
  Jit jit(o);
  jit.run("def ewma(x, a):\n    out = empty_like(x)\n    out[0] = x[0]\n    for i in range(1, len(x)):\n"
          "        out[i] = a * x[i] + (1 - a) * out[i - 1]\n    return out\n");
  auto p = randoms(50000, 1), q = randoms(50000, 2);
  std::vector<int32_t> keys(50000);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = int32_t(i % 7);
  Args args{{"p", p}, {"q", q}, {"k", keys}};
  const char* exprs[] = {"sum(p * q - p)", "max(p - q)", "group_sum(k, p, 7)[3]", "mean(ewma(p, 0.1))" /* loop kernel */,
                         "sum(where(p > 0.5, p, q))"};
  std::vector<double> want;
  for (const char* e : exprs) {
    Jit single(o);
    single.run("def ewma(x, a):\n    out = empty_like(x)\n    out[0] = x[0]\n    for i in range(1, len(x)):\n"
               "        out[i] = a * x[i] + (1 - a) * out[i - 1]\n    return out\n");
    if (std::string(e).find("ewma") != std::string::npos) want.push_back(0);  // checked against itself below
    else want.push_back(single.eval(e, args).scalar<double>());
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        size_t which = size_t(t + i) % 5;
        try {
          if (which == 3) {
            Value e = jit.eval("ewma(p, 0.1)", args);
            if (e.array().size() != 50000) ++failures;
            continue;
          }
          double got = jit.eval(exprs[which], args).scalar<double>();
          if (!same_bits(got, want[which])) ++failures;
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);
}


// eval's cache entry for a loop-kernel call (kernel, argument mapping,
// argument expressions) is built by whichever thread misses first and then
// shared: every thread must get the single-threaded bits.
TEST_CASE("host threads share eval's cached loop-kernel calls and get the same bits") {
  Options o;
  o.disk_cache = false;
  const char* def = "def ewma(x, a):\n    out = empty_like(x)\n    out[0] = x[0]\n    for i in range(1, len(x)):\n"
                    "        out[i] = a * x[i] + (1 - a) * out[i - 1]\n    return out\n";
  Jit jit(o);
  jit.run(def);
  auto p = randoms(20000, 3), q = randoms(20000, 4);
  Args args{{"p", p}, {"q", q}, {"a", Value::scalar(DType::F64, 0.2, 0)}};
  const char* exprs[] = {"ewma(p, 0.1)", "ewma(a=a, x=q)", "ewma(p * q - 1.0, a)"};
  std::vector<std::vector<double>> want;
  {
    Jit single(o);
    single.run(def);
    for (const char* e : exprs) want.push_back(single.eval(e, args).array().to_vector<double>());
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        size_t which = size_t(t + i) % 3;
        try {
          std::vector<double> got = jit.eval(exprs[which], args).array().to_vector<double>();
          for (size_t k = 0; k < got.size(); ++k)
            if (!same_bits(got[k], want[which][k])) {
              ++failures;
              break;
            }
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);
}

}  // TEST_SUITE

TEST_SUITE("codegen") {

// Stage::Remarks: what LLVM's loop vectorizer said (its optimisation
// remarks), one line each. The width depends on the host; that it vectorized
// an elementwise loop at some width > 1 does not.
TEST_CASE("the remarks stage reports the loop vectorizer's width, or why a loop was not vectorized") {
  std::vector<double> p(64, 1.5), q(64, 2.5);
  Jit jit;
  std::string elementwise = jit.emit("p * 2.0 + q", Stage::Remarks, {{"p", p}, {"q", q}});
  INFO(elementwise);
  size_t at = elementwise.find("loop-vectorize passed");
  REQUIRE(at != std::string::npos);
  size_t w = elementwise.find("vectorization width: ", at);
  REQUIRE(w != std::string::npos);
  CHECK(std::atoi(elementwise.c_str() + w + 21) > 1);
  std::string scan = jit.emit("cumsum(p)", Stage::Remarks, {{"p", p}});
  INFO(scan);
  CHECK(scan.find("loop-vectorize missed") != std::string::npos);
  CHECK(scan.find("loop-vectorize passed") == std::string::npos);
  CHECK(parse_stage("remarks") == Stage::Remarks);
  CHECK(std::string(stage_name(Stage::Remarks)) == "remarks");
}

TEST_CASE("def kernels with an if/elif count or a branch on a parameter compute what they say") {
  // That their loops vectorize is tests/filecheck/kernel_branches_vectorized.nj.
  Jit jit;
  jit.run("def clip_count(x, lo, hi):\n"
          "    c = 0\n"
          "    for i in range(len(x)):\n"
          "        if x[i] < lo:\n"
          "            c += 1\n"
          "        elif x[i] > hi:\n"
          "            c += 2\n"
          "    return c\n",
          "k.nj");
  std::vector<double> p(64);
  for (size_t i = 0; i < p.size(); ++i) p[i] = double(i % 8) / 4;
  CHECK(jit.eval("clip_count(p, 0.4, 1.6)", {{"p", p}}).scalar<int64_t>() == 16 * 1 + 8 * 2);  // 0 and 0.25 below, 1.75 above
}

TEST_CASE("fastmath is off by default and, when asked for, marks float math fast") {
  std::vector<double> p(8), q(8);
  Jit strict;
  CHECK(strict.emit("p * q + p", Stage::Llvm, {{"p", p}, {"q", q}}).find("fmul fast") == std::string::npos);
  Options o;
  o.fastmath = true;
  Jit fast(o);
  CHECK(fast.emit("p * q + p", Stage::Llvm, {{"p", p}, {"q", q}}).find("fmul fast") != std::string::npos);
  CHECK(fast.eval("sum(p * q + 1)", {{"p", p}, {"q", q}}).scalar<double>() == 8.0);
}

}  // TEST_SUITE
