// Unit tests of the IR layer: promotion, interning, fusion decisions,
// lowering structure and the interpreter's edge semantics.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "frontend/parser.h"
#include "frontend/sema.h"
#include "ir/interpreter.h"
#include "ir/loop_interpreter.h"
#include "ir/passes/fuse.h"
#include "ir/passes/lower_to_loops.h"
#include "ir/pipeline.h"
#include "ir/verify.h"

using namespace numjit;

namespace {

struct Built {
  std::shared_ptr<Source> src;
  Context ctx;
  std::vector<InputSig> sigs;
  const Node* root = nullptr;
};

/** Types `expr` with 1-D f64 inputs named in `names` (and `X` as f64[:, :]). */
std::unique_ptr<Built> build(const std::string& expr, std::vector<std::string> names) {
  auto b = std::make_unique<Built>();
  b->src = std::make_shared<Source>("t.nj", expr + "\n");
  Module m = parse(b->src);
  Builder builder(b->ctx, b->src.get());
  Scope scope;
  for (auto& n : names) {
    InputSig s;
    s.name = n;
    s.type = Type{DType::F64, n == "X" ? 2 : 1, false};
    scope.vars[n] = builder.input(int(b->sigs.size()), s, {});
    b->sigs.push_back(s);
  }
  b->root = lower_node(builder, scope, *m.body[0]->value);
  return b;
}

/** Counts loop-IR statements of `kind`, nested ones included. */
int count(const std::vector<LStmt>& body, LStmtKind kind) {
  int n = 0;
  for (auto& s : body) n += (s.kind == kind) + count(s.body, kind) + count(s.orelse, kind);
  return n;
}

}  // namespace

TEST_SUITE("ir") {

TEST_CASE("NEP 50 promotion with weak scalars") {
  Type f32{DType::F32, 1, false}, i32{DType::I32, 1, false}, i64{DType::I64, 1, false};
  Type weak_f{DType::F64, 0, true}, weak_i{DType::I64, 0, true}, b{DType::Bool, 1, false};
  CHECK(promote(f32, weak_f) == DType::F32);
  CHECK(promote(i32, weak_i) == DType::I32);
  CHECK(promote(i32, weak_f) == DType::F64);
  CHECK(promote(i32, i64) == DType::I64);
  CHECK(promote(i64, f32) == DType::F64);
  CHECK(promote(i32, f32) == DType::F64);
  CHECK(promote(b, weak_i) == DType::I64);
  CHECK(promote(b, b) == DType::Bool);
  CHECK(promote_dtypes(DType::F32, DType::F64) == DType::F64);
}

TEST_CASE("equal subexpressions are one node: p[:-1] twice in K2") {
  auto b = build("(p[1:] - p[:-1]) / p[:-1]", {"p"});
  const Node* div = b->root;
  REQUIRE(div->kind == ArrayOp::Binary);
  const Node* sub = div->ops[0];
  CHECK(sub->ops[1] == div->ops[1]);
}

TEST_CASE("fusion: K1, K2 and K8 materialise only their result") {
  for (const char* e : {"sum(p * q - f)", "(p[1:] - p[:-1]) / p[:-1]",
                        "((a * b + c) * d - e) / (a + 1.5) + sqrt(abs(b))"}) {
    auto b = build(e, {"p", "q", "f", "a", "b", "c", "d", "e"});
    FusionPlan plan = fuse({b->root});
    CHECK(plan.materialised.size() == 1);
    Kernel k = lower_to_loops(plan, b->sigs, "k");
    CHECK(count(k.body, LStmtKind::AllocTemp) == 0);
    CHECK(count(k.body, LStmtKind::For) + count(k.body, LStmtKind::ReduceLoop) == 1);
  }
}

TEST_CASE("fusion: K10 is one row loop around one reduction") {
  auto b = build("sum(X * w, axis=1)", {"X", "w"});
  Kernel k = lower_to_loops(fuse({b->root}), b->sigs, "k");
  CHECK(count(k.body, LStmtKind::For) == 1);
  CHECK(count(k.body, LStmtKind::ReduceLoop) == 1);
  CHECK(count(k.body, LStmtKind::AllocTemp) == 0);
  CHECK(print_kernel(k).find("reduce") != std::string::npos);
}

TEST_CASE("a scan consumed elementwise runs inside its consumer's loop: no scan array") {
  auto b = build("(cummax(e) - e) / cummax(e)", {"e"});
  FusionPlan plan = fuse({b->root});
  CHECK(plan.materialised.size() == 1);  // the result only
  REQUIRE(plan.scans_of.count(b->root) == 1);
  CHECK(plan.scans_of.at(b->root).size() == 1);
  Kernel k = lower_to_loops(plan, b->sigs, "k");
  // The running values go through the output; the one temp holds a value per block.
  CHECK(count(k.body, LStmtKind::AllocTemp) == 1);
  CHECK(print_kernel(k).find("threads()") != std::string::npos);
  // A float cumsum adds in order, as NumPy does: no parallel form, no temp.
  auto c = build("cumsum(e) * 2", {"e"});
  Kernel kc = lower_to_loops(fuse({c->root}), c->sigs, "k");
  CHECK(count(kc.body, LStmtKind::AllocTemp) == 0);
  CHECK(print_kernel(kc).find("threads()") == std::string::npos);
}

TEST_CASE("a scan is materialised when a use needs other elements, another loop, or it is the result") {
  for (std::string expr : {"cummax(e)", "cummax(e)[1:] - e[:-1]", "sum(cummax(e))", "cumsum(cummax(e))",
                           "cummax(e)[3] + e", "cummax(X, axis=1) + 1", "where(e > 0, sum(cummax(e)), e) - cummax(e)"}) {
    CAPTURE(expr);
    auto b = build(expr, {"e", "X"});
    FusionPlan plan = fuse({b->root});
    CHECK(plan.scans_of.empty());
  }
  // A scan of a scan: the inner one is an array, the outer runs in the consumer.
  auto s = build("cumsum(cummax(e)) + 1", {"e"});
  FusionPlan ps = fuse({s->root});
  CHECK(ps.materialised.size() == 2);
  CHECK(ps.scans_of.count(s->root) == 1);
  // Two scans in one consumer both run in its loop.
  auto b = build("cummax(e) - cummin(e)", {"e"});
  FusionPlan plan = fuse({b->root});
  REQUIRE(plan.scans_of.count(b->root) == 1);
  CHECK(plan.scans_of.at(b->root).size() == 2);
}

TEST_CASE("the loop interpreter takes the parallel scan path with threads > 1 and gives the serial answer") {
  auto b = build("(cummax(e) - e) / cummin(e) + cummax(e)", {"e"});
  const int64_t n = 70001;
  Array e = Array::zeros(DType::F64, {n});
  double* p = static_cast<double*>(e.raw_data());
  for (int64_t i = 0; i < n; ++i) p[i] = std::sin(double(i) * 0.37) * (1 + double(i % 1000));
  p[40000] = NAN;
  std::vector<Value> in = {Value(e)};
  Kernel k = lower_to_loops(fuse({b->root}), b->sigs, "k");
  Array want = interpret({b->root}, in).at(0).array();
  for (int threads : {1, 2}) {
    Array got = interpret_kernel(k, in, threads).at(0).array();
    auto g = got.to_vector<double>(), w = want.to_vector<double>();
    REQUIRE(g.size() == w.size());
    int64_t bad = 0;
    for (size_t i = 0; i < g.size(); ++i) bad += !(g[i] == w[i] || (std::isnan(g[i]) && std::isnan(w[i])));
    CHECK(bad == 0);
  }
}

TEST_CASE("interpreter edge semantics") {
  auto ev = [](const std::string& expr) {
    auto b = build(expr, {});
    return interpret({b->root}, {}).at(0);
  };
  CHECK(ev("7 // 0").scalar<int64_t>() == 0);
  CHECK(ev("-7 // 2").scalar<int64_t>() == -4);
  CHECK(ev("-7 % 3").scalar<int64_t>() == 2);
  CHECK(ev("1.0 // 0.1").scalar<double>() == 9.0);
  CHECK(ev("round(2.5)").scalar<double>() == 2.0);
  CHECK(ev("round(-0.5)").scalar<double>() == 0.0);
  CHECK(std::isnan(ev("sqrt(-1.0)").scalar<double>()));
  CHECK(ev("log(0.0)").scalar<double>() == -INFINITY);
  CHECK(ev("sum(zeros(0))").scalar<double>() == 0.0);
  CHECK(std::isnan(ev("mean(zeros(0))").scalar<double>()));
  CHECK(ev("prod(ones(0))").scalar<double>() == 1.0);
  CHECK(ev("argmax(where(arange(5) == 2, nan, 1.0))").scalar<int64_t>() == 2);
  CHECK_THROWS_WITH_AS(ev("min(zeros(0))"), doctest::Contains("zero-size array"), Error);
}

TEST_CASE("the loop-IR printer is deterministic") {
  auto a = build("sum(p * q - f)", {"p", "q", "f"});
  auto b = build("sum(p * q - f)", {"p", "q", "f"});
  CHECK(print_kernel(lower_to_loops(fuse({a->root}), a->sigs, "k")) ==
        print_kernel(lower_to_loops(fuse({b->root}), b->sigs, "k")));
}

}  // TEST_SUITE

// The verifier (ir/verify.h): ir/pipeline.cpp runs it after every pass, so
// every test that compiles also checks the IR; here it must reject what is
// wrong, naming the pass.
TEST_CASE("the loop-IR verifier accepts lowered kernels and names the pass after which one is broken") {
  auto b = build("(p[1:] - p[:-1]) / p[:-1] + sum(q)", {"p", "q"});
  Kernel k = compile_expression({b->root}, {"r"}, b->sigs, "k");
  verify_loop_ir(k, "test");  // no throw
  auto error = [](const Kernel& bad) {
    try {
      verify_loop_ir(bad, "some_pass");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  // A store of the wrong dtype.
  Kernel k1 = compile_expression({b->root}, {"r"}, b->sigs, "k");
  LStmt st{LStmtKind::Store};
  st.buf = k1.results[0];
  st.args = {k1.exprs->i64(0)};
  st.value = k1.exprs->constant(DType::F32, 1.0, 0);
  k1.body.push_back(st);
  CHECK(error(k1).find("after some_pass: kernel k: the value stored into out0 of dtype f32, f64 expected") !=
        std::string::npos);
  // A load with one index too many.
  Kernel k2 = compile_expression({b->root}, {"r"}, b->sigs, "k");
  LStmt a{LStmtKind::Check};
  a.value = k2.exprs->binary(BinaryOp::Lt, k2.exprs->load(0, DType::F64, {k2.exprs->i64(0), k2.exprs->i64(1)}),
                             k2.exprs->constant(DType::F64, 2.0, 0));
  k2.body.push_back(a);
  CHECK(error(k2).find("2 indices into p of rank 1") != std::string::npos);
  // A scratch buffer written before it is allocated.
  Kernel k3 = compile_expression({b->root}, {"r"}, b->sigs, "k");
  k3.buffers.push_back(Buffer{"tmp9", BufferKind::Temp, DType::F64, 1, true});
  LStmt w{LStmtKind::Store};
  w.buf = int(k3.buffers.size()) - 1;
  w.args = {k3.exprs->i64(0)};
  w.value = k3.exprs->constant(DType::F64, 1.0, 0);
  k3.body.insert(k3.body.begin(), w);
  CHECK(error(k3).find("a store into tmp9 before it is allocated") != std::string::npos);
}
