// def kernels: straight-line kernels inlined into array IR, and kernels with
// loops compiled per signature; their semantics and their error paths.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "driver/driver.h"
#include "numjit/numjit.hpp"
#include "runtime/thread_pool.h"
#include "test_util.h"

using namespace numjit;

namespace {

std::string run(Jit& jit, const std::string& src) {
  std::ostringstream out;
  jit.set_output(&out);
  jit.run(src, "k.nj");
  return out.str();
}

std::string error_of(const std::string& src) {
  Jit jit;
  try {
    run(jit, src);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_SUITE("kernels") {

TEST_CASE("EWMA as a loop kernel matches the recurrence computed in C++") {
  Jit jit;
  run(jit, R"(
def ewma(x: f64[:], alpha: f64) -> f64[:]:
    out = empty_like(x)
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = alpha * x[i] + (1 - alpha) * out[i - 1]
    return out
x = random(1001, seed=3)
y = ewma(x, 0.1)
)");
  auto x = jit.get("x").array().to_vector<double>();
  auto y = jit.get("y").array().to_vector<double>();
  REQUIRE(y.size() == x.size());
  double prev = x[0];
  CHECK(y[0] == prev);
  for (size_t i = 1; i < x.size(); ++i) {
    prev = 0.1 * x[i] + (1 - 0.1) * prev;
    CHECK(y[i] == prev);
  }
}

TEST_CASE("slice assignment and x op= y on arrays write in place, as in NumPy") {
  Jit jit;
  std::string out = run(jit, R"(
def rows(M, w):
    out = zeros_like(M)
    for i in range(M.shape[0]):
        out[i, :] = M[i, :] * w
    out[0] = 7
    out[:, 3] = -1
    return out
def bump(x, y):
    x += 1
    x[::2] = y
    x[1:] = x[:-1]
    x[:2] *= 10
    return 0
def clear(x):
    for i in prange(2):
        x[i * 2:i * 2 + 2] = i
    return 0
M = arange(12).reshape((3, 4)) * 1.0
R = rows(M, arange(4) * 1.0)
x = arange(6) * 1.0
z = bump(x, zeros(3) - 5)
c = arange(4)
z = clear(c)
print(R)
print(x)
print(c)
)");
  // NumPy: x + 1 = [1 2 3 4 5 6]; x[::2] = -5 -> [-5 2 -5 4 -5 6];
  // x[1:] = x[:-1] (overlap copied) -> [-5 -5 2 -5 4 -5]; x[:2] *= 10.
  CHECK(out == "[[ 7.  7.  7. -1.]\n [ 0.  5. 12. -1.]\n [ 0.  9. 20. -1.]]\n"
               "[-50. -50.   2.  -5.   4.  -5.]\n"
               "[0 0 1 1]\n");
  CHECK(error_of("def f(x):\n    x[1:3] = zeros(3)\n    return 0\nz = f(zeros(5))\n")
            .find("could not be broadcast") != std::string::npos);
  CHECK(error_of("def f(x):\n    x[1:3] = zeros((2, 2))\n    return 0\nz = f(zeros(5))\n")
            .find("could not broadcast input array from shape f64[:, :] into shape f64[:]") != std::string::npos);
  CHECK(error_of("def f(x):\n    x.T[1] = 0\n    return 0\nz = f(zeros((2, 2)))\n") != "(no error)");
}

TEST_CASE("views bound in loops: r = X[i] and w = x[i:i + 2] read and write the array's memory") {
  Jit jit;
  std::string out = run(jit, R"(
def rowsum(X):
    out = zeros(X.shape[0])
    for i in range(X.shape[0]):
        r = X[i]
        out[i] = sum(r * r)
        if i == 0:
            r[0] = 100.0
    return out
def pairs(x):
    s = 0.0
    for i in prange(len(x) - 1):
        w = x[i:i + 2]
        s += w[0] * w[1]
    return s
def later(x):
    i = 1
    y = x[i:]
    i = 3
    return y[0] + len(y)
X = arange(6).reshape((2, 3)) * 1.0
print(rowsum(X))
print(X)
print(pairs(arange(5) * 1.0), later(arange(5) * 1.0))
)");
  CHECK(out == "[ 5. 50.]\n[[100.   1.   2.]\n [  3.   4.   5.]]\n20.0 5.0\n");
  CHECK(error_of("def f(x, y):\n    for i in range(2):\n        r = x[i:]\n        r = y[i:]\n    return 0\n"
                 "z = f(zeros(3), zeros(3))\n")
            .find("a view bound again must view the same array") != std::string::npos);
  CHECK(error_of("def f(x):\n    for i in range(2):\n        r = x * 2\n    return 0\nz = f(zeros(3))\n")
            .find("must be assigned once, at the top level") != std::string::npos);
  CHECK(error_of("def f(x):\n    r = x[1:]\n    r = x * 2\n    for i in range(2):\n        r[i] = 1\n    return 0\n"
                 "z = f(zeros(3))\n")
            .find("bound to a view and to another array") != std::string::npos);
  CHECK(error_of("def f(X):\n    r = X[5]\n    for i in range(2):\n        r[i] = 1\n    return 0\nz = f(zeros((2, 2)))\n")
            .find("index 5 is out of bounds for axis 0 with size 2") != std::string::npos);
}

TEST_CASE("straight-line kernels are inlined and fuse: drawdown, filtered group sum, tuples") {
  Jit jit;
  std::string out = run(jit, R"(
def drawdown(e):
    peak = cummax(e)
    return (peak - e) / peak
def filtered_value(p, q, sym):
    return group_sum(sym, where(p > 100, p * q, 0.0), 4)
def both(x):
    return min(x), max(x)
e = arange(1, 6) * 1.0
print(drawdown(where(arange(5) == 2, 1.0, e)))
print(filtered_value(arange(8) * 30.0, ones(8), arange(8) % 4))
lo, hi = both(e)
print(lo, hi)
)");
  CHECK(out == "[0.  0.  0.5 0.  0. ]\n[120. 150. 180. 210.]\n1.0 5.0\n");
}

TEST_CASE("loops, branches, break and continue") {
  Jit jit;
  std::string out = run(jit, R"(
def count_pos(x):
    n = 0
    i = 0
    while i < len(x):
        if x[i] > 0:
            n += 1
        elif x[i] == 0:
            i += 1
            continue
        i += 1
    return n
def first_over(x, t):
    k = -1
    for i in range(len(x)):
        if x[i] > t:
            k = i
            break
    return k
def down(x):
    s = 10
    s /= 2
    for i in range(len(x) - 1, -1, -1):
        s += x[i]
    return s
print(count_pos(arange(7) - 3), first_over(arange(10), 6), first_over(arange(3), 6), down(arange(4)))
)");
  CHECK(out == "3 7 -1 11.0\n");
}

TEST_CASE("locals take the promotion of everything assigned to them, as in Numba") {
  Jit jit;
  run(jit, R"(
def total(x):
    acc = 0
    for i in range(len(x)):
        acc += x[i]
    return acc
a = total(arange(5))
b = total(arange(5) * 0.5)
)");
  CHECK(jit.get("a").dtype() == DType::I64);
  CHECK(jit.get("a").scalar<int64_t>() == 10);
  CHECK(jit.get("b").dtype() == DType::F64);
  CHECK(jit.get("b").scalar<double>() == 5.0);
}

TEST_CASE("prange reductions give the serial answer, 2-D element writes, writes reach the caller") {
  Jit jit;
  std::string out = run(jit, R"(
def rowsums(X):
    n, m = X.shape
    out = zeros(n)
    for i in prange(n):
        s = 0.0
        for j in range(m):
            s += X[i, j]
        out[i] = s
    return out
def total(x):
    t = 0.0
    lo = x[0]
    for i in prange(len(x)):
        t += x[i]
        lo = min(lo, x[i])
    return t, lo
def scale(v, k):
    for i in range(len(v)):
        v[i] = v[i] * k
    return len(v)
X = arange(6).reshape(2, 3) * 1.0
print(rowsums(X))
s, lo = total(arange(10) * 1.0 - 3)
print(s, lo)
y = arange(3) * 1.0 + 1
n = scale(y, 10)
print(y, n)
)");
  CHECK(out == "[ 3. 12.]\n15.0 -3.0\n[10. 20. 30.] 3\n");
}

TEST_CASE("prange reductions run in parallel blocks and give the same bits at 1, 2 and 3 threads") {
  // Every kind of update, integers and floats, a step, an empty range and a
  // range that starts at a negative number; n large enough for many blocks.
  const char* script = R"(
def red(x, k):
    t = 0.0
    d = 100.0
    p = 1.0
    q = 8.0
    lo = x[0]
    hi = -1.0
    c = 0
    m = 0
    for i in prange(len(x)):
        t += x[i] * k
        d -= x[i]
        p *= 1.0 + (x[i] - 0.5) * 1e-5
        q /= 1.0 + x[i] * 1e-7
        lo = min(lo, x[i])
        hi = max(x[i], hi)
        c += 1
        m = max(m, i % 1000)
    return t, d, p, q, lo, hi, c, m, i
def stepped(n):
    s = 0
    u = 0.0
    for j in prange(n - 1, -5, -3):
        s += j
        u += j * 0.1
    return s, u, j
def none_run(n):
    s = 2.5
    w = 7
    for j in prange(3, n):
        s *= 0.0
        w = min(w, j)
    return s, w
x = random(777777, seed=5)
print(red(x, 3), stepped(200001), stepped(0), none_run(2), red(x[:1], 1.0))
)";
  const std::string out = test::same_output_at_1_2_3_threads(script, "k.nj");
  // The answers themselves (integers exactly; floats to rounding).
  CHECK(out.find(", 777777, 999, 777776)") != std::string::npos);
  long long s = 0;
  for (long long j = 200000; j > -5; j -= 3) s += j;
  CHECK(out.find("(" + std::to_string(s) + ", ") != std::string::npos);
  CHECK(out.find("(-5, -0.5, -4)") != std::string::npos);  // j = -1, -4
  CHECK(out.find("(2.5, 7)") != std::string::npos);
}

TEST_CASE("kernels with loops call kernels with loops, inside expressions and loops, at any depth") {
  const char* script = R"(
def first_above(x, v):
    for i in range(len(x)):
        for j in range(2):
            if x[i] > v + j:
                return i
    return -1
def fill(out, v):
    for i in range(len(out)):
        out[i] = v
    return len(out)
def cums(x):
    out = empty_like(x)
    s = 0.0
    for i in range(len(x)):
        s += x[i]
        out[i] = s
    return out
def span(x):
    lo = x[0]
    hi = x[0]
    for i in range(len(x)):
        lo = min(lo, x[i])
        hi = max(hi, x[i])
    return lo, hi
def maybe(n):
    if n > 5:
        t = 3.5
    return t
def user(x):
    a = first_above(x, 0.5)
    b = first_above(x * 2, 0.5) + first_above(x, 10.0)
    c = 0
    m = 0.0
    for k in range(3):
        c += first_above(x, k * 0.3)
        m += maybe(k * 4)
    buf = zeros(4)
    n = fill(buf, 2.5)
    lo, hi = span(x)
    y = cums(x)
    return a, b, c, m, n, sum(buf), lo, hi, y[len(y) - 1], max(cums(x[::2]))
def par(X):
    n, m = X.shape
    out = zeros(n)
    for i in prange(n):
        out[i] = first_above(X[i, :], 0.9)
    return out
def twice(x):
    return cums(x) * 2
x = random(10, seed=1)
print(user(x))
print(twice(x[:3]), cums(x[:3]) + 1, span(x)[1] - 1)
print(sum(par(random(200000, seed=2).reshape(20000, 10))))
)";
  Jit jit;
  std::string got = run(jit, script);
  CHECK(got == reference_run(script, "k.nj"));
  // x = [0.266 0.757 0.271 0.690 0.767 0.242 0.795 0.785 0.907 0.351]
  CHECK(got.find("(1, -1, 2, 3.5, 4, 10.0, 0.24221236063153262, 0.9074022269483449, 5.832300677393201, ") == 0);
  CHECK(got.find("[0.53290606 2.04612365 2.5872515 ] [1.26645303 2.02306182 2.29362575] -0.09259777305165506") !=
        std::string::npos);
}

TEST_CASE("calls between kernels with loops: errors") {
  CHECK(error_of("def f(x):\n    for i in range(2):\n        x = g(x)\n    return x\n"
                 "def g(x):\n    for i in range(2):\n        x = f(x)\n    return x\nf(1.0)\n")
            .find("calls itself (directly or through others); recursion is not supported") != std::string::npos);
  CHECK(error_of("def f(x):\n    s = 0\n    for i in range(2):\n        s += f(x)\n    return s\nf(1.0)\n")
            .find("kernel 'f' calls itself") != std::string::npos);
  CHECK(error_of("def g(x, y):\n    for i in range(2):\n        x += y\n    return x\n"
                 "def f(x):\n    for i in range(2):\n        x += g(x)\n    return x\nf(1.0)\n")
            .find("g() is missing the argument 'y'") != std::string::npos);
  CHECK(error_of("def g(x):\n    for i in range(2):\n        x += 1\n    return x\n"
                 "def f(x):\n    return g(x, 2)\nf(1.0)\n")
            .find("g() takes 1 argument but 2 were given") != std::string::npos);
  // An error inside the callee names the callee's line.
  CHECK(error_of("def g(x):\n    s = 0.0\n    for i in range(4):\n        s += x[i]\n    return s\n"
                 "def f(x):\n    return g(x) + 1\nf(ones(3))\n")
            .find("k.nj:4:") != std::string::npos);
}

TEST_CASE("kernels are specialised per signature and recompiled after a redefinition") {
  Jit jit;
  std::string out = run(jit, R"(
def twice(x):
    out = empty_like(x)
    for i in range(len(x)):
        out[i] = x[i] * 2
    return out
print(twice(arange(3)), twice(arange(3) * 0.5))
def twice(x):
    out = empty_like(x)
    for i in range(len(x)):
        out[i] = x[i] * 3
    return out
print(twice(arange(3)))
)");
  CHECK(out == "[0 2 4] [0. 1. 2.]\n[0 3 6]\n");
}

TEST_CASE("negative indices wrap, out-of-bounds accesses are errors naming index and size") {
  Jit jit;
  CHECK(run(jit, "def last(x):\n    return x[-1]\nprint(last(arange(4)))\n") == "3\n");
  CHECK(error_of("def f(x):\n    out = zeros(3)\n    for i in range(5):\n        out[i] = x[i]\n    return out\nf(arange(3))\n")
            .find("index 3 is out of bounds for axis 0 with size 3") != std::string::npos);
  CHECK(error_of("def f(x):\n    s = 0\n    for i in range(len(x) + 1):\n        s += x[i]\n    return s\nf(arange(3))\n")
            .find("index 3 is out of bounds for axis 0 with size 3") != std::string::npos);
  // A loop whose x[i] checks are proven runs without them, but keeps the
  // check of an index read from memory (bounds.h): h[b] still fails.
  const char* hist = "def hist(x):\n    h = zeros(4, dtype=i64)\n    for i in range(len(x)):\n"
                     "        h[int(x[i])] += 1\n    return h\n";
  CHECK(run(jit, std::string(hist) + "print(hist(arange(8) % 4))\n") == "[2 2 2 2]\n");
  std::string err = error_of(std::string(hist) + "hist(arange(8))\n");
  CHECK(err.find("index 4 is out of bounds for axis 0 with size 4") != std::string::npos);
  CHECK(err.find(":4:9") != std::string::npos);
}

TEST_CASE("kernel error paths") {
  CHECK(error_of("def f(x: f64[:]):\n    return x * 2\nf(arange(3))\n")
            .find("argument 'x' of f() must be f64[:], got i64[:]") != std::string::npos);
  CHECK(error_of("def f(x: f64[:]):\n    for i in range(3):\n        x[i] = 0\n    return x\nf(arange(3))\n")
            .find("argument 'x' of f() must be f64[:], got i64[:]") != std::string::npos);
  CHECK(error_of("def f(x):\n    y = x\n    y = sum(x)\n    return y\nf(arange(3))\n")
            .find("'y' changes type from i64[:] to i64") != std::string::npos);
  CHECK(error_of("def f(x):\n    t = 0\n    for i in range(len(x)):\n        t = x[i]\n    t = zeros(3)\n    return t\nf(arange(3))\n")
            .find("'t' changes type") != std::string::npos);
  CHECK(error_of("def g(x):\n    t = 0\n    for i in prange(len(x)):\n        t = x[i]\n    return t\ng(arange(3))\n")
            .find("'t' is assigned inside a prange loop but lives outside it") != std::string::npos);
  CHECK(error_of("def g(x):\n    t = 1\n    for i in prange(len(x)):\n        t += x[i]\n        t *= 2\n    return t\ng(arange(3))\n")
            .find("reduced two ways") != std::string::npos);
  CHECK(error_of("def f(x):\n    return f(x)\nf(1)\n").find("recursion is not supported") != std::string::npos);
  {
    Jit jit;  // a kernel with loops inside a larger expression runs first
    CHECK(run(jit, "def f(x):\n    for i in range(3):\n        x[i] = 1\n    return x\nprint(1 + f(zeros(3)))\n") ==
          "[2. 2. 2.]\n");
  }
  CHECK(error_of("def f(x):\n    for i in range(0, 3, 0):\n        x[i] = 1\n    return x\nf(zeros(3))\n")
            .find("range() arg 3 must not be zero") != std::string::npos);
  CHECK(error_of("def f(x):\n    for i in range(3):\n        x[i] = 1\nf(zeros(3))\n").find("does not return a value") !=
        std::string::npos);
  CHECK(error_of("def f(x):\n    break\n    return x\nf(1)\n").find("'break' outside loop") != std::string::npos);
  CHECK(error_of("def f(x):\n    return x\nf(1, 2)\n").find("f() takes 1 argument but 2 were given") != std::string::npos);
  CHECK(error_of("def sum(x):\n    return x\n").find("is a builtin function") != std::string::npos);
}

TEST_CASE("return from inside loops and branches (scalars, the types of all returns unify)") {
  Jit jit;
  std::string out = run(jit, R"(
def find(x, v):
    for i in range(len(x)):
        if x[i] == v:
            return i
    return -1
def sgn(v):
    if v > 0:
        return 1
    elif v < 0:
        return -1.5
    else:
        return 0
def first_big(x):
    for i in range(len(x)):
        if x[i] > 2:
            return i, x[i]
    return -1, 0
a, b = first_big(arange(5) * 1.5)
print(find(arange(10) * 2, 6), find(arange(3), 7), sgn(3), sgn(-2), sgn(0), a, b)
)");
  CHECK(out == "3 -1 1.0 -1.5 0.0 2 3.0\n");
  CHECK(error_of("def f(x):\n    if x > 0:\n        return 1\nf(-1)\n").find("reached its end without returning a value") !=
        std::string::npos);
  CHECK(error_of("def f(x):\n    if x > 0:\n        return zeros(3)\n    return zeros(2)\nf(1)\n")
            .find("returns scalars only") != std::string::npos);
}

TEST_CASE("kernels are callable through eval") {
  Jit jit;
  run(jit, "def ewma(x, a):\n    out = empty_like(x)\n    out[0] = x[0]\n    for i in range(1, len(x)):\n"
           "        out[i] = a * x[i] + (1 - a) * out[i - 1]\n    return out\n");
  std::vector<double> x = {1, 2, 3};
  Value y = jit.eval("ewma(x, 0.5)", {{"x", x}});
  CHECK(y.array().to_vector<double>() == std::vector<double>{1, 1.5, 2.25});
}

// eval of a loop-kernel call caches the compiled kernel and how the call's
// arguments map to its parameters; a hit must read the new values, follow
// keyword order and expression arguments, and a redefinition must miss.
TEST_CASE("eval of a loop-kernel call: cached calls agree with the first and a redefinition invalidates them") {
  Jit jit;
  run(jit, "def scan(x, a, b):\n    out = empty_like(x)\n    s = 0.0\n    for i in range(len(x)):\n"
           "        s = a * s + b * x[i]\n        out[i] = s\n    return out\n");
  auto scan = [](const std::vector<double>& x, double a, double b) {
    std::vector<double> out(x.size());
    double s = 0;
    for (size_t i = 0; i < x.size(); ++i) out[i] = s = a * s + b * x[i];
    return out;
  };
  std::vector<double> x = {1, 2, 3, 4}, y = {-1, 0.5, 8, 2, 7};
  const char* exprs[] = {"scan(x, a, 2.0)", "scan(b=2.0, x=x, a=a)", "scan(x * 2.0 + 1.0, a, 1.0)"};
  for (std::string e : exprs) {
    CAPTURE(e);
    std::vector<double> x2(x.size()), y2(y.size());
    for (size_t i = 0; i < x.size(); ++i) x2[i] = x[i] * 2 + 1;
    for (size_t i = 0; i < y.size(); ++i) y2[i] = y[i] * 2 + 1;
    bool doubled = e.find("x * 2.0") != std::string::npos;
    double b = doubled ? 1.0 : 2.0;
    // The first call compiles; the later ones (same signatures, new values
    // and lengths) are cache hits.
    for (int round = 0; round < 3; ++round) {
      double a = 0.25 * (round + 1);
      const std::vector<double>& in = round == 1 ? y : x;
      std::vector<double> want = scan(doubled ? (round == 1 ? y2 : x2) : in, a, b);
      Value got = jit.eval(e, {{"x", in}, {"a", Value::scalar(DType::F64, a, 0)}});
      CHECK(got.array().to_vector<double>() == want);
    }
  }
  // Same text and signatures after a redefinition: the new kernel runs.
  run(jit, "def scan(x, a, b):\n    out = empty_like(x)\n    for i in range(len(x)):\n"
           "        out[i] = a + b * x[i]\n    return out\n");
  Value got = jit.eval("scan(x, a, 2.0)", {{"x", x}, {"a", Value::scalar(DType::F64, 0.5, 0)}});
  CHECK(got.array().to_vector<double>() == std::vector<double>{2.5, 4.5, 6.5, 8.5});
}

// A weak scalar argument (a Python number, as get() returns for `n = 2`) is
// folded into the compiled code, so eval's cache must not reuse it for
// another value of the same signature.
TEST_CASE("eval with a weak scalar argument of a new value does not reuse the cached code") {
  Jit jit;
  std::vector<double> x = {1, 2};
  for (double n : {2.0, 3.0, 2.0}) {
    Value v = Value::scalar(DType::F64, n, 0, /*weak=*/true);
    CHECK(jit.eval("sum(x * n)", {{"x", x}, {"n", v}}).scalar<double>() == 3 * n);
  }
}

TEST_CASE("eval of a loop-kernel call reports a runtime error the same way on every call") {
  Jit jit;
  run(jit, "def pick(x, i):\n    s = 0.0\n    for j in range(2):\n        s += x[i + j]\n    return s\n");
  std::vector<double> x = {1, 2, 3};
  CHECK(jit.eval("pick(x, 1)", {{"x", x}}).scalar<double>() == 5.0);
  std::vector<std::string> errors;
  for (int k = 0; k < 3; ++k) {
    try {
      jit.eval("pick(x, 2)", {{"x", x}});
      errors.push_back("(no error)");
    } catch (const Error& e) {
      errors.push_back(e.what());
    }
  }
  CHECK(errors[0].find("out of bounds") != std::string::npos);
  CHECK(errors[0].find("(in the call at <eval>:1:1)") != std::string::npos);
  CHECK(errors[1] == errors[0]);
  CHECK(errors[2] == errors[0]);
  CHECK(jit.eval("pick(x, 0)", {{"x", x}}).scalar<double>() == 3.0);  // the entry survives the error
}

}  // TEST_SUITE

TEST_SUITE("kernels") {

TEST_CASE("the JIT and the loop-IR interpreter print the same for kernels and fused code") {
  const char* scripts[] = {
      R"(
def ewma(x, a):
    out = empty_like(x)
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = a * x[i] + (1 - a) * out[i - 1]
    return out
x = random(5000, seed=1)
y = ewma(x, 0.1)
print(y[:5], y[-3:], sum(y), max(y), argmin(y))
)",
      R"(
def rolling_mean(x, w):
    out = empty(len(x) - w + 1)
    s = 0.0
    for i in range(w):
        s += x[i]
    out[0] = s / w
    for i in range(w, len(x)):
        s += x[i] - x[i - w]
        out[i - w + 1] = s / w
    return out
r = rolling_mean(randn(10007, seed=2), 20)
print(r[:4], sum(r), var(r), std(r))
)",
      R"(
def stats(X):
    n, m = X.shape
    out = zeros(n)
    cnt = 0
    for i in prange(n):
        best = X[i, 0]
        j = 1
        while j < m:
            if X[i, j] > best:
                best = X[i, j]
            elif X[i, j] < -1:
                j += 1
                continue
            j += 1
        out[i] = best
    for i in range(n):
        if out[i] > 1:
            cnt += 1
    return out, cnt
X = randn(6000, seed=4).reshape(600, 10)
m, c = stats(X)
print(m[:6], c, sum(m * 2 - 1), min(m), cumsum(m)[-1], cummax(m)[-2])
)",
      R"(
def find(x, v):
    for i in range(len(x)):
        if x[i] >= v:
            return i, x[i]
    return -1, 0
k = arange(100000) % 17
print(find(k * 0.5, 7.5), find(k, 99))
g = group_sum(k, where(k > 3, k * 1.5, 0.0), 17)
print(g, group_mean(k, k * 1.0, 18), mean(k // 3), prod(k[:9] + 1), any(k == 16), all(k < 17))
)",
  };
  for (const char* script : scripts) {
    CAPTURE(script);
    Jit jit;
    CHECK(run(jit, script) == reference_run(script, "k.nj"));
  }
}

}  // TEST_SUITE

TEST_SUITE("kernels") {

TEST_CASE("typed fast path: Jit::function binds a kernel to C++ argument types") {
  Jit jit;
  jit.run(R"(
def total(p, q, f):
    return sum(p * q - f)
def ewma_last(x, a):
    s = x[0]
    for i in range(1, len(x)):
        s = a * x[i] + (1 - a) * s
    return s
def scale(x, k):
    for i in range(len(x)):
        x[i] = x[i] * k
    return len(x)
def doubled(x):
    return x * 2
)", "f.nj");
  std::vector<double> p = {1, 2, 3}, q = {4, 5, 6}, f = {0.5, 0.5, 0.5};
  auto total = jit.function<double(View<const double>, View<const double>, View<const double>)>("total");
  CHECK(total(p, q, f) == 30.5);
  p[0] = 2;
  CHECK(total(p, q, f) == 34.5);  // the same buffers, read again: no copies
  auto ewma_last = jit.function<double(View<const double>, double)>("ewma_last");
  CHECK(ewma_last(p, 0.5) == 0.5 * 3 + 0.5 * (0.5 * 2 + 0.5 * 2));
  auto scale = jit.function<int64_t(View<double>, double)>("scale");
  CHECK(scale(p, 10.0) == 3);
  CHECK(p == std::vector<double>{20, 20, 30});
  auto doubled = jit.function<Value(View<const double>)>("doubled");
  CHECK(doubled(q).array().to_vector<double>() == std::vector<double>{8, 10, 12});
  CHECK_THROWS_WITH_AS(jit.function<double(View<const double>)>("scale"), doctest::Contains("takes 2 arguments"), Error);
  CHECK_THROWS_WITH_AS((jit.function<double(View<double>, double)>("scale")), doctest::Contains("returns i64, not f64"), Error);
  CHECK_THROWS_WITH_AS(jit.function<double(View<const double>)>("nope"), doctest::Contains("no kernel named 'nope'"), Error);
  std::vector<double> longer(5, 1.0);
  CHECK_THROWS_WITH_AS(total(p, longer, f), doctest::Contains("operands could not be broadcast"), Error);
}

}  // TEST_SUITE

TEST_SUITE("kernels") {

TEST_CASE("loops whose indices are provably in range run a copy without checks, others keep them") {
  const char* src = R"(
def shift(p, k):
    out = zeros(len(p) - k)
    for i in prange(len(p) - k):
        j = i + k
        out[i] = p[j] - p[i]
    return out
def gather(x, idx):
    s = 0.0
    for i in range(len(idx)):
        s += x[idx[i]]
    return s
def partial(x, n):
    for i in range(n):
        x[i] = -1.0
    return n
def back(p):
    out = zeros(len(p))
    for i in range(len(p)):
        out[i] = p[i - 1]
    return out
)";
  Jit jit;
  jit.run(src);
  std::vector<double> p = {1, 2, 4, 8, 16};
  std::string loops = jit.emit("shift(p, 2)", Stage::Loops, {{"p", p}});
  // One copy of the loop checks each access, the other has no check and no wrap.
  size_t quick = loops.find("parallel:");
  size_t slow = loops.find("else:");
  REQUIRE(quick != std::string::npos);
  REQUIRE(slow != std::string::npos);
  CHECK(loops.substr(quick, slow - quick).find("index(") == std::string::npos);
  CHECK(loops.substr(quick, slow - quick).find("select(") == std::string::npos);
  CHECK(loops.substr(slow).find("index(") != std::string::npos);
  CHECK(jit.eval("shift(p, 2)", {{"p", p}}).array().to_vector<double>() == std::vector<double>{3, 6, 12});
  // An index read from memory cannot be proven: its check stays in both
  // copies; the copy without the provable idx[i] checks has only that one.
  std::vector<int64_t> idx = {0, 4, -1};
  std::string g = jit.emit("gather(p, idx)", Stage::Loops, {{"p", p}, {"idx", idx}});
  size_t gq = g.find("if "), gs = g.find("else:");
  REQUIRE(gq != std::string::npos);
  REQUIRE(gs != std::string::npos);
  std::string fast = g.substr(gq, gs - gq);
  CHECK(fast.find("index(") != std::string::npos);
  CHECK(fast.find("index(", fast.find("index(") + 1) == std::string::npos);
  CHECK(g.substr(gs).find("index(") != std::string::npos);
  CHECK(jit.eval("gather(p, idx)", {{"p", p}, {"idx", idx}}).scalar<double>() == 33.0);
  // A loop that would fail runs the checked copy: the writes before the bad
  // index happen (the caller sees them, as in NumPy), then the error.
  std::vector<double> x(3, 0.0);
  CHECK_THROWS_WITH_AS(jit.eval("partial(x, 5)", {{"x", x}}), doctest::Contains("index 3 is out of bounds for axis 0 with size 3"),
                       Error);
  CHECK(x == std::vector<double>{-1, -1, -1});
  // Negative indices still wrap: the fast copy is only taken for [0, len).
  CHECK(jit.eval("back(p)", {{"p", p}}).array().to_vector<double>() == std::vector<double>{16, 1, 2, 4, 8});
}

TEST_CASE("Options::boundscheck off removes the index checks of kernels") {
  const char* src = "def f(x):\n    s = 0.0\n    for i in range(len(x)):\n        s += x[i]\n        x[i] = s\n    return s\n";
  Options on, off;
  off.boundscheck = false;
  Jit checked(on), unchecked(off);
  checked.run(src);
  unchecked.run(src);
  std::vector<double> x = {1, 2, 3};
  CHECK(checked.emit("f(x)", Stage::Loops, {{"x", x}}).find("index(") != std::string::npos);
  CHECK(unchecked.emit("f(x)", Stage::Loops, {{"x", x}}).find("index(") == std::string::npos);
  x = {1, 2, 3};  // emit ran the kernel, which writes into x
  CHECK(unchecked.eval("f(x)", {{"x", x}}).scalar<double>() == 6.0);
}

}  // TEST_SUITE

// Issue 12: parallel loops must really run on more than one thread, not
// merely give the same bits. A prange loop, a prange reduction and a large
// elementwise expression each run a range on a worker at 2 threads, and
// none at 1.
TEST_CASE("prange loops and large loops run on more than one thread") {
  std::vector<double> x(1 << 20);
  for (size_t i = 0; i < x.size(); ++i) x[i] = double(i % 7);
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    Options o;
    o.threads = threads;
    o.disk_cache = false;
    Jit jit(o);
    jit.set("x", Value(Array::view(x)));
    jit.run("def scale(x):\n    out = empty_like(x)\n    for i in prange(len(x)):\n        out[i] = x[i] * 2\n"
            "    return out\n"
            "def total(x):\n    s = 0.0\n    for i in prange(len(x)):\n        s += x[i]\n    return s\n");
    for (const char* stmt : {"y = scale(x)", "s = total(x)", "z = x * 3.0 + 1.0"}) {
      CAPTURE(stmt);
      uint64_t before = ThreadPool::worker_ranges();
      jit.run(stmt);
      uint64_t ran = ThreadPool::worker_ranges() - before;
      if (threads == 1) CHECK(ran == 0);
      else CHECK(ran >= 1);
    }
    CHECK(jit.get("s").scalar<double>() == 3145722.0);
  }
}

// Issue 13: a range loop whose iterations are independent runs on the pool
// (ir/passes/parallelize.h, parallelize_independent_loops), with the serial
// loop's results at any thread count; loops with carried state, reads of
// other iterations' elements, possibly overlapping arguments, or locals read
// after the loop stay serial.
TEST_CASE("range loops with independent iterations run in parallel, the others in order") {
  const char* kernels =
      "def helper(v):\n    r = v * v\n    if v < 0:\n        r = -r\n    return r\n"
      "def indep(x):\n    out = empty_like(x)\n    for i in range(len(x)):\n        out[i] = helper(x[i]) + 1.0\n"
      "    return out\n"
      "def inplace(x):\n    for i in range(len(x)):\n        x[i] = x[i] * 0.5\n    return x\n"
      "def carried(x):\n    out = empty_like(x)\n    out[0] = x[0]\n    for i in range(1, len(x)):\n"
      "        out[i] = out[i - 1] + x[i]\n    return out\n"
      "def neighbour(x):\n    for i in range(len(x) - 1):\n        x[i] = x[i + 1] * 2.0\n    return x\n"
      "def two(a, b):\n    for i in range(len(a)):\n        a[i] = b[i] + 1.0\n    return a\n"
      "def last(x):\n    t = 0.0\n    out = empty_like(x)\n    for i in range(len(x)):\n        if x[i] > 3:\n"
      "            t = x[i]\n        out[i] = t\n    return out\n"
      // Loops inside: private locals set in each iteration, rows written.
      "def rows(m):\n    out = empty(m.shape[0])\n    for i in range(m.shape[0]):\n        s = 0.0\n"
      "        for j in range(m.shape[1]):\n            s += m[i, j] * j\n        out[i] = s\n    return out\n"
      "def escape(m):\n    out = zeros(m.shape)\n    for i in range(m.shape[0]):\n        for j in range(m.shape[1]):\n"
      "            k = 0\n            z = 0.0\n            while k < 50 and z < 4.0:\n                z = z * z + m[i, j]\n"
      "                k += 1\n                if z < -100.0:\n                    break\n            out[i, j] = k\n"
      "    return out\n"
      // A sum carried from row to row; a local maybe unset (no inner trip);
      // columns written by rows.
      "def carried2(m):\n    out = empty(m.shape[0])\n    acc = 0.0\n    for i in range(m.shape[0]):\n"
      "        for j in range(m.shape[1]):\n            acc += m[i, j]\n        out[i] = acc\n    return out\n"
      "def unset(m, n):\n    out = empty(m.shape[0])\n    t = 1.0\n    for i in range(m.shape[0]):\n"
      "        for j in range(n):\n            t = m[i, j]\n        out[i] = t\n    return out\n"
      "def columns(m):\n    out = zeros((m.shape[1], m.shape[0]))\n    for i in range(m.shape[0]):\n"
      "        for j in range(m.shape[1]):\n            out[j, 0] = out[j, 0] + m[i, j]\n    return out\n";
  Jit probe;
  probe.run(kernels);
  std::vector<double> p(8, 1.0);
  Args a = {{"x", Value(Array::view(p))}, {"y", Value(Array::view(p))}, {"m", Value(Array::view(p.data(), DType::F64, {2, 4}))}};
  // Whether the kernel's own loop over `i` (`for i.<n> in ...`, not the
  // loops numjit writes for zeros and the like) is marked parallel.
  auto loops = [&](const char* call) {
    std::string text = probe.emit(std::string("r = ") + call, Stage::Loops, a);
    size_t at = text.find("for i.");
    return at == std::string::npos ? std::string() : text.substr(at, text.find('\n', at) - at);
  };
  CHECK(loops("indep(x)").find(") parallel:") != std::string::npos);
  CHECK(loops("inplace(x)").find(") parallel:") != std::string::npos);
  CHECK(loops("rows(m)").find(") parallel:") != std::string::npos);
  CHECK(loops("escape(m)").find(") parallel:") != std::string::npos);
  for (const char* serial : {"carried(x)", "neighbour(x)", "two(x, y)", "last(x)", "carried2(m)", "unset(m, 2)",
                             "columns(m)"}) {
    CAPTURE(serial);
    CHECK(loops(serial).find(") parallel:") == std::string::npos);
  }
  std::vector<double> x(100000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = double(int(i % 13) - 6) * 0.75;
  std::vector<std::vector<double>> results;
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    Options o;
    o.threads = threads;
    o.disk_cache = false;
    Jit jit(o);
    jit.run(kernels);
    std::vector<double> xi = x, xc = x, xn = x;
    jit.set("x", Value(Array::view(x)));
    jit.set("xi", Value(Array::view(xi)));
    jit.set("xn", Value(Array::view(xn)));
    uint64_t before = ThreadPool::worker_ranges();
    jit.run("r1 = indep(x)\nr2 = inplace(xi)\n");
    if (threads > 1) CHECK(ThreadPool::worker_ranges() > before);
    jit.run("r3 = carried(x)\nr4 = neighbour(xn)\nr5 = last(x)\nm = x.reshape((1000, 100)) * 0.1\n");
    before = ThreadPool::worker_ranges();
    jit.run("r6 = rows(m)\nr7 = escape(m)\n");
    if (threads > 1) CHECK(ThreadPool::worker_ranges() > before);
    jit.run("r8 = carried2(m)\nr9 = unset(m, 3)\nr10 = columns(m)\n");
    std::vector<double> all;
    for (const char* r : {"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10"}) {
      auto v = jit.get(r).array().to_vector<double>();
      all.insert(all.end(), v.begin(), v.end());
    }
    results.push_back(all);
  }
  CHECK(results[1] == results[0]);
  CHECK(results[2] == results[0]);
  // Spot values: the serial semantics.
  CHECK(results[0][0] == -19.25);  // x[0] = -4.5: -(4.5 * 4.5) + 1
}
