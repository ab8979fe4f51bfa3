// libFuzzer target: generated well-typed programs -> the full pipeline
// (parse, sema, fusion, loop IR, LLVM, ORC) -> run, compared with the
// reference interpreter (numjit::reference_eval).
//
// The generator, the inputs and the comparison are the differential suite's
// (tests/unit/test_differential.cpp), compiled here with doctest disabled so
// that there is one generator to maintain: each fuzz input is hashed to the
// seed of one program and its input arrays. A difference prints the seed
// (NUMJIT_DIFF_ONLY=SEED reruns it in the suite) and aborts.
#define DOCTEST_CONFIG_DISABLE
#include "tests/unit/test_differential.cpp"

namespace {

uint64_t seed_of(const uint8_t* data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 0x100000001b3ULL;
  return h;
}

Options options(int opt_level) {
  Options o;
  o.opt_level = opt_level;
  o.threads = 2;
  o.disk_cache = false;  // a million different kernels must not land in ~/.cache
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Each compiled kernel stays in its Jit's caches; start afresh now and then
  // so that memory stays bounded over a long run.
  static std::unique_ptr<Jit> jit2, jit0;
  static int uses = 0;
  if (!jit2 || ++uses % 500 == 0) {
    jit2 = std::make_unique<Jit>(options(2));
    jit0 = std::make_unique<Jit>(options(0));
  }
  uint64_t seed = seed_of(data, size);
  Env env = make_env(seed);
  Rng r(seed);
  Generator g(env, r, Avoid{});
  NodeP p = g.program();
  Jit& jit = seed % 3 == 2 ? *jit0 : *jit2;  // every third program at -O0, as in the suite
  std::string detail;
  std::string diff = differ(jit, *p, env.args, &detail);
  if (!diff.empty()) {
    std::fprintf(stderr, "JIT (-O%d) and interpreter differ\n  seed: %llu (rerun with NUMJIT_DIFF_ONLY=%llu)\n"
                 "  inputs: %s\n  program: %s\n  %s\n%s\n", jit.options().opt_level, (unsigned long long)seed,
                 (unsigned long long)seed, env.describe().c_str(), p->text().c_str(), diff.c_str(), detail.c_str());
    std::abort();
  }
  return 0;
}
