// Loop IR -> LLVM IR (see llvm_codegen.h).
//
// In: one loop-IR Kernel. Out: one function with the kernel ABI of
// runtime/abi.h. Element semantics mirror ir/scalar_ops.h formula for
// formula (the reference interpreter's), so JIT and interpreter agree bit
// for bit except in transcendental functions (libm vs libmvec, <= 4 ulp).
//
// Loops: `For` loops marked vectorize are emitted scalar with loop metadata
// and left to LLVM's loop vectorizer (libm calls are mapped to libmvec by
// codegen/jit.cpp). Float reductions are emitted explicitly as 32-lane
// vectors in the order of ir/reduce_order.h, so their bits never depend on
// the host's vector width or on LLVM's choices; when the element expression
// cannot be vectorized the same order is followed one lane at a time. f32
// sums widen each element and run in f64 lanes and partials, rounding to
// f32 once at the end (lanes_of / widen / narrow).
#include "codegen/llvm_codegen.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <fmt/format.h>

#include <functional>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "support/diagnostics.h"
#include "ir/builtins.h"
#include "ir/loop_analysis.h"
#include "ir/reduce_order.h"
#include "ir/scalar_ops.h"
#include "runtime/abi.h"

namespace numjit {

using llvm::BasicBlock;
using llvm::IRBuilder;
using LType = llvm::Type;
using LValue = llvm::Value;

namespace {

/** Iterations of an innermost parallel loop per block of work. */
constexpr int64_t kParallelGrain = 16384;

struct BufferSlots {
  // Inputs: SSA values loaded at entry. Results and temps: allocas.
  LValue* data = nullptr;
  LValue* dims[2] = {nullptr, nullptr};
  LValue* strides[2] = {nullptr, nullptr};
  bool in_memory = false;
};

class Emitter {
 public:
  Emitter(llvm::LLVMContext& c, llvm::Module& m, const Kernel& k, const TargetInfo& t, std::vector<LoopCode>* report)
      : C(c), M(m), B(c, llvm::ConstantFolder(), llvm::IRBuilderCallbackInserter([this](llvm::Instruction* I) {
          // A store may change what a memoised Var or Load reads.
          if (llvm::isa<llvm::StoreInst>(I)) forget_exprs();
        })),
        k_(k), target_(t), report_(report) {
    auto loops = kernel_loops(k);
    for (size_t i = 0; i < loops.size(); ++i) loop_id_[loops[i]] = int(i);
    if (report_) report_->assign(loops.size(), LoopCode{});
  }

  // The blocks of loop statement `s` are named "L<i>.head", "L<i>.body",
  // ... (kernel_loops order), so LLVM's remarks say which loop they are of.
  std::string loop_name(const LStmt& s) const { return fmt::format("L{}.", loop_id_.at(&s)); }
  LoopCode* code_of(const LStmt& s) { return report_ ? &(*report_)[size_t(loop_id_.at(&s))] : nullptr; }

  void run(const std::string& symbol) {
    auto* view_ptr = llvm::PointerType::getUnqual(C);
    auto* fty = llvm::FunctionType::get(B.getInt32Ty(), {view_ptr, B.getInt64Ty(), view_ptr}, false);
    F = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, symbol, M);
    F->addFnAttr("target-cpu", target_.cpu);
    F->addFnAttr("target-features", target_.features);
    if (target_.avx512) F->addFnAttr("prefer-vector-width", "512");
    F->addParamAttr(0, llvm::Attribute::NoAlias);
    F->addParamAttr(2, llvm::Attribute::NoAlias);
    args_ = F->getArg(0);
    ctx_ = F->getArg(2);
    args_->setName("args");
    ctx_->setName("ctx");
    BasicBlock* entry = BasicBlock::Create(C, "entry", F);
    B.SetInsertPoint(entry);
    if (target_.fastmath) {
      // Options::fastmath: LLVM may reassociate and contract float math
      // (results then depend on the host and the optimiser).
      llvm::FastMathFlags fmf;
      fmf.setFast();
      B.setFastMathFlags(fmf);
    }
    alias_setup();
    find_temps();
    for (size_t v = 0; v < k_.var_types.size(); ++v) {
      vars_.push_back(B.CreateAlloca(reg_type(k_.var_types[v]), nullptr, k_.var_names[v]));
      B.CreateStore(llvm::Constant::getNullValue(reg_type(k_.var_types[v])), vars_.back());  // as the interpreter
    }
    for (size_t b = 0; b < k_.buffers.size(); ++b) buffer_setup(int(b));
    stmts(k_.body);
    B.CreateRet(B.getInt32(0));
    std::string err;
    llvm::raw_string_ostream os(err);
    // The whole module: the kernel and its parallel tasks.
    if (llvm::verifyModule(M, &os)) internal_error("codegen", "invalid LLVM IR: " + os.str());
  }

 private:
  // --- types -----------------------------------------------------------------

  // i1 for bool, iN for N-bit integers, float and double: from the dtype's C++ type.
  LType* reg_type(DType t) {
    return visit_dtype(t, [this](auto c) -> LType* {
      using T = typename decltype(c)::type;
      if constexpr (std::is_same_v<T, bool>) return B.getInt1Ty();
      else if constexpr (std::is_same_v<T, float>) return B.getFloatTy();
      else if constexpr (std::is_same_v<T, double>) return B.getDoubleTy();
      else return B.getIntNTy(8 * sizeof(T));
    });
  }
  LType* mem_type(DType t) { return t == DType::Bool ? B.getInt8Ty() : reg_type(t); }
  LType* vec_type(DType t, unsigned w) {
    return w == 1 ? reg_type(t) : llvm::FixedVectorType::get(reg_type(t), w);
  }

  // --- buffers ----------------------------------------------------------------

  void alias_setup() {
    llvm::MDBuilder md(C);
    llvm::MDNode* domain = md.createAnonymousAliasScopeDomain("numjit");
    // Inputs share one scope (they may overlap each other); every result
    // and temp is fresh memory with a scope of its own.
    llvm::MDNode* inputs = md.createAnonymousAliasScope(domain, "inputs");
    for (auto& b : k_.buffers)
      scopes_.push_back(b.kind == BufferKind::Input ? inputs : md.createAnonymousAliasScope(domain, b.name));
  }

  void tag(llvm::Instruction* I, int buf) {
    llvm::MDNode* own = scopes_[size_t(buf)];
    std::vector<llvm::Metadata*> others;
    for (auto* s : scopes_)
      if (s != own && std::find(others.begin(), others.end(), s) == others.end()) others.push_back(s);
    I->setMetadata(llvm::LLVMContext::MD_alias_scope, llvm::MDNode::get(C, {own}));
    if (!others.empty()) I->setMetadata(llvm::LLVMContext::MD_noalias, llvm::MDNode::get(C, others));
    if (access_group_) I->setMetadata(llvm::LLVMContext::MD_access_group, access_group_);
  }

  LValue* view_field(int slot, int field, int axis = 0) {
    // nj_array_view: {ptr data; i32 dtype; i32 ndim; i64 shape[2]; i64 strides[2]}
    LValue* base = B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), args_, uint64_t(slot) * sizeof(nj_array_view));
    uint64_t off = field == 0 ? offsetof(nj_array_view, data)
                 : field == 1 ? offsetof(nj_array_view, shape) + 8 * uint64_t(axis)
                              : offsetof(nj_array_view, strides) + 8 * uint64_t(axis);
    return B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), base, off);
  }

  void buffer_setup(int b) { bufs_.push_back(make_slots(b)); }

  BufferSlots make_slots(int b) {
    const Buffer& buf = k_.buffers[size_t(b)];
    BufferSlots s;
    if (buf.kind == BufferKind::Input) {
      s.data = B.CreateLoad(B.getPtrTy(), view_field(b, 0), buf.name + ".data");
      for (int a = 0; a < buf.rank; ++a) {
        s.dims[a] = B.CreateLoad(B.getInt64Ty(), view_field(b, 1, a), fmt::format("{}.dim{}", buf.name, a));
        bool unit = a == buf.rank - 1 && buf.contiguous;
        s.strides[a] = unit ? static_cast<LValue*>(B.getInt64(1))
                            : B.CreateLoad(B.getInt64Ty(), view_field(b, 2, a), fmt::format("{}.stride{}", buf.name, a));
      }
    } else {
      s.in_memory = true;
      s.data = B.CreateAlloca(B.getPtrTy(), nullptr, buf.name + ".data.slot");
      B.CreateStore(llvm::ConstantPointerNull::get(B.getPtrTy()), s.data);
      for (int a = 0; a < buf.rank; ++a) s.dims[a] = B.CreateAlloca(B.getInt64Ty(), nullptr, buf.name + ".dim.slot");
    }
    return s;
  }

  LValue* buf_data(int b) {
    auto& s = bufs_[size_t(b)];
    return s.in_memory ? B.CreateLoad(B.getPtrTy(), s.data) : s.data;
  }
  LValue* buf_dim(int b, int a) {
    auto& s = bufs_[size_t(b)];
    return s.in_memory ? B.CreateLoad(B.getInt64Ty(), s.dims[a]) : s.dims[a];
  }
  LValue* buf_stride(int b, int a) {
    const Buffer& buf = k_.buffers[size_t(b)];
    if (bufs_[size_t(b)].in_memory) return a == buf.rank - 1 ? B.getInt64(1) : buf_dim(b, 1);
    return bufs_[size_t(b)].strides[a];
  }

  LValue* address(int b, const std::vector<LValue*>& idx) {
    LValue* off = B.getInt64(0);
    for (size_t a = 0; a < idx.size(); ++a) {
      LValue* term = B.CreateMul(idx[a], buf_stride(b, int(a)));
      off = a == 0 ? term : B.CreateAdd(off, term);
    }
    return B.CreateInBoundsGEP(mem_type(k_.buffers[size_t(b)].dtype), buf_data(b), off);
  }

  LValue* load_elem(int b, const std::vector<LValue*>& idx) {
    DType t = k_.buffers[size_t(b)].dtype;
    auto* L = B.CreateLoad(mem_type(t), address(b, idx));
    tag(L, b);
    return t == DType::Bool ? B.CreateICmpNE(L, B.getInt8(0)) : static_cast<LValue*>(L);
  }

  void store_elem(int b, const std::vector<LValue*>& idx, LValue* v) {
    DType t = k_.buffers[size_t(b)].dtype;
    if (t == DType::Bool) v = B.CreateZExt(v, B.getInt8Ty());
    auto* S = B.CreateStore(v, address(b, idx));
    tag(S, b);
  }

  // --- runtime helpers ------------------------------------------------------------

  llvm::FunctionCallee helper(const std::string& name, LType* ret, std::vector<LType*> params) {
    return M.getOrInsertFunction(name, llvm::FunctionType::get(ret, params, false));
  }

  // Leaves the function with an error unless `ok`; `report` emits the call
  // that records the message.
  void guard(LValue* ok, const std::function<void()>& report) {
    BasicBlock* fail = BasicBlock::Create(C, "fail", F);
    BasicBlock* cont = BasicBlock::Create(C, "ok", F);
    llvm::MDBuilder md(C);
    B.CreateCondBr(ok, cont, fail, md.createBranchWeights(1 << 20, 1));
    B.SetInsertPoint(fail);
    report();
    B.CreateRet(B.getInt32(1));
    B.SetInsertPoint(cont);
  }

  // Runs what `then` emits only when `cond` holds.
  void when(LValue* cond, const std::function<void()>& then) {
    BasicBlock* yes = BasicBlock::Create(C, "then", F);
    BasicBlock* cont = BasicBlock::Create(C, "endthen", F);
    B.CreateCondBr(cond, yes, cont);
    B.SetInsertPoint(yes);
    then();
    B.CreateBr(cont);
    B.SetInsertPoint(cont);
  }

  LValue* cstring(const std::string& s) { return B.CreateGlobalStringPtr(s); }

  // --- scalar expressions -------------------------------------------------------------

  // The value of `e` at the insertion point. Memoised, so a shared
  // subexpression is emitted once (a chain `y = y * y + y` stays linear):
  // an entry stays valid while code is emitted into the same block, or into
  // the continuation block that an expression's own guard opened (which the
  // earlier block dominates). Moving the insertion point elsewhere, any
  // store, and every statement boundary clear it.
  LValue* expr(const LExpr* e) {
    if (B.GetInsertBlock() != memo_block_) {
      expr_memo_.clear();
      memo_block_ = B.GetInsertBlock();
    }
    auto it = expr_memo_.find(e);
    if (it != expr_memo_.end()) return it->second;
    LValue* r = expr_impl(e);
    memo_block_ = B.GetInsertBlock();
    expr_memo_.emplace(e, r);
    return r;
  }

  void forget_exprs() {
    expr_memo_.clear();
    memo_block_ = nullptr;
  }

  LValue* expr_impl(const LExpr* e) {
    switch (e->kind) {
      case LExprKind::Const: return constant(e->dtype, e->fval, e->ival, 1);
      case LExprKind::Var:
        if (temp_[size_t(e->var)]) {
          if (!ssa_[size_t(e->var)]) internal_error("codegen", "a temp is read before its assignment");
          return ssa_[size_t(e->var)];
        }
        return B.CreateLoad(reg_type(k_.var_types[size_t(e->var)]), vars_[size_t(e->var)]);
      case LExprKind::Dim: return buf_dim(e->buf, int(e->ival));
      case LExprKind::Threads:
        return B.CreateCall(helper("nj_threads", B.getInt64Ty(), {B.getPtrTy()}), {ctx_});
      case LExprKind::Load: {
        std::vector<LValue*> idx;
        for (auto* o : e->ops) idx.push_back(expr(o));
        return load_elem(e->buf, idx);
      }
      default: break;
    }
    std::vector<LValue*> ops;
    for (auto* o : e->ops) ops.push_back(expr(o));
    return compute(e, ops, 1);
  }

  LValue* constant(DType t, double f, int64_t i, unsigned w) {
    LType* ty = reg_type(t);
    LValue* c;
    if (is_float(t)) {
      c = llvm::ConstantFP::get(ty, f);
    } else {
      unsigned bits = ty->getIntegerBitWidth();
      uint64_t v = t == DType::Bool ? uint64_t(i != 0) : bits == 64 ? uint64_t(i) : uint64_t(i) & ((uint64_t(1) << bits) - 1);
      c = llvm::ConstantInt::get(ty, v);
    }
    return w == 1 ? c : B.CreateVectorSplat(w, c);
  }

  /** The value of `e` from its operand values (scalars, or vectors of w lanes). */
  LValue* compute(const LExpr* e, const std::vector<LValue*>& ops, unsigned w) {
    switch (e->kind) {
      case LExprKind::Unary: return unary(UnaryOp(e->op), e->dtype, ops[0], w);
      case LExprKind::Binary:
        if (BinaryOp(e->op) == BinaryOp::Pow && e->ops[1]->kind == LExprKind::Const) {
          const LExpr* n = e->ops[1];
          if (is_float(e->dtype) && literal_power(n->fval)) return literal_pow(ops[0], int(n->fval), e->dtype, w);
          if (!is_float(e->dtype) && e->dtype != DType::Bool && n->ival >= 0 && n->ival <= 64)
            return int_literal_pow(ops[0], int(n->ival), e->dtype, w);
        }
        return binary(BinaryOp(e->op), e->ops[0]->dtype, ops[0], ops[1], w);
      case LExprKind::Math: return math(MathFn(e->op), e->ops[0]->dtype, e->dtype, ops[0], w);
      case LExprKind::Cast: return cast(ops[0], e->ops[0]->dtype, e->dtype, w);
      case LExprKind::Select: return B.CreateSelect(ops[0], ops[1], ops[2]);
      case LExprKind::Random: {
        auto fn = helper(e->op ? "nj_random_normal" : "nj_random_uniform", B.getDoubleTy(),
                         {B.getInt64Ty(), B.getInt64Ty()});
        return per_lane(w, B.getDoubleTy(), ops, [&](const std::vector<LValue*>& s) {
          return B.CreateCall(fn, {s[0], s[1]});
        });
      }
      default: break;
    }
    internal_error("codegen", fmt::format("unexpected loop expression kind {}", int(e->kind)));
  }

  // Applies a scalar operation lane by lane (for helpers without a vector form).
  LValue* per_lane(unsigned w, LType* elem, const std::vector<LValue*>& ops,
                  const std::function<LValue*(const std::vector<LValue*>&)>& f) {
    if (w == 1) return f(ops);
    LValue* out = llvm::PoisonValue::get(llvm::FixedVectorType::get(elem, w));
    for (unsigned l = 0; l < w; ++l) {
      std::vector<LValue*> s;
      for (auto* o : ops) s.push_back(o->getType()->isVectorTy() ? B.CreateExtractElement(o, l) : o);
      out = B.CreateInsertElement(out, f(s), l);
    }
    return out;
  }

  LValue* zero(DType t, unsigned w) { return constant(t, 0, 0, w); }

  LValue* unary(UnaryOp op, DType t, LValue* a, unsigned w) {
    if (op == UnaryOp::Neg) return is_float(t) ? B.CreateFNeg(a) : B.CreateSub(zero(t, w), a);
    return B.CreateNot(a);  // logical on bool (i1), bitwise on ints
  }

  LValue* isnan(LValue* x) { return B.CreateFCmpUNO(x, x); }

  LValue* call_libm(const std::string& base, DType t, std::vector<LValue*> args, unsigned w) {
    std::string name = t == DType::F32 ? base + "f" : base;
    LType* ft = reg_type(t);
    std::vector<LType*> params(args.size(), ft);
    llvm::FunctionCallee fn = helper(name, ft, params);
    if (auto* f = llvm::dyn_cast<llvm::Function>(fn.getCallee())) {
      // numjit never reads errno: the calls are pure, so they vectorize.
      f->setDoesNotAccessMemory();
      f->setDoesNotThrow();
      f->addFnAttr(llvm::Attribute::WillReturn);
    }
    if (w == 1) return B.CreateCall(fn, args);
    return vector_libm(name, t, args, w, fn);
  }

  // A w-lane call of libm function `name` through the libmvec variants the
  // host runs (vector_math: _ZGVeN8v_exp on AVX-512, _ZGVdN4v_exp on AVX2,
  // _ZGVbN2v_exp otherwise), a host vector's lanes at a time.
  LValue* vector_libm(const std::string& name, DType t, const std::vector<LValue*>& args, unsigned w,
                     llvm::FunctionCallee scalar) {
    VectorMath vm = vector_math(target_);
    unsigned vw = vm.lanes(t == DType::F32);
    std::string vname = fmt::format("_ZGV{}N{}{}_{}", vm.isa, vw, std::string(args.size(), 'v'), name);
    auto* vt = llvm::FixedVectorType::get(reg_type(t), vw);
    if (w % vw != 0 || !has_libmvec(name))
      return per_lane(w, reg_type(t), args, [&](const std::vector<LValue*>& s) { return B.CreateCall(scalar, s); });
    std::vector<LType*> params(args.size(), vt);
    llvm::FunctionCallee vfn = helper(vname, vt, params);
    if (auto* f = llvm::dyn_cast<llvm::Function>(vfn.getCallee())) {
      f->setDoesNotAccessMemory();
      f->setDoesNotThrow();
    }
    std::vector<LValue*> parts;
    for (unsigned p = 0; p < w / vw; ++p) {
      std::vector<int> mask;
      for (unsigned l = 0; l < vw; ++l) mask.push_back(int(p * vw + l));
      std::vector<LValue*> a;
      for (auto* x : args) a.push_back(B.CreateShuffleVector(x, mask));
      parts.push_back(B.CreateCall(vfn, a));
    }
    return concat(parts);
  }

  static bool has_libmvec(const std::string& name) {
    std::string base = name;
    if (!base.empty() && base.back() == 'f') base.pop_back();
    if (base == "atan2" || base == "hypot" || base == "pow") return true;
    for (const Builtin& f : builtins())
      if (f.libm && base == f.libm) return true;
    return false;
  }

  LValue* concat(std::vector<LValue*> parts) {
    while (parts.size() > 1) {
      std::vector<LValue*> next;
      for (size_t i = 0; i + 1 < parts.size(); i += 2) {
        unsigned n = llvm::cast<llvm::FixedVectorType>(parts[i]->getType())->getNumElements();
        std::vector<int> mask;
        for (unsigned l = 0; l < 2 * n; ++l) mask.push_back(int(l));
        next.push_back(B.CreateShuffleVector(parts[i], parts[i + 1], mask));
      }
      parts = std::move(next);
    }
    return parts[0];
  }

  LValue* intrinsic(llvm::Intrinsic::ID id, LValue* a) {
    return B.CreateUnaryIntrinsic(id, a);
  }

  LValue* math(MathFn fn, DType in, DType out, LValue* x, unsigned w) {
    const bool fl = is_float(in);
    switch (fn) {
      case MathFn::Abs:
        if (fl) return intrinsic(llvm::Intrinsic::fabs, x);
        if (in == DType::Bool) return x;
        return B.CreateSelect(B.CreateICmpSLT(x, zero(in, w)), B.CreateSub(zero(in, w), x), x);
      case MathFn::Sign:
        if (fl) {
          LValue* s = B.CreateFSub(B.CreateUIToFP(B.CreateFCmpOGT(x, zero(in, w)), x->getType()),
                                  B.CreateUIToFP(B.CreateFCmpOLT(x, zero(in, w)), x->getType()));
          return B.CreateSelect(isnan(x), x, s);
        }
        return B.CreateSub(B.CreateZExt(B.CreateICmpSGT(x, zero(in, w)), x->getType()),
                           B.CreateZExt(B.CreateICmpSLT(x, zero(in, w)), x->getType()));
      case MathFn::Round: return fl ? intrinsic(llvm::Intrinsic::roundeven, x) : x;
      case MathFn::Sqrt: return intrinsic(llvm::Intrinsic::sqrt, x);
      case MathFn::Floor: return intrinsic(llvm::Intrinsic::floor, x);
      case MathFn::Ceil: return intrinsic(llvm::Intrinsic::ceil, x);
      case MathFn::Trunc: return intrinsic(llvm::Intrinsic::trunc, x);
      case MathFn::IsNan: return fl ? isnan(x) : constant(DType::Bool, 0, 0, w);
      case MathFn::IsInf:
        if (!fl) return constant(DType::Bool, 0, 0, w);
        return B.CreateFCmpOEQ(intrinsic(llvm::Intrinsic::fabs, x), constant(in, INFINITY, 0, w));
      case MathFn::IsFinite:
        if (!fl) return constant(DType::Bool, 0, 1, w);
        return B.CreateFCmpOLT(intrinsic(llvm::Intrinsic::fabs, x), constant(in, INFINITY, 0, w));
      default: break;
    }
    const char* name = builtin_of(fn).libm;
    if (!name) internal_error("codegen", fmt::format("no lowering for math function {}", math_fn_name(fn)));
    (void)out;
    return call_libm(name, in, {x}, w);
  }

  LValue* cast(LValue* a, DType from, DType to, unsigned w) {
    if (from == to) return a;
    LType* tt = vec_type(to, w);
    if (to == DType::Bool) return is_float(from) ? B.CreateFCmpUNE(a, zero(from, w)) : B.CreateICmpNE(a, zero(from, w));
    if (is_float(to)) {
      if (is_float(from)) return B.CreateFPCast(a, tt);
      return from == DType::Bool ? B.CreateUIToFP(a, tt) : B.CreateSIToFP(a, tt);
    }
    if (!is_float(from)) return from == DType::Bool ? B.CreateZExt(a, tt) : B.CreateSExtOrTrunc(a, tt);
    // Float -> int as x86's cvtt does: NaN and out-of-range give INT_MIN
    // (ir/scalar_ops.h float_to_int); fptosi alone would be poison there.
    // In range is |d| < 2^31 (2^63): the values just below -2^31 (-2^63)
    // that fail it truncate to INT_MIN anyway, so one compare decides, and
    // select ignores the poison of the arm it does not take.
    LValue* d = from == DType::F32 ? B.CreateFPExt(a, vec_type(DType::F64, w)) : a;
    const bool i32 = to == DType::I32;
    LValue* ok = B.CreateFCmpOLT(B.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, d),
                                 constant(DType::F64, i32 ? 2147483648.0 : 9223372036854775808.0, 0, w));
    LValue* r = B.CreateSelect(ok, B.CreateFPToSI(d, tt), constant(to, 0, i32 ? INT32_MIN : INT64_MIN, w));
    if (auto* sel = llvm::dyn_cast<llvm::SelectInst>(r)) sel->setMetadata(llvm::LLVMContext::MD_unpredictable, llvm::MDNode::get(C, {}));
    return r;
  }

  // Python's floor division and modulo of floats: NumPy's npy_divmod
  // (ir/scalar_ops.h float_divmod). f32 is computed in f64 and rounded, as
  // the interpreter does.
  std::pair<LValue*, LValue*> float_divmod(DType t, LValue* a, LValue* b, unsigned w) {
    if (t == DType::F32) {
      a = B.CreateFPExt(a, vec_type(DType::F64, w));
      b = B.CreateFPExt(b, vec_type(DType::F64, w));
    }
    const DType d = DType::F64;
    auto k = [&](double v) { return constant(d, v, 0, w); };
    LValue* mod = B.CreateFRem(a, b);
    LValue* div = B.CreateFDiv(B.CreateFSub(a, mod), b);
    LValue* mod_nz = B.CreateFCmpUNE(mod, k(0));
    LValue* adj = B.CreateAnd(mod_nz, B.CreateXor(B.CreateFCmpOLT(b, k(0)), B.CreateFCmpOLT(mod, k(0))));
    mod = B.CreateSelect(adj, B.CreateFAdd(mod, b), mod);
    div = B.CreateSelect(adj, B.CreateFSub(div, k(1)), div);
    LValue* signed_zero_b = B.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, k(0), b);
    mod = B.CreateSelect(mod_nz, mod, signed_zero_b);
    LValue* fl = intrinsic(llvm::Intrinsic::floor, div);
    fl = B.CreateSelect(B.CreateFCmpOGT(B.CreateFSub(div, fl), k(0.5)), B.CreateFAdd(fl, k(1)), fl);
    LValue* quot = B.CreateFDiv(a, b);
    LValue* signed_zero_q = B.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, k(0), quot);
    div = B.CreateSelect(B.CreateFCmpUNE(div, k(0)), fl, signed_zero_q);
    div = B.CreateSelect(B.CreateFCmpOEQ(b, k(0)), quot, div);
    if (t == DType::F32) {
      div = B.CreateFPTrunc(div, vec_type(DType::F32, w));
      mod = B.CreateFPTrunc(mod, vec_type(DType::F32, w));
    }
    return {div, mod};
  }

  // x ** n for a literal n (scalar_ops.h, pow_literal: the same steps in
  // the same order): plain products for f64 with n <= kPlainPowMax, larger
  // f64 powers as products carried with their fma-exact errors, f32 as f64
  // products rounded once.
  LValue* literal_pow(LValue* x, int n, DType t, unsigned w) {
    const bool f32 = t == DType::F32;
    LType* vt = vec_type(DType::F64, w);
    if (f32) x = B.CreateFPExt(x, vt);
    auto fma = [&](LValue* a, LValue* b, LValue* c) { return B.CreateIntrinsic(llvm::Intrinsic::fma, {vt}, {a, b, c}); };
    LValue* h = x;
    LValue* l = nullptr;
    const bool plain = f32 || n <= kPlainPowMax;
    for (int bit = 30 - __builtin_clz(unsigned(n)); bit >= 0; --bit) {
      if (plain) {
        h = B.CreateFMul(h, h);
        if ((n >> bit) & 1) h = B.CreateFMul(h, x);
        continue;
      }
      LValue* p = B.CreateFMul(h, h);
      LValue* e = fma(h, h, B.CreateFNeg(p));
      l = bit == 30 - __builtin_clz(unsigned(n)) ? e : fma(B.CreateFAdd(h, h), l, e);  // l is 0 at first
      h = p;
      if ((n >> bit) & 1) {
        p = B.CreateFMul(h, x);
        l = fma(l, x, fma(h, x, B.CreateFNeg(p)));
        h = p;
      }
    }
    if (f32) return B.CreateFPTrunc(h, vec_type(DType::F32, w));
    if (plain) return h;
    // h + l, except where that is 0 or NaN (fcmp ueq): then h.
    LValue* r = B.CreateFAdd(h, l);
    return B.CreateSelect(B.CreateFCmpUEQ(r, constant(DType::F64, 0, 0, w)), h, r);
  }

  // i ** n for a literal n >= 0: binary powering with wrapping products
  // (what nj_ipow computes, without a call per element).
  LValue* int_literal_pow(LValue* x, int n, DType t, unsigned w) {
    LValue* r = constant(t, 1, 1, w);
    LValue* sq = x;
    for (int m = n; m > 0; m >>= 1) {
      if (m & 1) r = B.CreateMul(r, sq);
      if (m > 1) sq = B.CreateMul(sq, sq);
    }
    return r;
  }

  LValue* binary(BinaryOp op, DType t, LValue* a, LValue* b, unsigned w) {
    const bool fl = is_float(t);
    const bool bl = t == DType::Bool;
    auto cmp = [&](llvm::CmpInst::Predicate fp, llvm::CmpInst::Predicate si, llvm::CmpInst::Predicate ui) {
      return fl ? B.CreateFCmp(fp, a, b) : B.CreateICmp(bl ? ui : si, a, b);
    };
    using P = llvm::CmpInst::Predicate;
    switch (op) {
      case BinaryOp::Add: return fl ? B.CreateFAdd(a, b) : bl ? B.CreateOr(a, b) : B.CreateAdd(a, b);
      case BinaryOp::Sub: return fl ? B.CreateFSub(a, b) : B.CreateSub(a, b);
      case BinaryOp::Mul: return fl ? B.CreateFMul(a, b) : bl ? B.CreateAnd(a, b) : B.CreateMul(a, b);
      case BinaryOp::Div: return B.CreateFDiv(a, b);
      case BinaryOp::FloorDiv:
        if (fl) return float_divmod(t, a, b, w).first;
        return int_floordiv(t, a, b, w);
      case BinaryOp::Mod:
        if (fl) return float_divmod(t, a, b, w).second;
        return int_mod(t, a, b, w, true);
      case BinaryOp::FMod:
        if (fl) {
          if (t == DType::F32)
            return B.CreateFPTrunc(B.CreateFRem(B.CreateFPExt(a, vec_type(DType::F64, w)),
                                                B.CreateFPExt(b, vec_type(DType::F64, w))),
                                   vec_type(DType::F32, w));
          return B.CreateFRem(a, b);
        }
        return int_mod(t, a, b, w, false);
      case BinaryOp::Pow:
        if (fl) return call_libm("pow", t, {a, b}, w);
        {
          auto fn = t == DType::I32 ? helper("nj_ipow_i32", B.getInt32Ty(), {B.getInt32Ty(), B.getInt32Ty()})
                                    : helper("nj_ipow_i64", B.getInt64Ty(), {B.getInt64Ty(), B.getInt64Ty()});
          return per_lane(w, reg_type(t), {a, b}, [&](const std::vector<LValue*>& s) { return B.CreateCall(fn, s); });
        }
      case BinaryOp::BitAnd: return B.CreateAnd(a, b);
      case BinaryOp::BitOr: return B.CreateOr(a, b);
      case BinaryOp::BitXor: return B.CreateXor(a, b);
      case BinaryOp::Lt: return cmp(P::FCMP_OLT, P::ICMP_SLT, P::ICMP_ULT);
      case BinaryOp::Le: return cmp(P::FCMP_OLE, P::ICMP_SLE, P::ICMP_ULE);
      case BinaryOp::Gt: return cmp(P::FCMP_OGT, P::ICMP_SGT, P::ICMP_UGT);
      case BinaryOp::Ge: return cmp(P::FCMP_OGE, P::ICMP_SGE, P::ICMP_UGE);
      case BinaryOp::Eq: return cmp(P::FCMP_OEQ, P::ICMP_EQ, P::ICMP_EQ);
      case BinaryOp::Ne: return cmp(P::FCMP_UNE, P::ICMP_NE, P::ICMP_NE);
      case BinaryOp::Minimum:
      case BinaryOp::Maximum: {
        bool mn = op == BinaryOp::Minimum;
        if (fl) {
          // (isnan(a) || a < b) ? a : b, and a NaN b wins (scalar_ops.h).
          LValue* keep_a = mn ? B.CreateFCmpULT(a, b) : B.CreateFCmpUGT(a, b);
          return B.CreateSelect(isnan(b), b, B.CreateSelect(keep_a, a, b));
        }
        LValue* keep_a = mn ? B.CreateICmp(bl ? P::ICMP_ULT : P::ICMP_SLT, a, b)
                           : B.CreateICmp(bl ? P::ICMP_UGT : P::ICMP_SGT, a, b);
        return B.CreateSelect(keep_a, a, b);
      }
      case BinaryOp::Arctan2: return call_libm("atan2", t, {a, b}, w);
      case BinaryOp::Hypot: return call_libm("hypot", t, {a, b}, w);
    }
    internal_error("codegen", "unknown binary op");
  }

  // Integer // and % never trap: the divisor is replaced by 1 where it is 0
  // or -1 and the answer selected afterwards (0, or -a for // -1).
  LValue* safe_divisor(DType t, LValue* b, unsigned w, LValue*& is_zero, LValue*& is_m1) {
    is_zero = B.CreateICmpEQ(b, zero(t, w));
    is_m1 = B.CreateICmpEQ(b, constant(t, 0, -1, w));
    return B.CreateSelect(B.CreateOr(is_zero, is_m1), constant(t, 0, 1, w), b);
  }

  LValue* int_floordiv(DType t, LValue* a, LValue* b, unsigned w) {
    LValue *z, *m1;
    LValue* d = safe_divisor(t, b, w, z, m1);
    LValue* q = B.CreateSDiv(a, d);
    LValue* r = B.CreateSRem(a, d);
    LValue* adj = B.CreateAnd(B.CreateICmpNE(r, zero(t, w)), B.CreateICmpSLT(B.CreateXor(r, b), zero(t, w)));
    q = B.CreateSub(q, B.CreateZExt(adj, q->getType()));
    q = B.CreateSelect(m1, B.CreateSub(zero(t, w), a), q);
    return B.CreateSelect(z, zero(t, w), q);
  }

  LValue* int_mod(DType t, LValue* a, LValue* b, unsigned w, bool python) {
    LValue *z, *m1;
    LValue* d = safe_divisor(t, b, w, z, m1);
    LValue* r = B.CreateSRem(a, d);
    if (python) {
      LValue* adj = B.CreateAnd(B.CreateICmpNE(r, zero(t, w)), B.CreateICmpSLT(B.CreateXor(r, b), zero(t, w)));
      r = B.CreateSelect(adj, B.CreateAdd(r, b), r);
    }
    return B.CreateSelect(B.CreateOr(z, m1), zero(t, w), r);
  }

  // --- statements -----------------------------------------------------------------

  void stmts(const std::vector<LStmt>& body) {
    for (auto& s : body) stmt(s);
  }

  void assign(int var, LValue* v) {
    if (temp_[size_t(var)]) ssa_[size_t(var)] = v;
    else B.CreateStore(v, vars_[size_t(var)]);
  }

  // Temps: variables whose every read comes after an assignment in the same
  // statement list or an enclosing one (so the assignment dominates it), that
  // are never assigned in two nested lists, and never read inside a parallel
  // task that the assignment is outside of. They need no stack slot: their
  // value is the SSA value assigned. A loop of 10 000 statements makes 40 000
  // such variables, and slots for them cost LLVM's mem2reg quadratic time.
  void find_temps() {
    const size_t nv = k_.var_types.size();
    temp_.assign(nv, true);
    ssa_.assign(nv, nullptr);
    // Where each variable is assigned: list -> position.
    std::vector<std::unordered_map<const std::vector<LStmt>*, size_t>> where(nv);
    std::function<void(const std::vector<LStmt>&)> collect = [&](const std::vector<LStmt>& body) {
      for (size_t i = 0; i < body.size(); ++i) {
        const LStmt& s = body[i];
        if (s.kind == LStmtKind::Assign && !where[size_t(s.var)].emplace(&body, i).second) temp_[size_t(s.var)] = false;
        if (s.kind != LStmtKind::Assign && s.var >= 0) temp_[size_t(s.var)] = false;  // loop variables
        for (const Accumulator& a : s.accs) temp_[size_t(a.result_var)] = false;
        collect(s.body);
        collect(s.orelse);
      }
    };
    collect(k_.body);
    struct Level {
      const std::vector<LStmt>* list;
      size_t index;
      bool task;  // the statement at this level runs its body as a parallel task
    };
    std::vector<Level> path;
    // Whether a read at the current path is dominated by an assignment in
    // an enclosing list with no parallel task in between.
    auto dominated = [&](int v) {
      for (size_t d = path.size(); d-- > 0;) {
        auto it = where[size_t(v)].find(path[d].list);
        if (it != where[size_t(v)].end()) return it->second < path[d].index;
        if (d > 0 && path[d - 1].task) return false;
      }
      return false;
    };
    std::function<void(const std::vector<LStmt>&)> walk = [&](const std::vector<LStmt>& body) {
      for (size_t i = 0; i < body.size(); ++i) {
        const LStmt& s = body[i];
        bool task = (s.kind == LStmtKind::For && s.parallel) || s.kind == LStmtKind::ReduceLoop;
        path.push_back({&body, i, task});
        if (s.kind == LStmtKind::Assign && temp_[size_t(s.var)]) {
          for (size_t d = 0; d + 1 < path.size(); ++d)  // assigned in an enclosing list too
            if (where[size_t(s.var)].count(path[d].list)) temp_[size_t(s.var)] = false;
        }
        std::unordered_set<const LExpr*> seen;
        stmt_exprs(s, [&](const LExpr* root) {
          for_each_expr(root, seen, [&](const LExpr* e) {
            // A task's own expressions (accumulator values) are evaluated inside it.
            if (e->kind == LExprKind::Var && temp_[size_t(e->var)] && (task || !dominated(e->var)))
              temp_[size_t(e->var)] = false;
          });
        });
        walk(s.body);
        walk(s.orelse);
        path.pop_back();
      }
    };
    walk(k_.body);
  }

  void stmt(const LStmt& s) {
    forget_exprs();  // an Assign or Store of the statement before changed what
    emit_stmt(s);    // its Vars and Loads read; helpers it called may have too
    forget_exprs();
  }

  void emit_stmt(const LStmt& s) {
    switch (s.kind) {
      case LStmtKind::Assign: assign(s.var, expr(s.value)); break;
      case LStmtKind::Store: {
        std::vector<LValue*> idx;
        for (auto* a : s.args) idx.push_back(expr(a));
        store_elem(s.buf, idx, expr(s.value));
        break;
      }
      case LStmtKind::For: loop(s); break;
      case LStmtKind::While: {
        BasicBlock* head = BasicBlock::Create(C, loop_name(s) + "head", F);
        BasicBlock* body = BasicBlock::Create(C, loop_name(s) + "body", F);
        BasicBlock* done = BasicBlock::Create(C, loop_name(s) + "end", F);
        B.CreateBr(head);
        B.SetInsertPoint(head);
        B.CreateCondBr(expr(s.value), body, done);
        B.SetInsertPoint(body);
        loops_.push_back({head, done});
        stmts(s.body);
        loops_.pop_back();
        B.CreateBr(head);
        B.SetInsertPoint(done);
        break;
      }
      case LStmtKind::Return:
        if (in_task_) internal_error("codegen", "return inside a parallel loop");
        B.CreateRet(B.getInt32(0));
        B.SetInsertPoint(BasicBlock::Create(C, "after.return", F));
        break;
      case LStmtKind::Break:
      case LStmtKind::Continue: {
        if (loops_.empty()) internal_error("codegen", "break or continue outside a loop");
        B.CreateBr(s.kind == LStmtKind::Break ? loops_.back().second : loops_.back().first);
        // Code after a jump is unreachable but must still have a block.
        B.SetInsertPoint(BasicBlock::Create(C, "after.jump", F));
        break;
      }
      case LStmtKind::ReduceLoop: reduce_loop(s); break;
      case LStmtKind::If: {
        BasicBlock* then_bb = BasicBlock::Create(C, "then", F);
        BasicBlock* else_bb = BasicBlock::Create(C, "else", F);
        BasicBlock* done = BasicBlock::Create(C, "endif", F);
        B.CreateCondBr(expr(s.value), then_bb, else_bb);
        B.SetInsertPoint(then_bb);
        stmts(s.body);
        B.CreateBr(done);
        B.SetInsertPoint(else_bb);
        stmts(s.orelse);
        B.CreateBr(done);
        B.SetInsertPoint(done);
        break;
      }
      case LStmtKind::Check: check(s); break;
      case LStmtKind::AllocResult:
      case LStmtKind::AllocTemp: alloc(s); break;
    }
  }

  void check(const LStmt& s) {
    LValue* ok = expr(s.value);
    std::vector<LValue*> args;
    for (auto* a : s.args) args.push_back(expr(a));
    guard(ok, [&] {
      auto* i64 = B.getInt64Ty();
      auto* ptr = B.getPtrTy();
      auto* i32 = B.getInt32Ty();
      LValue* where = s.message.empty() ? static_cast<LValue*>(llvm::ConstantPointerNull::get(ptr)) : cstring(s.message);
      switch (s.check) {
        case CheckKind::Message:
          B.CreateCall(helper("nj_fail", i32, {ptr, i32, ptr}), {ctx_, B.getInt32(NJ_ERR_VALUE), cstring(s.message)});
          break;
        case CheckKind::Index:
          B.CreateCall(helper("nj_fail_index", i32, {ptr, ptr, i64, i64, i64}), {ctx_, where, args[0], args[1], args[2]});
          break;
        case CheckKind::Shapes:
          B.CreateCall(helper("nj_fail_shapes", i32, {ptr, ptr, i64, i64}), {ctx_, where, args[0], args[1]});
          break;
        case CheckKind::Key:
          B.CreateCall(helper("nj_fail_key", i32, {ptr, i64, i64, i64}), {ctx_, args[0], args[1], args[2]});
          break;
      }
    });
  }

  void alloc(const LStmt& s) {
    const Buffer& buf = k_.buffers[size_t(s.buf)];
    auto& bslots = bufs_[size_t(s.buf)];
    std::vector<LValue*> dims;
    for (auto* a : s.args) dims.push_back(expr(a));
    auto* ptr = B.getPtrTy();
    auto* i64 = B.getInt64Ty();
    auto* i32 = B.getInt32Ty();
    LValue* data;
    std::vector<int> slots;  // a result returned twice (x + 1, x + 1) fills both
    for (size_t r = 0; r < k_.results.size(); ++r)
      if (k_.results[r] == s.buf) slots.push_back(k_.num_inputs + int(r));
    if (s.kind == LStmtKind::AllocResult) {
      int slot = slots.empty() ? k_.num_inputs : slots[0];
      LValue* view = B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), args_, uint64_t(slot) * sizeof(nj_array_view));
      data = B.CreateCall(helper("nj_alloc_result", ptr, {ptr, ptr, i32, i32, i64, i64}),
                          {ctx_, view, B.getInt32(int32_t(buf.dtype)), B.getInt32(buf.rank),
                           dims.size() > 0 ? dims[0] : B.getInt64(0), dims.size() > 1 ? dims[1] : B.getInt64(0)});
    } else {
      LValue* n = B.getInt64(uint64_t(dtype_size(buf.dtype)));
      for (auto* d : dims) n = B.CreateMul(n, d);
      data = B.CreateCall(helper("nj_alloc_temp", ptr, {ptr, i64}), {ctx_, n});
    }
    guard(B.CreateIsNotNull(data), [] {});
    for (size_t i = 1; i < slots.size(); ++i)
      B.CreateMemCpy(B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), args_, uint64_t(slots[i]) * sizeof(nj_array_view)),
                     llvm::MaybeAlign(8),
                     B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), args_, uint64_t(slots[0]) * sizeof(nj_array_view)),
                     llvm::MaybeAlign(8), sizeof(nj_array_view));
    B.CreateStore(data, bslots.data);
    for (size_t a = 0; a < dims.size(); ++a) B.CreateStore(dims[a], bslots.dims[a]);
  }

  // --- parallel regions ------------------------------------------------------

  // What a region's statement touches: the frame carries only these.
  struct Touched {
    std::vector<bool> vars, assigned, bufs;
    std::set<const LExpr*> seen;
  };
  void touch(const LExpr* e, Touched& t) {
    if (!e || !t.seen.insert(e).second) return;
    if (e->kind == LExprKind::Var) t.vars[size_t(e->var)] = true;
    if (e->buf >= 0) t.bufs[size_t(e->buf)] = true;
    for (auto* o : e->ops) touch(o, t);
  }
  void touch(const LStmt& s, Touched& t) {
    if (s.var >= 0) t.vars[size_t(s.var)] = t.assigned[size_t(s.var)] = true;
    if (s.buf >= 0) t.bufs[size_t(s.buf)] = true;
    for (auto* e : {s.value, s.lo, s.hi, s.step}) touch(e, t);
    for (auto* e : s.args) touch(e, t);
    for (auto& a : s.accs) {
      touch(a.value, t);
      t.vars[size_t(a.result_var)] = t.assigned[size_t(a.result_var)] = true;
    }
    for (auto& b : s.body) touch(b, t);
    for (auto& b : s.orelse) touch(b, t);
  }

  // `body(b0, b1, extras)` is emitted into a task function of its own (the
  // nj_task_fn ABI) and run over blocks [0, nblocks) by nj_parallel_for.
  // The task sees the kernel's state through a frame the caller fills: the
  // argument views, the current values of the variables `scope` touches,
  // the result and scratch buffers it touches, and `extras` (values of the
  // caller the body needs). Variables
  // are private to each task; results go to memory only. With `last_values`
  // the task that runs the last block copies its variables back (a prange's
  // loop variable and body locals hold the last iteration's values after it,
  // as in Python).
  void parallel_region(const LStmt& scope, LValue* nblocks, std::vector<LValue*> extras,
                       const std::function<void(LValue*, LValue*, const std::vector<LValue*>&)>& body,
                       bool last_values = false) {
    Touched used{std::vector<bool>(vars_.size()), std::vector<bool>(vars_.size()), std::vector<bool>(bufs_.size()), {}};
    touch(scope, used);
    // A temp read in the task is assigned in it (find_temps) and is an SSA
    // value there, never read after it: it needs no field. (A loop of
    // 10 000 statements has 40 000 temps; fields for them made the caller's
    // block 40 000 stores long, which LLVM's scheduler takes quadratic time on.)
    for (size_t i = 0; i < vars_.size(); ++i)
      if (temp_[i]) used.vars[i] = used.assigned[i] = false;
    if (last_values) extras.push_back(nblocks);
    std::vector<LType*> fields = {B.getPtrTy()};
    for (size_t i = 0; i < vars_.size(); ++i)
      if (used.vars[i]) fields.push_back(vars_[i]->getAllocatedType());
    for (size_t b = 0; b < bufs_.size(); ++b)
      if (bufs_[b].in_memory && used.bufs[b]) fields.insert(fields.end(), {B.getPtrTy(), B.getInt64Ty(), B.getInt64Ty()});
    for (auto* e : extras) fields.push_back(e->getType());
    auto* frame_ty = llvm::StructType::get(C, fields);
    LValue* frame = entry_alloca(frame_ty, "frame");
    unsigned f = 0;
    auto put = [&](LValue* v) { B.CreateStore(v, B.CreateStructGEP(frame_ty, frame, f++)); };
    put(args_);
    std::vector<unsigned> var_field(vars_.size(), 0);
    for (size_t i = 0; i < vars_.size(); ++i)
      if (used.vars[i]) {
        var_field[i] = f;
        put(B.CreateLoad(vars_[i]->getAllocatedType(), vars_[i]));
      }
    for (size_t b = 0; b < bufs_.size(); ++b) {
      if (!bufs_[b].in_memory || !used.bufs[b]) continue;
      put(B.CreateLoad(B.getPtrTy(), bufs_[b].data));
      for (int a = 0; a < 2; ++a)
        put(k_.buffers[b].rank > a ? static_cast<LValue*>(B.CreateLoad(B.getInt64Ty(), bufs_[b].dims[a])) : B.getInt64(0));
    }
    for (auto* e : extras) put(e);

    // The task function: the same emitter state, rebuilt from the frame.
    auto saved_ip = B.saveIP();
    llvm::Function* parent = F;
    LValue *saved_args = args_, *saved_ctx = ctx_;
    auto saved_vars = vars_;
    auto saved_bufs = bufs_;
    auto* ptr = B.getPtrTy();
    auto* i64 = B.getInt64Ty();
    auto* task_ty = llvm::FunctionType::get(B.getInt32Ty(), {ptr, i64, i64, ptr}, false);
    F = llvm::Function::Create(task_ty, llvm::Function::InternalLinkage, parent->getName() + ".task", M);
    F->addFnAttr(parent->getFnAttribute("target-cpu"));
    F->addFnAttr(parent->getFnAttribute("target-features"));
    if (target_.avx512) F->addFnAttr("prefer-vector-width", "512");
    B.SetInsertPoint(BasicBlock::Create(C, "entry", F));
    LValue* tframe = F->getArg(0);
    ctx_ = F->getArg(3);
    f = 0;
    auto get = [&](LType* t) { return B.CreateLoad(t, B.CreateStructGEP(frame_ty, tframe, f++)); };
    args_ = get(ptr);
    for (size_t i = 0; i < vars_.size(); ++i) {
      LType* t = vars_[i]->getAllocatedType();
      auto* slot = B.CreateAlloca(t, nullptr, vars_[i]->getName());
      if (used.vars[i]) B.CreateStore(get(t), slot);
      vars_[i] = slot;
    }
    for (size_t b = 0; b < bufs_.size(); ++b) {
      if (!bufs_[b].in_memory || !used.bufs[b]) {
        bufs_[b] = make_slots(int(b));
        continue;
      }
      BufferSlots s = make_slots(int(b));
      B.CreateStore(get(ptr), s.data);
      for (int a = 0; a < 2; ++a) {
        LValue* d = get(i64);
        if (k_.buffers[b].rank > a) B.CreateStore(d, s.dims[a]);
      }
      bufs_[b] = s;
    }
    std::vector<LValue*> task_extras;
    for (auto* e : extras) task_extras.push_back(get(e->getType()));
    in_task_ = true;
    body(F->getArg(1), F->getArg(2), task_extras);
    in_task_ = false;
    if (last_values)
      when(B.CreateICmpEQ(F->getArg(2), task_extras.back()), [&] {
        for (size_t i = 0; i < vars_.size(); ++i)
          if (used.assigned[i])
            B.CreateStore(B.CreateLoad(vars_[i]->getAllocatedType(), vars_[i]),
                          B.CreateStructGEP(frame_ty, tframe, var_field[i]));
      });
    B.CreateRet(B.getInt32(0));
    llvm::Function* task = F;

    F = parent;
    args_ = saved_args;
    ctx_ = saved_ctx;
    vars_ = saved_vars;
    bufs_ = saved_bufs;
    B.restoreIP(saved_ip);
    LValue* rc = B.CreateCall(helper("nj_parallel_for", B.getInt32Ty(), {ptr, i64, ptr, ptr}), {ctx_, nblocks, task, frame});
    guard(B.CreateICmpEQ(rc, B.getInt32(0)), [] {});
    if (last_values)
      when(B.CreateICmpSGT(nblocks, B.getInt64(0)), [&] {
        for (size_t i = 0; i < vars_.size(); ++i)
          if (used.assigned[i])
            B.CreateStore(B.CreateLoad(vars_[i]->getAllocatedType(), B.CreateStructGEP(frame_ty, frame, var_field[i])),
                          vars_[i]);
      });
  }

  // A counted loop over [lo, hi) with the variable in its alloca; `body`
  // emits the loop body.
  void counted(int var, LValue* lo, LValue* hi, const std::function<void()>& body, bool independent = false,
               const std::string& name = "") {
    counted_slot(vars_[size_t(var)], lo, hi, body, B.getInt64(1), independent, name);
  }

  // A negative constant step counts down while i > hi; a step of unknown
  // sign decides at run time. The counter lives in `count_slot`, so a body
  // that assigns the loop variable does not change the iterations (Python).
  //
  // `independent` (a loop the loop IR marks `vectorize`): no iteration reads
  // memory another writes, so the body's loads and stores form one access
  // group and the loop is llvm.loop.parallel_accesses over it, which lets
  // LLVM's vectorizer skip its run-time overlap checks. `name`: loop_name()
  // of the statement it runs, "" for codegen's own loops.
  void counted_slot(LValue* var_slot, LValue* lo, LValue* hi, const std::function<void()>& body, LValue* step,
                    bool independent = false, const std::string& name = "") {
    LValue* count_slot = entry_alloca(B.getInt64Ty(), "counter");
    B.CreateStore(lo, count_slot);
    BasicBlock* head = BasicBlock::Create(C, name.empty() ? "loop" : name + "head", F);
    BasicBlock* body_bb = BasicBlock::Create(C, name.empty() ? "body" : name + "body", F);
    BasicBlock* latch = BasicBlock::Create(C, name.empty() ? "latch" : name + "latch", F);
    BasicBlock* done = BasicBlock::Create(C, name.empty() ? "endloop" : name + "end", F);
    B.CreateBr(head);
    B.SetInsertPoint(head);
    LValue* i = B.CreateLoad(B.getInt64Ty(), count_slot);
    LValue* more;
    auto* c = llvm::dyn_cast<llvm::ConstantInt>(step);
    if (c && c->getSExtValue() > 0) more = B.CreateICmpSLT(i, hi);
    else if (c) more = B.CreateICmpSGT(i, hi);
    else more = B.CreateSelect(B.CreateICmpSGT(step, B.getInt64(0)), B.CreateICmpSLT(i, hi), B.CreateICmpSGT(i, hi));
    B.CreateCondBr(more, body_bb, done);
    B.SetInsertPoint(body_bb);
    if (var_slot != count_slot) B.CreateStore(i, var_slot);
    loops_.push_back({latch, done});
    llvm::MDNode* outer_group = access_group_;
    access_group_ = independent ? llvm::MDNode::getDistinct(C, {}) : nullptr;
    llvm::MDNode* group = access_group_;
    body();
    access_group_ = outer_group;
    loops_.pop_back();
    B.CreateBr(latch);
    B.SetInsertPoint(latch);
    LValue* i2 = B.CreateLoad(B.getInt64Ty(), count_slot);
    B.CreateStore(B.CreateAdd(i2, step, "", false, true), count_slot);  // nsw only: steps may be negative
    llvm::BranchInst* back = B.CreateBr(head);
    if (group) {
      llvm::TempMDTuple self = llvm::MDNode::getTemporary(C, {});
      llvm::Metadata* parallel[] = {llvm::MDString::get(C, "llvm.loop.parallel_accesses"), group};
      llvm::MDNode* id = llvm::MDNode::getDistinct(C, {self.get(), llvm::MDNode::get(C, parallel)});
      id->replaceOperandWith(0, id);
      back->setMetadata(llvm::LLVMContext::MD_loop, id);
    }
    B.SetInsertPoint(done);
  }

  void loop(const LStmt& s) {
    LValue* lo = expr(s.lo);
    LValue* hi = expr(s.hi);
    if (s.parallel && !in_task_ && !s.step) {
      // Blocks of iterations: many elements for an innermost loop, a few
      // rows for a loop of loops. Below two blocks the region runs inline.
      bool nested = any_stmt(s.body, is_loop);
      // A loop of loops takes count / 64 iterations a block, 1 to 64: rows
      // of K10 go 64 at a time, a few long blocks of work one at a time.
      LValue* count = B.CreateSub(hi, lo);
      LValue* grain = B.getInt64(kParallelGrain);
      if (nested) {
        LValue* g = B.CreateSDiv(count, B.getInt64(64));
        g = B.CreateSelect(B.CreateICmpSLT(g, B.getInt64(1)), B.getInt64(1), g);
        grain = B.CreateSelect(B.CreateICmpSGT(g, B.getInt64(64)), B.getInt64(64), g);
      }
      LValue* nblocks = B.CreateSDiv(B.CreateSub(B.CreateAdd(count, grain), B.getInt64(1)), grain);
      nblocks = B.CreateSelect(B.CreateICmpSGT(count, B.getInt64(0)), nblocks, B.getInt64(0));
      parallel_region(s, nblocks, {lo, hi, grain}, [&](LValue* b0, LValue* b1, const std::vector<LValue*>& x) {
        LValue* begin = B.CreateAdd(x[0], B.CreateMul(b0, x[2]));
        LValue* end = B.CreateAdd(x[0], B.CreateMul(b1, x[2]));
        end = B.CreateSelect(B.CreateICmpSLT(end, x[1]), end, x[1]);
        counted(s.var, begin, end, [&] { stmts(s.body); }, s.vectorize, loop_name(s));
      }, /*last_values=*/true);
      if (LoopCode* c = code_of(s)) c->task = true;
      return;
    }
    if (s.scan && !s.step && scan_loop(s)) return;
    // Loops marked vectorize are left to LLVM's loop vectorizer, which
    // decides by cost (forcing it would only warn where it cannot); their
    // accesses are marked parallel (counted_slot).
    counted_slot(vars_[size_t(s.var)], lo, hi, [&] { stmts(s.body); }, s.step ? expr(s.step) : B.getInt64(1),
                 s.vectorize, loop_name(s));
  }

  // --- scans ------------------------------------------------------------------------

  // A For loop marked `scan` whose body is a running value's step,
  //   (x = X;)  run = op(run, x)  (op: select(run > x, run, x) for max,
  //   `<` for min, integer + * maximum minimum);  buf[idx] = run
  // or, for a block's total, the same without the store and with a NaN
  // flag, nan = nan | (x != x), after which run is only read when the flag
  // is false (so its value with a NaN does not matter);
  // with X vectorizable, not reading run or buf, and buf[idx] contiguous in
  // the loop variable: written as prefix scans over vectors of the CPU's
  // width (vector_math). Each vector's prefix takes log2(W) shift-and-
  // combine steps (shifted-in lanes hold op's identity), then the combine
  // with the carried value; its last lane carries on. The ops are exact and
  // associative (max and min keep the later element on ties, as the serial
  // select does), so the values are the serial loop's bit for bit. The
  // remainder runs the body itself. Returns false, emitting nothing, for
  // any other body.
  bool scan_loop(const LStmt& s) {
    const std::vector<LStmt>& body = s.body;
    // [x = X;] run = step; [nan = nan | (x != x);] [buf[idx] = run]
    size_t end = body.size();
    const LStmt* st = end > 0 && body[end - 1].kind == LStmtKind::Store ? &body[--end] : nullptr;
    const LStmt* flag = nullptr;
    if (end >= 3 && body[end - 1].kind == LStmtKind::Assign && body[end - 1].value->kind == LExprKind::Binary &&
        BinaryOp(body[end - 1].value->op) == BinaryOp::BitOr)
      flag = &body[--end];
    if (end < 1 || end > 2) return false;
    int xvar = -1;
    const LExpr* X = nullptr;
    if (end == 2) {
      if (body[0].kind != LStmtKind::Assign) return false;
      xvar = body[0].var;
      X = body[0].value;
    }
    const LStmt& step = body[end - 1];
    if (step.kind != LStmtKind::Assign || (!st && !flag)) return false;
    const int run = step.var;
    const DType t = k_.var_types[size_t(run)];
    if (t == DType::Bool || temp_[size_t(run)] || run == xvar) return false;
    auto is_var = [](const LExpr* e, int v) { return e->kind == LExprKind::Var && e->var == v; };
    if (st && (!is_var(st->value, run) || k_.buffers[size_t(st->buf)].dtype != t)) return false;
    if (flag) {  // nan = nan | (x != x): only with the temp x, and no store (run is then unspecified)
      const LExpr* o = flag->value;
      const LExpr* ne = o->ops[1];
      if (st || xvar < 0 || temp_[size_t(flag->var)] || !is_var(o->ops[0], flag->var) ||
          ne->kind != LExprKind::Binary || BinaryOp(ne->op) != BinaryOp::Ne || !is_var(ne->ops[0], xvar) ||
          !is_var(ne->ops[1], xvar))
        return false;
    }
    enum class Op { Max, Min, Add, Mul } op;
    const LExpr* v = step.value;
    const LExpr* xin = nullptr;
    if (v->kind == LExprKind::Select) {
      const LExpr* c = v->ops[0];
      if (c->kind != LExprKind::Binary || !is_var(c->ops[0], run) || !is_var(v->ops[1], run) || c->ops[1] != v->ops[2])
        return false;
      if (BinaryOp(c->op) == BinaryOp::Gt) op = Op::Max;
      else if (BinaryOp(c->op) == BinaryOp::Lt) op = Op::Min;
      else return false;
      xin = v->ops[2];
    } else if (v->kind == LExprKind::Binary && is_var(v->ops[0], run) && !is_float(t)) {
      switch (BinaryOp(v->op)) {
        case BinaryOp::Add: op = Op::Add; break;
        case BinaryOp::Mul: op = Op::Mul; break;
        case BinaryOp::Maximum: op = Op::Max; break;
        case BinaryOp::Minimum: op = Op::Min; break;
        default: return false;
      }
      xin = v->ops[1];
    } else {
      return false;
    }
    const LExpr* elem = xin;
    if (xvar >= 0) {
      if (!is_var(xin, xvar)) return false;
      elem = X;
    }
    if (depends(elem, run) || !index_.vectorizable(elem, s.var)) return false;
    if (flag && depends(elem, flag->var)) return false;
    if (st) {
      bool reads_out = false;
      std::unordered_set<const LExpr*> seen;
      for_each_expr(elem, seen, [&](const LExpr* e) { reads_out |= e->kind == LExprKind::Load && e->buf == st->buf; });
      if (reads_out) return false;
      const Buffer& ob = k_.buffers[size_t(st->buf)];
      if (!ob.contiguous || ob.rank == 0 || int(st->args.size()) != ob.rank) return false;
      for (size_t a = 0; a < st->args.size(); ++a) {
        int64_t c = 0;
        if (depends(st->args[a], run) || !affine(st->args[a], s.var, c) || c != (a + 1 == st->args.size() ? 1 : 0))
          return false;
      }
    }
    const VectorMath vm = vector_math(target_);
    const unsigned W = vm.lanes(t == DType::F32 || t == DType::I32);
    if (W < 2) return false;

    const bool fl = is_float(t);
    int64_t imax = t == DType::I32 ? INT32_MAX : INT64_MAX, imin = t == DType::I32 ? INT32_MIN : INT64_MIN;
    LValue* ident = op == Op::Max ? constant(t, -INFINITY, imin, W)
                  : op == Op::Min ? constant(t, INFINITY, imax, W)
                  : op == Op::Add ? constant(t, 0, 0, W) : constant(t, 1, 1, W);
    // combine(earlier, later): the later wins ties, as select(run > x, run, x).
    auto combine = [&](LValue* a, LValue* b) -> LValue* {
      switch (op) {
        case Op::Max: return B.CreateSelect(fl ? B.CreateFCmpOGT(a, b) : B.CreateICmpSGT(a, b), a, b);
        case Op::Min: return B.CreateSelect(fl ? B.CreateFCmpOLT(a, b) : B.CreateICmpSLT(a, b), a, b);
        case Op::Add: return B.CreateAdd(a, b);
        case Op::Mul: return B.CreateMul(a, b);
      }
      return nullptr;
    };
    LValue* lo = expr(s.lo);
    LValue* hi = expr(s.hi);
    LValue* count = B.CreateSelect(B.CreateICmpSGT(hi, lo), B.CreateSub(hi, lo), B.getInt64(0));
    LValue* full_end = B.CreateAdd(lo, B.CreateSub(count, B.CreateSRem(count, B.getInt64(W))));
    LType* vt = vec_type(t, W);
    LValue* carry = entry_alloca(vt, "carry");
    B.CreateStore(B.CreateVectorSplat(W, B.CreateLoad(reg_type(t), vars_[size_t(run)])), carry);
    LValue* chunk = entry_alloca(B.getInt64Ty(), "chunk");
    LType* ft = llvm::FixedVectorType::get(B.getInt1Ty(), W);
    LValue* nans = flag ? entry_alloca(ft, "nans") : nullptr;
    if (flag) B.CreateStore(llvm::Constant::getNullValue(ft), nans);
    counted_slot(chunk, lo, full_end, [&] {
      LValue* base = B.CreateLoad(B.getInt64Ty(), chunk);
      VecCtx vc{W, s.var, base, nullptr, nullptr, {}};
      LValue* x = vexpr(elem, vc);
      if (flag) B.CreateStore(B.CreateOr(B.CreateLoad(ft, nans), B.CreateFCmpUNO(x, x)), nans);
      for (unsigned d = 1; d < W; d *= 2) {
        std::vector<int> mask;
        for (unsigned l = 0; l < W; ++l) mask.push_back(l >= d ? int(l - d) : int(W + l));
        x = combine(B.CreateShuffleVector(x, ident, mask), x);
      }
      LValue* m = combine(B.CreateLoad(vt, carry), x);
      if (st) {
        B.CreateStore(base, vars_[size_t(s.var)]);
        std::vector<LValue*> idx;
        for (auto* a : st->args) idx.push_back(expr(a));
        auto* S = B.CreateAlignedStore(m, address(st->buf, idx), llvm::Align(dtype_size(t)));
        tag(S, st->buf);
      }
      B.CreateStore(B.CreateShuffleVector(m, m, std::vector<int>(W, int(W - 1))), carry);
    }, B.getInt64(W));
    B.CreateStore(B.CreateExtractElement(B.CreateLoad(vt, carry), uint64_t(0)), vars_[size_t(run)]);
    if (flag) {
      LValue* f = B.CreateLoad(B.getInt1Ty(), vars_[size_t(flag->var)]);
      B.CreateStore(B.CreateOr(f, B.CreateOrReduce(B.CreateLoad(ft, nans))), vars_[size_t(flag->var)]);
    }
    counted_slot(vars_[size_t(s.var)], full_end, hi, [&] { stmts(s.body); }, B.getInt64(1), false, loop_name(s));
    if (LoopCode* c = code_of(s)) c->scan_lanes = W;
    return true;
  }

  // --- reductions -------------------------------------------------------------------

  static bool ordered_float(const Accumulator& a) {
    return is_float(a.dtype) &&
           (a.kind == AccKind::Sum || a.kind == AccKind::Prod || a.kind == AccKind::Min || a.kind == AccKind::Max);
  }

  LValue* identity(const Accumulator& a, unsigned w) {
    switch (a.kind) {
      case AccKind::Sum: return constant(a.dtype, -0.0, 0, w);
      case AccKind::Prod: return constant(a.dtype, 1.0, 1, w);
      case AccKind::Min:
        if (is_float(a.dtype)) return constant(a.dtype, INFINITY, 0, w);
        return constant(a.dtype, 0, a.dtype == DType::Bool ? 1 : a.dtype == DType::I32 ? INT32_MAX : INT64_MAX, w);
      case AccKind::Max:
        if (is_float(a.dtype)) return constant(a.dtype, -INFINITY, 0, w);
        return constant(a.dtype, 0, a.dtype == DType::Bool ? 0 : a.dtype == DType::I32 ? INT32_MIN : INT64_MIN, w);
      case AccKind::Any: return constant(DType::Bool, 0, 0, w);
      case AccKind::All: return constant(DType::Bool, 0, 1, w);
      default: return nullptr;
    }
  }

  LValue* fold(const Accumulator& a, LValue* acc, LValue* v, unsigned w) {
    switch (a.kind) {
      case AccKind::Sum: return binary(BinaryOp::Add, a.dtype, acc, v, w);
      case AccKind::Prod: return binary(BinaryOp::Mul, a.dtype, acc, v, w);
      case AccKind::Min: return binary(BinaryOp::Minimum, a.dtype, acc, v, w);
      case AccKind::Max: return binary(BinaryOp::Maximum, a.dtype, acc, v, w);
      case AccKind::Any: return B.CreateOr(acc, v);
      case AccKind::All: return B.CreateAnd(acc, v);
      default: return nullptr;
    }
  }

  // Lanes combined as a tree: for w = lanes/2 .. 1, lane[l] op= lane[l + w].
  // `v` may hold only the first P lanes when the others are the identity:
  // the levels above P/2 would leave lanes 0..P-1 unchanged.
  LValue* tree(const Accumulator& a, LValue* v) {
    unsigned width = llvm::cast<llvm::FixedVectorType>(v->getType())->getNumElements();
    for (unsigned half = width / 2; half >= 1; half /= 2) {
      std::vector<int> lo, hi;
      for (unsigned l = 0; l < half; ++l) lo.push_back(int(l)), hi.push_back(int(l + half));
      v = fold(a, half == 1 ? B.CreateExtractElement(v, uint64_t(0)) : B.CreateShuffleVector(v, lo),
               half == 1 ? B.CreateExtractElement(v, uint64_t(1)) : B.CreateShuffleVector(v, hi), half);
    }
    return v;
  }

  // What the lanes, tree and partials of `a` hold: an f32 sum accumulates
  // in f64 (ir/reduce_order.h); everything else in its own dtype.
  static Accumulator lanes_of(const Accumulator& a) {
    Accumulator w = a;
    if (a.kind == AccKind::Sum) w.dtype = sum_accumulator(a.dtype);
    return w;
  }

  // A value (scalar or vector) of `a` entering its lanes: f32 -> f64 is exact.
  LValue* widen(const Accumulator& a, LValue* v) {
    DType w = lanes_of(a).dtype;
    if (w == a.dtype) return v;
    auto* vt = llvm::dyn_cast<llvm::FixedVectorType>(v->getType());
    return B.CreateFPExt(v, vec_type(w, vt ? unsigned(vt->getNumElements()) : 1));
  }

  // The combined lanes of `a` as its result: the one rounding to f32.
  LValue* narrow(const Accumulator& a, LValue* r) {
    return lanes_of(a).dtype == a.dtype ? r : B.CreateFPTrunc(r, reg_type(a.dtype));
  }

  int32_t combine_code(AccKind k) {
    return k == AccKind::Sum ? 0 : k == AccKind::Prod ? 1 : k == AccKind::Min ? 2 : 3;
  }

  void reduce_loop(const LStmt& s) {
    LValue* n = expr(s.hi);
    bool ordered = false;
    for (auto& a : s.accs) ordered |= ordered_float(a);
    if (!ordered) return simple_reduce(s, n);
    // Several accumulators (multi-output fusion, ir/passes/multi_output.h)
    // share the loop and its loads; each keeps its own lanes and order.
    // ir/passes/vector_reductions marked the loops written as vectors.
    for (auto& a : s.accs)
      if (!ordered_float(a)) internal_error("codegen", "ordered float and other accumulators in one reduction");
    if (s.vectorize && !s.body.empty()) internal_error("codegen", "a vector reduction with a body");
    if (LoopCode* c = code_of(s); c && s.vectorize) {
      c->reduce_lanes = unsigned(kReduceLanes);
      c->task = s.parallel && !in_task_ && s.extent != ExtentRange::Short;
    }
    if (s.vectorize) vector_reduce(s, n);
    else
      for (auto& a : s.accs) lane_reduce(s, a, n);
    for (auto& a : s.accs)
      if (a.kind == AccKind::Sum) {  // an empty float sum is +0.0, not the lanes' -0.0
        LValue* r = B.CreateLoad(reg_type(a.dtype), vars_[size_t(a.result_var)]);
        assign(a.result_var, B.CreateSelect(B.CreateICmpEQ(n, B.getInt64(0)), zero(a.dtype, 1), r));
      }
  }

  // Integer, bool and arg reductions: any order gives the same answer, so
  // one scalar accumulator; LLVM vectorizes the integer ones.
  void simple_reduce(const LStmt& s, LValue* n) {
    std::vector<llvm::AllocaInst*> best_value;
    for (auto& a : s.accs) {
      if (a.kind == AccKind::ArgMin || a.kind == AccKind::ArgMax) {
        assign(a.result_var, B.getInt64(0));
        best_value.push_back(B.CreateAlloca(reg_type(a.dtype)));
      } else {
        assign(a.result_var, identity(a, 1));
        best_value.push_back(nullptr);
      }
    }
    counted(s.var, B.getInt64(0), n, [&] {
      stmts(s.body);
      for (size_t i = 0; i < s.accs.size(); ++i) {
        const Accumulator& a = s.accs[i];
        LValue* v = expr(a.value);
        LValue* slot = vars_[size_t(a.result_var)];
        if (!best_value[i]) {
          assign(a.result_var, fold(a, B.CreateLoad(reg_type(a.dtype), slot), v, 1));
          continue;
        }
        // (value, index) pairs: ties keep the lowest index, the first NaN wins.
        LValue* k = B.CreateLoad(B.getInt64Ty(), vars_[size_t(s.var)]);
        LValue* bv = B.CreateLoad(reg_type(a.dtype), best_value[i]);
        bool mx = a.kind == AccKind::ArgMax;
        LValue* better;
        if (is_float(a.dtype)) {
          LValue* strictly = mx ? B.CreateFCmpOGT(v, bv) : B.CreateFCmpOLT(v, bv);
          better = B.CreateAnd(B.CreateNot(isnan(bv)), B.CreateOr(isnan(v), strictly));
        } else {
          bool u = a.dtype == DType::Bool;
          better = mx ? B.CreateICmp(u ? llvm::CmpInst::ICMP_UGT : llvm::CmpInst::ICMP_SGT, v, bv)
                      : B.CreateICmp(u ? llvm::CmpInst::ICMP_ULT : llvm::CmpInst::ICMP_SLT, v, bv);
        }
        better = B.CreateOr(better, B.CreateICmpEQ(k, B.getInt64(0)));
        B.CreateStore(B.CreateSelect(better, v, bv), best_value[i]);
        assign(a.result_var, B.CreateSelect(better, k, B.CreateLoad(B.getInt64Ty(), slot)));
      }
    }, false, loop_name(s));
  }

  // Partials of the blocks: a scratch array when there are several.
  LValue* partials(const Accumulator& a, LValue* nblocks, LValue* single) {
    LValue* bytes = B.CreateMul(nblocks, B.getInt64(uint64_t(dtype_size(lanes_of(a).dtype))));
    LValue* one = B.CreateICmpSLE(nblocks, B.getInt64(1));
    BasicBlock* heap = BasicBlock::Create(C, "partials.heap", F);
    BasicBlock* done = BasicBlock::Create(C, "partials", F);
    BasicBlock* from = B.GetInsertBlock();
    B.CreateCondBr(one, done, heap);
    B.SetInsertPoint(heap);
    LValue* p = B.CreateCall(helper("nj_alloc_temp", B.getPtrTy(), {B.getPtrTy(), B.getInt64Ty()}), {ctx_, bytes});
    guard(B.CreateIsNotNull(p), [] {});
    BasicBlock* heap_end = B.GetInsertBlock();
    B.CreateBr(done);
    B.SetInsertPoint(done);
    llvm::PHINode* phi = B.CreatePHI(B.getPtrTy(), 2);
    phi->addIncoming(single, from);
    phi->addIncoming(p, heap_end);
    return phi;
  }

  void finish_partials(const Accumulator& a, LValue* buf, LValue* nblocks) {
    // One block (the common case inside axis reductions) needs no combining.
    BasicBlock* many = BasicBlock::Create(C, "combine", F);
    BasicBlock* done = BasicBlock::Create(C, "combined", F);
    B.CreateCondBr(B.CreateICmpSGT(nblocks, B.getInt64(1)), many, done);
    B.SetInsertPoint(many);
    B.CreateCall(helper("nj_combine_partials", B.getVoidTy(), {B.getPtrTy(), B.getInt64Ty(), B.getInt32Ty(), B.getInt32Ty()}),
                 {buf, nblocks, B.getInt32(int32_t(lanes_of(a).dtype)), B.getInt32(combine_code(a.kind))});
    B.CreateBr(done);
    B.SetInsertPoint(done);
    assign(a.result_var, narrow(a, B.CreateLoad(reg_type(lanes_of(a).dtype), buf)));
  }

  LValue* entry_alloca(LType* t, const char* name) {
    IRBuilder<> eb(&F->getEntryBlock(), F->getEntryBlock().begin());
    return eb.CreateAlloca(t, nullptr, name);
  }

  // The same order one element at a time: lane k % 32 of block k / 4096.
  void lane_reduce(const LStmt& s, const Accumulator& a, LValue* n) {
    const Accumulator w = lanes_of(a);
    LType* t = reg_type(w.dtype);
    auto* lanes_ty = llvm::ArrayType::get(t, uint64_t(kReduceLanes));
    LValue* lanes = entry_alloca(lanes_ty, "lanes");
    LValue* single = entry_alloca(t, "partial");
    LValue* nblocks = B.CreateSDiv(B.CreateAdd(n, B.getInt64(kReduceBlock - 1)), B.getInt64(kReduceBlock));
    LValue* parts = partials(a, nblocks, single);
    auto reset = [&] {
      for (int64_t l = 0; l < kReduceLanes; ++l)
        B.CreateStore(identity(w, 1), B.CreateConstInBoundsGEP2_64(lanes_ty, lanes, 0, uint64_t(l)));
    };
    B.CreateStore(identity(w, 1), single);
    reset();
    counted(s.var, B.getInt64(0), n, [&] {
      stmts(s.body);
      LValue* k = B.CreateLoad(B.getInt64Ty(), vars_[size_t(s.var)]);
      LValue* v = widen(a, expr(a.value));
      LValue* slot = B.CreateInBoundsGEP(lanes_ty, lanes, {B.getInt64(0), B.CreateAnd(k, B.getInt64(kReduceLanes - 1))});
      B.CreateStore(fold(w, B.CreateLoad(t, slot), v, 1), slot);
      LValue* next = B.CreateAdd(k, B.getInt64(1));
      LValue* end_of_block = B.CreateOr(B.CreateICmpEQ(B.CreateSRem(next, B.getInt64(kReduceBlock)), B.getInt64(0)),
                                       B.CreateICmpEQ(next, n));
      BasicBlock* flush = BasicBlock::Create(C, "flush", F);
      BasicBlock* cont = BasicBlock::Create(C, "lane.next", F);
      B.CreateCondBr(end_of_block, flush, cont);
      B.SetInsertPoint(flush);
      LValue* vec = llvm::PoisonValue::get(llvm::FixedVectorType::get(t, unsigned(kReduceLanes)));
      for (int64_t l = 0; l < kReduceLanes; ++l)
        vec = B.CreateInsertElement(vec, B.CreateLoad(t, B.CreateConstInBoundsGEP2_64(lanes_ty, lanes, 0, uint64_t(l))), uint64_t(l));
      LValue* block = B.CreateSDiv(k, B.getInt64(kReduceBlock));
      B.CreateStore(tree(w, vec), B.CreateInBoundsGEP(t, parts, block));
      reset();
      B.CreateBr(cont);
      B.SetInsertPoint(cont);
    }, false, loop_name(s));
    finish_partials(a, parts, nblocks);
  }

  // --- explicit 32-lane vector reductions ----------------------------------------------

  // Whether `e` is affine in loop variable `var`: e = base + coef * var with
  // base independent of var. Only + - * by constants are followed.
  // Index analysis (ir/loop_analysis.h), memoised for this kernel.
  bool affine(const LExpr* e, int var, int64_t& coef) { return index_.affine(e, var, coef); }
  bool depends(const LExpr* e, int var) { return index_.depends(e, var); }

  // Evaluates `e` for the 32 elements base .. base + 31 of the reduction
  // (lanes at or past `limit` masked off when `mask` is set).
  struct VecCtx {
    unsigned w;    // lanes evaluated at once
    int var;
    LValue* base;   // i64: the element of lane 0
    LValue* mask;   // <32 x i1> or null (all lanes live)
    LValue* last;   // i64: the last live element (for clamped gathers)
    std::map<const LExpr*, LValue*> memo;
  };

  LValue* vexpr(const LExpr* e, VecCtx& vc) {
    const unsigned W = vc.w;
    auto it = vc.memo.find(e);
    if (it != vc.memo.end()) return it->second;
    LValue* r;
    if (!depends(e, vc.var)) {
      r = B.CreateVectorSplat(W, expr(e));
    } else if (e->kind == LExprKind::Var) {
      LValue* lane = llvm::ConstantVector::get([&] {
        std::vector<llvm::Constant*> c;
        for (unsigned l = 0; l < W; ++l) c.push_back(B.getInt64(l));
        return c;
      }());
      r = B.CreateAdd(B.CreateVectorSplat(W, vc.base), lane);
    } else if (e->kind == LExprKind::Load) {
      r = vload(e, vc);
    } else {
      std::vector<LValue*> ops;
      for (auto* o : e->ops) ops.push_back(vexpr(o, vc));
      r = compute(e, ops, W);
    }
    vc.memo[e] = r;
    return r;
  }

  LValue* vload(const LExpr* e, VecCtx& vc) {
    const unsigned W = vc.w;
    int b = e->buf;
    const Buffer& buf = k_.buffers[size_t(b)];
    std::vector<int64_t> coefs;
    for (auto* o : e->ops) {
      int64_t c = 0;
      affine(o, vc.var, c);
      coefs.push_back(c);
    }
    bool unit = buf.contiguous && buf.rank > 0 && coefs.back() == 1;
    for (size_t a = 0; a + 1 < coefs.size(); ++a) unit &= coefs[a] == 0;
    DType t = buf.dtype;
    LType* vt = llvm::FixedVectorType::get(mem_type(t), W);
    LValue* loaded;
    if (unit) {
      // Lane l reads the element at index(base) + l: one (masked) vector load.
      std::vector<LValue*> idx;
      LValue* k_slot = vars_[size_t(vc.var)];
      B.CreateStore(vc.base, k_slot);
      for (auto* o : e->ops) idx.push_back(expr(o));
      LValue* p = address(b, idx);
      llvm::Instruction* I;
      if (vc.mask)
        I = B.CreateMaskedLoad(vt, p, llvm::Align(dtype_size(t)), vc.mask, llvm::Constant::getNullValue(vt));
      else
        I = B.CreateAlignedLoad(vt, p, llvm::Align(dtype_size(t)));
      tag(I, b);
      loaded = I;
    } else {
      // A gather, one lane at a time; masked-off lanes read the last live element.
      loaded = llvm::PoisonValue::get(vt);
      LValue* k_slot = vars_[size_t(vc.var)];
      for (unsigned l = 0; l < W; ++l) {
        LValue* k = B.CreateAdd(vc.base, B.getInt64(l));
        if (vc.mask) k = B.CreateSelect(B.CreateICmpSLE(k, vc.last), k, vc.last);
        B.CreateStore(k, k_slot);
        std::vector<LValue*> idx;
        for (auto* o : e->ops) idx.push_back(expr(o));
        auto* L = B.CreateLoad(mem_type(t), address(b, idx));
        tag(L, b);
        loaded = B.CreateInsertElement(loaded, L, l);
      }
    }
    if (t == DType::Bool) return B.CreateICmpNE(loaded, llvm::Constant::getNullValue(vt));
    return loaded;
  }

  // The short path for n <= 32 lanes, the long one for more; only one of
  // them where the loop IR knows which (LStmt::extent).
  void vector_reduce(const LStmt& s, LValue* n) {
    auto short_path = [&] {
      for (auto& a : s.accs) {
        BasicBlock* next = BasicBlock::Create(C, "vshort.done", F);
        short_vector_reduce(s, a, n, next);
        B.SetInsertPoint(next);
      }
    };
    if (s.extent == ExtentRange::Short) return short_path();
    if (s.extent == ExtentRange::Long) return long_vector_reduce(s, n);
    BasicBlock* short_bb = BasicBlock::Create(C, "vshort", F);
    BasicBlock* long_bb = BasicBlock::Create(C, "vlong", F);
    BasicBlock* join = BasicBlock::Create(C, "vreduced", F);
    B.CreateCondBr(B.CreateICmpSLE(n, B.getInt64(kReduceLanes)), short_bb, long_bb);
    B.SetInsertPoint(short_bb);
    short_path();
    B.CreateBr(join);
    B.SetInsertPoint(long_bb);
    long_vector_reduce(s, n);
    B.CreateBr(join);
    B.SetInsertPoint(join);
  }

  // Short reductions (n <= 32, e.g. the rows of K10): every lane holds at
  // most one element, so lane l is value(l) or the identity. A row of
  // exactly P = 4, 8, 16 or 32 elements is one P-lane vector and a tree
  // over P lanes (the levels above P/2 would leave lanes 0..P-1 as they
  // are); any other n folds into identity lanes group by group (tail).
  // Branches to `done` with a's result assigned.
  void short_vector_reduce(const LStmt& s, const Accumulator& a, LValue* n, BasicBlock* done) {
    const Accumulator w = lanes_of(a);
    const unsigned G = a.dtype == DType::F32 ? 8 : 4;
    for (unsigned P = G; P <= unsigned(kReduceLanes); P *= 2) {
      BasicBlock* exact = BasicBlock::Create(C, "vshort.exact", F);
      BasicBlock* next = BasicBlock::Create(C, "vshort.next", F);
      B.CreateCondBr(B.CreateICmpEQ(n, B.getInt64(P)), exact, next);
      B.SetInsertPoint(exact);
      VecCtx vc{P, s.var, B.getInt64(0), nullptr, nullptr, {}};
      assign(a.result_var, narrow(a, tree(w, widen(a, vexpr(a.value, vc)))));
      B.CreateBr(done);
      B.SetInsertPoint(next);
    }
    LType* vt = vec_type(w.dtype, unsigned(kReduceLanes));
    LValue* lanes = entry_alloca(vt, "lanes");
    B.CreateStore(identity(w, unsigned(kReduceLanes)), lanes);
    tail(s, a, B.getInt64(0), n, lanes);
    assign(a.result_var, narrow(a, tree(w, B.CreateLoad(vt, lanes))));
    B.CreateBr(done);
  }

  void long_vector_reduce(const LStmt& s, LValue* n) {
    const unsigned W = unsigned(kReduceLanes);
    const size_t A = s.accs.size();
    LValue* nblocks = B.CreateSDiv(B.CreateAdd(n, B.getInt64(kReduceBlock - 1)), B.getInt64(kReduceBlock));
    std::vector<LValue*> extras = {n};
    for (auto& a : s.accs) {
      LValue* single = entry_alloca(reg_type(lanes_of(a).dtype), "partial");
      B.CreateStore(identity(lanes_of(a), 1), single);
      extras.push_back(partials(a, nblocks, single));
    }

    // for block in [0, nblocks), in parallel: each block writes its partials.
    auto blocks = [&](LValue* b0, LValue* b1, const std::vector<LValue*>& x) {
    LValue* n = x[0];
    std::vector<LValue*> acc_slots;
    for (auto& a : s.accs) acc_slots.push_back(entry_alloca(vec_type(lanes_of(a).dtype, W), "lanes"));
    LValue* blk = entry_alloca(B.getInt64Ty(), "block");
    LValue* chunk = entry_alloca(B.getInt64Ty(), "chunk");
    counted_slot(blk, b0, b1, [&] {
      LValue* b = B.CreateLoad(B.getInt64Ty(), blk);
      LValue* begin = B.CreateMul(b, B.getInt64(kReduceBlock));
      LValue* end = B.CreateSelect(B.CreateICmpSLT(B.CreateAdd(begin, B.getInt64(kReduceBlock)), n),
                                  B.CreateAdd(begin, B.getInt64(kReduceBlock)), n);
      LValue* full_end = B.CreateSub(end, B.CreateSRem(B.CreateSub(end, begin), B.getInt64(W)));
      for (size_t i = 0; i < A; ++i) B.CreateStore(identity(lanes_of(s.accs[i]), W), acc_slots[i]);
      //   for chunk in [begin, full_end) step 32: lanes op= value(chunk .. chunk + 31)
      counted_slot(chunk, begin, full_end, [&] {
        VecCtx vc{W, s.var, B.CreateLoad(B.getInt64Ty(), chunk), nullptr, nullptr, {}};  // loads shared by all
        for (size_t i = 0; i < A; ++i) {
          const Accumulator& a = s.accs[i];
          LValue* v = widen(a, vexpr(a.value, vc));
          LType* vt = vec_type(lanes_of(a).dtype, W);
          B.CreateStore(fold(lanes_of(a), B.CreateLoad(vt, acc_slots[i]), v, W), acc_slots[i]);
        }
      }, B.getInt64(W));
      for (size_t i = 0; i < A; ++i) {
        const Accumulator& a = s.accs[i];
        LType* vt = vec_type(lanes_of(a).dtype, W);
        // The tail indexes its lanes, so it works on a copy in memory and
        // the chunk loop's lanes stay in registers.
        LValue* lanes = entry_alloca(vt, "tail");
        B.CreateStore(B.CreateLoad(vt, acc_slots[i]), lanes);
        tail(s, a, full_end, end, lanes);
        B.CreateStore(tree(lanes_of(a), B.CreateLoad(vt, lanes)),
                      B.CreateInBoundsGEP(reg_type(lanes_of(a).dtype), x[1 + i], b));
      }
    }, B.getInt64(1));
    };
    if (in_task_) blocks(B.getInt64(0), nblocks, extras);
    else parallel_region(s, nblocks, extras, blocks);
    for (size_t i = 0; i < A; ++i) finish_partials(s.accs[i], extras[1 + i], nblocks);
  }


  // Folds elements [begin, end) (at most 32) into lanes 0.. of `lanes` (a
  // <32 x T> in memory), G lanes (a host vector's worth) at a time: a loop
  // over the live groups, so short tails skip the dead ones and the value
  // is emitted once. Lanes at or past `end` keep their value.
  void tail(const LStmt& s, const Accumulator& a, LValue* begin, LValue* end, LValue* lanes) {
    const Accumulator w = lanes_of(a);
    const unsigned G = a.dtype == DType::F32 ? 8 : 4;
    LType* t = reg_type(w.dtype);
    LType* gt = vec_type(w.dtype, G);
    LValue* rem = B.CreateSub(end, begin);
    LValue* groups = B.CreateSDiv(B.CreateAdd(rem, B.getInt64(G - 1)), B.getInt64(G));
    LValue* g_slot = entry_alloca(B.getInt64Ty(), "group");
    counted_slot(g_slot, B.getInt64(0), groups, [&] {
      LValue* first = B.CreateMul(B.CreateLoad(B.getInt64Ty(), g_slot), B.getInt64(G));
      std::vector<llvm::Constant*> lane_ids;
      for (unsigned l = 0; l < G; ++l) lane_ids.push_back(B.getInt64(l));
      LValue* live = B.CreateICmpSLT(llvm::ConstantVector::get(lane_ids), B.CreateVectorSplat(G, B.CreateSub(rem, first)));
      VecCtx vc{G, s.var, B.CreateAdd(begin, first), live, B.CreateSub(end, B.getInt64(1)), {}};
      LValue* v = widen(a, vexpr(a.value, vc));
      LValue* at = B.CreateInBoundsGEP(t, lanes, first);
      auto align = llvm::Align(dtype_size(w.dtype));
      LValue* part = B.CreateAlignedLoad(gt, at, align);
      B.CreateAlignedStore(B.CreateSelect(live, fold(w, part, v, G), part), at, align);
    }, B.getInt64(1));
  }

  llvm::LLVMContext& C;
  llvm::Module& M;
  IRBuilder<llvm::ConstantFolder, llvm::IRBuilderCallbackInserter> B;
  const Kernel& k_;
  const TargetInfo& target_;
  llvm::Function* F = nullptr;
  LValue* args_ = nullptr;
  LValue* ctx_ = nullptr;
  std::vector<llvm::AllocaInst*> vars_;
  std::vector<BufferSlots> bufs_;
  std::vector<llvm::MDNode*> scopes_;
  // The access group of the innermost loop marked `vectorize` being
  // emitted: its loads and stores carry it (llvm.access.group).
  llvm::MDNode* access_group_ = nullptr;
  bool in_task_ = false;  // emitting a parallel task: nested loops stay serial
  std::vector<std::pair<BasicBlock*, BasicBlock*>> loops_;  // (continue, break) targets
  std::unordered_map<const LExpr*, LValue*> expr_memo_;  // see expr()
  BasicBlock* memo_block_ = nullptr;
  std::vector<bool> temp_;     // see find_temps()
  std::vector<LValue*> ssa_;   // a temp's value, once assigned
  IndexAnalysis index_;
  std::unordered_map<const LStmt*, int> loop_id_;  // kernel_loops() numbers
  std::vector<LoopCode>* report_ = nullptr;
};

}  // namespace

std::unique_ptr<llvm::Module> emit_module(llvm::LLVMContext& ctx, const Kernel& k, const std::string& symbol,
                                          const TargetInfo& target, std::vector<LoopCode>* report) {
  auto m = std::make_unique<llvm::Module>(symbol, ctx);
  Emitter(ctx, *m, k, target, report).run(symbol);
  return m;
}

}  // namespace numjit
