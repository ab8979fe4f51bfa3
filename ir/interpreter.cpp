// Reference interpreter for the array IR (see interpreter.h). Every node is
// materialised as a dense C-ordered tensor of Scalars; element semantics
// come from ir/scalar_ops.h and reduction order from ir/reduce_order.h.
#include "ir/interpreter.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>

#include "ir/reduce_order.h"
#include "ir/scalar_ops.h"
#include "runtime/context.h"

namespace numjit {

namespace {

struct Tensor {
  DType dtype = DType::F64;
  std::vector<int64_t> shape;
  std::vector<Scalar> data;

  int64_t size() const {
    int64_t s = 1;
    for (auto d : shape) s *= d;
    return s;
  }
};

// Runtime errors carry the exact text the JIT's runtime helpers produce.
[[noreturn]] void fail_index(int64_t index, int64_t axis, int64_t size) {
  nj_ctx ctx;
  nj_fail_index(&ctx, nullptr, index, axis, size);
  throw Error(ctx.message);
}
[[noreturn]] void fail_shapes(int64_t a, int64_t b) {
  nj_ctx ctx;
  nj_fail_shapes(&ctx, nullptr, a, b);
  throw Error(ctx.message);
}
[[noreturn]] void fail_key(int64_t key, int64_t pos, int64_t n) {
  nj_ctx ctx;
  nj_fail_key(&ctx, key, pos, n);
  throw Error(ctx.message);
}

Scalar read_value(const Array& a, int64_t i, int64_t j) {
  Scalar s;
  if (is_float(a.dtype())) s.f = a.at<double>(i, j);
  else s.i = a.at<int64_t>(i, j);
  return s;
}

class Interpreter {
 public:
  explicit Interpreter(const std::vector<Value>& inputs) : inputs_(inputs) {}

  const Tensor& eval(const Node* n) {
    auto it = memo_.find(n);
    if (it != memo_.end()) return it->second;
    Tensor t = compute(n);
    return memo_.emplace(n, std::move(t)).first->second;
  }

  Scalar scalar(const Node* n) { return eval(n).data.at(0); }
  int64_t dim(const Node* n) { return scalar(n).i; }

 private:
  std::vector<int64_t> shape_of(const Node* n) {
    std::vector<int64_t> s;
    for (auto* d : n->shape) {
      int64_t v = dim(d);
      if (v < 0) throw Error(fmt::format("negative dimension {} is not allowed", v));
      s.push_back(v);
    }
    return s;
  }

  // Element of `t` at the output multi-index `idx` of a result of rank `rank`
  // under NumPy broadcasting (leading dims missing, size-1 dims stretched).
  static const Scalar& at_broadcast(const Tensor& t, const int64_t* idx, int rank) {
    int tr = int(t.shape.size());
    int64_t off = 0;
    for (int k = 0; k < tr; ++k) {
      int64_t i = idx[rank - tr + k];
      off = off * t.shape[k] + (t.shape[k] == 1 ? 0 : i);
    }
    return t.data[size_t(off)];
  }

  template <class F>
  Tensor elementwise(const Node* n, F f) {
    Tensor out;
    out.dtype = n->dtype();
    out.shape = shape_of(n);
    out.data.resize(size_t(out.size()));
    int rank = int(out.shape.size());
    int64_t idx[2] = {0, 0};
    for (int64_t flat = 0; flat < out.size(); ++flat) {
      if (rank == 1) idx[0] = flat;
      if (rank == 2) idx[0] = flat / out.shape[1], idx[1] = flat % out.shape[1];
      out.data[size_t(flat)] = f(idx, rank);
    }
    return out;
  }

  Tensor compute(const Node* n) {
    switch (n->kind) {
      case ArrayOp::Input: return input(n);
      case ArrayOp::Dim: {
        const Value& v = inputs_.at(size_t(n->ops[0]->ival));
        Tensor t{DType::I64, {}, {Scalar{0, v.array().shape().at(size_t(n->ival))}}};
        return t;
      }
      case ArrayOp::Const: return Tensor{n->dtype(), {}, {make_scalar(n->dtype(), n->fval, n->ival)}};
      case ArrayOp::CheckDim: {
        int64_t a = dim(n->ops[0]), b = dim(n->ops[1]);
        if (a != b) fail_shapes(a, b);
        return Tensor{DType::I64, {}, {Scalar{0, a}}};
      }
      case ArrayOp::Unary: {
        const Tensor& a = eval(n->ops[0]);
        auto op = n->opcode<UnaryOp>();
        return elementwise(n, [&](const int64_t* i, int r) { return eval_unary(op, n->dtype(), at_broadcast(a, i, r)); });
      }
      case ArrayOp::Binary: {
        const Tensor& a = eval(n->ops[0]);
        const Tensor& b = eval(n->ops[1]);
        auto op = n->opcode<BinaryOp>();
        DType t = n->ops[0]->dtype();
        if (op == BinaryOp::Pow && !is_float(t)) check_int_pow(b);
        if (op == BinaryOp::Pow && is_float(t) && !n->ops[0]->is_const() && n->ops[1]->is_const() &&
            literal_power(n->ops[1]->as_double())) {
          int e = int(n->ops[1]->as_double());
          return elementwise(n, [&](const int64_t* i, int r) {
            return Scalar{pow_literal(at_broadcast(a, i, r).f, e, t == DType::F32), 0};
          });
        }
        return elementwise(n, [&](const int64_t* i, int r) {
          return eval_binary(op, t, at_broadcast(a, i, r), at_broadcast(b, i, r));
        });
      }
      case ArrayOp::Math: {
        const Tensor& a = eval(n->ops[0]);
        auto fn = n->opcode<MathFn>();
        DType in = n->ops[0]->dtype();
        return elementwise(n, [&](const int64_t* i, int r) { return eval_math(fn, in, at_broadcast(a, i, r)); });
      }
      case ArrayOp::Cast: {
        const Tensor& a = eval(n->ops[0]);
        DType from = n->ops[0]->dtype(), to = n->dtype();
        return elementwise(n, [&](const int64_t* i, int r) { return cast_scalar(at_broadcast(a, i, r), from, to); });
      }
      case ArrayOp::Select: {
        const Tensor& c = eval(n->ops[0]);
        if (n->rank() == 0) {  // `a if c else b`, `and`, `or`: only the chosen branch runs
          const Node* chosen = n->ops[c.data[0].i ? 1 : 2];
          Tensor t = eval(chosen);
          DType from = chosen->dtype(), to = n->dtype();
          if (from != to) t.data[0] = cast_scalar(t.data[0], from, to);
          t.dtype = to;
          return t;
        }
        const Tensor& a = eval(n->ops[1]);
        const Tensor& b = eval(n->ops[2]);
        return elementwise(n, [&](const int64_t* i, int r) {
          return at_broadcast(c, i, r).i ? at_broadcast(a, i, r) : at_broadcast(b, i, r);
        });
      }
      case ArrayOp::Reshape: {
        Tensor t = eval(n->ops[0]);
        dim(n->ops[1]);  // the element-count check
        t.shape = shape_of(n);
        return t;
      }
      case ArrayOp::Broadcast:
      case ArrayOp::Copy: {
        const Tensor& a = eval(n->ops[0]);
        return elementwise(n, [&](const int64_t* i, int r) { return at_broadcast(a, i, r); });
      }
      case ArrayOp::View: return view(n);
      case ArrayOp::Iota:
        return elementwise(n, [&](const int64_t* i, int) { return Scalar{0, i[0]}; });
      case ArrayOp::Random: {
        int64_t seed = scalar(n->ops[0]).i;
        bool normal = n->op == 1;
        return elementwise(n, [&](const int64_t* i, int) {
          return Scalar{normal ? nj_random_normal(seed, i[0]) : nj_random_uniform(seed, i[0]), 0};
        });
      }
      case ArrayOp::Reduce: return reduce(n);
      case ArrayOp::Scan: return scan(n);
      case ArrayOp::GroupReduce: return group(n);
    }
    throw Error("interpreter: unknown node");
  }

  void check_int_pow(const Tensor& e) {
    for (auto& s : e.data)
      if (s.i < 0) throw Error("integers to negative integer powers are not allowed");
  }

  Tensor input(const Node* n) {
    const Value& v = inputs_.at(size_t(n->ival));
    Tensor t;
    t.dtype = n->dtype();
    if (v.is_scalar() || v.array().ndim() == 0) {
      Scalar s;
      if (is_float(t.dtype)) s.f = v.scalar<double>();
      else s.i = v.scalar<int64_t>();
      t.data = {s};
      return t;
    }
    const Array& a = v.array();
    t.shape = a.shape();
    if (a.ndim() == 1)
      for (int64_t i = 0; i < a.shape()[0]; ++i) t.data.push_back(read_value(a, i, 0));
    else
      for (int64_t i = 0; i < a.shape()[0]; ++i)
        for (int64_t j = 0; j < a.shape()[1]; ++j) t.data.push_back(read_value(a, i, j));
    return t;
  }

  Tensor view(const Node* n) {
    const Tensor& src = eval(n->ops[0]);
    int sr = int(src.shape.size());
    std::vector<int64_t> start(static_cast<size_t>(sr)), step(n->steps.begin(), n->steps.end());
    for (int k = 0; k < sr; ++k) {
      int64_t s = dim(n->ops[size_t(1 + 2 * k)]);
      if (step[size_t(k)] == 0) {  // an element index: wrap, then check
        int64_t len = src.shape[size_t(k)];
        if (s < -len || s >= len) fail_index(s, k, len);
        if (s < 0) s += len;
      }
      start[size_t(k)] = s;
    }
    return elementwise(n, [&](const int64_t* idx, int) {
      int64_t off = 0, r = 0;
      for (int k = 0; k < sr; ++k) {
        int64_t i = step[size_t(k)] == 0 ? start[size_t(k)] : start[size_t(k)] + idx[r++] * step[size_t(k)];
        off = off * src.shape[size_t(k)] + i;
      }
      return src.data[size_t(off)];
    });
  }

  // --- reductions ---------------------------------------------------------

  // Reduces the `n` elements `get(k)` of dtype `t` with `op` (ir/reduce_order.h).
  template <class Get>
  Scalar reduce_1d(ReduceOp op, DType t, int64_t n, Get get, double ddof) {
    const bool fl = is_float(t);
    auto sum = [&](auto g) {
      if (fl) {  // f32 sums accumulate in f64 and round once (ir/reduce_order.h)
        const DType w = sum_accumulator(t);
        double s = ordered_reduce(n, -0.0, [&](int64_t k) { return g(k).f; },
                                  [w](double a, double b) { return round_float(w, a + b); });
        return Scalar{round_float(t, s), 0};
      }
      return Scalar{0, ordered_reduce(n, int64_t(0), [&](int64_t k) { return g(k).i; },
                                      [](int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); })};
    };
    switch (op) {
      case ReduceOp::Sum: {
        Scalar s = sum(get);
        if (fl && n == 0) s.f = 0.0;
        return s;
      }
      case ReduceOp::Prod:
        if (fl)
          return Scalar{ordered_reduce(n, 1.0, [&](int64_t k) { return get(k).f; },
                                       [&](double a, double b) { return round_float(t, a * b); }), 0};
        return Scalar{0, ordered_reduce(n, int64_t(1), [&](int64_t k) { return get(k).i; },
                                        [](int64_t a, int64_t b) { return int64_t(uint64_t(a) * uint64_t(b)); })};
      case ReduceOp::Any:
      case ReduceOp::All: {
        bool any = op == ReduceOp::Any;
        for (int64_t k = 0; k < n; ++k)
          if ((get(k).i != 0) == any) return Scalar{0, any};
        return Scalar{0, !any};
      }
      case ReduceOp::Min:
      case ReduceOp::Max: {
        if (n == 0)
          throw Error(fmt::format("zero-size array to reduction operation {} which has no identity",
                                  op == ReduceOp::Min ? "minimum" : "maximum"));
        BinaryOp b = op == ReduceOp::Min ? BinaryOp::Minimum : BinaryOp::Maximum;
        Scalar id = reduce_identity(op, t);
        if (fl)
          return Scalar{ordered_reduce(n, id.f, [&](int64_t k) { return get(k).f; },
                                       [&](double x, double y) { return eval_binary(b, t, Scalar{x, 0}, Scalar{y, 0}).f; }), 0};
        return Scalar{0, ordered_reduce(n, id.i, [&](int64_t k) { return get(k).i; },
                                        [&](int64_t x, int64_t y) { return eval_binary(b, t, Scalar{0, x}, Scalar{0, y}).i; })};
      }
      case ReduceOp::ArgMin:
      case ReduceOp::ArgMax: {
        if (n == 0)
          throw Error(fmt::format("attempt to get {} of an empty sequence",
                                  op == ReduceOp::ArgMin ? "argmin" : "argmax"));
        bool mx = op == ReduceOp::ArgMax;
        int64_t best = 0;
        Scalar bv = get(0);
        for (int64_t k = 1; k < n; ++k) {
          Scalar v = get(k);
          bool better;
          if (fl) {
            if (std::isnan(bv.f)) break;  // the first NaN wins
            better = std::isnan(v.f) || (mx ? v.f > bv.f : v.f < bv.f);
          } else {
            better = mx ? v.i > bv.i : v.i < bv.i;
          }
          if (better) best = k, bv = v;
        }
        return Scalar{0, best};
      }
      case ReduceOp::Mean:
      case ReduceOp::Var: {
        double count = double(n);
        Scalar s = sum(get);
        double mean = round_float(t, s.f / round_float(t, count));
        if (op == ReduceOp::Mean) return Scalar{n == 0 ? NAN : mean, 0};
        Scalar ss = sum([&](int64_t k) {
          double d = round_float(t, get(k).f - mean);
          return Scalar{round_float(t, d * d), 0};
        });
        double denom = round_float(t, std::max(count - ddof, 0.0));
        return Scalar{n == 0 ? NAN : round_float(t, ss.f / denom), 0};
      }
    }
    throw Error("interpreter: unknown reduction");
  }

  Tensor reduce(const Node* n) {
    const Tensor& a = eval(n->ops[0]);
    auto op = n->opcode<ReduceOp>();
    DType t = n->ops[0]->dtype();
    Tensor out;
    out.dtype = n->dtype();
    if (n->ival < 0) {
      out.data = {reduce_1d(op, t, a.size(), [&](int64_t k) { return a.data[size_t(k)]; }, n->fval)};
      return out;
    }
    int axis = int(n->ival);
    int64_t rows = a.shape[0], cols = a.shape[1];
    int64_t nout = axis == 0 ? cols : rows, nred = axis == 0 ? rows : cols;
    out.shape = {nout};
    for (int64_t o = 0; o < nout; ++o)
      out.data.push_back(reduce_1d(op, t, nred, [&](int64_t k) {
        return a.data[size_t(axis == 0 ? k * cols + o : o * cols + k)];
      }, n->fval));
    return out;
  }

  Tensor scan(const Node* n) {
    const Tensor& a = eval(n->ops[0]);
    auto op = n->opcode<ScanOp>();
    DType t = n->dtype();
    Tensor out;
    out.dtype = t;
    out.shape = shape_of(n);
    out.data.resize(a.data.size());
    BinaryOp b = op == ScanOp::CumSum ? BinaryOp::Add
               : op == ScanOp::CumProd ? BinaryOp::Mul
               : op == ScanOp::CumMax ? BinaryOp::Maximum : BinaryOp::Minimum;
    auto run = [&](int64_t len, auto index) {
      for (int64_t k = 0; k < len; ++k) {
        size_t i = size_t(index(k));
        out.data[i] = k == 0 ? a.data[i] : eval_binary(b, t, out.data[size_t(index(k - 1))], a.data[i]);
      }
    };
    if (n->ival < 0) {
      run(a.size(), [](int64_t k) { return k; });
    } else {
      int64_t rows = a.shape[0], cols = a.shape[1];
      if (n->ival == 0)
        for (int64_t j = 0; j < cols; ++j) run(rows, [&](int64_t k) { return k * cols + j; });
      else
        for (int64_t i = 0; i < rows; ++i) run(cols, [&](int64_t k) { return i * cols + k; });
    }
    return out;
  }

  Tensor group(const Node* n) {
    const Tensor& keys = eval(n->ops[0]);
    const Tensor& vals = eval(n->ops[1]);
    int64_t ng = scalar(n->ops[2]).i;
    int64_t len = dim(n->ops[3]);
    if (ng < 0) throw Error(fmt::format("ngroups must not be negative, got {}", ng));
    auto op = n->opcode<GroupOp>();
    DType vt = n->ops[1]->dtype(), t = n->dtype();
    Tensor out;
    out.dtype = t;
    out.shape = {ng};
    out.data.assign(size_t(ng), Scalar{});
    std::vector<int64_t> count(size_t(ng), 0);
    // f32 sums and means accumulate in f64, rounded once (ir/reduce_order.h).
    const DType at = sum_accumulator(t);
    for (int64_t k = 0; k < len; ++k) {
      int64_t key = keys.data[size_t(keys.shape[0] == 1 ? 0 : k)].i;
      if (key < 0 || key >= ng) fail_key(key, k, ng);
      Scalar v = vals.data[size_t(vals.shape[0] == 1 ? 0 : k)];
      Scalar& acc = out.data[size_t(key)];
      int64_t& c = count[size_t(key)];
      switch (op) {
        case GroupOp::Count: break;
        case GroupOp::Sum:
        case GroupOp::Mean: acc = eval_binary(BinaryOp::Add, at, acc, v); break;
        case GroupOp::Min: acc = c == 0 ? v : eval_binary(BinaryOp::Minimum, vt, acc, v); break;
        case GroupOp::Max: acc = c == 0 ? v : eval_binary(BinaryOp::Maximum, vt, acc, v); break;
      }
      ++c;
    }
    for (int64_t g = 0; g < ng; ++g) {
      Scalar& acc = out.data[size_t(g)];
      int64_t c = count[size_t(g)];
      if (op == GroupOp::Count) acc.i = c;
      if ((op == GroupOp::Sum || op == GroupOp::Mean) && is_float(t)) acc.f = round_float(t, acc.f);
      if (op == GroupOp::Mean) acc.f = round_float(t, acc.f / round_float(t, double(c)));
      if ((op == GroupOp::Min || op == GroupOp::Max) && c == 0) {
        if (is_float(vt)) acc.f = NAN;
        else acc.i = empty_group_int(vt, op == GroupOp::Min);
      }
    }
    return out;
  }

  static int64_t empty_group_int(DType t, bool min) {
    // An empty group's min is the dtype's largest value, its max the smallest.
    if (t == DType::I32) return min ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int32_t>::min();
    if (t == DType::Bool) return min ? 1 : 0;
    return min ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }

  const std::vector<Value>& inputs_;
  std::map<const Node*, Tensor> memo_;
};

Value to_value(const Tensor& t, const Node* n) {
  if (n->rank() == 0) {
    const Scalar& s = t.data.at(0);
    return Value::scalar(t.dtype, s.f, s.i, n->type.weak);
  }
  Array a = Array::zeros(t.dtype, t.shape);
  for (size_t k = 0; k < t.data.size(); ++k)
    write_scalar(t.dtype, static_cast<char*>(a.raw_data()) + int64_t(k) * dtype_size(t.dtype), t.data[k]);
  return Value(a);
}

}  // namespace

std::vector<Value> interpret(const std::vector<const Node*>& roots, const std::vector<Value>& inputs) {
  Interpreter in(inputs);
  std::vector<Value> out;
  for (const Node* r : roots) out.push_back(to_value(in.eval(r), r));
  return out;
}

}  // namespace numjit
