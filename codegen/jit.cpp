// The ORC LLJIT wrapper (see jit.h): one LLJIT for the host CPU, the new
// pass manager at O0-O3 with libmvec registered for the loop vectorizer,
// runtime helpers defined as absolute symbols, one ResourceTracker per
// kernel. Every llvm::Error becomes numjit::Error here.
#include "codegen/jit.h"

#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/DiagnosticHandler.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/InstIterator.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/IntrinsicsX86.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/SubtargetFeature.h>
#include <llvm/TargetParser/Host.h>

#include <fmt/format.h>

#include <llvm/Config/llvm-config.h>
#include <llvm/Support/MemoryBuffer.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>

#include "codegen/llvm_codegen.h"
#include "ir/builtins.h"
#include "codegen/object_cache.h"
#include "codegen_id.h"  // generated: NUMJIT_CODEGEN_ID
#include "support/diagnostics.h"

namespace numjit {

namespace {

std::string to_string(llvm::Error e) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << e;
  return os.str();
}

template <class T>
T unwrap(llvm::Expected<T> v, const char* what) {
  if (!v) throw Error(fmt::format("JIT error while {}: {}", what, to_string(v.takeError())));
  return std::move(*v);
}

void check(llvm::Error e, const char* what) {
  if (e) throw Error(fmt::format("JIT error while {}: {}", what, to_string(std::move(e))));
}

/** Opt level 2, the default: the function passes the IR of numjit's
 *  codegen needs, without LLVM's O3 extras (inlining and the other
 *  interprocedural passes, GVN, unrolling, SLP), which take time and do
 *  nothing for these kernels. In order: simplify the CFG while the
 *  variables are still allocas (branches in loops of `def` kernels stay
 *  branches, which the vectorizer if-converts; speculated into selects
 *  first, a conditional count is a select chain it cannot), promote the
 *  allocas, clean up, hoist invariants out of rotated loops, unswitch
 *  (`unswitch`: a loop per side of a condition the loop does not change,
 *  such as a def kernel's `if mode == 0:`), canonicalise induction
 *  variables, vectorize the loops left to LLVM (libmvec registered),
 *  forward stores to the next iteration's loads (a recurrence such as K6's
 *  out[i - 1] stays in a register), clean up. Measured (bench/RESULTS.md):
 *  the workload kernels run as fast as at O3, and their cold compile takes
 *  about half the time. */
std::string pipeline(bool unswitch) {
  const char* ic = "instcombine<max-iterations=1;no-verify-fixpoint>";
  return fmt::format(
      "function(simplifycfg,sroa<modify-cfg>,early-cse<memssa>,{0},{2}simplifycfg,loop-mssa(licm,loop-rotate,licm{1}),"
      "{0},loop(indvars,loop-deletion),inject-tli-mappings,loop-vectorize,loop-load-elim,{0},simplifycfg,"
      "loop-mssa(licm),simplifycfg),globaldce",
      ic, unswitch ? ",simple-loop-unswitch<nontrivial;trivial>" : "", unswitch ? "constraint-elimination," : "");
}

/** Whether an `if` of the kernel sits inside one of its loops: only then
 *  can unswitching pay for the code it duplicates (numjit's own loops
 *  branch on invariants too, but once per row or block, where a copy of
 *  the loop would only cost compile time). */
bool branch_in_loop(const std::vector<LStmt>& body) {
  bool found = false;
  walk_stmts(body, [&](const LStmt& s, int loops) { return !(found = found || (s.kind == LStmtKind::If && loops > 0)); });
  return found;
}

// libm functions whose libmvec variants (vector_math(): AVX-512, AVX2 or
// SSE2, as the host runs) the loop vectorizer may call. LLVM 19's own
// LIBMVEC_X86 table lists only the SSE2 and AVX2 variants of sin, cos, tan,
// exp, log and pow.
void add_libmvec(llvm::TargetLibraryInfoImpl& tlii, VectorMath vm) {
  static const char* binary[] = {"atan2", "hypot", "pow"};
  static std::mutex mu;
  static std::deque<std::string> names;  // VecDesc keeps StringRefs
  static std::map<char, std::vector<llvm::VecDesc>> tables;
  std::lock_guard<std::mutex> lock(mu);
  auto& d = tables[vm.isa];
  if (d.empty()) {
    auto keep = [](std::string s) -> const std::string& { return names.emplace_back(std::move(s)); };
    auto add = [&](const char* fn, bool two) {
      std::string v = two ? "vv" : "v";
      for (bool f32 : {false, true}) {
        unsigned n = vm.lanes(f32);
        const std::string& scalar = keep(std::string(fn) + (f32 ? "f" : ""));
        const std::string& vec = keep(fmt::format("_ZGV{}N{}{}_{}", vm.isa, n, v, scalar));
        const std::string& abi = keep(fmt::format("_ZGV_LLVM_N{}{}", n, v));
        d.emplace_back(scalar, vec, llvm::ElementCount::getFixed(n), false, abi);
      }
    };
    for (const Builtin& f : builtins())  // every libm row of ir/builtins.def
      if (f.libm) add(f.libm, false);
    for (auto* f : binary) add(f, true);
  }
  tlii.addVectorizableFunctions(d);
}

/** Collects the loop vectorizer's optimisation remarks (what
 *  `-pass-remarks=loop-vectorize -pass-remarks-missed=loop-vectorize
 *  -pass-remarks-analysis=loop-vectorize` would print) as text lines; other
 *  passes' remarks are dropped, other diagnostics go to LLVM's default. */
struct VectorizeRemarks : llvm::DiagnosticHandler {
  std::string lines;
  std::vector<LoopReport>* loops = nullptr;  // by the L<i>. names of the loops' blocks (llvm_codegen.h)

  static bool wanted(llvm::StringRef pass) { return pass == "loop-vectorize"; }
  bool isAnalysisRemarkEnabled(llvm::StringRef pass) const override { return wanted(pass); }
  bool isMissedOptRemarkEnabled(llvm::StringRef pass) const override { return wanted(pass); }
  bool isPassedOptRemarkEnabled(llvm::StringRef pass) const override { return wanted(pass); }
  using llvm::DiagnosticHandler::isAnyRemarkEnabled;
  bool isAnyRemarkEnabled() const override { return true; }

  bool handleDiagnostics(const llvm::DiagnosticInfo& di) override {
    auto* r = llvm::dyn_cast<llvm::DiagnosticInfoIROptimization>(&di);
    if (!r) return false;
    if (!wanted(r->getPassName())) return true;
    const char* kind = r->isPassed() ? "passed" : r->isMissed() ? "missed" : "analysis";
    std::string where;
    if (auto* bb = llvm::dyn_cast_or_null<llvm::BasicBlock>(r->getCodeRegion()); bb && bb->hasName())
      where = fmt::format(" [loop '{}']", bb->getName().str());
    std::string msg = r->getMsg();
    for (char& c : msg)
      if (c == '\n') c = ' ';
    lines += fmt::format("{}: {} {}{}: {}\n", r->getFunction().getName().str(), r->getPassName().str(), kind, where, msg);
    if (auto* bb = llvm::dyn_cast_or_null<llvm::BasicBlock>(r->getCodeRegion()); bb && loops) {
      llvm::StringRef name = bb->getName();
      size_t id = 0;
      if (name.consume_front("L") && !name.consumeInteger(10, id) && name.starts_with(".") && id < loops->size())
        note((*loops)[id], *r, msg);
    }
    return true;
  }

  static void note(LoopReport& loop, const llvm::DiagnosticInfoIROptimization& r, const std::string& msg) {
    if (r.isPassed()) {
      for (const auto& arg : r.getArgs()) {
        int v = 0;
        if (llvm::StringRef(arg.Val).getAsInteger(10, v)) continue;
        if (arg.Key == "VectorizationFactor") loop.llvm_width = std::max(loop.llvm_width, v);
        if (arg.Key == "InterleaveCount") loop.llvm_interleave = std::max(loop.llvm_interleave, v);
      }
      return;
    }
    std::string why = msg.rfind("loop not vectorized: ", 0) == 0 ? msg.substr(21) : msg;
    if (why != "loop not vectorized" &&
        std::find(loop.llvm_reasons.begin(), loop.llvm_reasons.end(), why) == loop.llvm_reasons.end())
      loop.llvm_reasons.push_back(why);
  }
};

/** The object files of one kernel as one string (the disk cache's entry):
 *  per object, its size as a little-endian u64 and its bytes. */
std::string pack(const std::vector<std::string>& objects) {
  std::string out;
  for (const std::string& o : objects) {
    uint64_t n = o.size();
    out.append(reinterpret_cast<const char*>(&n), 8);
    out += o;
  }
  return out;
}

/** The objects of a pack() string; nullopt if it is not one. */
std::optional<std::vector<std::string_view>> unpack(const std::string& code) {
  std::vector<std::string_view> objects;
  for (size_t at = 0; at < code.size();) {
    uint64_t n;
    if (code.size() - at < 8) return std::nullopt;
    std::memcpy(&n, code.data() + at, 8);
    at += 8;
    if (n == 0 || code.size() - at < n) return std::nullopt;
    objects.emplace_back(code.data() + at, n);
    at += n;
  }
  if (objects.empty()) return std::nullopt;
  return objects;
}

}  // namespace

struct CompiledKernel::Impl {
  llvm::orc::ResourceTrackerSP tracker;
  std::mutex* mu = nullptr;
};

CompiledKernel::~CompiledKernel() {
  if (impl_ && impl_->tracker) {
    std::lock_guard<std::mutex> lock(*impl_->mu);
    llvm::consumeError(impl_->tracker->remove());
  }
}

struct JitEngine::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::unique_ptr<llvm::TargetMachine> tm, tm2;  // tm2: compile_objects' helper thread
  TargetInfo target;
  ObjectCache cache;
  Stats stats;
  std::map<std::string, std::weak_ptr<CompiledKernel>> live;  // loaded kernels by symbol

  explicit Impl(std::string cache_dir) : cache(std::move(cache_dir)) {}

  std::unique_ptr<llvm::Module> build(llvm::LLVMContext& ctx, const Kernel& k, const std::string& symbol,
                                      const CodegenOptions& opts, std::vector<LoopCode>* report = nullptr) {
    TargetInfo t = target;
    t.fastmath = opts.fastmath;
    auto m = emit_module(ctx, k, symbol, t, report);
    m->setDataLayout(tm->createDataLayout());
    m->setTargetTriple(tm->getTargetTriple().str());
    return m;
  }

  /** Runs the IR optimiser at `level` (CodegenOptions::opt_level) with
   *  `tm`'s cost model: nothing at 0, LLVM's O1 or O3 pipeline at 1 or 3,
   *  pipeline(unswitch) at 2; then truncate_like_x86. */
  void optimize(llvm::Module& m, int level, llvm::TargetMachine& tm, bool unswitch) {
    run_pipeline(m, level, tm, unswitch);
    truncate_like_x86(m);
  }

  void run_pipeline(llvm::Module& m, int level, llvm::TargetMachine& tm, bool unswitch) {
    if (level <= 0) return;
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions pto;
    pto.LoopVectorization = true;
    pto.SLPVectorization = true;
    llvm::PassBuilder pb(&tm, pto);
    // The TLI must be registered before the default analyses (LLVM19-NOTES.md).
    llvm::TargetLibraryInfoImpl tlii(tm.getTargetTriple());
    add_libmvec(tlii, vector_math(target));
    fam.registerPass([&] { return llvm::TargetLibraryAnalysis(tlii); });
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    if (level == 2) {
      llvm::ModulePassManager mpm;
      check(pb.parsePassPipeline(mpm, pipeline(unswitch)), "building the pass pipeline");
      mpm.run(m, mam);
      return;
    }
    llvm::OptimizationLevel ol = level == 1 ? llvm::OptimizationLevel::O1 : llvm::OptimizationLevel::O3;
    pb.buildPerModuleDefaultPipeline(ol).run(m, mam);
  }

  /** Scalar float -> int conversions, which codegen emits as
   *  select(|d| < 2^63, fptosi d, INT_MIN) (fptosi is poison out of range),
   *  become x86's cvttsd2si, which gives INT_MIN there itself: one
   *  instruction instead of four. Vector conversions (the vectorizer needs
   *  the generic form) stay as they are. Histogram binning `int(x[i] * 64)`
   *  per 10^6 elements: 0.67 -> 0.50 ms (Numba 0.43, which also unrolls). */
  static void truncate_like_x86(llvm::Module& m) {
    std::vector<llvm::SelectInst*> found;
    for (llvm::Function& f : m)
      for (llvm::Instruction& i : llvm::instructions(f)) {
        auto* sel = llvm::dyn_cast<llvm::SelectInst>(&i);
        if (!sel || !sel->getType()->isIntegerTy()) continue;
        unsigned bits = sel->getType()->getIntegerBitWidth();
        auto* conv = llvm::dyn_cast<llvm::FPToSIInst>(sel->getTrueValue());
        auto* imin = llvm::dyn_cast<llvm::ConstantInt>(sel->getFalseValue());
        auto* cmp = llvm::dyn_cast<llvm::FCmpInst>(sel->getCondition());
        if ((bits != 32 && bits != 64) || !conv || !conv->getOperand(0)->getType()->isDoubleTy() || !imin ||
            !imin->getValue().isMinSignedValue() || !cmp || cmp->getPredicate() != llvm::FCmpInst::FCMP_OLT)
          continue;
        auto* fabs = llvm::dyn_cast<llvm::IntrinsicInst>(cmp->getOperand(0));
        auto* limit = llvm::dyn_cast<llvm::ConstantFP>(cmp->getOperand(1));
        if (fabs && fabs->getIntrinsicID() == llvm::Intrinsic::fabs && fabs->getOperand(0) == conv->getOperand(0) &&
            limit && limit->getValueAPF().convertToDouble() == std::ldexp(1.0, int(bits) - 1))
          found.push_back(sel);
      }
    for (llvm::SelectInst* sel : found) {
      llvm::IRBuilder<> b(sel);
      llvm::Value* d = llvm::cast<llvm::FPToSIInst>(sel->getTrueValue())->getOperand(0);
      llvm::Value* v = b.CreateInsertElement(llvm::PoisonValue::get(llvm::FixedVectorType::get(d->getType(), 2)), d, uint64_t(0));
      auto id = sel->getType()->getIntegerBitWidth() == 64 ? llvm::Intrinsic::x86_sse2_cvttsd2si64 : llvm::Intrinsic::x86_sse2_cvttsd2si;
      sel->replaceAllUsesWith(b.CreateIntrinsic(id, {}, {v}));
      sel->eraseFromParent();
    }
  }

  /** A basic block longer than this (a loop body of thousands of
   *  statements) is compiled by the fast instruction selector and register
   *  allocator: the machine scheduler and the greedy allocator take time
   *  quadratic in a block's length (3000 element writes in one loop took
   *  60 s and 1.9 GB), the fast ones linear. */
  static constexpr size_t kHugeBlock = 4000;

  /** Machine code of `m` as an ELF object, generated with `tm`. */
  static std::string object_file(llvm::Module& m, llvm::TargetMachine& tm) {
    size_t longest = 0;
    for (const llvm::Function& f : m)
      for (const llvm::BasicBlock& bb : f) longest = std::max(longest, bb.size());
    llvm::CodeGenOptLevel level = tm.getOptLevel();
    if (longest > kHugeBlock) tm.setOptLevel(llvm::CodeGenOptLevel::None);
    llvm::SmallVector<char, 0> buf;
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
      tm.setOptLevel(level);
      throw Error("JIT error: the target cannot emit object files");
    }
    pm.run(m);
    tm.setOptLevel(level);
    return std::string(buf.data(), buf.size());
  }

  /** The object files of `k`. A module of several functions (a kernel and
   *  its parallel tasks) is compiled as two parts on two threads, because
   *  code generation is most of a cold compile: this thread and a helper
   *  each emit and optimise the whole module in a context of their own
   *  (the optimiser runs function by function, so both get the same IR),
   *  split it the same way and generate code for their own part. What a
   *  part does not keep becomes an external declaration; the JIT links the
   *  two objects by name (the kernel's symbol prefixes every function name,
   *  and the JIT's large code model reaches any address). */
  std::vector<std::string> compile_objects(const Kernel& k, const std::string& symbol, const CodegenOptions& opts) {
    auto part = [&](llvm::LLVMContext& ctx, std::unique_ptr<llvm::Module> m, llvm::TargetMachine& tm, int which) {
      if (!m) m = build(ctx, k, symbol, opts);
      optimize(*m, opts.opt_level, tm, branch_in_loop(k.body));
      if (which >= 0) keep(*m, split(*m), which);
      return object_file(*m, tm);
    };
    llvm::LLVMContext ctx;
    auto m = build(ctx, k, symbol, opts);
    size_t functions = 0;
    for (const llvm::Function& f : *m) functions += !f.isDeclaration();
    if (functions < 2) return {part(ctx, std::move(m), *tm, -1)};
    std::future<std::string> other = std::async(std::launch::async, [&] {
      llvm::LLVMContext ctx2;
      return part(ctx2, nullptr, *tm2, 1);
    });
    std::string mine = part(ctx, std::move(m), *tm, 0);
    return {std::move(mine), other.get()};
  }

  /** Which of two parts each function with a body goes to (in module
   *  order), balanced by instruction count (code generation takes time in
   *  proportion). Deterministic: both threads compute it from the same
   *  optimised module. */
  static std::vector<int> split(const llvm::Module& m) {
    std::vector<std::pair<size_t, size_t>> sizes;  // (instructions, index)
    size_t index = 0;
    for (const llvm::Function& f : m)
      if (!f.isDeclaration()) sizes.emplace_back(f.getInstructionCount(), index++);
    std::stable_sort(sizes.begin(), sizes.end(), [](auto& a, auto& b) { return a.first > b.first; });
    std::vector<int> part(sizes.size());
    size_t load[2] = {0, 0};
    for (auto [n, i] : sizes) {
      int p = load[1] < load[0];
      part[i] = p;
      load[p] += n;
    }
    return part;
  }

  /** Keeps the functions of part `which` and declares the others. */
  static void keep(llvm::Module& m, const std::vector<int>& part, int which) {
    size_t index = 0;
    for (llvm::Function& f : m) {
      if (f.isDeclaration()) continue;
      if (part[index++] != which) f.deleteBody();
      f.setLinkage(llvm::GlobalValue::ExternalLinkage);
      f.setDSOLocal(false);
    }
  }
};

JitEngine::JitEngine(const std::string& cache_dir) : impl_(std::make_unique<Impl>(cache_dir)) {
  static std::once_flag init;
  std::call_once(init, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    // The loop vectorizer may vectorize a loop around an in-order float
    // reduction (`s += v` of a kernel's `for` loop, which keeps Python's
    // order): the per-element work runs in vectors and the additions stay
    // one by one, in order, so the bits are unchanged. LLVM enables this by
    // default only for AArch64; it is a process-wide LLVM option (a host
    // that runs its own LLVM passes in the same process sees it too).
    // nanmean's `if not isnan(v): s += v; n += 1` on AVX-512 Zen 5: 0.83 ->
    // 0.59 ms.
    // (The vectorizer reads the option only when it occurred, as if given
    // on a command line: addOccurrence, not setValue.)
    auto& opts = llvm::cl::getRegisteredOptions();
    if (auto it = opts.find("force-ordered-reductions"); it != opts.end() && it->second->getNumOccurrences() == 0)
      it->second->addOccurrence(0, "force-ordered-reductions", "true");
  });
  auto jtmb = unwrap(llvm::orc::JITTargetMachineBuilder::detectHost(), "detecting the host CPU");
  std::string cpu = llvm::sys::getHostCPUName().str();
  std::string features;
  for (auto& f : llvm::sys::getHostCPUFeatures()) features += (features.empty() ? "" : ",") + std::string(f.second ? "+" : "-") + f.first().str();
  // NUMJIT_CPU=x86-64 (or haswell, skylake-avx512, ...) generates code for
  // that CPU's features instead of the host's: for an older host, or to test
  // the code paths of one (the cache key has the CPU name and features).
  if (const char* forced = std::getenv("NUMJIT_CPU"); forced && *forced) {
    cpu = forced;
    features.clear();
    jtmb.getFeatures() = llvm::SubtargetFeatures();
  }
  jtmb.setCPU(cpu);
  jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Default);
  impl_->target.cpu = cpu;
  impl_->target.features = features;
  impl_->tm = unwrap(jtmb.createTargetMachine(), "creating the target machine");
  const llvm::MCSubtargetInfo* sti = impl_->tm->getMCSubtargetInfo();
  impl_->target.avx2 = sti->checkFeatures("+avx2");
  impl_->target.avx512 = sti->checkFeatures("+avx512f");
  impl_->tm2 = unwrap(jtmb.createTargetMachine(), "creating the target machine");
  impl_->jit = unwrap(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(jtmb)).create(),
                      "creating the JIT");
  auto& jd = impl_->jit->getMainJITDylib();
  char prefix = impl_->jit->getDataLayout().getGlobalPrefix();
  // Runtime helpers by explicit address; libm and libmvec from the process.
  llvm::orc::SymbolMap helpers;
  auto def = [&](const char* name, auto* fn) {
    helpers[impl_->jit->mangleAndIntern(name)] = {llvm::orc::ExecutorAddr::fromPtr(reinterpret_cast<void*>(fn)),
                                                   llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
  };
  def("nj_alloc_result", &nj_alloc_result);
  def("nj_alloc_temp", &nj_alloc_temp);
  def("nj_fail", &nj_fail);
  def("nj_fail_index", &nj_fail_index);
  def("nj_fail_shapes", &nj_fail_shapes);
  def("nj_fail_key", &nj_fail_key);
  def("nj_combine_partials", &nj_combine_partials);
  def("nj_parallel_for", &nj_parallel_for);
  def("nj_threads", &nj_threads);
  def("nj_ipow_i64", &nj_ipow_i64);
  def("nj_ipow_i32", &nj_ipow_i32);
  def("nj_random_uniform", &nj_random_uniform);
  def("nj_random_normal", &nj_random_normal);
  check(jd.define(llvm::orc::absoluteSymbols(std::move(helpers))), "defining runtime helpers");
  jd.addGenerator(unwrap(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix), "searching the process"));
  auto mvec = llvm::orc::DynamicLibrarySearchGenerator::Load("libmvec.so.1", prefix);
  if (mvec) jd.addGenerator(std::move(*mvec));
  else llvm::consumeError(mvec.takeError());  // vector calls then fail to link, with a clear error
  auto libm = llvm::orc::DynamicLibrarySearchGenerator::Load("libm.so.6", prefix);
  if (libm) jd.addGenerator(std::move(*libm));
  else llvm::consumeError(libm.takeError());
}

JitEngine::~JitEngine() = default;

std::string JitEngine::host_cpu() const { return impl_->target.cpu + ";" + impl_->target.features; }

std::shared_ptr<CompiledKernel> JitEngine::compile(const Kernel& k, const CodegenOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  // The key is everything the machine code depends on; the loop IR text is
  // the whole input of codegen. Its hash names the kernel's symbol, so an
  // object from the disk cache links whatever process wrote it.
  std::string key = fmt::format("numjit {} {} | LLVM {} | {} | O{} fastmath={}\n{}", NUMJIT_VERSION, NUMJIT_CODEGEN_ID,
                                LLVM_VERSION_STRING, host_cpu(), opts.opt_level, opts.fastmath, print_kernel(k));
  std::string symbol = "nj_k_" + ObjectCache::hash(key);
  auto live = impl_->live.find(symbol);
  if (live != impl_->live.end())
    if (auto existing = live->second.lock()) return existing;
  auto& jd = impl_->jit->getMainJITDylib();
  auto adopt = [&](llvm::orc::ResourceTrackerSP tracker, llvm::orc::ExecutorAddr addr) {
    auto out = std::make_shared<CompiledKernel>();
    out->impl_ = std::make_unique<CompiledKernel::Impl>();
    out->impl_->tracker = std::move(tracker);
    out->impl_->mu = &mu_;
    out->fn = addr.toPtr<nj_kernel_fn>();
    impl_->live[symbol] = out;
    return out;
  };
  // Links the objects of `code` (see pack) under a tracker of their own.
  auto link = [&](const std::string& code) -> std::shared_ptr<CompiledKernel> {
    auto tracker = jd.createResourceTracker();
    llvm::Error err = llvm::Error::success();
    std::optional<std::vector<std::string_view>> objects = unpack(code);
    if (!objects) err = llvm::make_error<llvm::StringError>("malformed code", llvm::inconvertibleErrorCode());
    for (size_t i = 0; objects && !err && i < objects->size(); ++i)
      err = impl_->jit->addObjectFile(tracker, llvm::MemoryBuffer::getMemBufferCopy((*objects)[i], symbol));
    auto addr = err ? llvm::Expected<llvm::orc::ExecutorAddr>(std::move(err)) : impl_->jit->lookup(symbol);
    if (addr) return adopt(tracker, *addr);
    llvm::consumeError(tracker->remove());
    throw Error(fmt::format("JIT error while linking a kernel: {}", to_string(addr.takeError())));
  };
  if (std::optional<std::string> cached = impl_->cache.load(key)) {
    // A file can pass the cache's checks and still not link (written by a
    // broken build, or by hand): it is dropped and the kernel compiled.
    try {
      auto out = link(*cached);
      ++impl_->stats.disk_hits;
      return out;
    } catch (const Error&) {
    }
  }
  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> objects = impl_->compile_objects(k, symbol, opts);
  if (std::getenv("NUMJIT_DEBUG"))
    fmt::print(stderr, "compiled {} in {:.2f} ms, {} object(s)\n", symbol,
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(), objects.size());
  std::string code = pack(objects);
  ++impl_->stats.compiles;
  impl_->stats.two_part += objects.size() == 2;
  impl_->cache.store(key, code);
  return link(code);
}

JitEngine::Stats JitEngine::stats() const { return impl_->stats; }

std::vector<LoopReport> JitEngine::explain(const Kernel& k, const CodegenOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  llvm::LLVMContext ctx;
  std::vector<LoopReport> loops(kernel_loops(k).size());
  auto handler = std::make_unique<VectorizeRemarks>();
  handler->loops = &loops;
  ctx.setDiagnosticHandler(std::move(handler), /*RespectFilters=*/false);
  std::vector<LoopCode> code;
  auto m = impl_->build(ctx, k, k.name.empty() ? "kernel" : k.name, opts, &code);
  for (size_t i = 0; i < loops.size(); ++i) loops[i].code = code[i];
  impl_->optimize(*m, opts.opt_level, *impl_->tm, branch_in_loop(k.body));
  return loops;
}

std::string JitEngine::text(const Kernel& k, const CodegenOptions& opts, CodegenText what) {
  std::lock_guard<std::mutex> lock(mu_);
  llvm::LLVMContext ctx;
  VectorizeRemarks* remarks = nullptr;
  if (what == CodegenText::Remarks) {
    auto handler = std::make_unique<VectorizeRemarks>();
    remarks = handler.get();
    ctx.setDiagnosticHandler(std::move(handler), /*RespectFilters=*/false);
  }
  auto m = impl_->build(ctx, k, k.name.empty() ? "kernel" : k.name, opts);
  if (what != CodegenText::Llvm) impl_->optimize(*m, opts.opt_level, *impl_->tm, branch_in_loop(k.body));
  if (remarks) return remarks->lines;
  std::string out;
  llvm::raw_string_ostream os(out);
  if (what != CodegenText::Asm) {
    m->print(os, nullptr);
    return os.str();
  }
  llvm::SmallString<4096> buf;
  llvm::raw_svector_ostream asm_os(buf);
  llvm::legacy::PassManager pm;
  if (impl_->tm->addPassesToEmitFile(pm, asm_os, nullptr, llvm::CodeGenFileType::AssemblyFile))
    throw Error("JIT error: the target cannot emit assembly");
  pm.run(*m);
  return std::string(buf.str());
}

}  // namespace numjit
