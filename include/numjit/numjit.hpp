// numjit public API.
//
//   numjit::Jit jit;                               // options: threads, opt level...
//   std::vector<double> p = ..., q = ..., f = ...;
//   double r = jit.eval("sum(p*q - f)", {{"p", p}, {"q", q}, {"f", f}}).scalar<double>();
//
// Arrays passed in are views of the caller's memory (no copy); results are
// owning, 64-byte-aligned arrays.  Errors of any kind are numjit::Error.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace numjit {

/** The element types of the language, one row each: the enumerator, its
 *  C++ type, numjit's name (the cast `f64(x)`, printed types), NumPy's name
 *  and the descr np.save writes. Everything else about a dtype (its size,
 *  dtype_of<T>, visit_dtype, .npy headers, the names a script may use)
 *  follows from its row; promotion is ir/types.cpp. */
#define NUMJIT_FOR_EACH_DTYPE(X)                  \
  X(Bool, bool, "bool", "bool", "|b1")            \
  X(I32, int32_t, "i32", "int32", "<i4")          \
  X(I64, int64_t, "i64", "int64", "<i8")          \
  X(F32, float, "f32", "float32", "<f4")          \
  X(F64, double, "f64", "float64", "<f8")

enum class DType : int32_t {
#define NUMJIT_DTYPE_ENUM(id, ctype, name, numpy, descr) id,
  NUMJIT_FOR_EACH_DTYPE(NUMJIT_DTYPE_ENUM)
#undef NUMJIT_DTYPE_ENUM
};

/** Every dtype, in row order. */
inline constexpr DType kDTypes[] = {
#define NUMJIT_DTYPE_LIST(id, ctype, name, numpy, descr) DType::id,
    NUMJIT_FOR_EACH_DTYPE(NUMJIT_DTYPE_LIST)
#undef NUMJIT_DTYPE_LIST
};

/** The row's names: "f64"; NumPy's "float64"; np.save's descr "<f8". */
const char* dtype_name(DType t);
const char* dtype_numpy_name(DType t);
const char* dtype_descr(DType t);
/** Bytes per element (bool is one byte). */
int64_t dtype_size(DType t);

template <class T> constexpr DType dtype_of() {
#define NUMJIT_DTYPE_OF(id, ctype, name, numpy, descr) if constexpr (std::is_same_v<T, ctype>) return DType::id; else
  NUMJIT_FOR_EACH_DTYPE(NUMJIT_DTYPE_OF)
#undef NUMJIT_DTYPE_OF
  static_assert(sizeof(T) == 0, "numjit arrays hold the C++ types of NUMJIT_FOR_EACH_DTYPE");
}

/** f(std::type_identity<T>{}) with T the C++ type of `t`: one generic
 *  lambda instead of a switch over the dtypes. */
template <class F> decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
#define NUMJIT_DTYPE_VISIT(id, ctype, name, numpy, descr) \
  case DType::id: return f(std::type_identity<ctype>{});
    NUMJIT_FOR_EACH_DTYPE(NUMJIT_DTYPE_VISIT)
#undef NUMJIT_DTYPE_VISIT
  }
  __builtin_unreachable();
}

/** Every user-visible failure: source, type, shape, runtime, I/O, cache. The
 *  message is complete (for source errors: file:line:col, the line, a caret). */
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/** An array of rank 0-2: either a view of memory someone else owns, or the
 *  owner of 64-byte-aligned memory (shared between copies of the handle).
 *  Strides are in elements. Rank 0 holds one element (a NumPy 0-d array). */
class Array {
 public:
  Array() = default;

  /** A new owning, zero-filled, C-ordered array. */
  static Array zeros(DType dtype, std::vector<int64_t> shape);
  /** A non-owning view; strides in elements (empty: C order). */
  static Array view(void* data, DType dtype, std::vector<int64_t> shape,
                    std::vector<int64_t> strides = {});
  template <class T> static Array view(std::span<T> s) {
    return view(const_cast<std::remove_const_t<T>*>(s.data()),
                dtype_of<std::remove_const_t<T>>(), {int64_t(s.size())});
  }
  template <class T> static Array view(std::vector<T>& v) { return view(std::span<T>(v)); }
  template <class T> static Array view(const std::vector<T>& v) { return view(std::span<const T>(v)); }
  /** An owning copy of `values`. */
  template <class T> static Array from(const std::vector<T>& values) {
    Array a = zeros(dtype_of<T>(), {int64_t(values.size())});
    for (size_t i = 0; i < values.size(); ++i) a.data<T>()[i] = values[i];
    return a;
  }

  DType dtype() const { return dtype_; }
  int ndim() const { return int(shape_.size()); }
  const std::vector<int64_t>& shape() const { return shape_; }
  const std::vector<int64_t>& strides() const { return strides_; }
  int64_t size() const;
  bool owns_memory() const { return owner_ != nullptr; }
  bool is_contiguous() const;
  void* raw_data() const { return data_; }
  template <class T> T* data() const {
    if (dtype_of<T>() != dtype_) throw Error(std::string("array holds ") + dtype_name(dtype_) + ", not " + dtype_name(dtype_of<T>()));
    return static_cast<T*>(data_);
  }
  /** Element (i) / (i, j) / () converted to T, honouring strides. */
  template <class T> T at(int64_t i = 0, int64_t j = 0) const;
  /** A C-ordered owning copy. */
  Array copy() const;
  /** Elements in C order, converted to T. */
  template <class T> std::vector<T> to_vector() const {
    std::vector<T> out;
    out.reserve(size_t(size()));
    if (ndim() == 0) out.push_back(at<T>());
    else if (ndim() == 1) for (int64_t i = 0; i < shape_[0]; ++i) out.push_back(at<T>(i));
    else for (int64_t i = 0; i < shape_[0]; ++i) for (int64_t j = 0; j < shape_[1]; ++j) out.push_back(at<T>(i, j));
    return out;
  }

 private:
  friend struct ArrayAccess;
  void* data_ = nullptr;
  DType dtype_ = DType::F64;
  std::vector<int64_t> shape_, strides_;
  std::shared_ptr<void> owner_;
};

/** A scalar or an array: the values scripts and kernels exchange with the host.
 *  Host scalars are strong i64 / f64 / bool, as Numba types Python numbers. */
class Value {
 public:
  Value() = default;
  Value(Array a) : is_array_(true), array_(std::move(a)) {}
  template <class T> Value(std::vector<T>& v) : Value(Array::view(v)) {}
  template <class T> Value(const std::vector<T>& v) : Value(Array::view(v)) {}
  template <class T> Value(std::span<T> s) : Value(Array::view(s)) {}
  Value(double v) : dtype_(DType::F64), f_(v) {}
  Value(float v) : dtype_(DType::F32), f_(v) {}
  Value(int64_t v) : dtype_(DType::I64), i_(v) {}
  Value(int v) : dtype_(DType::I64), i_(v) {}
  Value(bool v) : dtype_(DType::Bool), i_(v) {}

  /** A scalar of the given dtype; `weak` marks a Python-literal-like value. */
  static Value scalar(DType t, double f, int64_t i, bool weak = false);

  bool is_array() const { return is_array_; }
  bool is_scalar() const { return !is_array_; }
  bool weak() const { return weak_; }
  DType dtype() const { return is_array_ ? array_.dtype() : dtype_; }
  const Array& array() const;
  /** The scalar converted to T (rank-0 arrays count as scalars). */
  template <class T> T scalar() const;

 private:
  bool is_array_ = false;
  bool weak_ = false;
  Array array_;
  DType dtype_ = DType::F64;
  double f_ = 0;   // F32, F64
  int64_t i_ = 0;  // Bool, I32, I64
  friend struct ValueAccess;
};

/** Named arguments of eval / run. */
using Args = std::vector<std::pair<std::string, Value>>;

/** Compiler and runtime options. */
struct Options {
  int threads = 0;          ///< worker threads; 0: NUMJIT_NUM_THREADS or all cores
  int opt_level = 2;        ///< 0: none; 1, 3: LLVM's O1, O3; 2: numjit's pipeline (faster to compile)
  bool fastmath = false;    ///< allow reassociation and contraction (changes bits)
  bool boundscheck = true;  ///< check element indices in kernels
  std::string cache_dir;    ///< on-disk cache; empty: $NUMJIT_CACHE_DIR or ~/.cache/numjit
  bool disk_cache = true;   ///< keep compiled kernels on disk between processes
};

/** Pipeline stages, in order; --emit=STAGE, the REPL and golden tests use them.
 *  Remarks is not a stage of its own: the loop vectorizer's optimisation
 *  remarks while llvm-opt is made (the REPL's :explain reads them). */
enum class Stage { Tokens, Ast, Typed, Array, Fused, Loops, Llvm, LlvmOpt, Asm, Remarks };
/** Parses "tokens", "ast", ... "asm"; throws Error naming the valid ones. */
Stage parse_stage(std::string_view name);
const char* stage_name(Stage s);

/** For interactive front ends (the REPL): whether `text` is an unfinished
 *  statement (an open bracket, a trailing ':' or '\\', an indented block
 *  not yet ended by a blank line), whether it is exactly one expression
 *  statement, and the names of every builtin function (completion). */
bool input_is_incomplete(const std::string& text);
bool is_single_expression(const std::string& text);
const std::vector<std::string>& builtin_names();

/** The on-disk cache of compiled kernels: its default directory
 *  ($NUMJIT_CACHE_DIR, else ~/.cache/numjit; empty when neither is known)
 *  and emptying a directory of it (returns the number of kernels removed). */
std::string default_cache_dir();
int clear_cache(const std::string& dir);

/** The elementwise builtin functions, one line each (`numjit --builtins`):
 *  the call, the result dtype, what it computes. */
std::string builtin_functions_text();

/** NumPy-style text of a value (`[1. 2. 3.]`, truncated when long). */
std::string format_value(const Value& v);

/** What runs for a source (Jit::explain): each kernel that run() compiles
 *  for it, each loop as the compiler made it. Facts, not text to parse. */
struct LoopExplanation {
  int depth = 0;          ///< 0: a loop of the kernel's body; 1: inside one; ...
  std::string loop;       ///< its line in the loop IR (--emit=loops), e.g. "for i0 in [0, p.shape[0]) parallel"
  bool parallel = false;  ///< its iterations, or a reduction's blocks, run on the thread pool
  /** Why a `for` loop of the kernel's body runs in order, when it does
   *  ("`s` is carried from one iteration to the next"); empty otherwise. */
  std::string serial_reason;
  /** Who wrote it as SIMD vectors: numjit itself (a float reduction in the
   *  fixed lanes of its summation order, or a prefix scan), LLVM's loop
   *  vectorizer, or nobody. */
  enum class Vectorizer { None, Numjit, Llvm } vectorizer = Vectorizer::None;
  int width = 0;          ///< lanes: numjit's reduction or scan lanes, or LLVM's vectorization factor
  int interleave = 0;     ///< LLVM's interleave count (1: none); 0 unless LLVM vectorized it
  std::string what;       ///< numjit's kind of vectors ("reduction", "prefix scan"); empty otherwise
  std::vector<std::string> why_not;  ///< LLVM's reasons, when nobody vectorized it
};

struct KernelExplanation {
  std::string signature;  ///< "kernel(p: f64[:], q: f64[:]) -> (out0)"
  std::vector<LoopExplanation> loops;
  /** Bytes per element of the iteration space: each array input read, each
   *  array result written, each temporary (written and read back: twice). */
  std::vector<std::pair<std::string, int>> reads, writes, temps;
  int bytes_per_element() const;
};

struct Explanation {
  std::string fused;       ///< --emit=fused of the programs (empty for loop kernels)
  int fusion_groups = 0;   ///< loop nests after fusion
  std::string loop_ir;     ///< --emit=loops
  std::vector<KernelExplanation> kernels;
};

class Session;

/** A contiguous 1-D array argument of a typed function: pointer and length
 *  (View<const double> reads, View<double> may be written by the kernel). */
template <class T>
struct View {
  T* data = nullptr;
  int64_t size = 0;
  View() = default;
  View(T* d, int64_t n) : data(d), size(n) {}
  template <class C>
    requires(!std::is_same_v<std::remove_cv_t<C>, View> && requires(C& c) { c.data(); c.size(); })
  View(C& c) : data(c.data()), size(int64_t(c.size())) {}
};

namespace detail {
/** The kernel ABI's view (runtime/abi.h nj_array_view), mirrored here. */
struct RawView {
  void* data;
  int32_t dtype;
  int32_t ndim;
  int64_t shape[2];
  int64_t strides[2];
};

/** A kernel compiled for one argument signature, ready to call. */
class CallTarget {
 public:
  /** Calls it: views[0..ninputs) are the arguments, then one slot per
   *  result; a rank-0 result slot with non-null data is written in place.
   *  Throws Error on a runtime error. Returns the results as Values when
   *  `values` is not null. */
  void call(RawView* views, int64_t nviews, std::vector<Value>* values) const;
  std::shared_ptr<const void> impl;
};

template <class T> struct ArgType;
template <class T> struct ArgType<View<T>> {
  using E = std::remove_const_t<T>;
  static constexpr int rank = 1;
  static RawView raw(View<T> v) {
    return RawView{const_cast<E*>(v.data), int32_t(dtype_of<E>()), 1, {v.size, 0}, {1, 0}};
  }
};
template <class T> struct ScalarArg {
  static constexpr int rank = 0;
};
template <> struct ArgType<double> : ScalarArg<double> { using E = double; };
template <> struct ArgType<int64_t> : ScalarArg<int64_t> { using E = int64_t; };
template <> struct ArgType<bool> : ScalarArg<bool> { using E = bool; };
}  // namespace detail

/** A kernel bound to C++ argument types: a call costs a few tens of
 *  nanoseconds above the kernel's own work (no parsing, lookup or copies).
 *  R is a scalar (double, int64_t, bool) or Value; arguments are View<T>,
 *  double, int64_t or bool. Made by Jit::function. */
template <class Sig> class Function;
template <class R, class... A>
class Function<R(A...)> {
 public:
  Function() = default;
  explicit Function(detail::CallTarget t) : target_(std::move(t)) {}

  R operator()(A... args) const {
    detail::RawView views[sizeof...(A) + 1];
    int i = 0;
    std::tuple<A...> held(args...);  // scalars need an address
    std::apply([&](auto&... a) { ((views[i++] = raw(a)), ...); }, held);
    views[sizeof...(A)] = detail::RawView{nullptr, 0, 0, {0, 0}, {0, 0}};
    if constexpr (std::is_same_v<R, Value>) {
      std::vector<Value> out;
      target_.call(views, int64_t(sizeof...(A) + 1), &out);
      return out.at(0);
    } else {
      R r{};
      views[sizeof...(A)].data = &r;
      target_.call(views, int64_t(sizeof...(A) + 1), nullptr);
      return r;
    }
  }

 private:
  template <class T> static detail::RawView raw(View<T>& v) { return detail::ArgType<View<T>>::raw(v); }
  template <class T> static detail::RawView raw(T& s) {
    return detail::RawView{&s, int32_t(dtype_of<T>()), 0, {0, 0}, {0, 0}};
  }
  detail::CallTarget target_;
};

/** The JIT: compiles and runs numjit source. Owns the LLVM JIT and caches.
 *  Distinct Jit objects are independent. */
class Jit {
 public:
  explicit Jit(Options options = {});
  ~Jit();
  Jit(const Jit&) = delete;
  Jit& operator=(const Jit&) = delete;

  const Options& options() const;

  /** Evaluates one expression over named host values (arrays are viewed, not
   *  copied). Compiled code is cached per expression and argument signature. */
  Value eval(std::string_view expr, const Args& args = {});

  /** Runs a script (statements separated by newlines); `print` output goes to
   *  `out`. Variables persist in this Jit's session between calls. */
  void run(std::string_view source, std::string_view filename = "<string>");
  /** Like run, and also prints the value of each expression statement (as
   *  `numjit -e` and the REPL do). */
  void run_interactive(std::string_view source, std::string_view filename = "<string>");

  /** Text of stage `stage` for `source` (a script or an expression) with
   *  `args` as its free variables. */
  std::string emit(std::string_view source, Stage stage, const Args& args = {},
                   std::string_view filename = "<string>");

  /** What run() compiles for `source` and how each loop runs (the REPL's
   *  :explain); like emit(), it writes nothing. */
  Explanation explain(std::string_view source, const Args& args = {}, std::string_view filename = "<string>");

  /** A variable of the session (after run), or throws Error. */
  Value get(const std::string& name) const;
  /** Binds a session variable. */
  void set(const std::string& name, Value v);

  /** Where `print` writes; defaults to stdout. */
  void set_output(std::ostream* out);

  /** The kernel `name` (a `def` run earlier) compiled for the C++ argument
   *  types of Sig, e.g. jit.function<double(View<const double>)>("total"). */
  template <class Sig> Function<Sig> function(std::string_view name) {
    return Function<Sig>(bind(name, signature_of(static_cast<Sig*>(nullptr)), result_dtype(static_cast<Sig*>(nullptr))));
  }

 private:
  /** (dtype, rank) of each argument. */
  using Signature = std::vector<std::pair<DType, int>>;
  template <class R, class... A> static Signature signature_of(R (*)(A...)) {
    return {{dtype_of<typename detail::ArgType<A>::E>(), detail::ArgType<A>::rank}...};
  }
  template <class R, class... A> static int result_dtype(R (*)(A...)) {
    if constexpr (std::is_same_v<R, Value>) return -1;
    else return int(dtype_of<R>());
  }
  detail::CallTarget bind(std::string_view name, const Signature& sig, int result_dtype);

  std::unique_ptr<Session> session_;
};

}  // namespace numjit
