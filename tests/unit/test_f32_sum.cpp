// f32 sums (ir/reduce_order.h): at least as accurate as NumPy's pairwise sum
// on adversarial inputs, measured against an exact reference, and the same
// bits at any thread count and in both interpreters.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "driver/driver.h"
#include "numjit/numjit.hpp"
#include "test_util.h"

using namespace numjit;

namespace {

/** NumPy's pairwise sum of f32 at unit stride (FLOAT_pairwise_sum in
 *  numpy/core/src/umath/loops_utils.h.src), accumulating in f32 as it does. */
float numpy_pairwise(const float* a, int64_t n) {
  if (n < 8) {
    float res = 0.f;
    for (int64_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {  // PW_BLOCKSIZE
    float r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    int64_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  int64_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_pairwise(a, n2) + numpy_pairwise(a + n2, n - n2);
}

/** What np.sum(x) of NumPy 1.24 returns for a contiguous f32 array: the
 *  reduction sees the array in buffers of 8192 elements, sums each pairwise
 *  and adds the buffer sums left to right into an f32 that starts at 0
 *  (matched bit for bit against NumPy 1.24.2 when this test was written). */
float numpy_sum(const std::vector<float>& x) {
  float acc = 0.f;
  for (size_t b = 0; b < x.size(); b += 8192) acc += numpy_pairwise(x.data() + b, int64_t(std::min<size_t>(8192, x.size() - b)));
  return acc;
}

/** The exact sum for our purposes: Neumaier's compensated sum in long double
 *  (64-bit significand), error below 2^-62 |S| + n 2^-126 sum(|x|), far
 *  under the f64 accumulation errors this test tells apart. */
long double exact_sum(const std::vector<float>& x) {
  static_assert(sizeof(long double) > sizeof(double), "needs x87 long double");
  long double s = 0, c = 0;
  for (float f : x) {
    long double v = f, t = s + v;
    c += std::fabs(s) >= std::fabs(v) ? (s - t) + v : (v - t) + s;
    s = t;
  }
  return s + c;
}

double abs_sum(const std::vector<float>& x) {
  double a = 0;
  for (float f : x) a += std::fabs(double(f));
  return a;
}

double error(float got, long double exact) { return double(std::fabs((long double)got - exact)); }

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

struct Input {
  std::string name;
  std::vector<float> x;
};

std::vector<Input> adversarial() {
  std::mt19937_64 g(20240617);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> z(0, 1);
  std::vector<Input> in;
  in.push_back({"0.1f repeated 1e7 times", std::vector<float>(10'000'000, 0.1f)});
  {
    std::vector<float> v(10'000'000);
    for (auto& f : v) f = float(u(g));
    in.push_back({"uniform [0, 1), 1e7", std::move(v)});
  }
  {
    std::vector<float> v(4'000'037);
    for (auto& f : v) f = float(z(g) * std::pow(10.0, 8 * u(g) - 4));
    in.push_back({"both signs, magnitudes 1e-4 .. 1e4, 4e6", std::move(v)});
  }
  {
    // Large values and their exact negations, shuffled among small ones:
    // the sum is the small ones', sum(|x|) / |sum| is about 1e8.
    std::vector<float> v;
    while (v.size() < 2'000'000) {
      float big = float((1 + u(g)) * std::ldexp(1.0, 10 + int(g() % 11)) * (g() % 2 ? 1 : -1));
      v.push_back(big);
      v.push_back(-big);
    }
    while (v.size() < 3'000'000) v.push_back(float(u(g) * 1e-3));
    std::shuffle(v.begin(), v.end(), g);
    in.push_back({"cancelling large values among small ones, 3e6", std::move(v)});
  }
  {
    std::vector<float> v(10'000'000);
    for (size_t k = 0; k < v.size(); ++k) v[k] = 1.0f / float(k + 1);
    in.push_back({"harmonic terms 1/k, decreasing, 1e7", std::move(v)});
  }
  {
    std::vector<float> v(10'000'000, 1.0f);
    v[0] = 16777216.0f;  // 2^24: every +1 next to it rounds away in f32
    in.push_back({"2^24 then ones, 1e7", std::move(v)});
  }
  {
    std::vector<float> v(5'000'000);
    for (size_t k = 0; k < v.size(); ++k) v[k] = float(1 + 1e-7 * double(k)) * (k % 2 ? -1.f : 1.f) + 1e-3f;
    in.push_back({"alternating +-(1 + k 1e-7) + 1e-3, 5e6", std::move(v)});
  }
  return in;
}

}  // namespace

TEST_SUITE("f32 sums") {

TEST_CASE("f32 sums are at least as accurate as NumPy's pairwise sum on adversarial inputs") {
  Options o;
  o.disk_cache = false;
  Jit jit(o);
  for (const Input& in : adversarial()) {
    CAPTURE(in.name);
    long double exact = exact_sum(in.x);
    Value v = jit.eval("sum(x)", {{"x", in.x}});
    REQUIRE(v.dtype() == DType::F32);  // NumPy's result dtype; only the accumulation is wider
    float ours = v.scalar<float>();
    float pairwise = numpy_pairwise(in.x.data(), int64_t(in.x.size()));
    float np_sum = numpy_sum(in.x);
    double e_ours = error(ours, exact), e_pw = error(pairwise, exact), e_np = error(np_sum, exact);
    MESSAGE(fmt::format("{}: exact {:.17g}; numjit {:.9g} (error {:.3g}), NumPy pairwise {:.9g} (error {:.3g}), "
                        "np.sum {:.9g} (error {:.3g})",
                        in.name, double(exact), ours, e_ours, pairwise, e_pw, np_sum, e_np));
    CHECK(e_ours <= e_pw);
    CHECK(e_ours <= e_np);
    // The bound of ir/reduce_order.h: one f32 rounding of the f64 total,
    // whose own error is under 2^-45 sum(|x|). f32 lanes miss it by far.
    double ulp = std::ldexp(1.0, std::ilogb(std::max(double(std::fabs(exact)), 1e-30)) - 23);
    CHECK(e_ours <= ulp + std::ldexp(abs_sum(in.x), -45));
  }
}

TEST_CASE("f32 sum, mean, var, std and dot give the same bits at 1, 2 and 3 threads and as the interpreter") {
  std::mt19937_64 g(7);
  std::normal_distribution<double> z(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<float> x(1'000'003), y(x.size());
  for (auto& f : x) f = float(z(g) * std::pow(10.0, 6 * u(g) - 3));
  for (auto& f : y) f = float(u(g));
  const char* exprs[] = {"sum(x)", "mean(x)", "var(x)", "std(x)", "dot(x, y)", "sum(x * 0.5 + y)", "sum(x[::3])"};
  float first[std::size(exprs)];
  for (int t = 1; t <= 3; ++t) {
    Options o;
    o.threads = t;
    o.disk_cache = false;
    Jit jit(o);
    for (size_t e = 0; e < std::size(exprs); ++e) {
      CAPTURE(t);
      CAPTURE(exprs[e]);
      Value v = jit.eval(exprs[e], {{"x", x}, {"y", y}});
      REQUIRE(v.dtype() == DType::F32);
      if (t == 1) first[e] = v.scalar<float>();
      else CHECK(same_bits(v.scalar<float>(), first[e]));
    }
  }
  // The array-IR interpreter (ir/interpreter.cpp) on a shorter prefix,
  // still many blocks and a partial last one.
  std::vector<float> xs(x.begin(), x.begin() + 300'007), ys(y.begin(), y.begin() + 300'007);
  Jit jit;
  for (const char* e : exprs) {
    CAPTURE(e);
    float got = jit.eval(e, {{"x", xs}, {"y", ys}}).scalar<float>();
    float want = reference_eval(e, {{"x", xs}, {"y", ys}}).scalar<float>();
    CHECK(same_bits(got, want));
  }
}

TEST_CASE("group_sum and group_mean of f32 accumulate in f64 per group") {
  // Few groups, many rows each: a left-to-right f32 table would be off by
  // thousands of ulps (0.1f added 2.5e6 times in f32 gives 243899.78).
  std::mt19937_64 g(11);
  std::uniform_real_distribution<double> u(0, 1);
  const int64_t n = 10'000'000, ng = 4;
  std::vector<int64_t> keys(static_cast<size_t>(n));
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) keys[size_t(k)] = k % ng, x[size_t(k)] = k % 2 ? 0.1f : float(u(g) * 1e3);
  std::vector<std::vector<float>> parts(static_cast<size_t>(ng));
  for (int64_t k = 0; k < n; ++k) parts[size_t(keys[size_t(k)])].push_back(x[size_t(k)]);
  Jit jit;
  Args args{{"k", keys}, {"x", x}};
  Value sums = jit.eval("group_sum(k, x, 4)", args), means = jit.eval("group_mean(k, x, 4)", args);
  REQUIRE(sums.dtype() == DType::F32);
  REQUIRE(means.dtype() == DType::F32);
  for (int64_t j = 0; j < ng; ++j) {
    CAPTURE(j);
    long double exact = exact_sum(parts[size_t(j)]);
    float got = sums.array().at<float>(j);
    double ulp = std::ldexp(1.0, std::ilogb(double(std::fabs(exact))) - 23);
    CHECK(error(got, exact) <= 0.5 * ulp + std::ldexp(abs_sum(parts[size_t(j)]), -45));
    CHECK(same_bits(means.array().at<float>(j), got / float(parts[size_t(j)].size())));
  }
  // Both interpreters agree bit for bit (the loop IR's table is the same f64).
  std::vector<int64_t> ks(keys.begin(), keys.begin() + 100'003);
  std::vector<float> xs(x.begin(), x.begin() + 100'003);
  for (const char* e : {"group_sum(k, x, 5)", "group_mean(k, x * 3 - 1, 5)"}) {
    CAPTURE(e);
    auto a = jit.eval(e, {{"k", ks}, {"x", xs}}).array().to_vector<float>();
    auto b = reference_eval(e, {{"k", ks}, {"x", xs}}).array().to_vector<float>();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(same_bits(a[i], b[i]));
  }
}

TEST_CASE("f32 sums of every reduction path match the loop-IR interpreter at 1, 2 and 3 threads") {
  // Vector lanes (sum, mean, var, dot, a strided view), one lane at a time
  // (the flattened rank-2 sum indexes with // and %), short rows, axis
  // reductions, prange += partials, short sums below 32 elements and
  // group sums and means.
  const char* script = R"(
n = 300007
x = (randn(n, seed=3) * 10.0 ** (8 * random(n, seed=4) - 4)).astype(f32)
M = x[:300000].reshape(600, 500)
def s(v):
    t = f32(0)
    for i in prange(len(v)):
        t += v[i]
    return t
print(sum(x), mean(x), var(x), std(x), dot(x, x), sum(x[::3]), sum(M), s(x))
print(sum(M, axis=1)[:3], mean(M, axis=0)[:3], var(M[:, :7], axis=1)[:3], sum(x[:5]), sum(x[:31]), sum(x[:77]))
print(sum(full(10000000, 0.1).astype(f32)), sum(zeros(0).astype(f32)))
print(group_sum(arange(n) % 7, x, 8), group_mean(arange(n) % 3, x * x, 3))
)";
  const std::string out = test::same_output_at_1_2_3_threads(script, "s.nj");
  // 1e7 times 0.1f is 1000000.0149...: the correctly rounded f32 is 1e6
  // (f32 lanes of 128 elements gave 1000001.0, NumPy's pairwise 1000000.1).
  CHECK(out.find("\n1000000.0 0.0\n") != std::string::npos);
}

}  // TEST_SUITE
