// Conformance with NumPy 1.24 under NEP 50 weak promotion: divergences found
// by running snippets through numjit and NumPy side by side, each pinned here
// with the text NumPy prints. Every case runs three ways — the JIT, the array
// IR interpreter (reference_eval) and the loop-IR interpreter (reference_run)
// — and all three must print NumPy's answer.
#include <doctest/doctest.h>

#include <sstream>

#include "driver/driver.h"
#include "numjit/numjit.hpp"

using namespace numjit;

namespace {

// What a script prints through the JIT; an error becomes "error: <message>".
std::string jit_run(const std::string& src) {
  Jit jit;
  std::ostringstream out;
  jit.set_output(&out);
  try {
    jit.run(src, "c.nj");
  } catch (const Error& e) {
    out << "error: " << e.what();
  }
  return out.str();
}

// The same through the loop-IR interpreter.
std::string ref_run(const std::string& src) {
  try {
    return reference_run(src, "c.nj");
  } catch (const Error& e) {
    return std::string("error: ") + e.what();
  }
}

// A script's output, checked on the JIT and the loop-IR interpreter.
void check_script(const std::string& src, const std::string& want) {
  CAPTURE(src);
  CHECK(jit_run(src) == want);
  CHECK(ref_run(src) == want);
}

// One expression's value as NumPy prints it, on the JIT, the array-IR
// interpreter and the loop-IR interpreter.
void check_expr(const std::string& expr, const std::string& want) {
  CAPTURE(expr);
  Jit jit;
  std::string got;
  try {
    got = format_value(jit.eval(expr));
  } catch (const Error& e) {
    got = std::string("error: ") + e.what();
  }
  CHECK(got == want);
  std::string ref;
  try {
    ref = format_value(reference_eval(expr));
  } catch (const Error& e) {
    ref = std::string("error: ") + e.what();
  }
  CHECK(ref == want);
  CHECK(ref_run("print(" + expr + ")\n") == want + "\n");
}

// An expression that must fail with a message containing `what`.
void check_error(const std::string& src, const std::string& what) {
  CAPTURE(src);
  std::string got = jit_run(src);
  CHECK(got.rfind("error: ", 0) == 0);
  CHECK(got.find(what) != std::string::npos);
  std::string ref = ref_run(src);
  CHECK(ref.rfind("error: ", 0) == 0);
  CHECK(ref.find(what) != std::string::npos);
}

}  // namespace

TEST_SUITE("conformance") {

TEST_CASE("creation functions of equal constant length broadcast together") {
  // arange's length is computed (ceil((stop - start) / step)) and linspace's
  // num is a weak literal; both must become the same constant dimension.
  check_expr("arange(5) + linspace(0, 1, 5)", "[0.   1.25 2.5  3.75 5.  ]");
  check_expr("where(arange(3) == 0, nan, linspace(-1, 1, 3))", "[nan  0.  1.]");
  check_expr("arange(0.0, 3.0) * arange(3)", "[0. 1. 4.]");
  check_expr("zeros(3) + linspace(0, 1, 3) + arange(3) + full(3, 1)", "[1.  2.5 4. ]");
  check_expr("reshape(arange(6), (2, 3)) + linspace(0, 1, 3)", "[[0.  1.5 3. ]\n [3.  4.5 6. ]]");
  check_error("y = arange(4) + linspace(0, 1, 5)\n", "operands could not be broadcast together with shapes (4,) (5,)");
}

TEST_CASE("arange fills as NumPy does: first, first + step, then first + i * (second - first)") {
  // NumPy stores start and start + step and fills the rest from their
  // difference in the result dtype, so the float values differ from
  // start + i * step in the last bits.
  check_script("x = arange(0.3, 2, 0.1)\nprint(x[2], x[3], x[5], x[7], x[11], x[16], len(x))\n",
               "0.5 0.6000000000000001 0.8000000000000003 1.0000000000000002 1.4000000000000004 "
               "1.9000000000000006 17\n");
  check_script("w = arange(1.5, -2.5, -0.7)\nprint(w[1], w[4], len(w))\n", "0.8 -1.2999999999999998 6\n");
  check_expr("arange(0.5, 5, 1.5, dtype=i32)", "[0 2 4]");
  check_expr("arange(0, 1, 0.3, dtype=i64)", "[0 0 0 0]");
  check_expr("arange(4611686018427387904, 4611686018427387907)",
             "[4611686018427387904 4611686018427387905 4611686018427387906]");
  check_expr("arange(0.3, 2, 0.1, dtype=f32)[16]", "1.8999999");
  check_expr("arange(0, 1, -0.1)", "[]");
  check_error("y = arange(1e20)\n", "Maximum allowed size exceeded");
  check_error("y = arange(0, nan)\n", "arange: cannot compute length");
}

TEST_CASE("linspace floors before converting to an integer dtype (NumPy >= 1.20)") {
  check_expr("linspace(-1, 0, 3, dtype=i64)", "[-1 -1  0]");
  check_expr("linspace(-5, 5, 4, dtype=i32)", "[-5 -2  1  5]");
  check_expr("linspace(0, 10, 4, dtype=i64)", "[ 0  3  6 10]");
}

TEST_CASE("the methods X.min(1) and X.max(0) take a positional axis, as ndarray.min does") {
  // Only the function min(a, b) means the two-value minimum.
  check_expr("reshape(arange(6) * 1.0, (2, 3)).min(1)", "[0. 3.]");
  check_expr("reshape(arange(6), (2, 3)).max(0)", "[3 4 5]");
  check_expr("reshape(arange(6), (2, 3)).max(-1)", "[2 5]");
  check_expr("min(reshape(arange(6), (2, 3)), 1)", "[[0 1 1]\n [1 1 1]]");
  check_expr("arange(4).min(axis=0)", "0");
}

TEST_CASE("augmented assignment to an array variable writes in place, as NumPy's out= ufunc") {
  // Every name and view sharing the array sees the update.
  check_script("x = arange(3)\na = b = x\nb += 1\nprint(x, a, b)\n", "[1 2 3] [1 2 3] [1 2 3]\n");
  check_script("x = arange(6)\nw = x[::2]\nw *= 10\nprint(x, w)\n", "[ 0  1 20  3 40  5] [ 0 20 40]\n");
  check_script("X = zeros((2, 3))\nr = X[1]\nr += arange(3)\nX -= reshape(arange(2), (2, 1))\nprint(X)\n",
               "[[ 0.  0.  0.]\n [-1.  0.  1.]]\n");
  check_script("x = ones(3, dtype=f32)\nx += linspace(0, 1, 3)\nx /= 3\nprint(x)\n",
               "[0.33333334 0.5        0.6666667 ]\n");
  check_script("x = arange(3).astype(i32)\nx += arange(3)\nx += 2147483647\nprint(x)\n",
               "[ 2147483647 -2147483647 -2147483645]\n");
  check_script("x = arange(4)\nx += x\nx -= x[::-1]\nprint(x)\n", "[-6 -2  2  6]\n");
  check_script("b = arange(3) > 0\nb |= arange(3) > 1\nb &= arange(3) < 2\nprint(b)\n", "[False  True False]\n");
  // Scalars are values, as Python numbers: a new binding.
  check_script("c = 2\nd = c\nc *= 3.5\ns = sum(arange(3))\ns += 0.5\nprint(c, d, s)\n", "7.0 2 3.5\n");
  // The result must cast to the array's dtype under 'same_kind' and keep its shape.
  check_error("x = arange(3)\nx /= 2\n",
              "Cannot cast ufunc 'divide' output from dtype('float64') to dtype('int64') with casting rule 'same_kind'");
  check_error("x = arange(3)\nx += 1.5\n",
              "Cannot cast ufunc 'add' output from dtype('float64') to dtype('int64') with casting rule 'same_kind'");
  check_error("b = arange(3) > 0\nb += 1\n",
              "Cannot cast ufunc 'add' output from dtype('int64') to dtype('bool') with casting rule 'same_kind'");
  check_error("x = zeros(3)\nx += zeros((2, 3))\n",
              "non-broadcastable output operand with shape (3,) doesn't match the broadcast shape (2,3)");
}

TEST_CASE("round(x, decimals) and x.round(d), as NumPy's PyArray_Round") {
  check_expr("round(linspace(-2, 2, 5) * 1.2345, 2)", "[-2.47 -1.23  0.    1.23  2.47]");
  check_expr("round(linspace(-2, 2, 5) * 1.2345, -1)", "[-0. -0.  0.  0.  0.]");
  check_expr("round(2.675, 2)", "2.68");  // NumPy, not Python: 2.675 * 100 rounds to 267.5, then half to even
  check_expr("round(1234.5678, decimals=-2)", "1200.0");
  check_expr("round(arange(-25, 30, 7), -1)", "[-20 -20 -10   0   0  10  20  20]");  // half to even
  check_expr("round(arange(3).astype(i32), 2)", "[0 1 2]");
  check_expr("round(ones(2, dtype=f32) / 3, 3)", "[0.333 0.333]");
  check_expr("(arange(4) * 0.55).round(1)", "[0.  0.6 1.1 1.6]");
  check_error("y = round(ones(2), 1.5)\n", "decimals must be a constant integer");
}

TEST_CASE("creation functions take the dtype positionally too") {
  check_expr("zeros(3, i32)", "[0 0 0]");
  check_expr("ones((2, 2), bool)", "[[ True  True]\n [ True  True]]");
  check_expr("full(3, 7, f32) / 2", "[3.5 3.5 3.5]");
  check_expr("zeros_like(arange(3), f32) + 0.5", "[0.5 0.5 0.5]");
  check_expr("full_like(arange(3), 2.5, f64)", "[2.5 2.5 2.5]");
  check_error("y = zeros(3, f32, dtype=f64)\n", "zeros() got multiple values for argument 'dtype'");
}

}  // TEST_SUITE
