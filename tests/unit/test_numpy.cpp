// numjit against NumPy: the workload kernels of BENCHMARKS.md and a table of
// the fine print of SPEC.md §1, run by the numjit CLI on .npy files that
// NumPy wrote, saved with save(), and checked by NumPy (1.24 with
// np._set_promotion_state("weak"), i.e. NEP 50): the same shape, the same
// dtype, and the same values — exactly for elementwise arithmetic, within
// rtol 1e-12 for sums (NumPy sums pairwise, numjit in its fixed lane order),
// within 1e-13 for transcendental functions.
//
// Skipped (with a message) when /usr/bin/python3 cannot import numpy.
// A case marked `known_bug` is expected to fail and only reports; with
// NUMJIT_TEST_KNOWN_BUGS=1 it is checked like the others.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ir/builtins.h"

namespace fs = std::filesystem;

namespace {

const char* kPython = "/usr/bin/python3";

bool run_known_bugs() {
  const char* v = std::getenv("NUMJIT_TEST_KNOWN_BUGS");
  return v && *v && std::string(v) != "0";
}

/** A fresh directory under the system temp directory, removed afterwards. */
struct TempDir {
  fs::path dir;
  TempDir() {
    dir = fs::temp_directory_path() / fmt::format("numjit_numpy_test_{}", getpid());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    if (!std::getenv("NUMJIT_KEEP_TEMP")) fs::remove_all(dir, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

void write_file(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Run {
  int status = -1;
  std::string out, err;
};

/** Runs `cmd` through the shell in `dir`; captures stdout and stderr. */
Run run(const TempDir& dir, const std::string& cmd) {
  static int counter = 0;
  std::string out = dir.file(fmt::format("cmd{}.out", counter)), err = dir.file(fmt::format("cmd{}.err", counter));
  ++counter;
  std::string full = fmt::format("cd '{}' && NUMJIT_CACHE_DIR='{}' {} > '{}' 2> '{}'", dir.dir.string(),
                                 dir.file("cache"), cmd, out, err);
  int rc = std::system(full.c_str());
  Run r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

bool have_numpy() {
  if (access(kPython, X_OK) != 0) return false;
  return std::system(fmt::format("{} -c 'import numpy' > /dev/null 2>&1", kPython).c_str()) == 0;
}

// ---------------------------------------------------------------------------
// The inputs, written by NumPy with a fixed seed, and loaded by both sides.

const char* kMakeInputs = R"PY(
import numpy as np, sys
out = sys.argv[1]
rng = np.random.default_rng(20241201)
n = 10007
arrays = {
    # K1, K2: prices, quantities, fees (sums stay well away from cancellation)
    "p": rng.uniform(50, 150, n), "q": rng.uniform(0, 1, n), "f": rng.uniform(0, 10, n),
    # K8: a long elementwise chain; K5: transcendental
    "a": rng.standard_normal(n), "b": rng.standard_normal(n), "c": rng.standard_normal(n),
    "d": rng.standard_normal(n), "e": rng.standard_normal(n),
    "x": rng.standard_normal(n), "y": rng.standard_normal(n) * 10,
    # K3: an equity curve
    "eq": 100 * np.exp(np.cumsum(rng.standard_normal(n) * 0.01)),
    # K4: 64 symbols, prices around 100
    "sym": rng.integers(0, 64, n).astype(np.int32), "p4": 100 + rng.standard_normal(n) * 5,
    "q4": rng.uniform(0, 10, n),
    # K10: a (rows, 16) matrix and weights
    "X": rng.standard_normal((1000, 16)), "w": rng.standard_normal(16),
    # the fine print
    "xf": np.array([1.5, -2.25, 3.0, 0.1, -0.0, 7.0], np.float32),
    "xi": np.array([1, -2, 3, 7, -7, 0, 2**31 - 1, -2**31], np.int32),
    "xl": np.array([5, -5, 7, -7, 0, 2**40, -2**63, 2**62 + 2**38 + 1], np.int64),
    "zi": np.array([0, 0, 2, -2, 0, 3, -1, -1], np.int32),
    "zl": np.array([0, 3, 2, -2, 0, -3, -1, -1], np.int64),
    "h": np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 0.49999999999999994, 4.5, -0.0]),
    "nv": np.array([1.0, np.nan, -3.0, 5.0, np.nan, 0.0]),
    "fa": np.array([1.0, -1.0, 7.5, -7.5, 0.0, -0.0, 1e300, 0.3, 5.0, -5.0, 1.0]),
    "fb": np.array([0.1, 0.1, -2.0, 2.0, -2.0, 3.0, 1e-300, 0.1, 0.0, 0.0, -0.0]),
    "ff": np.array([1.9, -1.9, 2.5, -2.5, 1e20, -1e20, np.nan, 3e9, -0.0]),
    # every elementwise builtin (kEveryBuiltin): the edges of f64, f32 and ints
    "ev": np.array([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5, 3.0, 0.9999999, 1e-300, 5e-324,
                    700.0, -700.0, 1e300, np.inf, -np.inf, np.nan]),
    "evf": np.array([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5, 3.0, 1e-30, 80.0, -80.0,
                     np.inf, -np.inf, np.nan], np.float32),
    "evi": np.array([0, 1, -1, 2, -3, 7, 2**31 - 1, -2**31], np.int32),
    "t": np.array([True, False, True, True, False]),
    "t2": np.array([True, True, False, True, False]),
    "e0": np.zeros(0), "e0i": np.zeros(0, np.int32),
    "M": np.arange(12.0).reshape(3, 4), "w4": np.array([1.0, -2.0, 0.5, 3.0]),
    "gk": np.array([0, 2, 2, 0, 3, 2], np.int32),
    "gv": np.array([1.5, -2.0, 4.0, np.nan, 0.5, -1.0]),
    "gi": np.array([3, -4, 7, 1, 9, -2], np.int32),
}
for name, v in arrays.items():
    np.save(f"{out}/{name}.npy", v)
print(" ".join(arrays))
)PY";

// ---------------------------------------------------------------------------
// The cases: a numjit expression, the NumPy expression it must equal, and how
// closely. Both see the inputs above by name (and `peak`, see kSetup).

enum class Cmp { Exact, Sum, Sum32, Transcendental };

struct Case {
  const char* name;
  const char* numjit;
  const char* numpy;
  Cmp cmp = Cmp::Exact;
  const char* known_bug = nullptr;  // why it fails today (reported, not checked)
};

// Statements both sides run before the cases.
const char* kSetupNumjit = "peak = cummax(eq)\n";
const char* kSetupNumpy = "peak = np.maximum.accumulate(eq)\n";


const std::vector<Case> kCases = {
    // --- the workload kernels (BENCHMARKS.md) ---------------------------------
    {"K1 fused map-reduce", "sum(p * q - f)", "np.sum(p * q - f)", Cmp::Sum},
    {"K2 returns", "(p[1:] - p[:-1]) / p[:-1]", "(p[1:] - p[:-1]) / p[:-1]"},
    {"K3 drawdown: peak", "peak", "peak"},
    {"K3 drawdown", "(peak - eq) / peak", "(peak - eq) / peak"},
    {"K4 filtered group sum", "group_sum(sym, where(p4 > 100, p4 * q4, 0.0), 64)",
     "np.bincount(sym, weights=np.where(p4 > 100, p4 * q4, 0.0), minlength=64)", Cmp::Sum},
    {"K5 transcendental", "exp(-0.5 * x * x) * 0.3989422804014327 + log1p(abs(y))",
     "np.exp(-0.5 * x * x) * 0.3989422804014327 + np.log1p(np.abs(y))", Cmp::Transcendental},
    {"K8 long elementwise chain", "((a * b + c) * d - e) / (a + 1.5) + sqrt(abs(b))",
     "((a * b + c) * d - e) / (a + 1.5) + np.sqrt(np.abs(b))"},
    {"K10 2-D weighted row sum", "sum(X * w, axis=1)", "np.sum(X * w, axis=1)", Cmp::Sum},
    {"K1 as dot", "dot(p, q)", "np.dot(p, q)", Cmp::Sum},
    {"K10 as dot", "dot(X, w)", "np.dot(X, w)", Cmp::Sum},

    // --- NEP 50 weak promotion -----------------------------------------------
    {"f32 * weak float stays f32", "xf * 2.0", "xf * 2.0"},
    {"i32 + weak int stays i32", "xi + 1", "xi + 1"},
    {"i32 + i64 is i64", "xi + xl", "xi + xl"},
    {"i64 + f32 is f64", "xl[:6] + xf", "xl[:6] + xf"},
    {"a length-1 slice broadcasts", "xl + xf[:1]", "xl + xf[:1]", Cmp::Exact,
     "only dims that are the compile-time constant 1 broadcast (ir/array_ir.h); a slice of length 1 of a longer "
     "input is an error 'operands could not be broadcast together with shapes (8,) (1,)' where NumPy broadcasts"},
    {"f32 + i32 is f64", "xf + xi[:6]", "xf + xi[:6]"},
    {"f32 + bool stays f32", "xf[:5] + t", "xf[:5] + t"},
    {"i32 * weak float is f64", "xi * 1.5", "xi * 1.5"},
    {"i32 + len() stays i32", "xi + len(xi)", "xi + len(xi)"},
    {"f32 * strong f64 scalar is f64", "xf * f64(2.5)", "xf * np.float64(2.5)"},
    {"f32 * strong f64 scalar of an int literal is f64", "xf * f64(2)", "xf * np.float64(2)"},
    {"f32 * cos(3) is f64 (a function of literals is strong)", "xf * cos(3)", "xf * np.cos(3)"},
    {"f32 * weak float too big for f32 is inf", "xf * 1e300", "xf * 1e300"},
    {"int true division is f64", "xi / 2", "xi / 2"},
    {"int true division by zero", "xi / zi", "xi / zi"},
    {"i64 // weak float is f64", "xl // 2.0", "xl // 2.0"},
    {"weak int ** negative weak int is a float", "2 ** -1", "2 ** -1"},

    // --- explicit casts ----------------------------------------------------------
    {"f32 of an int literal", "f32(3)", "np.float32(3)"},
    {"f64 of an int literal", "f64(7) / 2", "np.float64(7) / 2"},
    {"i64 of a float literal truncates", "i64(2.5)", "np.int64(2.5)"},
    {"i32 of a float literal truncates", "i32(-3.7)", "np.int32(-3.7)"},
    {"bool of a float literal", "bool(0.5)", "np.bool_(0.5)"},
    {"f64 -> i32 (NaN and out of range give INT_MIN)", "i32(ff)", "ff.astype(np.int32)"},
    {"f64 -> i64", "i64(ff)", "ff.astype(np.int64)"},
    {"astype(i32)", "ff.astype(i32)", "ff.astype(np.int32)"},
    {"f64 -> f32", "f32(ff)", "ff.astype(np.float32)"},
    {"i64 -> f32 rounds once", "f32(xl)", "xl.astype(np.float32)"},
    {"f64 -> bool (NaN is true)", "bool(nv)", "nv.astype(bool)"},
    {"i32 -> f64", "f64(xi)", "xi.astype(np.float64)"},

    // --- float // and % ------------------------------------------------------------
    {"1.0 // 0.1 == 9.0", "1.0 // 0.1", "1.0 // 0.1"},
    {"float // (npy_divmod)", "fa // fb", "fa // fb"},
    {"float % takes the divisor's sign", "fa % fb", "fa % fb"},
    {"f32 // weak float", "xf // 0.1", "xf // 0.1"},
    {"f32 % weak float", "xf % 0.7", "xf % 0.7"},
    {"weak float % negative", "7.5 % -2", "7.5 % -2"},
    {"fmod keeps the dividend's sign", "fmod(fa, fb)", "np.fmod(fa, fb)"},

    // --- integer // and % ------------------------------------------------------------
    {"i32 // by zero is 0 (and INT_MIN // -1 wraps)", "xi // zi", "xi // zi"},
    {"i32 % by zero is 0", "xi % zi", "xi % zi"},
    {"i64 // by zero is 0", "xl // zl", "xl // zl"},
    {"i64 % by zero is 0", "xl % zl", "xl % zl"},
    {"i32 // weak 0", "xi // 0", "xi // 0"},
    {"i32 % negative weak int", "xi % -3", "xi % -3"},
    {"weak int // floors", "7 // -2", "7 // -2"},
    {"weak int % takes the divisor's sign", "-7 % 3", "-7 % 3"},
    {"integer fmod by zero and -1", "fmod(xi, zi)", "np.fmod(xi, zi)"},

    // --- round half to even, floor/ceil of ints ------------------------------------
    {"round half to even", "round(h)", "np.round(h)"},
    {"round of f32", "round(f32(h))", "np.round(h.astype(np.float32))"},
    {"round of ints keeps the dtype", "round(xi)", "np.round(xi)"},
    {"floor of i32 is f64", "floor(xi)", "np.floor(xi)"},
    {"ceil of i64 is f64", "ceil(xl)", "np.ceil(xl)"},
    {"trunc of i32 is f64", "trunc(xi)", "np.trunc(xi)"},
    {"floor of negative halves", "floor(h)", "np.floor(h)"},
    {"sign (of -0.0 is 0.0, of NaN NaN)", "sign(fa)", "np.sign(fa)"},
    {"sign of NaN", "sign(nv)", "np.sign(nv)"},
    {"sign of ints", "sign(xi)", "np.sign(xi)"},
    {"abs of INT_MIN wraps", "abs(xi)", "np.abs(xi)"},

    // --- NaN propagation -------------------------------------------------------------
    {"min propagates NaN", "min(nv)", "np.min(nv)"},
    {"max propagates NaN", "max(nv)", "np.max(nv)"},
    {"max of f32 propagates NaN", "max(f32(nv))", "np.max(nv.astype(np.float32))"},
    {"cummax propagates NaN", "cummax(nv)", "np.maximum.accumulate(nv)"},
    {"cummin propagates NaN", "cummin(nv)", "np.minimum.accumulate(nv)"},
    {"argmax is the first NaN", "argmax(nv)", "np.argmax(nv)"},
    {"argmin is the first NaN", "argmin(nv)", "np.argmin(nv)"},
    {"minimum propagates NaN", "minimum(nv, 2.0)", "np.minimum(nv, 2.0)"},
    {"maximum propagates NaN", "maximum(2.0, nv)", "np.maximum(2.0, nv)"},
    {"clip propagates NaN", "clip(nv, 0, 1)", "np.clip(nv, 0, 1)"},
    {"min(a, b) of two scalars", "min(3, 2.5)", "np.minimum(3, 2.5)"},
    // Ties of -0.0 and 0.0: NumPy keeps the second operand (the later element).
    {"maximum of -0.0 and 0.0 (clip(x, 0, ...) of -0.0 is 0.0)", "clip(fa, 0, 1)", "np.clip(fa, 0, 1)"},
    {"maximum tie of signed zeros", "maximum(fa, 0.0)", "np.maximum(fa, 0.0)"},
    {"minimum tie of signed zeros", "minimum(0.0, fa)", "np.minimum(0.0, fa)"},
    {"max / cummax ties of signed zeros", "cummax(-fa[4:6]) * max(fa[4:6])",
     "np.maximum.accumulate(-fa[4:6]) * np.max(fa[4:6])"},
    {"isnan", "isnan(nv)", "np.isnan(nv)"},

    // --- bool arithmetic -------------------------------------------------------------
    {"bool + bool is logical or", "t + t2", "t + t2"},
    {"bool * bool is logical and", "t * t2", "t * t2"},
    {"bool + weak int is i64", "t + 1", "t + 1"},
    {"bool + weak float is f64", "t + 1.5", "t + 1.5"},
    {"bool / bool is f64", "t / t2", "t / t2"},
    {"sum of bool is i64", "sum(t)", "np.sum(t)"},
    {"mean of bool is f64", "mean(t)", "np.mean(t)"},
    {"cumsum of bool is i64", "cumsum(t)", "np.cumsum(t)"},
    {"max of bool", "max(t)", "np.max(t)"},
    {"abs of bool", "abs(t)", "np.abs(t)"},
    {"~bool", "~t", "~t"},
    {"bool & | ^", "(t & t2) | (t ^ t2)", "(t & t2) | (t ^ t2)"},
    {"bool compared", "t > t2", "t > t2"},

    // --- integer bit operations, powers --------------------------------------------------
    {"i32 & weak int", "xi & 6", "xi & 6"},
    {"i32 | i64", "xi | xl", "xi | xl"},
    {"~i32", "~xi", "~xi"},
    {"i64 ^ weak int", "xl ^ 5", "xl ^ 5"},
    {"i32 ** 2 wraps", "xi ** 2", "xi ** 2"},
    {"i64 ** 3 wraps", "xl ** 3", "xl ** 3"},
    {"f32 ** 2 stays f32", "xf ** 2", "xf ** 2"},
    {"i32 ** array exponent", "xi ** (zl % 4)", "xi ** (zl % 4)"},

    // --- empty inputs ------------------------------------------------------------------
    {"sum of empty is 0", "sum(e0)", "np.sum(e0)"},
    {"prod of empty is 1", "prod(e0)", "np.prod(e0)"},
    {"mean of empty is NaN", "mean(e0)", "np.mean(e0)"},
    {"var of empty is NaN", "var(e0)", "np.var(e0)"},
    {"std of empty is NaN", "std(e0)", "np.std(e0)"},
    {"sum of empty i32 is i64 0", "sum(e0i)", "np.sum(e0i)"},
    {"prod of empty i32 is i64 1", "prod(e0i)", "np.prod(e0i)"},
    {"any / all of empty", "any(e0) | all(e0)", "np.any(e0) | np.all(e0)"},
    {"all of empty", "all(e0i)", "np.all(e0i)"},
    {"count_nonzero of empty", "count_nonzero(e0)", "np.int64(np.count_nonzero(e0))"},
    {"cumsum of empty", "cumsum(e0)", "np.cumsum(e0)"},
    {"empty + 1", "e0i + 1", "e0i + 1"},

    // --- reductions and dtypes ------------------------------------------------------------
    {"sum of i32 is i64", "sum(xi)", "np.sum(xi)"},
    {"prod of i64 wraps", "prod(xl)", "np.prod(xl)"},
    {"mean of i32 is f64", "mean(xi)", "np.mean(xi)"},
    {"mean of f32 is f32", "mean(xf)", "np.mean(xf)", Cmp::Sum32},
    {"var of f32 is f32", "var(xf)", "np.var(xf)", Cmp::Sum32},
    {"sum of f32", "sum(xf)", "np.sum(xf)", Cmp::Sum32},
    {"var with ddof", "var(p, ddof=1)", "np.var(p, ddof=1)", Cmp::Sum},
    {"std", "std(x)", "np.std(x)", Cmp::Sum},
    {"mean", "mean(p)", "np.mean(p)", Cmp::Sum},
    {"count_nonzero", "count_nonzero(zi)", "np.int64(np.count_nonzero(zi))"},
    {"cumsum of i32 is i64", "cumsum(xi)", "np.cumsum(xi)"},
    {"cumprod of i32 is i64", "cumprod(zl + 2)", "np.cumprod(zl + 2)"},
    {"methods", "p.sum() + x.mean() * f.max()", "p.sum() + x.mean() * f.max()", Cmp::Sum},

    // --- rank 2: slices, rows, axes, broadcasting ---------------------------------------------
    {"zeros of a tuple shape", "zeros((3, 4))", "np.zeros((3, 4))"},
    {"row slices with negative steps", "M[::-1]", "M[::-1]"},
    {"a strided sub-matrix", "M[1:3, ::-2]", "M[1:3, ::-2]"},
    {"a column", "M[:, 1]", "M[:, 1]"},
    {"a row", "M[1]", "M[1]"},
    {"the last row reversed", "M[-1, ::-1]", "M[-1, ::-1]"},
    {"len of a matrix is its rows", "len(M)", "len(M)"},
    {"shape[1] is a weak int", "M.shape[1] * 1.5", "M.shape[1] * 1.5"},
    {"broadcast a row", "M * w4", "M * w4"},
    {"sum over axis 0", "sum(M, axis=0)", "np.sum(M, axis=0)", Cmp::Sum},
    {"mean over axis 1", "mean(M, axis=1)", "np.mean(M, axis=1)", Cmp::Sum},
    {"argmax over axis 1", "argmax(M * w4, axis=1)", "np.argmax(M * w4, axis=1)"},
    {"max over axis 0", "max(M * w4, axis=0)", "np.max(M * w4, axis=0)"},
    {"cumsum over axis 0", "cumsum(M, axis=0)", "np.cumsum(M, axis=0)"},
    {"cumsum of a matrix is flattened", "cumsum(M)", "np.cumsum(M)"},
    {"matrix . vector", "dot(M, w4)", "np.dot(M, w4)", Cmp::Sum},

    // --- where, math, creation ------------------------------------------------------------------
    {"where with a weak float", "where(t, 1, 2.5)", "np.where(t, 1, 2.5)"},
    {"where on scalars", "where(True, 1, 2.5)", "np.where(True, 1, 2.5)"},
    // NumPy 1.24's where() converts Python scalars to arrays before promoting
    // (int64 here); NEP 50 (and NumPy 2) keep the array's dtype, as numjit does.
    {"where with a weak int keeps i32 (NEP 50)", "where(t, xi[:5], 0)", "np.where(t, xi[:5], np.int32(0))"},
    {"where with a weak float keeps f32 (NEP 50)", "where(t, xf[:5], 0.0)", "np.where(t, xf[:5], np.float32(0.0))"},
    {"sqrt of negative is NaN", "sqrt(fa)", "np.sqrt(fa)"},
    {"log of 0 is -inf", "log(abs(fa))", "np.log(np.abs(fa))", Cmp::Transcendental},
    {"hypot and arctan2", "hypot(fa, fb) + arctan2(fa, fb)", "np.hypot(fa, fb) + np.arctan2(fa, fb)",
     Cmp::Transcendental},
    {"math on scalars", "sqrt(2.0) + floor(-2.5) + abs(-3)", "np.sqrt(2.0) + np.floor(-2.5) + np.abs(-3)"},
    {"arange of ints", "arange(2, 11, 3)", "np.arange(2, 11, 3)"},
    {"arange of floats", "arange(0, 1, 0.1)", "np.arange(0, 1, 0.1)"},
    {"linspace", "linspace(0, 1, 7)", "np.linspace(0, 1, 7)"},
    {"linspace without endpoint", "linspace(2.0, 3.0, 5, endpoint=False)", "np.linspace(2.0, 3.0, 5, endpoint=False)"},
    {"full", "full(3, 2.5)", "np.full(3, 2.5)"},
    {"ones_like keeps the dtype", "ones_like(xi)", "np.ones_like(xi)"},

    {"zeros with a dtype", "zeros(3, dtype=i32)", "np.zeros(3, dtype=np.int32)"},
    {"arange with a dtype", "arange(5, dtype=f32)", "np.arange(5, dtype=np.float32)"},
    {"strided slices", "p[::-3][:1429] + p[5:-5:7]", "p[::-3][:1429] + p[5:-5:7]"},
    {"an element", "p[-1] * M[1, 2] + M[-1][-1]", "p[-1] * M[1, 2] + M[-1][-1]"},
    {"a column sum", "X[:, 3].sum()", "X[:, 3].sum()", Cmp::Sum},
    {"chained comparison of scalars", "1 < 2 < 3", "1 < 2 < 3"},
    {"not of a scalar", "not (1 > 2)", "not (1 > 2)"},
    {"round / floor / sign / clip of scalars", "round(2.5) + round(-0.5) + floor(7) + sign(-0.0) + clip(5, 0, 3)",
     "np.round(2.5) + np.round(-0.5) + np.floor(7) + np.sign(-0.0) + np.clip(5, 0, 3)"},
    {"maximum of weak scalars", "maximum(2, 3.5)", "np.maximum(2, 3.5)"},
    {"comparison with a weak float", "xi == 3.5", "xi == 3.5"},
    {"x ** 0.5 is sqrt", "p ** 0.5", "p ** 0.5"},
    {"i32 ** 0.5 is f64 sqrt", "xi[:4] ** 0.5", "xi[:4] ** 0.5"},
    {"x ** 3.0", "x ** 3.0", "x ** 3.0", Cmp::Transcendental},
    // Literal integer exponents are products (scalar_ops.h, pow_literal).
    {"edge values ** 3", "ev ** 3", "ev ** 3", Cmp::Transcendental},
    {"edge values ** 4", "ev ** 4", "ev ** 4", Cmp::Transcendental},
    {"edge values ** 50", "ev ** 50", "ev ** 50", Cmp::Transcendental},
    {"x ** 64", "x ** 64", "x ** 64", Cmp::Transcendental},
    {"f32 ** 11 stays f32", "xf ** 11", "xf ** 11", Cmp::Transcendental},
    {"i64 ** 21 wraps", "xl ** 21", "xl ** 21"},
    {"i32 ** 7 wraps", "xi ** 7", "xi ** 7"},
    {"x ** y", "abs(x) ** y", "np.abs(x) ** y", Cmp::Transcendental},
    {"exp of f32", "exp(xf)", "np.exp(xf)", Cmp::Transcendental},
    {"tanh", "tanh(x)", "np.tanh(x)", Cmp::Transcendental},
    {"arcsinh", "arcsinh(y)", "np.arcsinh(y)", Cmp::Transcendental},
    {"cbrt", "cbrt(x)", "np.cbrt(x)", Cmp::Transcendental},
    {"expm1", "expm1(x)", "np.expm1(x)", Cmp::Transcendental},
    {"log10", "log10(p)", "np.log10(p)", Cmp::Transcendental},
    {"arctan", "arctan(y)", "np.arctan(y)", Cmp::Transcendental},
    {"sin and cos", "sin(y) * cos(x)", "np.sin(y) * np.cos(x)", Cmp::Transcendental},
    {"isinf / isfinite", "isinf(fa / fb) | ~isfinite(fa * fb)", "np.isinf(fa / fb) | ~np.isfinite(fa * fb)"},
    {"negative and abs of NaN", "abs(-nv)", "np.abs(-nv)"},
    {"cumsum of f32 is sequential", "cumsum(xf)", "np.cumsum(xf)"},
    {"cumprod of f32", "cumprod(xf)", "np.cumprod(xf)"},
    {"prod of f32", "prod(xf)", "np.prod(xf)", Cmp::Sum32},
    {"std of f32", "std(xf)", "np.std(xf)", Cmp::Sum32},
    {"var of i32 is f64", "var(xi)", "np.var(xi)", Cmp::Sum},
    {"any over axis 1", "any(M > 5, axis=1)", "np.any(M > 5, axis=1)"},
    {"all over axis 0", "all(M > 0, axis=0)", "np.all(M > 0, axis=0)"},
    {"count_nonzero over axis 0", "count_nonzero(M > 4, axis=0)", "np.count_nonzero(M > 4, axis=0)"},
    {"argmin over axis 0", "argmin(M * w4, axis=0)", "np.argmin(M * w4, axis=0)"},
    {"var over axis 1", "var(M, axis=1)", "np.var(M, axis=1)", Cmp::Sum},
    {"std over axis 0", "std(X, axis=0)", "np.std(X, axis=0)", Cmp::Sum},
    {"prod over axis 1", "prod(M + 1, axis=1)", "np.prod(M + 1, axis=1)", Cmp::Sum},
    {"cummax over axis 1", "cummax(M * w4, axis=1)", "np.maximum.accumulate(M * w4, axis=1)"},
    {"reversed strided rows", "M[::2, ::-1] * w4[::-1]", "M[::2, ::-1] * w4[::-1]"},
    {"min over axis 1 of a large matrix", "min(X, axis=1)", "np.min(X, axis=1)"},
    {"mean over axis 0 of a large matrix", "mean(X, axis=0)", "np.mean(X, axis=0)", Cmp::Sum},

    // --- group reductions (empty groups 1 and 4) ---------------------------------------------------
    {"group_sum of f32 is f32", "group_sum(gk, f32(gv), 5)", "group_add(gk, gv.astype(np.float32), 5)"},
    {"group_mean of f32 is f32", "group_mean(gk, f32(gv), 5)",
     "(group_add(gk, gv.astype(np.float32), 5) / np.bincount(gk, minlength=5).astype(np.float32))"},
    {"group_sum of floats", "group_sum(gk, gv, 5)", "np.bincount(gk, weights=gv, minlength=5)"},
    {"group_sum of ints is i64", "group_sum(gk, gi, 5)", "group_add(gk, gi.astype(np.int64), 5)"},
    {"group_count", "group_count(gk, 5)", "np.bincount(gk, minlength=5)"},
    {"group_mean (empty group NaN)", "group_mean(gk, gv, 5)", "np.bincount(gk, weights=gv, minlength=5) / np.bincount(gk, minlength=5)"},
    {"group_min of ints (empty group: the largest i32)", "group_min(gk, gi, 5)", "group_min(gk, gi, 5)"},
    {"group_max of floats (NaN propagates, empty group NaN)", "group_max(gk, gv, 5)", "group_max(gk, gv, 5)"},
};

// Every elementwise builtin of ir/builtins.def, one row each (the first word
// of `numjit` names the builtin; "every elementwise builtin has a row" below
// fails when a builtin has none).
const std::vector<Case> kEveryBuiltin = {
    {"abs", "abs(evi)", "np.abs(evi)"},
    {"absolute", "absolute(ev)", "np.absolute(ev)"},
    {"fabs", "fabs(evi)", "np.fabs(evi)"},
    {"sqrt", "sqrt(ev)", "np.sqrt(ev)"},
    {"cbrt", "cbrt(ev)", "np.cbrt(ev)", Cmp::Transcendental},
    {"exp", "exp(evf)", "np.exp(evf)", Cmp::Transcendental},
    {"exp2", "exp2(ev)", "np.exp2(ev)", Cmp::Transcendental},
    {"expm1", "expm1(ev)", "np.expm1(ev)", Cmp::Transcendental},
    {"log", "log(ev)", "np.log(ev)", Cmp::Transcendental},
    {"log1p", "log1p(evf)", "np.log1p(evf)", Cmp::Transcendental},
    {"log2", "log2(evi)", "np.log2(evi)", Cmp::Transcendental},
    {"log10", "log10(ev)", "np.log10(ev)", Cmp::Transcendental},
    {"sin", "sin(ev)", "np.sin(ev)", Cmp::Transcendental},
    {"cos", "cos(evf)", "np.cos(evf)", Cmp::Transcendental},
    {"tan", "tan(ev)", "np.tan(ev)", Cmp::Transcendental},
    {"arcsin", "arcsin(ev)", "np.arcsin(ev)", Cmp::Transcendental},
    {"arccos", "arccos(evf)", "np.arccos(evf)", Cmp::Transcendental},
    {"arctan", "arctan(ev)", "np.arctan(ev)", Cmp::Transcendental},
    {"sinh", "sinh(ev)", "np.sinh(ev)", Cmp::Transcendental},
    {"cosh", "cosh(evf)", "np.cosh(evf)", Cmp::Transcendental},
    {"tanh", "tanh(ev)", "np.tanh(ev)", Cmp::Transcendental},
    {"arcsinh", "arcsinh(ev)", "np.arcsinh(ev)", Cmp::Transcendental},
    {"arccosh", "arccosh(ev)", "np.arccosh(ev)", Cmp::Transcendental},
    {"arctanh", "arctanh(ev)", "np.arctanh(ev)", Cmp::Transcendental},
    {"sinc", "sinc(ev)", "np.sinc(ev)", Cmp::Transcendental},
    {"floor", "floor(evi)", "np.floor(evi)"},
    {"ceil", "ceil(ev)", "np.ceil(ev)"},
    {"trunc", "trunc(evf)", "np.trunc(evf)"},
    {"round", "round(ev)", "np.round(ev)"},
    {"rint", "rint(evi)", "np.rint(evi)"},
    {"sign", "sign(ev)", "np.sign(ev)"},
    {"isnan", "isnan(ev)", "np.isnan(ev)"},
    {"isinf", "isinf(evf)", "np.isinf(evf)"},
    {"isfinite", "isfinite(evi)", "np.isfinite(evi)"},
    {"arctan2", "arctan2(ev, ev[::-1])", "np.arctan2(ev, ev[::-1])", Cmp::Transcendental},
    {"hypot", "hypot(ev, 3)", "np.hypot(ev, 3)", Cmp::Transcendental},
    {"fmod", "fmod(ev, -0.75)", "np.fmod(ev, -0.75)"},
    {"minimum", "minimum(ev, ev[::-1])", "np.minimum(ev, ev[::-1])"},
    {"maximum", "maximum(evf, 0.5)", "np.maximum(evf, 0.5)"},
    {"power", "power(abs(ev), 1.5)", "np.power(np.abs(ev), 1.5)", Cmp::Transcendental},
};

/** kCases and kEveryBuiltin: what the NumPy test runs. */
const std::vector<Case>& all_cases() {
  static const std::vector<Case> all = [] {
    std::vector<Case> v = kCases;
    v.insert(v.end(), kEveryBuiltin.begin(), kEveryBuiltin.end());
    return v;
  }();
  return all;
}

// Statements that must fail in numjit as they raise in NumPy.
struct ErrorCase {
  const char* name;
  const char* numjit;
  const char* numpy;
  const char* message;  // a part of numjit's message
  const char* known_bug = nullptr;
};

const std::vector<ErrorCase> kErrors = {
    {"max of empty", "max(e0)", "np.max(e0)", "zero-size array to reduction operation maximum which has no identity"},
    {"argmin of empty", "argmin(e0)", "np.argmin(e0)", "attempt to get argmin of an empty sequence"},
    {"integer to a negative power", "xi ** -1", "xi ** -1", "integers to negative integer powers are not allowed"},
    {"bool - bool", "t - t2", "t - t2", "boolean subtract"},
    {"-bool", "-t", "-t", "boolean negative"},
    {"group key out of range", "group_sum(gk, gv, 3)", "np.zeros(3)[gk]", "group key 3 at position 4"},
    {"a weak int too big for i32", "xi + 3000000000", "xi + 3000000000", "Python integer 3000000000 out of bounds for int32"},
};

// Python that compares one saved result with NumPy's value: prints
//   CASE <tab> index <tab> OK | MISMATCH <tab> detail
const char* kCompare = R"PY(
import numpy as np, sys, json, warnings
warnings.simplefilter("ignore")
if hasattr(np, "_set_promotion_state"):
    np._set_promotion_state("weak")
out = sys.argv[1]
names = open(f"{out}/inputs.txt").read().split()
ns = {"np": np}
for nm in names:
    ns[nm] = np.load(f"{out}/{nm}.npy")

def group_add(k, v, n):
    r = np.zeros(n, v.dtype); np.add.at(r, k, v); return r
def group_min(k, v, n):
    r = np.full(n, np.iinfo(v.dtype).max if v.dtype.kind == "i" else np.inf, v.dtype); np.minimum.at(r, k, v)
    if v.dtype.kind == "f": r[np.bincount(k, minlength=n) == 0] = np.nan
    return r
def group_max(k, v, n):
    r = np.full(n, np.iinfo(v.dtype).min if v.dtype.kind == "i" else -np.inf, v.dtype); np.maximum.at(r, k, v)
    if v.dtype.kind == "f": r[np.bincount(k, minlength=n) == 0] = np.nan
    return r
ns.update(group_add=group_add, group_min=group_min, group_max=group_max)
exec(open(f"{out}/setup.py").read(), ns)

def text(v):
    return f"{v.dtype}{list(v.shape)} " + " ".join(np.array2string(v, threshold=12, precision=17, floatmode="maxprec").split())

def same(got, want, cmp):
    if got.dtype.kind != "f":
        return np.array_equal(got, want)
    g, w = got.astype(np.float64), want.astype(np.float64)
    nan = np.isnan(g) | np.isnan(w)
    if not np.array_equal(np.isnan(g), np.isnan(w)):
        return False
    g, w = g[~nan], w[~nan]
    if cmp == "exact":
        return np.array_equal(g, w) and np.array_equal(np.signbit(g), np.signbit(w))
    rtol = {"sum": 1e-12, "sum32": 2e-6, "transcendental": 1e-13}[cmp]
    inf = np.isinf(g) | np.isinf(w)
    if not np.array_equal(g[inf], w[inf]):
        return False
    g, w = g[~inf], w[~inf]
    ulps = np.abs(g - w) <= 8 * np.spacing(np.abs(w).astype(got.dtype)).astype(np.float64)
    return bool(np.all((np.abs(g - w) <= rtol * np.abs(w)) | ulps))

cases = json.load(open(f"{out}/cases.json"))
for i, (expr, cmp) in enumerate(cases):
    try:
        want = np.asarray(eval(expr, ns))
    except Exception as e:
        print(f"CASE\t{i}\tMISMATCH\tNumPy raised {type(e).__name__}: {e}"); continue
    try:
        got = np.load(f"{out}/case{i}.npy")
    except Exception as e:
        print(f"CASE\t{i}\tMISMATCH\tno numjit result ({e})"); continue
    if got.shape != want.shape:
        print(f"CASE\t{i}\tMISMATCH\tshape: expected {want.shape}, got {got.shape}\texpected {text(want)}\tgot {text(got)}")
    elif got.dtype != want.dtype:
        print(f"CASE\t{i}\tMISMATCH\tdtype: expected {want.dtype}, got {got.dtype}\texpected {text(want)}\tgot {text(got)}")
    elif not same(got, want, cmp):
        g, w = got.reshape(-1), want.reshape(-1)
        first = next((k for k in range(g.size) if not same(g[k:k+1], w[k:k+1], cmp)), 0)
        print(f"CASE\t{i}\tMISMATCH\tvalues ({cmp}), first at flat index {first}: expected {w[first]!r}, "
              f"got {g[first]!r}\texpected {text(want)}\tgot {text(got)}")
    else:
        print(f"CASE\t{i}\tOK")

# The error cases: NumPy must raise too.
errors = json.load(open(f"{out}/errors.json"))
for i, expr in enumerate(errors):
    try:
        eval(expr, ns)
        print(f"ERROR\t{i}\tNO")
    except Exception as e:
        print(f"ERROR\t{i}\tYES\t{type(e).__name__}: {e}")
)PY";

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

const char* cmp_name(Cmp c) {
  switch (c) {
    case Cmp::Exact: return "exact";
    case Cmp::Sum: return "sum";
    case Cmp::Sum32: return "sum32";
    case Cmp::Transcendental: return "transcendental";
  }
  return "exact";
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) out.push_back(cur), cur.clear();
    else cur += c;
  }
  out.push_back(cur);
  return out;
}

/** The numjit statements that load every input and run `setup`. */
std::string numjit_prelude(const TempDir& dir, const std::vector<std::string>& inputs) {
  std::string s;
  for (auto& name : inputs) s += fmt::format("{} = load(\"{}\")\n", name, dir.file(name + ".npy"));
  return s + kSetupNumjit;
}

}  // namespace

TEST_SUITE("numpy") {

TEST_CASE("every elementwise builtin has a row in kEveryBuiltin") {
  for (const numjit::Builtin& f : numjit::builtins()) {
    bool found = false;
    for (const Case& c : kEveryBuiltin) found |= std::string(c.numjit).rfind(std::string(f.name) + "(", 0) == 0;
    CHECK_MESSAGE(found, fmt::format("builtin '{}' (ir/builtins.def) has no row in kEveryBuiltin", f.name));
  }
}

TEST_CASE("workload kernels and the fine print agree with NumPy") {
  const std::vector<Case>& every_case = all_cases();
  if (!have_numpy()) {
    MESSAGE("skipped: /usr/bin/python3 cannot import numpy");
    return;
  }
  TempDir dir;
  write_file(dir.file("make_inputs.py"), kMakeInputs);
  Run made = run(dir, fmt::format("{} make_inputs.py '{}'", kPython, dir.dir.string()));
  REQUIRE_MESSAGE(made.status == 0, made.err);
  std::vector<std::string> inputs;
  for (auto& w : split(made.out, ' '))
    if (!w.empty() && w != "\n") inputs.push_back(w.back() == '\n' ? w.substr(0, w.size() - 1) : w);
  std::string names;
  for (auto& w : inputs) names += w + " ";
  write_file(dir.file("inputs.txt"), names);
  write_file(dir.file("setup.py"), kSetupNumpy);

  // One script saves every case. A case numjit rejects stops the script:
  // it is recorded, left out, and the script runs again without it.
  std::map<size_t, std::string> numjit_failed;
  std::string prelude = numjit_prelude(dir, inputs);
  int prelude_lines = int(std::count(prelude.begin(), prelude.end(), '\n'));
  for (int attempt = 0; attempt < 40; ++attempt) {
    std::string script = prelude;
    std::vector<size_t> line_case;
    for (size_t i = 0; i < every_case.size(); ++i) {
      if (numjit_failed.count(i)) continue;
      script += fmt::format("save(\"{}\", {})\n", dir.file(fmt::format("case{}.npy", i)), every_case[i].numjit);
      line_case.push_back(i);
    }
    write_file(dir.file("cases.nj"), script);
    Run r = run(dir, fmt::format("'{}' cases.nj", NUMJIT_CLI));
    if (r.status == 0) break;
    // "cases.nj:LINE:COL: error: ..." names the failing statement.
    size_t at = r.err.find("cases.nj:");
    int line = at == std::string::npos ? 0 : std::atoi(r.err.c_str() + at + 9);
    int k = line - prelude_lines - 1;
    if (k < 0 || k >= int(line_case.size())) {
      FAIL("the numjit script failed outside the cases (exit " << r.status << "):\n" << r.err);
      return;
    }
    numjit_failed[line_case[size_t(k)]] = fmt::format("numjit failed (exit {}): {}", r.status, r.err);
  }

  // NumPy checks each saved result, and that the error cases raise.
  std::string cases = "[";
  for (size_t i = 0; i < every_case.size(); ++i)
    cases += fmt::format("{}[{}, \"{}\"]", i ? ", " : "", json_string(every_case[i].numpy), cmp_name(every_case[i].cmp));
  write_file(dir.file("cases.json"), cases + "]");
  std::string errors = "[";
  for (size_t i = 0; i < kErrors.size(); ++i) errors += (i ? ", " : "") + json_string(kErrors[i].numpy);
  write_file(dir.file("errors.json"), errors + "]");
  write_file(dir.file("compare.py"), kCompare);
  Run cmp = run(dir, fmt::format("{} compare.py '{}'", kPython, dir.dir.string()));
  REQUIRE_MESSAGE(cmp.status == 0, cmp.err);

  std::map<size_t, std::vector<std::string>> verdict, numpy_raised;
  for (auto& line : split(cmp.out, '\n')) {
    auto f = split(line, '\t');
    if (f.size() >= 3 && f[0] == "CASE") verdict[size_t(std::stoul(f[1]))] = f;
    if (f.size() >= 3 && f[0] == "ERROR") numpy_raised[size_t(std::stoul(f[1]))] = f;
  }

  int mismatches = 0, known = 0;
  for (size_t i = 0; i < every_case.size(); ++i) {
    const Case& c = every_case[i];
    std::string problem;
    if (numjit_failed.count(i)) {
      problem = numjit_failed[i];
    } else if (!verdict.count(i)) {
      problem = "NumPy's comparison printed nothing";
    } else if (verdict[i][2] != "OK") {
      auto& f = verdict[i];
      problem = f[3];
      for (size_t k = 4; k < f.size(); ++k) problem += "\n    " + f[k];
    }
    if (c.known_bug && !run_known_bugs()) {
      ++known;
      if (problem.empty())
        MESSAGE(fmt::format("known bug no longer shows: '{}' ({}) now agrees with NumPy", c.name, c.numjit));
      else
        MESSAGE(fmt::format("known bug: {}\n  case '{}': numjit {}  vs  NumPy {}\n  {}", c.known_bug, c.name,
                            c.numjit, c.numpy, problem));
      continue;
    }
    if (!problem.empty()) ++mismatches;
    CHECK_MESSAGE(problem.empty(), fmt::format("case '{}': numjit {}  vs  NumPy {}\n  {}", c.name, c.numjit, c.numpy,
                                               problem));
  }

  // The error cases: each runs alone; numjit must fail with the message.
  std::string prelude_script = numjit_prelude(dir, inputs);
  for (size_t i = 0; i < kErrors.size(); ++i) {
    const ErrorCase& e = kErrors[i];
    write_file(dir.file(fmt::format("error{}.nj", i)), prelude_script + fmt::format("print({})\n", e.numjit));
    Run r = run(dir, fmt::format("'{}' error{}.nj", NUMJIT_CLI, i));
    bool numpy_raises = numpy_raised.count(i) && numpy_raised[i][2] == "YES";
    std::string numpy_msg = numpy_raises && numpy_raised[i].size() > 3 ? numpy_raised[i][3] : "(NumPy did not raise)";
    std::string problem;
    if (!numpy_raises) problem = "NumPy does not raise: the case is wrong";
    else if (r.status == 0) problem = fmt::format("numjit succeeded and printed {}", r.out);
    else if (r.status >= 128) problem = fmt::format("numjit crashed (status {}): {}", r.status, r.err);
    else if (r.err.find(e.message) == std::string::npos)
      problem = fmt::format("numjit's message lacks '{}':\n{}", e.message, r.err);
    if (e.known_bug && !run_known_bugs()) {
      ++known;
      MESSAGE(fmt::format("known bug: {}\n  error case '{}': {}  (NumPy: {})\n  {}", e.known_bug, e.name, e.numjit,
                          numpy_msg, problem.empty() ? "(no longer shows)" : problem));
      continue;
    }
    if (!problem.empty()) ++mismatches;
    CHECK_MESSAGE(problem.empty(), fmt::format("error case '{}': {}  (NumPy: {})\n  {}", e.name, e.numjit, numpy_msg,
                                               problem));
  }
  MESSAGE(fmt::format("{} cases and {} error cases compared with NumPy: {} mismatches, {} known bugs",
                      kCases.size(), kErrors.size(), mismatches, known));
}

}  // TEST_SUITE
