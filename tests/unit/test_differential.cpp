// Differential tests: seeded random, well-typed array expressions run by the
// JIT (numjit::Jit::eval) and by the reference interpreter
// (numjit::reference_eval), compared shape, then dtype, then values.
//
// Values are compared bit for bit (NaN equals NaN, -0.0 differs from 0.0)
// except where a transcendental function (exp, log, sin, ..., float `**`)
// feeds the result: the vectorized JIT uses libmvec, the interpreter libm, so
// those get 8 ulp or a relative 1e-13 (1e-6 when computed in f32) of the
// result or of the terms that were added up to make it. The generator keeps
// such inexact values away from where a last-bit difference becomes another
// value or grows without bound: comparisons, casts to int, floor/ceil/round,
// argmin/argmax, divisors, sqrt, powers and other transcendental functions.
// The inputs include -O0 programs (scalar libm, no vectorization), strided,
// reversed and transposed views, length-1 (broadcasting) and empty arrays,
// and lengths around the 32 lanes and 4096-element blocks of reductions.
//
// Environment knobs (all optional):
//   NUMJIT_DIFF_PROGRAMS=N   how many programs (default 3000)
//   NUMJIT_DIFF_SEED=S       first seed (default 1); program k uses seed S+k
//   NUMJIT_DIFF_ONLY=S       run just the program of seed S, printing it
//   NUMJIT_DIFF_THREADS=T    worker threads, each with its own Jit (default 2)
//   NUMJIT_DIFF_LOG=FILE     write each program and its JIT time (ms) to FILE
//   NUMJIT_DIFF_OPT=L        LLVM optimisation level of the JIT (default: 3, and 0 for
//                            every third program)
//   NUMJIT_TEST_KNOWN_BUGS=1 run the cases marked "known bug" instead of skipping
//
// A failure prints the seed, the sizes of the inputs, the program, a shrunk
// program that still fails, and both results.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "driver/driver.h"
#include "numjit/numjit.hpp"

using namespace numjit;

namespace {

bool run_known_bugs() {
  const char* v = std::getenv("NUMJIT_TEST_KNOWN_BUGS");
  return v && *v && std::string(v) != "0";
}

int64_t env_int(const char* name, int64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoll(v, nullptr, 10) : dflt;
}

// ---------------------------------------------------------------------------
// A small deterministic generator (splitmix64): the same seed gives the same
// program on every platform and standard library.

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /** Uniform in [lo, hi]. */
  int64_t range(int64_t lo, int64_t hi) { return lo + int64_t(next() % uint64_t(hi - lo + 1)); }
  double unit() { return double(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }
  template <class T> const T& pick(const std::vector<T>& v) { return v[size_t(range(0, int64_t(v.size()) - 1))]; }
  /** An index into `weights`, chosen in proportion to the weights. */
  size_t weighted(const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double x = unit() * total;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.size() - 1;
  }

 private:
  uint64_t s_;
};

// ---------------------------------------------------------------------------
// Types as the generator sees them (NumPy 1.24 under NEP 50).

const DType kDTypes[] = {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64};

bool is_float_t(DType t) { return t == DType::F32 || t == DType::F64; }
bool is_int_t(DType t) { return t == DType::I32 || t == DType::I64; }

/** A set of acceptable dtypes. */
using Mask = unsigned;
constexpr Mask bit(DType t) { return 1u << int(t); }
constexpr Mask kAny = 31, kBool = bit(DType::Bool), kInts = bit(DType::I32) | bit(DType::I64),
               kIntBool = kInts | kBool, kFloats = bit(DType::F32) | bit(DType::F64),
               kNumeric = kInts | kFloats;

DType strong_promote(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::Bool) return b;
  if (b == DType::Bool) return a;
  if (is_int_t(a) && is_int_t(b)) return DType::I64;
  if (is_float_t(a) && is_float_t(b)) return DType::F64;
  return DType::F64;
}

DType promote(DType a, bool aw, DType b, bool bw) {
  auto weak_with = [](DType w, DType other) {
    if (w == DType::Bool) return strong_promote(DType::Bool, other);
    if (w == DType::I64) return other == DType::Bool ? DType::I64 : other;
    return is_float_t(other) ? other : DType::F64;
  };
  if (aw && bw) return strong_promote(a, b);
  if (aw) return weak_with(a, b);
  if (bw) return weak_with(b, a);
  return strong_promote(a, b);
}

/** One axis of a shape: its length, and whether the compiler knows it is
 *  the constant 1 (only then does it broadcast, see ir/array_ir.h). */
struct Dim {
  int64_t size = 0;
  bool one = false;
  bool operator==(const Dim&) const = default;
};
using Shape = std::vector<Dim>;

int64_t elements(const Shape& s) {
  int64_t n = 1;
  for (auto& d : s) n *= d.size;
  return n;
}

/** `want` can be filled by a value of shape `have`. */
bool fits(const Shape& have, const Shape& want) {
  if (have.size() != want.size()) return false;
  for (size_t k = 0; k < have.size(); ++k) {
    if (have[k].size != want[k].size) return false;
    if (want[k].one && !have[k].one) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Generated expressions: a tree so that failures can be shrunk.

struct Node;
using NodeP = std::shared_ptr<const Node>;

struct Node {
  std::string pattern;        // text with $0 $1 $2 for the children
  std::vector<NodeP> kids;
  DType dtype = DType::F64;
  bool weak = false;
  Shape shape;
  bool own_transcendental = false;  // this node computes a transcendental function
  bool transcendental = false;      // ... this node or a child
  bool single = false;              // ... one of them in f32 (so f32 precision bounds the error)
  // How big the terms are that this node adds up (for `a + b`: `abs(a) + abs(b)`,
  // for `sum(x)`: `sum(abs(x))`); empty: as big as the value. An inexact input
  // is off by a few ulp *of these terms*, which may be far more than of the result.
  std::string magnitude;

  std::string text() const { return render(pattern, false); }
  /** A program whose value bounds the terms of this one (see `magnitude`). */
  std::string magnitude_text() const {
    if (!transcendental) return text();
    return render(magnitude.empty() ? pattern : magnitude, true);
  }
  int size() const {
    int n = 1;
    for (auto& k : kids) n += k->size();
    return n;
  }

 private:
  std::string render(const std::string& p, bool mag) const {
    std::string out;
    for (size_t i = 0; i < p.size(); ++i) {
      if (p[i] == '$' && i + 1 < p.size() && p[i + 1] >= '0' && p[i + 1] <= '9') {
        const Node& k = *kids[size_t(p[i + 1] - '0')];
        out += mag ? k.magnitude_text() : k.text();
        ++i;
      } else {
        out += p[i];
      }
    }
    return out;
  }
};

/** Recomputes the flags a node derives from its children. */
void refresh(Node& n) {
  n.transcendental = n.own_transcendental;
  n.single = n.own_transcendental && n.dtype == DType::F32;
  for (auto& k : n.kids) {
    n.transcendental |= k->transcendental;
    n.single |= k->single;
  }
}

NodeP make(std::string pattern, std::vector<NodeP> kids, DType t, Shape shape, bool weak = false,
           bool own_transcendental = false) {
  auto n = std::make_shared<Node>();
  n->pattern = std::move(pattern);
  n->dtype = t;
  n->weak = weak;
  n->shape = std::move(shape);
  n->own_transcendental = own_transcendental;
  n->kids = std::move(kids);
  refresh(*n);
  return n;
}

/** `n` with the magnitude pattern `m` (see Node::magnitude). */
NodeP with_magnitude(NodeP n, std::string m) {
  auto c = std::make_shared<Node>(*n);
  c->magnitude = std::move(m);
  return c;
}

NodeP leaf(std::string text, DType t, Shape shape, bool weak = false) {
  return make(std::move(text), {}, t, std::move(shape), weak);
}

// ---------------------------------------------------------------------------
// Inputs: arrays of every dtype with awkward values, views with strides.

/** Python's len(range(n)[start:stop:step]). */
int64_t slice_len(int64_t n, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step) {
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt, int64_t lo, int64_t hi) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) x = std::max(x + n, lo);
    else x = std::min(x, hi);
    return x;
  };
  int64_t b, e;
  if (step > 0) {
    b = clamp(start, 0, 0, n);
    e = clamp(stop, n, 0, n);
    return std::max<int64_t>(0, (e - b + step - 1) / step);
  }
  b = clamp(start, n - 1, -1, n - 1);
  e = clamp(stop, -1, -1, n - 1);
  return std::max<int64_t>(0, (b - e + (-step) - 1) / (-step));
}

struct SliceSpec {
  const char* text;
  std::optional<int64_t> start, stop;
  int64_t step;
};
const std::vector<SliceSpec> kSlices = {
    {"[1:]", 1, {}, 1},    {"[:-1]", {}, -1, 1},  {"[::2]", {}, {}, 2},   {"[1::2]", 1, {}, 2},
    {"[::-1]", {}, {}, -1}, {"[2:]", 2, {}, 1},    {"[:3]", {}, 3, 1},    {"[-3:]", -3, {}, 1},
    {"[::-2]", {}, {}, -2}, {"[1:-1]", 1, -1, 1},  {"[::3]", {}, {}, 3},  {"[-2::-3]", -2, {}, -3},
    {"[:]", {}, {}, 1},
};

Dim slice_dim(const Dim& d, const SliceSpec& s) {
  int64_t len = slice_len(d.size, s.start, s.stop, s.step);
  return Dim{len, d.one && len == 1};  // a constant source gives constant slices
}

struct Env {
  uint64_t seed = 0;
  int64_t n = 0, rows = 0, cols = 0;
  std::vector<std::shared_ptr<std::vector<uint8_t>>> storage;
  Args args;
  std::vector<NodeP> leaves;  // inputs and views of them, of every shape
  std::vector<NodeP> scalars; // scalar inputs

  std::string describe() const {
    return fmt::format("n = {}, X: ({}, {}), data seed {}", n, rows, cols, seed);
  }
};

/** Float test data: small integers, halves (round), values around 100 (K4),
 *  decimals, and (at rate `special`) NaN, infinities, -0.0, huge and
 *  subnormal values. */
double float_value(Rng& r, double special) {
  if (r.chance(special)) {
    static const std::vector<double> s = {NAN, INFINITY, -INFINITY, -0.0, 0.0, 1e300, -1e300, 1e-310,
                                          5e-324, 1.7976931348623157e308, 0.1, -NAN, 1e-300, 3e38};
    return r.pick(s);
  }
  switch (r.range(0, 5)) {
    case 0: return double(r.range(-10, 10));
    case 1: return double(r.range(-6, 6)) + 0.5;
    case 2: return 100.0 + (r.unit() - 0.5) * 40.0;
    case 3: return (r.unit() - 0.5) * 6.0;
    case 4: return double(r.range(-9, 9)) * 0.1;
    default: return r.unit() < 0.5 ? -0.0 : r.unit() * 1e6;
  }
}

/** Integer test data: mostly small (so `//` and `%` meet zero divisors),
 *  sometimes huge, the extremes, or i64 values that f32 cannot hold. */
int64_t int_value(Rng& r, DType t, double special) {
  if (r.chance(special)) {
    if (t == DType::I32) {
      static const std::vector<int64_t> s = {INT32_MIN, INT32_MAX, -1, 0, 1 << 30, -(1 << 24) - 1, 16777217};
      return r.pick(s);
    }
    static const std::vector<int64_t> s = {INT64_MIN, INT64_MAX, -1, 0, (int64_t(1) << 62) + (int64_t(1) << 38) + 1,
                                           (int64_t(1) << 53) + 1, -(int64_t(1) << 40) - 3, 16777217};
    return r.pick(s);
  }
  if (r.chance(0.8)) return r.range(-10, 10);
  return t == DType::I32 ? r.range(-100000, 100000) : r.range(-(int64_t(1) << 40), int64_t(1) << 40);
}

class EnvBuilder {
 public:
  EnvBuilder(Env& e, Rng& r) : e_(e), r_(r) {}

  /** An input array of shape `shape`, viewed through `strides` (in elements;
   *  empty: C order), holding generated values; `name` becomes a leaf. */
  void array(const std::string& name, DType t, std::vector<int64_t> shape, std::vector<int64_t> strides = {},
             bool specials = true) {
    int64_t count = 1;
    for (auto d : shape) count *= d;
    // Memory covering every element reachable through the strides.
    int64_t lo = 0, hi = 0;
    if (strides.empty()) {
      hi = count > 0 ? count - 1 : 0;
    } else {
      for (size_t k = 0; k < shape.size(); ++k) {
        if (shape[k] == 0) continue;
        int64_t ext = (shape[k] - 1) * strides[k];
        (ext < 0 ? lo : hi) += ext;
      }
    }
    int64_t es = dtype_size(t);
    auto buf = std::make_shared<std::vector<uint8_t>>(size_t((hi - lo + 1) * es + 64), uint8_t(0));
    double special = !specials ? 0.0 : r_.pick(std::vector<double>{0.0, 0.002, 0.05});
    int64_t total = hi - lo + 1;
    uint8_t* base = buf->data();
    for (int64_t k = 0; k < total; ++k) {
      uint8_t* p = base + k * es;
      switch (t) {
        case DType::Bool: *p = uint8_t(r_.chance(0.5)); break;
        case DType::I32: { int32_t v = int32_t(int_value(r_, t, special)); std::memcpy(p, &v, 4); break; }
        case DType::I64: { int64_t v = int_value(r_, t, special); std::memcpy(p, &v, 8); break; }
        case DType::F32: { float v = float(float_value(r_, special)); std::memcpy(p, &v, 4); break; }
        case DType::F64: { double v = float_value(r_, special); std::memcpy(p, &v, 8); break; }
      }
    }
    e_.storage.push_back(buf);
    void* data = base + (-lo) * es;
    e_.args.emplace_back(name, Value(Array::view(data, t, shape, strides)));
    Shape s;
    for (auto d : shape) s.push_back(Dim{d, d == 1});
    (s.empty() ? e_.scalars : e_.leaves).push_back(leaf(name, t, s));
  }

  void scalar(const std::string& name, Value v) {
    e_.args.emplace_back(name, v);
    e_.scalars.push_back(leaf(name, v.dtype(), {}));
  }

 private:
  Env& e_;
  Rng& r_;
};

const std::vector<int64_t> kLengths = {0, 1, 2, 7, 31, 32, 33, 64, 100, 1001, 4095, 4096, 4097, 8193, 10007};
const std::vector<std::pair<int64_t, int64_t>> kMatrices = {
    {3, 5}, {1, 7}, {17, 33}, {7, 1}, {1, 1}, {0, 3}, {4, 0}, {2, 4097}, {130, 33}, {33, 32}, {5, 64}};

Env make_env(uint64_t seed) {
  Env e;
  e.seed = seed;
  Rng r(seed ^ 0xD1FFull);
  // Long inputs are rarer: the interpreter materialises every node.
  e.n = kLengths[r.weighted({3, 3, 2, 3, 2, 2, 3, 1, 1, 2, 1, 1, 2, 1, 1})];
  auto m = kMatrices[r.weighted({3, 2, 3, 2, 1, 1, 1, 1, 1, 1, 1})];
  e.rows = m.first;
  e.cols = m.second;
  EnvBuilder b(e, r);
  int64_t n = e.n, R = e.rows, C = e.cols;
  b.array("b0", DType::Bool, {n});
  b.array("b1", DType::Bool, {n});
  b.array("i0", DType::I32, {n});
  b.array("i1", DType::I32, {n});
  b.array("l0", DType::I64, {n});
  b.array("l1", DType::I64, {n});
  b.array("f0", DType::F32, {n});
  b.array("f1", DType::F32, {n}, {}, false);
  b.array("d0", DType::F64, {n});
  b.array("d1", DType::F64, {n}, {}, false);
  b.array("ds", DType::F64, {n}, {2});   // every other element of a buffer
  b.array("js", DType::I32, {n}, {3});
  b.array("dr", DType::F64, {n}, {-1});  // a reversed view
  b.array("u", DType::F64, {1});         // broadcasts against anything
  b.array("k", DType::I32, {1});
  b.array("Xb", DType::Bool, {R, C});
  b.array("Xi", DType::I32, {R, C});
  b.array("Xl", DType::I64, {R, C});
  b.array("Xf", DType::F32, {R, C});
  b.array("Xd", DType::F64, {R, C});
  b.array("XT", DType::F64, {R, C}, {1, std::max<int64_t>(R, 1)});  // a transposed (Fortran-order) view
  b.array("Xs", DType::F64, {R, C}, {C + 3, 1});           // rows padded: a sub-matrix view
  b.array("Xn", DType::I32, {R, C}, {-C, 1});              // rows in reverse order
  b.array("Yr", DType::F64, {1, C});
  b.array("Yc", DType::I64, {R, 1});
  b.array("wd", DType::F64, {C});
  b.array("wi", DType::I32, {C});
  b.array("wf", DType::F32, {C});
  b.array("z0", DType::F64, {});  // rank-0 arrays: scalars to the language
  b.array("z1", DType::I32, {});
  b.scalar("sd", Value(float_value(r, 0.1)));
  b.scalar("sl", Value(int64_t(int_value(r, DType::I64, 0.1))));
  b.scalar("sb", Value(r.chance(0.5)));
  b.scalar("sf", Value(float(float_value(r, 0.1))));
  return e;
}

// ---------------------------------------------------------------------------
// The program generator.

/** Productions that trigger a known, reported bug stay off unless
 *  NUMJIT_TEST_KNOWN_BUGS is set (see the "known bug" cases below), so the
 *  generator keeps finding new ones. None today: the i64 -> f32 cast of the
 *  interpreter (two roundings), found by this suite, is fixed (a6cd4ca). */
struct Avoid {
  bool i64_to_f32 = false;  // keep f32(an i64 value) out of programs
};

class Generator {
 public:
  Generator(const Env& env, Rng& r, Avoid avoid) : env_(env), r_(r), avoid_(avoid) {
    // All rank-1 and rank-2 leaves: the inputs, their slices, rows, columns.
    for (const NodeP& in : env.leaves) {
      leaves_.push_back(in);
      if (in->shape.size() == 1) {
        for (const SliceSpec& s : kSlices) {
          if (std::string(s.text) == "[:]") continue;
          leaves_.push_back(make("$0" + std::string(s.text), {in}, in->dtype, {slice_dim(in->shape[0], s)}));
        }
      } else {
        Dim R = in->shape[0], C = in->shape[1];
        for (int64_t j : valid_indices(C.size)) leaves_.push_back(make(fmt::format("$0[:, {}]", j), {in}, in->dtype, {R}));
        for (int64_t i : valid_indices(R.size)) {
          leaves_.push_back(make(fmt::format("$0[{}]", i), {in}, in->dtype, {C}));
          leaves_.push_back(make(fmt::format("$0[{}, :]", i), {in}, in->dtype, {C}));
        }
        leaves_.push_back(make("$0[::-1]", {in}, in->dtype, {R, C}));
        leaves_.push_back(make("$0[:, ::-1]", {in}, in->dtype, {R, C}));
        leaves_.push_back(make("$0[1:]", {in}, in->dtype, {slice_dim(R, kSlices[0]), C}));
        leaves_.push_back(make("$0[:, ::2]", {in}, in->dtype, {R, slice_dim(C, kSlices[2])}));
      }
    }
    // Arrays made by the program: creation functions of a length or shape.
    Shape n = input("d0")->shape, m = input("Xd")->shape;
    auto made = [&](std::string text, DType t, Shape sh) { leaves_.push_back(leaf(std::move(text), t, std::move(sh))); };
    made("arange(len(d0))", DType::I64, n);
    made("arange(0.5, len(i0))", DType::F64, n);
    made("linspace(-1, 1, len(l0))", DType::F64, n);
    made("ones_like(f0)", DType::F32, n);
    made("zeros_like(i1)", DType::I32, n);
    made("full_like(d1, 2.5)", DType::F64, n);
    made("random(len(d0), seed=3)", DType::F64, n);
    made("randn(len(d0), seed=7)", DType::F64, n);
    made("zeros(len(b0), dtype=bool)", DType::Bool, n);
    made("ones_like(Xi)", DType::I32, m);
    made(fmt::format("full(({}, {}), -1.5)", env.rows, env.cols), DType::F64,
         {Dim{env.rows, env.rows == 1}, Dim{env.cols, env.cols == 1}});
    for (auto& l : leaves_) {
      if (l->shape.size() == 1 && !has_shape(shapes1_, l->shape)) shapes1_.push_back(l->shape);
      if (l->shape.size() == 2 && !has_shape(shapes2_, l->shape)) shapes2_.push_back(l->shape);
    }
  }

  /** A whole program: a scalar, a vector or a matrix. */
  NodeP program() {
    int depth = int(r_.weighted({0, 4, 4, 2, 0.5}));
    Shape s;
    switch (r_.weighted({3, 5, 2})) {
      case 0: break;
      case 1: s = r_.chance(0.5) ? input("d0")->shape : r_.pick(shapes1_); break;  // often (n,)
      default: s = r_.chance(0.5) ? input("Xd")->shape : r_.pick(shapes2_); break;  // often (R, C)
    }
    ++nodes_;
    return coerce(compound(s, depth, kAny, true), kAny);  // never a bare input
  }

 private:
  NodeP input(const std::string& name) const {
    for (auto& l : env_.leaves)
      if (l->pattern == name) return l;
    throw std::logic_error("no input " + name);
  }

  static bool has_shape(const std::vector<Shape>& v, const Shape& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  }

  /** Indices that are in range for a length (a few, positive and negative). */
  std::vector<int64_t> valid_indices(int64_t len) const {
    if (len <= 0) return {};
    std::vector<int64_t> v = {0, -1};
    if (len > 1) v.push_back(1);
    if (len > 2) v.push_back(len - 1), v.push_back(-len);
    return v;
  }

  // --- the recursion --------------------------------------------------------

  /** An expression of exactly shape `s` (see fits) with a dtype in `mask`;
   *  transcendental results only when `allow_t`. */
  NodeP gen(const Shape& s, int depth, Mask mask, bool allow_t) {
    if (++nodes_ > 20) depth = 0;
    if (!(mask & kFloats)) allow_t = false;  // an inexact value cast to an integer would differ
    NodeP e = depth <= 0 || r_.chance(0.2) ? terminal(s, mask) : compound(s, depth, mask, allow_t);
    return coerce(e, mask);
  }

  /** `e` cast to a dtype in `mask` when it has another one. */
  NodeP coerce(NodeP e, Mask mask) {
    if (mask & bit(e->dtype)) return e;
    std::vector<DType> ok;
    for (DType t : kDTypes)
      if (mask & bit(t)) ok.push_back(t);
    DType t = r_.pick(ok);
    return cast_to(e, t);
  }

  NodeP cast_to(NodeP e, DType t) {
    if (avoid_.i64_to_f32 && e->dtype == DType::I64 && t == DType::F32) t = DType::F64;
    std::string name = dtype_name(t);
    if (r_.chance(0.3) && !e->shape.empty()) return make("$0.astype(" + name + ")", {paren(e)}, t, e->shape);
    return make(name + "($0)", {e}, t, e->shape);
  }

  /** `e` wrapped so that a postfix (`[...]`, `.f()`) applies to all of it. */
  static NodeP paren(NodeP e) {
    const std::string& p = e->pattern;
    bool atom = p.find_first_of(" -") == std::string::npos || (p.front() == '(' && p.back() == ')');
    if (atom && !(p.front() == '-')) return e;
    return make("($0)", {e}, e->dtype, e->shape, e->weak);
  }

  // Leaves and scalars -------------------------------------------------------

  NodeP literal(Mask mask) {
    std::vector<std::function<NodeP()>> opts;
    if (mask & (kInts | kFloats)) {
      opts.push_back([&] {
        int64_t v = r_.pick(std::vector<int64_t>{0, 1, 2, 3, 5, 7, 10, -1, -2, -3, 100});
        return leaf(v < 0 ? fmt::format("({})", v) : std::to_string(v), DType::I64, {}, true);
      });
    }
    if (mask & kFloats) {
      opts.push_back([&] {
        std::string v = r_.pick(std::vector<std::string>{"0.5", "2.0", "1.5", "0.1", "3.0", "(-1.5)", "(-0.0)",
                                                         "0.0", "100.0", "1e300", "1e-300", "2.5", "nan", "inf",
                                                         "(-inf)", "0.3989422804014327"});
        return leaf(v, DType::F64, {}, true);
      });
    }
    if (mask & kBool) opts.push_back([&] { return leaf(r_.chance(0.5) ? "True" : "False", DType::Bool, {}); });
    if (opts.empty()) return nullptr;
    return r_.pick(opts)();
  }

  NodeP terminal(const Shape& s, Mask mask) {
    if (s.empty()) return scalar_terminal(mask);
    // Plain inputs more often than their views; the broadcasting helpers
    // (u, k, Yr, Yc) less often.
    std::vector<NodeP> fit, fit_dtype;
    std::vector<double> w, w_dtype;
    for (auto& l : leaves_)
      if (fits(l->shape, s)) {
        const std::string& t = l->pattern;
        double weight = t.find('$') == std::string::npos ? 4.0 : 1.0;
        auto helper = [](const std::string& name) { return name == "u" || name == "k" || name == "Yr" || name == "Yc"; };
        if (helper(t) || (!l->kids.empty() && helper(l->kids[0]->pattern))) weight = 0.5;
        fit.push_back(l);
        w.push_back(weight);
        if (mask & bit(l->dtype)) fit_dtype.push_back(l), w_dtype.push_back(weight);
      }
    if (!fit_dtype.empty() && r_.chance(0.85)) return fit_dtype[r_.weighted(w_dtype)];
    if (!fit.empty()) return fit[r_.weighted(w)];
    // No input of this shape (cannot happen for shapes taken from leaves_):
    // a broadcast scalar.
    return make(fmt::format("full_like({}, $0)", s.size() == 1 ? "d0" : "Xd"), {scalar_terminal(mask)}, DType::F64, s);
  }

  NodeP scalar_terminal(Mask mask) {
    switch (r_.weighted({4, 3, 2, 1})) {
      case 0:
        if (NodeP l = literal(mask)) return l;
        [[fallthrough]];
      case 1: {
        std::vector<NodeP> ok;
        for (auto& sc : env_.scalars)
          if (mask & bit(sc->dtype)) ok.push_back(sc);
        if (!ok.empty()) return r_.pick(ok);
        return r_.pick(env_.scalars);
      }
      case 2: {  // an element read
        std::vector<NodeP> ok;
        for (auto& l : leaves_)
          if (elements(l->shape) > 0 && (mask & bit(l->dtype))) ok.push_back(l);
        if (ok.empty()) return r_.pick(env_.scalars);
        NodeP a = r_.pick(ok);
        return element(a);
      }
      default: {
        NodeP a = r_.pick(leaves_);
        switch (r_.range(0, 4)) {
          case 0: if (a->shape.size() == 2) return make(fmt::format("shape($0, {})", r_.range(0, 1)), {a}, DType::I64, {}, true); break;
          case 1: return make(fmt::format("$0.shape[{}]", a->shape.size() == 2 ? r_.range(0, 1) : 0), {paren(a)}, DType::I64, {}, true);
          case 2: return make("$0.size", {paren(a)}, DType::I64, {}, true);
          case 3: return leaf(r_.chance(0.5) ? "pi" : "e", DType::F64, {}, true);
          default: break;
        }
        return make("len($0)", {a}, DType::I64, {}, true);
      }
    }
  }

  NodeP element(NodeP a) {
    auto idx = [&](int64_t len) {
      if (r_.chance(0.02)) return r_.chance(0.5) ? len : -len - 1;  // IndexError, both sides
      return r_.pick(valid_indices(len));
    };
    if (a->shape.size() == 1) return make(fmt::format("$0[{}]", idx(a->shape[0].size)), {paren(a)}, a->dtype, {});
    int64_t i = idx(a->shape[0].size), j = idx(a->shape[1].size);
    return make(fmt::format("$0[{}, {}]", i, j), {paren(a)}, a->dtype, {});
  }

  // Compound expressions ---------------------------------------------------------

  /** A shape that broadcasts against `s` to give `s`: `s` itself, a scalar,
   *  a trailing row, or a constant-1 axis. */
  Shape operand_shape(const Shape& s) {
    std::vector<Shape> opts = {s, s, s, {}};
    if (s.size() == 1 && !s[0].one) opts.push_back({Dim{1, true}});
    if (s.size() == 2) {
      opts.push_back({s[1]});
      opts.push_back({s[1]});
      opts.push_back({Dim{1, true}, s[1]});
      opts.push_back({s[0], Dim{1, true}});
      opts.push_back({Dim{1, true}});
    }
    Shape o = r_.pick(opts);
    // Only shapes some leaf has (rank-2 sub-shapes come from Yr / Yc / u).
    if (o.size() == 1 && !has_shape(shapes1_, o) && !(o[0].one && o[0].size == 1)) return s;
    if (o.size() == 2 && !has_shape(shapes2_, o)) return s;
    return o;
  }

  NodeP compound(const Shape& s, int depth, Mask mask, bool allow_t) {
    int d = depth - 1;
    enum { Arith, Compare, Bitwise, Invert, Neg, Where, Math, MinMax, Clip, Cast, Slice, Scan, Reduce, AxisReduce, Pow,
           Paren, Math2, ScalarLogic, Dot, Group, Copy };
    std::vector<double> w = {10, 3, 2, 1, 2, 3, 6, 2, 1, 2, 2, 2, 0, 0, 2, 0.3, 1, 0, 0, 0, 0.3};
    if (s.empty()) {  // scalars come mostly from reductions
      w[Reduce] = 14;
      w[Slice] = 0;
      w[Scan] = 0;
      w[ScalarLogic] = 3;
      w[Dot] = 1;
    }
    if (s.size() == 1) w[AxisReduce] = 3, w[Dot] = 0.5, w[Group] = 1.5;
    if (!(mask & kFloats)) w[Math] = 2;
    switch (r_.weighted(w)) {
      case Arith: return arith(s, d, mask, allow_t);
      case Compare: return compare(s, d);
      case Bitwise: {
        std::string op = r_.pick(std::vector<std::string>{"&", "|", "^"});
        NodeP a = gen(s, d, kIntBool, false), b = gen(operand_shape(s), d, kIntBool, false);
        if (r_.chance(0.5)) std::swap(a, b);
        return binary(op, a, b, s);
      }
      case Invert: {
        NodeP a = gen(s, d, kIntBool, false);
        return make("(~$0)", {a}, a->dtype, s, a->weak);
      }
      case Neg: {
        NodeP a = gen(s, d, kNumeric, allow_t);
        return make("(-$0)", {a}, a->dtype, s, a->weak);
      }
      case Where: {
        NodeP c = r_.chance(0.85) ? gen(operand_shape(s), d, kBool, false) : gen(operand_shape(s), d, kAny, false);
        NodeP a = gen(s, d, mask, allow_t), b = gen(operand_shape(s), d, mask, allow_t);
        if (r_.chance(0.5)) std::swap(a, b);
        DType t = promote(a->dtype, a->weak, b->dtype, b->weak);
        return with_magnitude(make("where($0, $1, $2)", {c, a, b}, t, s, a->weak && b->weak && c->shape.empty()),
                              "maximum(abs($1), abs($2))");
      }
      case Math: return math(s, d, mask, allow_t);
      case MinMax: {
        std::string fn = r_.chance(0.5) ? "minimum" : "maximum";
        if (s.empty() && r_.chance(0.5)) fn = fn == "minimum" ? "min" : "max";  // two-argument min/max
        NodeP a = gen(s, d, mask, allow_t), b = gen(operand_shape(s), d, mask, allow_t);
        if (r_.chance(0.5)) std::swap(a, b);
        DType t = promote(a->dtype, a->weak, b->dtype, b->weak);
        return with_magnitude(make(fn + "($0, $1)", {a, b}, t, s, a->weak && b->weak), "maximum(abs($0), abs($1))");
      }
      case Clip: {
        NodeP x = gen(s, d, mask & kNumeric ? mask & kNumeric : kNumeric, allow_t);
        NodeP lo = gen({}, 0, kNumeric, false), hi = gen({}, 0, kNumeric, false);
        DType t = promote(promote(x->dtype, x->weak, lo->dtype, lo->weak), x->weak && lo->weak, hi->dtype, hi->weak);
        return with_magnitude(make("clip($0, $1, $2)", {x, lo, hi}, t, s, x->weak && lo->weak && hi->weak),
                              "maximum(maximum(abs($0), abs($1)), abs($2))");
      }
      case Cast: {
        DType t = r_.pick(std::vector<DType>(std::begin(kDTypes), std::end(kDTypes)));
        if (!(mask & bit(t))) t = first_of(mask);
        bool to_float = is_float_t(t);
        NodeP a = gen(s, d, kAny, allow_t && to_float);
        return cast_to(a, t);
      }
      case Slice: return slice(s, d, mask, allow_t);
      case Scan: return scan(s, d, mask, allow_t);
      case Reduce: return reduce(d, mask, allow_t);
      case AxisReduce: return axis_reduce(s, d, mask, allow_t);
      case Pow: return pow(s, d, mask, allow_t);
      case Math2: {
        std::string fn = r_.pick(std::vector<std::string>{"fmod", "arctan2", "hypot", "power", "np.maximum", "np.fmod"});
        bool inexact = fn == "arctan2" || fn == "hypot";
        if (fn == "power") return pow(s, d, mask, allow_t);
        if (inexact && !allow_t) fn = "fmod", inexact = false;
        NodeP a = gen(s, d, kNumeric, false), b = gen(operand_shape(s), d, kNumeric, false);
        if (r_.chance(0.5)) std::swap(a, b);
        DType t = promote(a->dtype, a->weak, b->dtype, b->weak);
        if (inexact && !is_float_t(t)) t = DType::F64;
        return make(fn + "($0, $1)", {a, b}, t, s, a->weak && b->weak, inexact);
      }
      case ScalarLogic: return scalar_logic(d, mask, allow_t);
      case Dot: return dot(s, d, allow_t);
      case Group: return group(s, d, allow_t);
      case Copy: {
        NodeP a = gen(s, d, mask, allow_t);
        if (s.empty()) return a;
        return r_.chance(0.5) ? make("copy($0)", {a}, a->dtype, s) : make("$0.copy()", {paren(a)}, a->dtype, s);
      }
      default: {
        NodeP a = gen(s, d, mask, allow_t);
        return make("($0)", {a}, a->dtype, s, a->weak);
      }
    }
  }

  /** Python's scalar logic: `a if c else b`, `and`, `or`, `not`, chained comparisons. */
  NodeP scalar_logic(int d, Mask mask, bool allow_t) {
    switch (r_.range(0, 3)) {
      case 0: {
        NodeP c = gen({}, d, kAny, false), a = gen({}, d, mask, allow_t), b = gen({}, d, mask, allow_t);
        DType t = promote(a->dtype, a->weak, b->dtype, b->weak);
        return make("($0 if $1 else $2)", {a, c, b}, t, {}, a->weak && b->weak);
      }
      case 1: {
        NodeP a = gen({}, d, mask, false), b = gen({}, d, mask, false);
        DType t = promote(a->dtype, a->weak, b->dtype, b->weak);
        return make(r_.chance(0.5) ? "($0 and $1)" : "($0 or $1)", {a, b}, t, {}, a->weak && b->weak);
      }
      case 2: {
        NodeP a = gen({}, d, kAny, false);
        return make("(not $0)", {a}, DType::Bool, {});
      }
      default: {
        NodeP a = gen({}, d, kAny, false), b = gen({}, d, kAny, false), c = gen({}, d, kAny, false);
        std::string o1 = r_.pick(std::vector<std::string>{"<", "<=", "==", "!="});
        std::string o2 = r_.pick(std::vector<std::string>{"<", ">=", ">", "!="});
        return make("($0 " + o1 + " $1 " + o2 + " $2)", {a, b, c}, DType::Bool, {});
      }
    }
  }

  /** dot of two vectors (a scalar) or of a matrix and a vector (a vector). */
  NodeP dot(const Shape& s, int d, bool allow_t) {
    if (s.empty()) {
      Shape v = r_.pick(shapes1_);
      NodeP a = gen(v, d, kNumeric, allow_t), b = gen(v, d, kNumeric, allow_t);
      DType t = strong_promote(a->dtype, b->dtype);
      return with_magnitude(make(r_.chance(0.8) ? "dot($0, $1)" : "np.dot($0, $1)", {a, b}, t, {}),
                            "dot(abs($0), abs($1))");
    }
    std::vector<Shape> srcs;
    for (auto& m : shapes2_)
      if (fits({m[0]}, s)) srcs.push_back(m);
    if (srcs.empty()) return gen(s, d, kAny, allow_t);
    Shape m = r_.pick(srcs);
    NodeP a = gen(m, d, kNumeric, allow_t), b = gen({m[1]}, d, kNumeric, allow_t);
    return with_magnitude(make("dot($0, $1)", {a, b}, strong_promote(a->dtype, b->dtype), s), "dot(abs($0), abs($1))");
  }

  /** group_sum / count / mean / min / max into len(s) groups; keys are an
   *  integer expression taken modulo the group count (so in range), or
   *  rarely raw (so a key may be out of range: the error, on both sides). */
  NodeP group(const Shape& s, int d, bool allow_t) {
    int64_t g = s[0].size;
    if (g < 1 || s[0].one) return gen(s, d, kAny, allow_t);
    Shape m = r_.pick(shapes1_);
    NodeP k = gen(m, std::min(d, 1), kInts, false);
    NodeP keys = r_.chance(0.97) ? make(fmt::format("($0 % {})", g), {k}, k->dtype, m) : k;
    std::string fn = r_.pick(std::vector<std::string>{"group_sum", "group_count", "group_mean", "group_min",
                                                      "group_max", "group_sum"});
    if (fn == "group_count" && r_.chance(0.5)) return make(fmt::format("group_count($0, {})", g), {keys}, DType::I64, s);
    bool exact = fn == "group_min" || fn == "group_max";
    NodeP v = gen(m, d, kAny, allow_t && exact);
    DType vt = v->dtype, t = vt;
    if (fn == "group_sum") t = is_float_t(vt) ? vt : DType::I64;
    if (fn == "group_count") t = DType::I64;
    if (fn == "group_mean") t = vt == DType::F32 ? DType::F32 : DType::F64;
    return make(fmt::format("{}($0, $1, {})", fn, g), {keys, v}, t, s);
  }

  static DType first_of(Mask mask) {
    for (DType t : {DType::F64, DType::I64, DType::I32, DType::F32, DType::Bool})
      if (mask & bit(t)) return t;
    return DType::F64;
  }

  NodeP binary(const std::string& op, NodeP a, NodeP b, const Shape& s) {
    DType t = promote(a->dtype, a->weak, b->dtype, b->weak);
    bool weak = a->weak && b->weak;
    if (op == "/" && !is_float_t(t)) t = DType::F64;
    if ((op == "//" || op == "%") && t == DType::Bool) t = DType::I32;
    if (op == "<" || op == "<=" || op == ">" || op == ">=" || op == "==" || op == "!=") t = DType::Bool;
    NodeP n = make("($0 " + op + " $1)", {a, b}, t, s, weak);
    if (op == "+" || op == "-") return with_magnitude(n, "(abs($0) + abs($1))");
    return n;
  }

  NodeP arith(const Shape& s, int d, Mask mask, bool allow_t) {
    std::string op = r_.pick(std::vector<std::string>{"+", "-", "*", "+", "*", "-", "/", "//", "%"});
    bool floorish = op == "//" || op == "%";
    Mask m = mask;
    if (op == "/" ) m = kAny;  // any operands give a float
    NodeP a = gen(s, d, m, allow_t && !floorish), b = gen(operand_shape(s), d, m, allow_t && !floorish);
    if (r_.chance(0.5)) std::swap(a, b);
    // An inexact divisor near zero (a difference of nearly equal terms) would
    // amplify its error without bound: divisors stay exact.
    if (op == "/" && b->transcendental) std::swap(a, b);
    if (op == "/" && b->transcendental) b = gen(operand_shape(s), d, m, false);
    DType t = promote(a->dtype, a->weak, b->dtype, b->weak);
    if (op == "-" && t == DType::Bool) {  // NumPy refuses bool - bool
      if (r_.chance(0.02)) return binary(op, a, b, s);  // ...and so must both sides
      b = cast_to(b, DType::I32);
    }
    return binary(op, a, b, s);
  }

  NodeP compare(const Shape& s, int d) {
    std::string op = r_.pick(std::vector<std::string>{"<", "<=", ">", ">=", "==", "!="});
    NodeP a = gen(s, d, kAny, false), b = gen(operand_shape(s), d, kAny, false);
    if (r_.chance(0.5)) std::swap(a, b);
    return binary(op, a, b, s);
  }

  NodeP pow(const Shape& s, int d, Mask mask, bool allow_t) {
    // An inexact power (std::pow / the vector pow) multiplies the relative
    // error of its base by the exponent: its base stays exact.
    Mask base_mask = mask & kNumeric ? mask & kNumeric : kNumeric;
    switch (r_.range(0, 3)) {
      case 0: {  // a small non-negative integer exponent (fast paths 1 and 2 included)
        int64_t k = r_.pick(std::vector<int64_t>{0, 1, 2, 2, 3, 4, 7});
        NodeP a = gen(s, d, base_mask, allow_t && (k == 1 || k == 2));
        bool int_base = !is_float_t(a->dtype);
        if (!int_base && !allow_t && k != 1 && k != 2) k = 2;  // std::pow is inexact
        if (int_base && !a->weak && r_.chance(0.01)) k = -1;  // the error, on both sides
        DType t = a->dtype == DType::Bool ? DType::I64 : a->dtype;
        bool exact = !is_float_t(t) || k == 1 || k == 2;
        return make(fmt::format("($0 ** {})", k), {a}, t, s, a->weak, !exact);
      }
      case 1: {  // a float exponent: exact only where NumPy turns it into *, sqrt, /
        std::string k = r_.pick(std::vector<std::string>{"2.0", "0.5", "1.0", "(-1.0)", "3.0", "1.5", "(-0.5)"});
        bool exact = k == "2.0" || k == "0.5" || k == "1.0" || k == "(-1.0)";
        if (!exact && !allow_t) k = "2.0", exact = true;
        NodeP a = gen(s, d, base_mask, allow_t && (k == "2.0" || k == "1.0"));
        DType t = is_float_t(a->dtype) ? a->dtype : DType::F64;
        return make("($0 ** " + k + ")", {a}, t, s, a->weak, !exact);
      }
      default: {  // an array exponent
        NodeP a = gen(s, d, base_mask, false);
        if (!is_float_t(a->dtype)) {
          NodeP e = gen(operand_shape(s), d, kIntBool, false);
          DType et = promote(e->dtype, e->weak, DType::I64, true);
          NodeP ex = make("($0 % 4)", {e}, et, e->shape, e->weak);
          DType t = promote(a->dtype, a->weak, ex->dtype, ex->weak);
          if (t == DType::Bool) t = DType::I32;
          return make("($0 ** $1)", {a, ex}, t, s, a->weak && ex->weak);
        }
        if (!allow_t) return make("($0 ** 2)", {a}, a->dtype, s, a->weak);
        NodeP e = gen(operand_shape(s), d, kAny, false);
        DType t = promote(a->dtype, a->weak, e->dtype, e->weak);
        return make("($0 ** $1)", {a, e}, t, s, a->weak && e->weak, true);
      }
    }
  }

  NodeP math(const Shape& s, int d, Mask mask, bool allow_t) {
    struct Fn {
      const char* name;
      int kind;  // 0 exact float fn, 1 transcendental, 2 keeps dtype, 3 floor-like, 4 predicate
    };
    static const std::vector<Fn> fns = {
        {"abs", 2},   {"sqrt", 0},  {"exp", 1},   {"log", 1},   {"sin", 1},    {"floor", 3}, {"ceil", 3},
        {"round", 2}, {"trunc", 3}, {"sign", 2},  {"isnan", 4}, {"cos", 1},    {"log1p", 1}, {"expm1", 1},
        {"tanh", 1},  {"arctan", 1}, {"isinf", 4}, {"isfinite", 4}, {"abs", 2}, {"sqrt", 0}, {"exp2", 1},
        {"cbrt", 1}, {"log2", 1}, {"log10", 1},
    };
    Fn f = r_.pick(fns);
    if (f.kind == 1 && !allow_t) f = Fn{"sqrt", 0};
    if (f.kind == 4 || (!(mask & kFloats) && f.kind != 2)) {
      // A predicate, or a function of an integer result.
      if (!(mask & kFloats) && f.kind != 4) f = r_.chance(0.5) ? Fn{"abs", 2} : Fn{"isnan", 4};
    }
    // Only abs and the float functions themselves may take inexact inputs:
    // round, floor, sign, isinf... would turn a last-bit difference into another value.
    // A transcendental function of an inexact input can amplify its error
    // (sin of a large argument, exp of a large one): its input stays exact.
    // So can sqrt near 0 of an inexact difference: only abs takes inexact inputs.
    bool t_in = std::string(f.name) == "abs";
    NodeP a = gen(s, d, kAny, allow_t && t_in);
    if (std::string(f.name) == "sign" && a->dtype == DType::Bool) a = cast_to(a, DType::I32);
    DType t;
    switch (f.kind) {
      case 2: t = a->dtype; break;
      case 3: t = is_float_t(a->dtype) ? a->dtype : DType::F64; break;
      case 4: t = DType::Bool; break;
      default: t = a->dtype == DType::F32 || a->dtype == DType::Bool ? DType::F32 : DType::F64; break;
    }
    return make(std::string(f.name) + "($0)", {a}, t, s, false, f.kind == 1);
  }

  NodeP slice(const Shape& s, int d, Mask mask, bool allow_t) {
    // A view of a compound expression: rows, columns and slices of it.
    struct Cand {
      Shape src;
      std::string post;
    };
    std::vector<Cand> cands;
    if (s.size() == 1) {
      for (auto& src : shapes1_)
        for (const SliceSpec& sp : kSlices)
          if (fits({slice_dim(src[0], sp)}, s)) cands.push_back({src, sp.text});
      for (auto& src : shapes2_) {
        if (fits({src[0]}, s))
          for (int64_t j : valid_indices(src[1].size)) cands.push_back({src, fmt::format("[:, {}]", j)});
        if (fits({src[1]}, s))
          for (int64_t i : valid_indices(src[0].size)) cands.push_back({src, fmt::format("[{}]", i)});
      }
    } else if (s.size() == 2) {
      cands.push_back({s, "[::-1]"});
      cands.push_back({s, "[:, ::-1]"});
      cands.push_back({s, "[::-1, ::-1]"});
    }
    if (cands.empty()) return gen(s, d, mask, allow_t);
    Cand c = r_.pick(cands);
    NodeP a = gen(c.src, d, mask, allow_t);
    return make("$0" + c.post, {paren(a)}, a->dtype, s);
  }

  NodeP scan(const Shape& s, int d, Mask mask, bool allow_t) {
    std::string fn = r_.pick(std::vector<std::string>{"cumsum", "cummax", "cumsum", "cummin", "cumprod", "cummax"});
    bool accumulates = fn == "cumsum" || fn == "cumprod";
    // Sums of inexact values would only compare within a tolerance: keep them exact.
    bool t_ok = allow_t && !accumulates;
    auto result_dtype = [&](DType in) { return accumulates && !is_float_t(in) ? DType::I64 : in; };
    if (s.size() == 2) {
      NodeP a = gen(s, d, kAny, t_ok);
      int axis = int(r_.range(0, 1));
      std::string ax = r_.chance(0.3) ? std::to_string(axis) : fmt::format("axis={}", axis == 1 && r_.chance(0.3) ? -1 : axis);
      return make(fn + "($0, " + ax + ")", {a}, result_dtype(a->dtype), s);
    }
    // Rank 1: a vector, or a flattened matrix of the same length.
    std::vector<Shape> srcs = {s};
    for (auto& m : shapes2_)
      if (fits({Dim{m[0].size * m[1].size, m[0].one && m[1].one}}, s)) srcs.push_back(m);
    Shape src = r_.pick(srcs);
    NodeP a = gen(src, d, kAny, t_ok);
    if ((fn == "cumsum" || fn == "cumprod") && r_.chance(0.2) && src.size() == 1)
      return make("$0." + fn + "()", {paren(a)}, result_dtype(a->dtype), s);
    return make(fn + "($0)", {a}, result_dtype(a->dtype), s);
  }

  /** The dtype of a reduction of `in`. */
  static DType reduce_dtype(const std::string& fn, DType in) {
    if (fn == "sum" || fn == "prod") return is_float_t(in) ? in : DType::I64;
    if (fn == "mean" || fn == "var" || fn == "std") return in == DType::F32 ? DType::F32 : DType::F64;
    if (fn == "any" || fn == "all") return DType::Bool;
    if (fn == "argmin" || fn == "argmax" || fn == "count_nonzero") return DType::I64;
    return in;
  }

  // var and std compile several times slower than the other reductions
  // (two passes, see the report in the test below): fewer of them.
  std::string reduction_name() {
    static const std::vector<std::string> fns = {"sum", "prod", "min", "max", "mean", "var", "std", "any",
                                                 "all", "argmin", "argmax", "count_nonzero"};
    static const std::vector<double> w = {5, 1.5, 2, 2, 1, 0.8, 0.6, 1, 1, 1.2, 1.2, 1};
    return fns[r_.weighted(w)];
  }

  NodeP reduce(int d, Mask mask, bool allow_t) {
    std::string fn = reduction_name();
    if (mask == kBool && fn != "min" && fn != "max") fn = r_.chance(0.5) ? "any" : "all";
    bool needs_elements = fn == "min" || fn == "max" || fn == "argmin" || fn == "argmax";
    // prod multiplies the relative errors of all its inputs: exact inputs too.
    bool exact_input = fn == "argmin" || fn == "argmax" || fn == "var" || fn == "std" || fn == "any" ||
                       fn == "all" || fn == "count_nonzero" || fn == "prod";
    std::vector<Shape> srcs;
    for (auto& sh : shapes1_)
      if (!needs_elements || elements(sh) > 0 || r_.chance(0.01)) srcs.push_back(sh);
    for (auto& sh : shapes2_)
      if (!needs_elements || elements(sh) > 0 || r_.chance(0.01)) srcs.push_back(sh);
    if (srcs.empty()) {  // every array is empty: min/max would only raise
      fn = "sum";
      exact_input = false;
      srcs = shapes1_;
    }
    Shape src = r_.pick(srcs);
    // min/max keep the dtype; the others have their own result dtype.
    NodeP a = gen(src, d, fn == "min" || fn == "max" ? mask : kAny, allow_t && !exact_input);
    DType t = reduce_dtype(fn, a->dtype);
    std::string mag = fn == "sum" || fn == "mean" ? fn + "(abs($0))" : "";
    if (fn == "var" && r_.chance(0.2)) return make("var($0, ddof=1)", {a}, t, {});
    if (r_.chance(0.2) && fn != "count_nonzero" && fn != "argmin" && fn != "argmax")
      return with_magnitude(make("$0." + fn + "()", {paren(a)}, t, {}), mag);
    return with_magnitude(make(fn + "($0)", {a}, t, {}), mag);
  }

  NodeP axis_reduce(const Shape& s, int d, Mask mask, bool allow_t) {
    std::vector<std::pair<Shape, int>> srcs;
    for (auto& m : shapes2_) {
      if (fits({m[1]}, s)) srcs.push_back({m, 0});
      if (fits({m[0]}, s)) srcs.push_back({m, 1});
    }
    if (srcs.empty()) return gen(s, d, mask, allow_t);
    auto [src, axis] = r_.pick(srcs);
    std::string fn = reduction_name();
    bool needs_elements = fn == "min" || fn == "max" || fn == "argmin" || fn == "argmax";
    if (needs_elements && src[size_t(axis)].size == 0 && !r_.chance(0.05)) fn = "sum";
    bool exact_input = fn == "argmin" || fn == "argmax" || fn == "var" || fn == "std" || fn == "any" ||
                       fn == "all" || fn == "count_nonzero" || fn == "prod";
    NodeP a = gen(src, d, fn == "min" || fn == "max" ? mask : kAny, allow_t && !exact_input);
    DType t = reduce_dtype(fn, a->dtype);
    std::string ax = fmt::format("axis={}", axis == 1 && r_.chance(0.3) ? -1 : axis);
    if (fn != "min" && fn != "max" && fn != "count_nonzero" && r_.chance(0.2)) ax = std::to_string(axis);
    std::string mag = fn == "sum" || fn == "mean" ? fn + "(abs($0), " + ax + ")" : "";
    return with_magnitude(make(fn + "($0, " + ax + ")", {a}, t, s), mag);
  }

  const Env& env_;
  Rng& r_;
  Avoid avoid_;
  int nodes_ = 0;
  std::vector<NodeP> leaves_;
  std::vector<Shape> shapes1_, shapes2_;
};

// ---------------------------------------------------------------------------
// Running both sides and comparing.

struct Outcome {
  bool ok = false;
  Value value;
  std::string error;
};

template <class F> Outcome capture(F f) {
  Outcome o;
  try {
    o.value = f();
    o.ok = true;
  } catch (const Error& e) {
    o.error = e.what();
  } catch (const std::exception& e) {
    o.error = std::string("<not a numjit::Error> ") + e.what();
  }
  return o;
}

/** Units in the last place between two finite floats of dtype `t`. */
uint64_t ulp_distance(double a, double b, DType t) {
  auto ordered = [](int64_t bits) { return bits < 0 ? std::numeric_limits<int64_t>::min() - bits : bits; };
  if (t == DType::F32) {
    int32_t x, y;
    float fa = float(a), fb = float(b);
    std::memcpy(&x, &fa, 4);
    std::memcpy(&y, &fb, 4);
    int64_t ox = x < 0 ? int64_t(INT32_MIN) - x : x, oy = y < 0 ? int64_t(INT32_MIN) - y : y;
    return uint64_t(ox > oy ? ox - oy : oy - ox);
  }
  int64_t x, y;
  std::memcpy(&x, &a, 8);
  std::memcpy(&y, &b, 8);
  x = ordered(x);
  y = ordered(y);
  return x > y ? uint64_t(x) - uint64_t(y) : uint64_t(y) - uint64_t(x);
}

/** How closely two results must agree: bit for bit, or within what a
 *  transcendental function computed in f64 / in f32 may differ by. */
enum class Tol { Exact, F64, F32 };

Tol tolerance_of(const Node& n) { return n.single ? Tol::F32 : n.transcendental ? Tol::F64 : Tol::Exact; }

/** `a` and `b` agree within `tol`; `scale` is the size of the terms that
 *  made them (Node::magnitude), 0 when unknown. */
bool same_float(double a, double b, DType t, Tol tol, double scale = 0) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::memcmp(&a, &b, 8) == 0) return true;
  if (tol == Tol::Exact) return false;
  if (std::isinf(a) || std::isinf(b)) return false;
  if (ulp_distance(a, b, t) <= 8) return true;
  double rel = tol == Tol::F32 ? 1e-6 : 1e-13;
  double size = std::max({std::fabs(a), std::fabs(b), std::isfinite(scale) ? std::fabs(scale) : 0.0});
  return std::fabs(a - b) <= rel * size;
}

std::string element_text(double f, int64_t i, DType t) {
  if (is_float_t(t)) return fmt::format("{} ({:a})", f, f);
  return std::to_string(i);
}

thread_local double g_jit_seconds = 0, g_ref_seconds = 0;  // per worker thread
std::FILE* g_log = nullptr;
thread_local bool g_last_both_failed = false;  // NUMJIT_DIFF_LOG: seed, JIT milliseconds, inputs, program

/** "" when `got` (JIT) matches `want` (interpreter), else what differs. */
std::string compare(const Value& got, const Value& want, Tol tolerant, const std::vector<double>& scale = {}) {
  auto scale_at = [&](size_t k) { return k < scale.size() ? scale[k] : 0.0; };
  if (got.is_array() != want.is_array())
    return fmt::format("JIT gave {}, interpreter {}", got.is_array() ? "an array" : "a scalar",
                       want.is_array() ? "an array" : "a scalar");
  if (got.is_array()) {
    if (got.array().shape() != want.array().shape())
      return fmt::format("shape: JIT {}, interpreter {}", fmt::join(got.array().shape(), "x"),
                         fmt::join(want.array().shape(), "x"));
  }
  if (got.dtype() != want.dtype())
    return fmt::format("dtype: JIT {}, interpreter {}", dtype_name(got.dtype()), dtype_name(want.dtype()));
  DType t = got.dtype();
  if (!got.is_array()) {
    if (got.weak() != want.weak())
      return fmt::format("weak: JIT {}, interpreter {}", got.weak(), want.weak());
    if (is_float_t(t)) {
      double a = got.scalar<double>(), b = want.scalar<double>();
      if (!same_float(a, b, t, tolerant, scale_at(0)))
        return fmt::format("value: JIT {}, interpreter {}", element_text(a, 0, t), element_text(b, 0, t));
    } else if (got.scalar<int64_t>() != want.scalar<int64_t>()) {
      return fmt::format("value: JIT {}, interpreter {}", got.scalar<int64_t>(), want.scalar<int64_t>());
    }
    return "";
  }
  if (is_float_t(t)) {
    auto a = got.array().to_vector<double>(), b = want.array().to_vector<double>();
    for (size_t k = 0; k < a.size(); ++k)
      if (!same_float(a[k], b[k], t, tolerant, scale_at(k)))
        return fmt::format("element {} (of {}): JIT {}, interpreter {}", k, a.size(), element_text(a[k], 0, t),
                           element_text(b[k], 0, t));
  } else {
    auto a = got.array().to_vector<int64_t>(), b = want.array().to_vector<int64_t>();
    for (size_t k = 0; k < a.size(); ++k)
      if (a[k] != b[k]) return fmt::format("element {} (of {}): JIT {}, interpreter {}", k, a.size(), a[k], b[k]);
  }
  return "";
}

std::string outcome_text(const Outcome& o) {
  if (!o.ok) return "error: " + o.error;
  std::string v = format_value(o.value);
  if (v.size() > 300) v = v.substr(0, 300) + "...";
  return fmt::format("{}{} {}", dtype_name(o.value.dtype()), o.value.is_array() ? "[array]" : "", v);
}

/** Runs program `p` on both sides; "" when they agree, else the difference. */
std::string differ(Jit& jit, const Node& p, const Args& args, std::string* detail = nullptr) {
  const std::string text = p.text();
  const Tol tolerant = tolerance_of(p);
  auto t0 = std::chrono::steady_clock::now();
  Outcome got = capture([&] { return jit.eval(text, args); });
  auto t1 = std::chrono::steady_clock::now();
  Outcome want = capture([&] { return reference_eval(text, args); });
  auto t2 = std::chrono::steady_clock::now();
  g_jit_seconds += std::chrono::duration<double>(t1 - t0).count();
  g_ref_seconds += std::chrono::duration<double>(t2 - t1).count();
  std::string diff;
  g_last_both_failed = !got.ok && !want.ok;
  if (!got.ok && !want.ok) {
    if (got.error != want.error) diff = "different errors";
  } else if (got.ok != want.ok) {
    diff = got.ok ? "only the interpreter failed" : "only the JIT failed";
  } else {
    diff = compare(got.value, want.value, tolerant);
    if (!diff.empty() && tolerant != Tol::Exact) {
      // Inexact inputs may have met cancellation: judge the difference by
      // the size of the terms instead of the size of the result.
      Outcome mag = capture([&] { return reference_eval(p.magnitude_text(), args); });
      if (mag.ok) {
        std::vector<double> scale = mag.value.is_array() ? mag.value.array().to_vector<double>()
                                                         : std::vector<double>{mag.value.scalar<double>()};
        diff = compare(got.value, want.value, tolerant, scale);
        if (!diff.empty()) diff += fmt::format(" (term sizes from {})", p.magnitude_text());
      }
    }
  }
  if (!diff.empty() && detail)
    *detail = fmt::format("  JIT:         {}\n  interpreter: {}", outcome_text(got), outcome_text(want));
  return diff;
}

/** Replaces nodes by their children while the program still fails. */
NodeP shrink(Jit& jit, NodeP root, const Args& args) {
  auto fails = [&](const NodeP& p) { return !differ(jit, *p, args).empty(); };
  // Every way of replacing one node of `n` by one of its children.
  std::function<std::vector<NodeP>(const NodeP&)> variants = [&](const NodeP& n) {
    std::vector<NodeP> out;
    for (auto& k : n->kids) out.push_back(k);
    for (size_t i = 0; i < n->kids.size(); ++i)
      for (auto& v : variants(n->kids[i])) {
        auto copy = std::make_shared<Node>(*n);
        copy->kids[i] = v;
        refresh(*copy);
        out.push_back(copy);
      }
    return out;
  };
  for (int round = 0; round < 50; ++round) {
    bool smaller = false;
    auto vs = variants(root);
    std::sort(vs.begin(), vs.end(), [](const NodeP& a, const NodeP& b) { return a->size() < b->size(); });
    for (auto& v : vs)
      if (v->size() < root->size() && fails(v)) {
        root = v;
        smaller = true;
        break;
      }
    if (!smaller) break;
  }
  return root;
}

// A crash (SIGSEGV, SIGFPE...) in generated code names the programs that
// were running (one per worker thread) first.
constexpr int kMaxWorkers = 8;
char g_current[kMaxWorkers][2048];
void on_crash(int sig) {
  const char msg[] = "\n*** crash while running differential programs:\n";
  ssize_t rc = write(2, msg, sizeof msg - 1);
  for (auto& cur : g_current) {
    size_t len = strnlen(cur, sizeof cur);
    if (!len) continue;
    rc = write(2, cur, len);
    rc = write(2, "\n", 1);
  }
  (void)rc;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

struct CrashNote {
  CrashNote() {
    std::memset(g_current, 0, sizeof g_current);
    for (int s : {SIGSEGV, SIGFPE, SIGBUS, SIGILL, SIGABRT}) old_[s] = std::signal(s, on_crash);
  }
  ~CrashNote() {
    for (int s : {SIGSEGV, SIGFPE, SIGBUS, SIGILL, SIGABRT}) std::signal(s, old_[s]);
  }
  void set(int worker, const std::string& s) {
    std::snprintf(g_current[worker % kMaxWorkers], sizeof g_current[0], "%s", s.c_str());
  }
  void (*old_[32])(int) = {};
};

struct Stats {
  int programs = 0, both_failed = 0, tolerant = 0, failures = 0;
  double jit_seconds = 0, ref_seconds = 0;
  std::vector<std::string> reports;  // one per failure, reported by the main thread

  void add(const Stats& o) {
    programs += o.programs, both_failed += o.both_failed, tolerant += o.tolerant, failures += o.failures;
    jit_seconds += o.jit_seconds, ref_seconds += o.ref_seconds;
    reports.insert(reports.end(), o.reports.begin(), o.reports.end());
  }
};

/** Generates, runs and compares the program of `seed` (on worker thread
 *  `worker`); a failure becomes a report in `st`. */
void check_program(Jit& jit, uint64_t seed, Stats& st, CrashNote& note, int worker, bool verbose) {
  Env env = make_env(seed);
  Rng r(seed);
  Generator g(env, r, Avoid{});
  NodeP p = g.program();
  std::string text = p->text();
  note.set(worker, fmt::format("seed {}: {}   [{}]", seed, text, env.describe()));
  if (verbose) MESSAGE(fmt::format("seed {} ({}): {}", seed, env.describe(), text));
  std::string detail;
  double before = g_jit_seconds;
  std::string diff = differ(jit, *p, env.args, &detail);
  if (std::FILE* log = g_log)
    std::fprintf(log, "%llu\t%.2f\t%s\t%s\n", (unsigned long long)seed, (g_jit_seconds - before) * 1e3,
                 env.describe().c_str(), text.c_str());
  ++st.programs;
  st.both_failed += diff.empty() && detail.empty() && g_last_both_failed;
  st.tolerant += tolerance_of(*p) != Tol::Exact;
  if (diff.empty()) return;
  ++st.failures;
  NodeP small = shrink(jit, p, env.args);
  std::string small_detail;
  std::string small_diff = differ(jit, *small, env.args, &small_detail);
  st.reports.push_back(fmt::format(
      "JIT (-O{}) and interpreter differ\n  seed:    {}  (rerun with NUMJIT_DIFF_ONLY={})\n  inputs:  {}\n"
      "  program: {}\n  {}\n{}\n  shrunk:  {}\n  {}\n{}",
      jit.options().opt_level, seed, seed, env.describe(), text, diff, detail, small->text(), small_diff,
      small_detail));
}

// ---------------------------------------------------------------------------
// Fixed cases: reduction order at sizes that cross blocks and lanes.

std::vector<double> data(int64_t n, uint64_t seed, double lo, double hi) {
  Rng r(seed);
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& x : v) x = lo + (hi - lo) * r.unit();
  return v;
}

}  // namespace

TEST_SUITE("differential") {

TEST_CASE("random programs give the same results in the JIT and the interpreter") {
  int64_t count = env_int("NUMJIT_DIFF_PROGRAMS", 3000);
  uint64_t first = uint64_t(env_int("NUMJIT_DIFF_SEED", 1));
  int64_t only = env_int("NUMJIT_DIFF_ONLY", -1);
  int workers = int(std::clamp<int64_t>(env_int("NUMJIT_DIFF_THREADS", 2), 1, kMaxWorkers));
  // Most programs run optimised and vectorized (-O2, the default); every third at -O0,
  // where the JIT calls scalar libm and does not vectorize.
  Options o2, o0;
  o2.opt_level = int(env_int("NUMJIT_DIFF_OPT", 2));
  o0.opt_level = int(env_int("NUMJIT_DIFF_OPT", 0));
  if (const char* log = std::getenv("NUMJIT_DIFF_LOG")) g_log = std::fopen(log, "w");
  CrashNote note;
  Stats st;
  auto t0 = std::chrono::steady_clock::now();
  if (only >= 0) {
    Jit jit(o2), jit0(o0);
    check_program(jit, uint64_t(only), st, note, 0, true);
    check_program(jit0, uint64_t(only), st, note, 0, true);
  } else {
    // Program k always has seed first + k and the same optimisation level,
    // whichever worker runs it; each worker has its own Jit objects.
    std::vector<Stats> per(static_cast<size_t>(workers));
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w)
      pool.emplace_back([&, w] {
        Jit jit(o2), jit0(o0);
        Stats& mine = per[size_t(w)];
        for (int64_t k = w; k < count; k += workers)
          check_program(k % 3 == 2 ? jit0 : jit, first + uint64_t(k), mine, note, w, false);
        mine.jit_seconds = g_jit_seconds;
        mine.ref_seconds = g_ref_seconds;
      });
    for (auto& t : pool) t.join();
    for (auto& p : per) st.add(p);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (g_log) std::fclose(g_log), g_log = nullptr;
  for (auto& r : st.reports) FAIL_CHECK(r);
  MESSAGE(fmt::format("{} programs ({} compared with a tolerance, {} an error on both sides) in {:.1f} s on {} "
                      "threads (JIT {:.1f} s, interpreter {:.1f} s of CPU), {} failed", st.programs, st.tolerant,
                      st.both_failed, secs, only >= 0 ? 1 : workers, st.jit_seconds, st.ref_seconds, st.failures));
  CHECK(st.failures == 0);
}

TEST_CASE("the generator makes valid programs of every kind") {
  // A sanity check of the test itself: most programs run without error and
  // they cover the operations the suite is meant to exercise.
  int ok = 0, total = 600;
  std::string all;
  for (int k = 0; k < total; ++k) {
    Env env = make_env(uint64_t(100000 + k));
    Rng r(uint64_t(100000 + k));
    Generator g(env, r, Avoid{});
    NodeP p = g.program();
    std::string text = p->text();
    all += text + "\n";
    Outcome o = capture([&] { return reference_eval(text, env.args); });
    ok += o.ok;
    if (!o.ok && k < 40) MESSAGE(fmt::format("{} -> {}", text, o.error));
  }
  MESSAGE(fmt::format("{} of {} generated programs evaluate without error", ok, total));
  CHECK(ok > total * 8 / 10);
  for (const char* op : {" + ", " - ", " * ", " / ", " // ", " % ", " ** ", " < ", " == ", " & ", " | ", "~",
                         "where(", "abs(", "sqrt(", "exp(", "log(", "sin(", "floor(", "ceil(", "round(", "trunc(",
                         "sign(", "minimum(", "maximum(", "clip(", "isnan(", "f32(", "i64(", ".astype(", "[1:]",
                         "[:-1]", "[::2]", "[::-1]", "[:, ", "sum(", "prod(", "min(", "max(", "mean(", "var",
                         "std", "any(", "all(", "argmin(", "argmax(", "count_nonzero(", "axis=", "cumsum(",
                         "cummax(", "XT", "ds", "dr", "Yr", "Yc", "Xs", "Xn", "z0", " if ", " and ",
                         "not ", "dot(", "group_sum(", "group_count(", "group_mean(", "group_min(", "arange(",
                         "random(", "randn(", "fmod(", "arctan2(", "copy(", ".shape[", "cumprod(", "cummin("}) {
    INFO(std::string(op));
    CHECK(all.find(op) != std::string::npos);
  }
}

TEST_CASE("sums are bit-identical to the fixed reduction order at n = 10007 and 100003") {
  Jit jit;
  for (int64_t n : {int64_t(10007), int64_t(100003)}) {
    auto p = data(n, 1, 50, 150), q = data(n, 2, -1, 1), f = data(n, 3, -10, 10);
    std::vector<float> pf(p.begin(), p.end()), qf(q.begin(), q.end());
    std::vector<int32_t> pi(static_cast<size_t>(n));
    for (size_t k = 0; k < pi.size(); ++k) pi[k] = int32_t(p[k] * 1000) - 100000;
    Args args = {{"p", p}, {"q", q}, {"f", f}, {"pf", pf}, {"qf", qf}, {"pi", pi}};
    for (const char* expr : {"sum(p*q - f)", "sum(p)", "mean(p*q)", "var(f)", "std(q)", "sum(pf*qf)",
                             "mean(pf)", "sum(pf - 100.0)", "prod(1.0 + q*1e-3)", "sum(p[1:] - p[:-1])",
                             "sum(p[::-1] * q)", "sum(where(p > 100, p*q, 0.0))", "dot(p, q)", "sum(pi)",
                             "sum(pi * 1.5)", "mean(pi)", "sum(sqrt(p))", "sum(p[::3])", "max(p*q)",
                             "argmax(p*q)"}) {
      INFO(fmt::format("{} with n = {}", expr, n));
      Value a = jit.eval(expr, args);
      Value b = reference_eval(expr, args);
      CHECK(a.dtype() == b.dtype());
      if (is_float_t(a.dtype())) {
        double x = a.scalar<double>(), y = b.scalar<double>();
        CHECK(std::memcmp(&x, &y, 8) == 0);
        if (std::memcmp(&x, &y, 8) != 0) MESSAGE(fmt::format("JIT {:a}, interpreter {:a}", x, y));
      } else {
        CHECK(a.scalar<int64_t>() == b.scalar<int64_t>());
      }
    }
    // Axis reductions too: each row of a (3, n) matrix is one ordered reduction.
    std::vector<double> X;
    for (int r = 0; r < 3; ++r) X.insert(X.end(), p.begin(), p.end());
    Args xa = {{"X", Value(Array::view(X.data(), DType::F64, {3, n}))}, {"w", Value(Array::view(q.data(), DType::F64, {n}))}};
    for (const char* expr : {"sum(X * w, axis=1)", "mean(X, axis=1)", "sum(X, axis=0)"}) {
      INFO(fmt::format("{} with n = {}", expr, n));
      auto a = jit.eval(expr, xa).array().to_vector<double>();
      auto b = reference_eval(expr, xa).array().to_vector<double>();
      REQUIRE(a.size() == b.size());
      CHECK(std::memcmp(a.data(), b.data(), a.size() * 8) == 0);
    }
  }
}

// Regressions of bugs this suite found, and known bugs: a known bug states
// itself and is skipped (with a MESSAGE) unless NUMJIT_TEST_KNOWN_BUGS=1.

// Found by the random programs: the interpreter converted i64 -> f32 through
// f64, rounding twice (fixed in a6cd4ca).
TEST_CASE("f32 of an i64 array rounds once, as NumPy's astype(float32) does") {
  std::vector<int64_t> l = {(int64_t(1) << 62) + (int64_t(1) << 38) + 1, (int64_t(1) << 53) + 1};
  Jit jit;
  Args args = {{"l", l}};
  // NumPy: np.array([2**62 + 2**38 + 1]).astype(np.float32) == 2**62 + 2**39
  CHECK(jit.eval("f64(f32(l))[0]", args).scalar<double>() == 4611686568183201792.0);
  CHECK(reference_eval("f64(f32(l))[0]", args).scalar<double>() == 4611686568183201792.0);
}

// Found by tests/unit/test_numpy.cpp: Builder::cast_strong folded a literal
// reading the float field of an int constant (f32(3) was 0.0; fixed in
// 59ee526). Both sides shared it, so only NumPy could tell; checked here
// without NumPy.
TEST_CASE("explicit casts of literals keep their value") {
  Jit jit;
  for (auto eval : {+[](Jit& j, const char* e) { return j.eval(e); },
                    +[](Jit&, const char* e) { return reference_eval(e); }}) {
    CHECK(eval(jit, "f32(3)").scalar<double>() == 3.0);
    CHECK(eval(jit, "f64(7) / 2").scalar<double>() == 3.5);
    CHECK(eval(jit, "i64(2.5)").scalar<int64_t>() == 2);
    CHECK(eval(jit, "i32(-3.7)").scalar<int64_t>() == -3);
    CHECK(eval(jit, "bool(0.5)").scalar<bool>() == true);
  }
}

TEST_CASE("a length-1 view broadcasts as NumPy's does") {
  if (!run_known_bugs()) {
    MESSAGE("known bug: only a dim that is the compile-time constant 1 broadcasts; x + y[:1] with len(x) = 8, "
            "len(y) = 6 fails with 'operands could not be broadcast together with shapes (8,) (1,)' in both the "
            "JIT and the interpreter, where NumPy broadcasts");
    return;
  }
  std::vector<double> x(8, 1.0), y(6, 2.0);
  Jit jit;
  CHECK(jit.eval("sum(x + y[:1])", {{"x", x}, {"y", y}}).scalar<double>() == 24.0);
}

// Once a known bug (the literal wrapped to i32); fixed, so a real check.
TEST_CASE("a weak int that does not fit the array's dtype is an error, as under NEP 50") {
  std::vector<int32_t> x = {1, 2};
  Jit jit;
  CHECK_THROWS_AS(jit.eval("x + 3000000000", {{"x", x}}), Error);
}

// Found by comparing with NumPy (tests/unit/test_numpy.cpp); both sides agree.
// Once a known bug (the first operand won a tie); fixed, so a real check.
TEST_CASE("ties of -0.0 and 0.0 in maximum and clip resolve as in NumPy") {
  std::vector<double> x = {-0.0};
  Jit jit;
  for (const char* e : {"maximum(x, 0.0)[0]", "clip(x, 0, 1)[0]"}) {
    INFO(e);
    CHECK_FALSE(std::signbit(jit.eval(e, {{"x", x}}).scalar<double>()));
    CHECK_FALSE(std::signbit(reference_eval(e, {{"x", x}}).scalar<double>()));
  }
}

TEST_CASE("the JIT gives the same bits with one thread and with all threads") {
  Options single;
  single.threads = 1;
  Jit one(single), all;
  int64_t n = 100003;
  auto p = data(n, 4, 50, 150), q = data(n, 5, -1, 1);
  Args args = {{"p", p}, {"q", q}};
  for (const char* expr : {"sum(p*q - 1.0)", "var(p)", "cumsum(q)[-1]", "prod(1.0 + q*1e-4)"}) {
    INFO(expr);
    double a = one.eval(expr, args).scalar<double>(), b = all.eval(expr, args).scalar<double>();
    CHECK(std::memcmp(&a, &b, 8) == 0);
  }
}

}  // TEST_SUITE
