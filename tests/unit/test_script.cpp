// Scripts at the top level: views alias their array, element and slice
// assignment write into it, tuples, negative axes.
#include <doctest/doctest.h>

#include <sstream>

#include "numjit/numjit.hpp"

using namespace numjit;

namespace {
std::string run(const std::string& src) {
  Jit jit;
  std::ostringstream out;
  jit.set_output(&out);
  try {
    jit.run(src, "s.nj");
  } catch (const Error& e) {
    out << "error: " << e.what();
  }
  return out.str();
}
}  // namespace

TEST_SUITE("script") {

TEST_CASE("consecutive assignments run as one program, with the semantics of one statement at a time") {
  // lo and hi read x in one pass; the values are those of each alone.
  Jit jit;
  jit.run("x = random(100003, seed=4)\na = 0.5\nlo = min(x)\nhi = max(x)\ny = x * a + lo\ns = sum(x)\nm = mean(x)\n");
  Value x = jit.get("x");
  CHECK(jit.get("lo").scalar<double>() == jit.eval("min(x)", {{"x", x}}).scalar<double>());
  CHECK(jit.get("hi").scalar<double>() == jit.eval("max(x)", {{"x", x}}).scalar<double>());
  CHECK(jit.get("s").scalar<double>() == jit.eval("sum(x)", {{"x", x}}).scalar<double>());
  CHECK(jit.get("m").scalar<double>() == jit.eval("mean(x)", {{"x", x}}).scalar<double>());
  CHECK(jit.get("y").array().to_vector<double>() ==
        jit.eval("x * 0.5 + lo", {{"x", x}, {"lo", jit.get("lo")}}).array().to_vector<double>());
  // Equal values are still two arrays.
  CHECK(run("x = arange(4) * 1.0\na = x + 1\nb = x + 1\na[0] = 100\nprint(a, b)\n") ==
        "[100.   2.   3.   4.] [1. 2. 3. 4.]\n");
  // An error is raised by its statement, after the ones before it ran.
  Jit e;
  CHECK_THROWS_WITH_AS(e.run("x = arange(4) * 1.0\nc = x * 2\nd = nope + 1\n", "s.nj"),
                       doctest::Contains("s.nj:3:5: error: unknown name 'nope'"), Error);
  CHECK(e.get("c").array().to_vector<double>() == std::vector<double>{0, 2, 4, 6});
  CHECK_THROWS_WITH_AS(e.run("f = x * 3\ng = x[1:] + x\n", "t.nj"),
                       doctest::Contains("t.nj:2:5: error: operands could not be broadcast together"), Error);
  CHECK(e.get("f").array().to_vector<double>() == std::vector<double>{0, 3, 6, 9});
}

TEST_CASE("a slice is a view: kernels write through it, and so do assignments") {
  CHECK(run(R"(
z = arange(8) * 1.0
w = z[::2]
def fill(v, c):
    for i in range(len(v)):
        v[i] = c
    return len(v)
k = fill(z[1::2], -1.0)
z[0] = 100
print(z, w, k)
)") == "[100.  -1.   2.  -1.   4.  -1.   6.  -1.] [100.   2.   4.   6.] 4\n");
}

TEST_CASE("element and slice assignment, with casts to the array's dtype") {
  CHECK(run(R"(
X = arange(6).reshape(2, 3)
X[1, :] = arange(3) * 10
X[:, 0] = -1
X[0, 1] += 5
X[-1, -1] = 2.9
f = zeros(3, dtype=f32)
f[1:] = 2.5
print(X, f)
)") == "[[-1  6  2]\n [-1 10  2]] [0.  2.5 2.5]\n");
  CHECK(run("z = zeros(4)\nz[4] = 1\n").find("index 4 is out of bounds for axis 0 with size 4") != std::string::npos);
  CHECK(run("z = zeros(4)\nz[1:3] = arange(3)\n").find("could not be broadcast together with shapes (3,) (2,)") !=
        std::string::npos);
  CHECK(run("z = zeros(4)\nz[1:3] = ones((2, 2))\n").find("could not broadcast input array from shape (2,2) into "
                                                          "shape (2,)") != std::string::npos);
  CHECK(run("x = 1\nx[0] = 2\n").find("only elements and slices of array variables can be assigned") != std::string::npos);
}

// Issue 12: writing NaN or an out-of-range float into an integer array went
// through a C++ float-to-int conversion, undefined for those values (UBSan
// reports it). NumPy on x86 gives the integer's minimum.
TEST_CASE("NaN and infinities written into integer arrays give NumPy's values") {
  CHECK(run(R"(
a = zeros(4, dtype=i32)
a[0:3] = ones(3) * nan
a[1:3] = -ones(2) * 1e300
a[3] = 2.9
b = zeros(3, dtype=i64)
b[:] = (arange(3) - 1.5) * 1e300
b += 1
print(a, b)
)") == "[-2147483648 -2147483648 -2147483648           2] "
       "[-9223372036854775807 -9223372036854775807 -9223372036854775807]\n");
  // A scalar converts as Python's int() does: NaN and infinities are errors.
  CHECK(run("a = zeros(3, dtype=i32)\na[0] = nan\n").find("cannot convert float NaN to integer") != std::string::npos);
  CHECK(run("a = zeros(3, dtype=i64)\na[:] = -inf\n").find("cannot convert float infinity to integer") !=
        std::string::npos);
}

TEST_CASE("a full index is a copy, not a view") {
  CHECK(run("x = arange(3)\na = x[1]\nx[1] = 7\nprint(a, x)\n") == "1 [0 7 2]\n");
}

TEST_CASE("tuples with repeated values, and negative axes") {
  CHECK(run("x = arange(4)\na, b = x + 1, x + 1\nprint(a, b)\n") == "[1 2 3 4] [1 2 3 4]\n");
  CHECK(run("X = arange(6).reshape(2, 3)\nprint(sum(X, axis=-2), sum(X, axis=-1), max(X, axis=-2))\n") ==
        "[3 5 7] [ 3 12] [3 4 5]\n");
}

TEST_CASE("control flow belongs in kernels") {
  CHECK(run("for i in range(3):\n    pass\n").find("run inside kernels: put them in a def") != std::string::npos);
}

}  // TEST_SUITE

TEST_SUITE("script") {

TEST_CASE("fabs is a float function, save errors point at the call, straight-line kernel statements") {
  CHECK(run("print(fabs(-3), fabs(arange(3) - 1))\n") == "3.0 [1. 0. 1.]\n");
  CHECK(run("save(\"/nonexistent/dir/x.npy\", 3)\n").find("s.nj:1:1: error: cannot save") != std::string::npos);
  CHECK(run("def f(x):\n    x + 1\n    return x * 2\nprint(f(arange(3)))\n") == "[0 2 4]\n");
  CHECK(run("def g(x):\n    return x\n    y = 1\ng(1)\n").find("code after 'return' never runs") != std::string::npos);
}

}  // TEST_SUITE

// Issue 12: --emit (Jit::emit) shows what run compiles, batches and loop
// kernels called inside expressions included, and writes nothing: not the
// caller's arrays, not the session's, not files.
TEST_CASE("emit shows the programs run compiles and writes nothing") {
  Jit jit;
  std::vector<double> host = {1, 2, 3};
  jit.set("kept", Value(Array::view(host)));
  const std::string script =
      "def bump(x):\n    for i in range(len(x)):\n        x[i] = x[i] + 10\n    return x\n"
      "a = bump(arg) + 1\n"
      "b = bump(kept)\n"
      "lo = min(arg)\n"
      "hi = max(arg)\n"
      "save('/nonexistent-dir/emit-must-not-save.npy', a)\n"
      "print(lo)\n";
  std::vector<double> arg = {4, 5, 6};
  std::string loops = jit.emit(script, Stage::Loops, {{"arg", Array::view(arg)}});
  CHECK(loops.find("kernel bump(x: f64[:])") != std::string::npos);        // the loop kernel, as called
  CHECK(loops.find("kernel kernel((call 1): f64[:])") != std::string::npos);  // then + 1 on its result
  CHECK(loops.find("-> (out0, out1)") != std::string::npos);  // lo and hi: one program, as run batches them
  CHECK(arg == std::vector<double>{4, 5, 6});
  CHECK(host == std::vector<double>{1, 2, 3});
  std::string typed = jit.emit(script, Stage::Typed, {{"arg", Array::view(arg)}});
  CHECK(typed.find("a: f64[:] = bump(arg) + 1\n") != std::string::npos);
  CHECK(typed.find("lo: f64 = min(arg)\n") != std::string::npos);
}
