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

}  // TEST_SUITE
