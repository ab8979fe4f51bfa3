// Loop-IR interpreter (loop_interpreter.h). Statements return how control
// leaves them (normally, break, continue, return); checks throw.
#include "ir/loop_interpreter.h"

#include <fmt/format.h>

#include <cstring>

#include "ir/reduce_order.h"
#include "ir/scalar_ops.h"
#include "runtime/context.h"

namespace numjit {

namespace {

struct Buf {
  char* data = nullptr;
  DType dtype = DType::F64;
  int rank = 0;
  int64_t dims[2] = {0, 0};
  int64_t strides[2] = {0, 0};
  Array owner;  // results and temps
};

enum class Flow { Next, Break, Continue, Return };

class LoopInterpreter {
 public:
  LoopInterpreter(const Kernel& k, const std::vector<Value>& inputs, int threads)
      : k_(k), vars_(k.var_types.size()), threads_(threads) {
    bufs_.resize(k.buffers.size());
    scalars_.resize(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      Buf& b = bufs_[i];
      const Value& v = inputs[i];
      b.dtype = k.buffers[i].dtype;
      if (v.is_array() && v.array().ndim() > 0) {
        const Array& a = v.array();
        b.data = static_cast<char*>(a.raw_data());
        b.rank = a.ndim();
        for (int d = 0; d < a.ndim(); ++d) b.dims[d] = a.shape()[size_t(d)], b.strides[d] = a.strides()[size_t(d)];
      } else {
        Scalar s = is_float(b.dtype) ? Scalar{v.scalar<double>(), 0} : Scalar{0, v.scalar<int64_t>()};
        b.data = reinterpret_cast<char*>(&scalars_[i]);
        write(b, 0, s);
      }
    }
  }

  std::vector<Value> run() {
    exec(k_.body);
    std::vector<Value> out;
    for (int r : k_.results) {
      Buf& b = bufs_[size_t(r)];
      if (b.rank == 0) {
        Scalar s = read(b, 0);
        out.push_back(Value::scalar(b.dtype, s.f, s.i));
      } else {
        out.push_back(Value(b.owner));
      }
    }
    return out;
  }

 private:
  // --- memory ----------------------------------------------------------------

  static Scalar read(const Buf& b, int64_t off) { return read_scalar(b.dtype, b.data + off * dtype_size(b.dtype)); }

  static void write(Buf& b, int64_t off, Scalar s) { write_scalar(b.dtype, b.data + off * dtype_size(b.dtype), s); }

  int64_t offset(const Buf& b, const std::vector<const LExpr*>& idx) {
    int64_t off = 0;
    for (size_t a = 0; a < idx.size(); ++a) off += eval(idx[a]).i * b.strides[a];
    return off;
  }

  // --- expressions -----------------------------------------------------------

  Scalar eval(const LExpr* e) {
    switch (e->kind) {
      case LExprKind::Const: return make_scalar(e->dtype, e->fval, e->ival);
      case LExprKind::Var: return vars_[size_t(e->var)];
      case LExprKind::Dim: return Scalar{0, bufs_[size_t(e->buf)].dims[e->ival]};
      case LExprKind::Load: {
        const Buf& b = bufs_[size_t(e->buf)];
        return read(b, offset(b, e->ops));
      }
      case LExprKind::Unary: return eval_unary(UnaryOp(e->op), e->dtype, eval(e->ops[0]));
      case LExprKind::Binary:
        if (BinaryOp(e->op) == BinaryOp::Pow && is_float(e->dtype) && e->ops[1]->kind == LExprKind::Const &&
            literal_power(e->ops[1]->fval))
          return Scalar{pow_literal(eval(e->ops[0]).f, int(e->ops[1]->fval), e->dtype == DType::F32), 0};
        return eval_binary(BinaryOp(e->op), e->ops[0]->dtype, eval(e->ops[0]), eval(e->ops[1]));
      case LExprKind::Math: return eval_math(MathFn(e->op), e->ops[0]->dtype, eval(e->ops[0]));
      case LExprKind::Cast: return cast_scalar(eval(e->ops[0]), e->ops[0]->dtype, e->dtype);
      case LExprKind::Select: return eval(e->ops[0]).i ? eval(e->ops[1]) : eval(e->ops[2]);
      case LExprKind::Random: {
        int64_t seed = eval(e->ops[0]).i, index = eval(e->ops[1]).i;
        return Scalar{e->op ? nj_random_normal(seed, index) : nj_random_uniform(seed, index), 0};
      }
      case LExprKind::Threads: return Scalar{0, in_parallel_ ? 1 : threads_};
    }
    throw Error("loop interpreter: unknown expression");
  }

  // --- statements ------------------------------------------------------------

  Flow exec(const std::vector<LStmt>& body) {
    for (auto& s : body) {
      Flow f = stmt(s);
      if (f != Flow::Next) return f;
    }
    return Flow::Next;
  }

  Flow stmt(const LStmt& s) {
    switch (s.kind) {
      case LStmtKind::Assign: vars_[size_t(s.var)] = eval(s.value); return Flow::Next;
      case LStmtKind::Store: {
        Buf& b = bufs_[size_t(s.buf)];
        write(b, offset(b, s.args), eval(s.value));
        return Flow::Next;
      }
      case LStmtKind::For: {
        int64_t lo = eval(s.lo).i, hi = eval(s.hi).i, step = s.step ? eval(s.step).i : 1;
        // The body of a parallel loop is a task in the JIT: threads() is 1 there.
        bool outer = in_parallel_;
        in_parallel_ |= s.parallel && !s.step;
        Flow out = Flow::Next;
        for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step) {
          vars_[size_t(s.var)] = Scalar{0, i};
          Flow f = exec(s.body);
          if (f == Flow::Break) break;
          if (f == Flow::Return) {
            out = f;
            break;
          }
        }
        in_parallel_ = outer;
        return out;
      }
      case LStmtKind::While:
        while (eval(s.value).i) {
          Flow f = exec(s.body);
          if (f == Flow::Break) break;
          if (f == Flow::Return) return f;
        }
        return Flow::Next;
      case LStmtKind::Break: return Flow::Break;
      case LStmtKind::Continue: return Flow::Continue;
      case LStmtKind::Return: return Flow::Return;
      case LStmtKind::If: return exec(eval(s.value).i ? s.body : s.orelse);
      case LStmtKind::Check: check(s); return Flow::Next;
      case LStmtKind::AllocResult:
      case LStmtKind::AllocTemp: alloc(s); return Flow::Next;
      case LStmtKind::ReduceLoop: reduce(s); return Flow::Next;
    }
    return Flow::Next;
  }

  void check(const LStmt& s) {
    if (eval(s.value).i) return;
    std::vector<int64_t> a;
    for (auto* x : s.args) a.push_back(eval(x).i);
    nj_ctx ctx;
    const char* where = s.message.empty() ? nullptr : s.message.c_str();
    switch (s.check) {
      case CheckKind::Message: nj_fail(&ctx, NJ_ERR_VALUE, s.message.c_str()); break;
      case CheckKind::Index: nj_fail_index(&ctx, where, a[0], a[1], a[2]); break;
      case CheckKind::Shapes: nj_fail_shapes(&ctx, where, a[0], a[1]); break;
      case CheckKind::Key: nj_fail_key(&ctx, a[0], a[1], a[2]); break;
    }
    throw Error(ctx.message);
  }

  void alloc(const LStmt& s) {
    Buf& b = bufs_[size_t(s.buf)];
    const Buffer& info = k_.buffers[size_t(s.buf)];
    std::vector<int64_t> dims;
    for (auto* d : s.args) dims.push_back(eval(d).i);
    for (int64_t d : dims)
      if (d < 0) throw Error("negative dimensions are not allowed");
    b.owner = Array::zeros(info.dtype, dims);
    b.data = static_cast<char*>(b.owner.raw_data());
    b.dtype = info.dtype;
    b.rank = info.rank;
    for (int d = 0; d < info.rank; ++d) b.dims[d] = dims[size_t(d)], b.strides[d] = b.owner.strides()[size_t(d)];
  }

  // Every element's value first (the body runs in order), then each
  // accumulator folds them as the generated code does.
  void reduce(const LStmt& s) {
    int64_t n = eval(s.hi).i;
    std::vector<std::vector<Scalar>> values(s.accs.size());
    for (int64_t k = 0; k < n; ++k) {
      vars_[size_t(s.var)] = Scalar{0, k};
      exec(s.body);
      for (size_t a = 0; a < s.accs.size(); ++a) values[a].push_back(eval(s.accs[a].value));
    }
    for (size_t a = 0; a < s.accs.size(); ++a) vars_[size_t(s.accs[a].result_var)] = fold(s.accs[a], values[a]);
  }

  static Scalar fold(const Accumulator& acc, const std::vector<Scalar>& v) {
    const DType t = acc.dtype;
    const int64_t n = int64_t(v.size());
    auto binary = [&](BinaryOp op) {
      return [op, t](Scalar x, Scalar y) { return eval_binary(op, t, x, y); };
    };
    auto ordered = [&](ReduceOp rop, BinaryOp op) {
      Scalar id = reduce_identity(rop, t);
      return ordered_reduce(n, id, [&](int64_t k) { return v[size_t(k)]; }, binary(op));
    };
    switch (acc.kind) {
      case AccKind::Sum: {
        if (!is_float(t)) return ordered(ReduceOp::Sum, BinaryOp::Add);
        if (n == 0) return Scalar{0.0, 0};  // an empty float sum is +0.0
        // f32 sums accumulate in f64 and round once (ir/reduce_order.h).
        const DType w = sum_accumulator(t);
        Scalar r = ordered_reduce(n, reduce_identity(ReduceOp::Sum, w), [&](int64_t k) { return v[size_t(k)]; },
                                  [w](Scalar x, Scalar y) { return eval_binary(BinaryOp::Add, w, x, y); });
        r.f = round_float(t, r.f);
        return r;
      }
      case AccKind::Prod: return ordered(ReduceOp::Prod, BinaryOp::Mul);
      case AccKind::Min: return ordered(ReduceOp::Min, BinaryOp::Minimum);
      case AccKind::Max: return ordered(ReduceOp::Max, BinaryOp::Maximum);
      case AccKind::Any: {
        for (auto& x : v)
          if (x.i) return Scalar{0, 1};
        return Scalar{0, 0};
      }
      case AccKind::All: {
        for (auto& x : v)
          if (!x.i) return Scalar{0, 0};
        return Scalar{0, 1};
      }
      case AccKind::ArgMin:
      case AccKind::ArgMax: {
        bool mx = acc.kind == AccKind::ArgMax;
        int64_t best = 0;
        for (int64_t k = 1; k < n; ++k) {
          Scalar bv = v[size_t(best)], x = v[size_t(k)];
          bool better;
          if (is_float(t)) {
            if (std::isnan(bv.f)) break;  // the first NaN wins
            better = std::isnan(x.f) || (mx ? x.f > bv.f : x.f < bv.f);
          } else {
            better = mx ? x.i > bv.i : x.i < bv.i;
          }
          if (better) best = k;
        }
        return Scalar{0, best};
      }
    }
    return {};
  }

  const Kernel& k_;
  std::vector<Scalar> vars_;
  int threads_;               // what threads() reads outside parallel loops
  bool in_parallel_ = false;  // inside the body of a parallel loop
  std::vector<Buf> bufs_;
  std::vector<int64_t> scalars_;  // storage of scalar inputs
};

}  // namespace

std::vector<Value> interpret_kernel(const Kernel& k, const std::vector<Value>& inputs, int threads) {
  return LoopInterpreter(k, inputs, threads).run();
}

}  // namespace numjit
