// Error-path tests: each tests/errors/*.nj script is run by the numjit CLI
// (as a user would run it) and its diagnostic is checked against the
// annotations in the script:
//
//   # expect-error: LINE:COL: message substring
//       exit status non-zero (and not a crash), stderr has
//       "<file>:LINE:COL: error: ...message substring...", then the source
//       line, then a caret line with '^' under column COL.
//   # expect-stderr: text          stderr also contains text (outside the
//                                  echoed source line)
//   # expect-output: text          a script that must succeed: exit 0, stdout
//                                  is exactly these lines, in order
//   # known-bug: what              a bug we know of: failed checks become a
//                                  MESSAGE (a crash still fails)
//   # known-bug-no-location: what  only the position and caret checks are soft
//
// Scripts run in a scratch directory holding the .npy fixtures they load
// (written by this file, byte by byte, so the tests need no NumPy).
// The CLI's own errors (unknown --emit stage, missing file) come at the end.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

const fs::path kErrorsDir = fs::path(NUMJIT_SOURCE_DIR) / "tests" / "errors";

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

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string rtrim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
  return s;
}

/** A scratch directory, removed with its contents. */
struct TempDir {
  fs::path dir;
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    dir = fs::temp_directory_path() / fmt::format("numjit_{}_{}_{}", tag, getpid(), counter++);
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

/** A version 1.0 .npy of little-endian doubles with a 64-byte-aligned header. */
std::string npy_f64(const std::vector<double>& values) {
  std::string header = fmt::format("{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}", values.size());
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  out += header;
  for (double v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);  // x86: little-endian
  return out;
}

/** The fixtures the error scripts load, by file name. */
void write_fixtures(const fs::path& dir) {
  write_text(dir / "f64_5.npy", npy_f64({0, 1, 2, 3, 4}));
  write_text(dir / "f64_6.npy", npy_f64({0, 1, 2, 3, 4, 5}));
  write_text(dir / "not_npy.npy", "p,q\n1.0,2.0\n");
  std::string five = npy_f64({0, 1, 2, 3, 4});
  write_text(dir / "truncated_data.npy", five.substr(0, five.size() - 4 * 8));  // the header, one of five doubles
  write_text(dir / "truncated_header.npy", five.substr(0, 30));
}

/** What a CLI run left behind. */
struct Run {
  int status = -1;  // exit status; 128 + N when killed by signal N
  std::string out, err;
  bool crashed() const { return status < 0 || status >= 128; }
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? "'\\''"s : std::string(1, c);
  return q + "'";
}

/** Runs `numjit ARGS` in `cwd` with `stdin_text` on standard input. */
Run run_cli(const std::string& args, const fs::path& cwd, const std::string& stdin_text = "") {
  TempDir io("cli_io");
  write_text(io.dir / "in", stdin_text);
  std::string cmd = fmt::format("cd {} && {} {} <{} >{} 2>{}; echo $? >{}", quote(cwd.string()), quote(NUMJIT_CLI),
                                args, quote((io.dir / "in").string()), quote((io.dir / "out").string()),
                                quote((io.dir / "err").string()), quote((io.dir / "rc").string()));
  Run r;
  if (std::system(cmd.c_str()) != 0) return r;
  r.out = read_text(io.dir / "out");
  r.err = read_text(io.dir / "err");
  std::string rc = read_text(io.dir / "rc");
  if (!rc.empty()) r.status = std::atoi(rc.c_str());
  return r;
}

/** The annotations of one error script. */
struct Expectations {
  std::optional<int> line, col;
  std::string message;
  std::vector<std::string> stderr_has, output;
  std::string known_bug, known_bug_no_location;
};

Expectations parse_annotations(const std::string& text) {
  static const std::regex error_re(R"(#\s*expect-error:\s*(\d+):(\d+):\s*(.*)$)");
  static const std::regex stderr_re(R"(#\s*expect-stderr:\s*(.*)$)");
  static const std::regex output_re(R"(#\s*expect-output:\s?(.*)$)");
  static const std::regex bug_re(R"(#\s*known-bug:\s*(.*)$)");
  static const std::regex bug_loc_re(R"(#\s*known-bug-no-location:\s*(.*)$)");
  Expectations e;
  for (const std::string& raw : lines_of(text)) {
    std::string line = rtrim(raw);
    std::smatch m;
    if (std::regex_search(line, m, error_re)) {
      REQUIRE_MESSAGE(!e.line, "one expect-error per file");
      e.line = std::stoi(m[1].str());
      e.col = std::stoi(m[2].str());
      e.message = m[3].str();
    } else if (std::regex_search(line, m, stderr_re)) {
      e.stderr_has.push_back(m[1].str());
    } else if (std::regex_search(line, m, output_re)) {
      e.output.push_back(m[1].str());
    } else if (std::regex_search(line, m, bug_loc_re)) {
      e.known_bug_no_location = m[1].str();
    } else if (std::regex_search(line, m, bug_re)) {
      e.known_bug = m[1].str();
    }
  }
  return e;
}

/** Checks of one script, split into those about the position and the rest, so
 *  that a known bug can soften either. Empty: all passed. */
struct Findings {
  std::vector<std::string> message, location;
};

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (auto& i : items) s += "\n  - " + i;
  return s;
}

/** stderr without the lines that echo the script's source: a same-line
 *  annotation holds the very text being looked for. */
std::string without_echoes(const std::string& err, const std::vector<std::string>& src_lines) {
  std::string out;
  for (const std::string& raw : lines_of(err)) {
    std::string line = rtrim(raw);
    bool echo = std::any_of(src_lines.begin(), src_lines.end(), [&](const std::string& s) {
      std::string t = rtrim(s);
      return !t.empty() && line.size() >= t.size() && line.compare(line.size() - t.size(), t.size(), t) == 0;
    });
    if (!echo) out += line + "\n";
  }
  return out;
}

Findings check_error_run(const fs::path& script, const Expectations& e, const Run& r) {
  Findings f;
  const std::string path = script.string();
  auto src_lines = lines_of(read_text(script));
  const std::string diagnostics = without_echoes(r.err, src_lines);
  if (r.status == 0) f.message.push_back("exit status 0; expected a failure");
  if (!contains(diagnostics, e.message)) f.message.push_back(fmt::format("stderr lacks the message '{}'", e.message));
  for (auto& s : e.stderr_has)
    if (!contains(diagnostics, s)) f.message.push_back(fmt::format("stderr lacks '{}'", s));

  // "<file>:LINE:COL: error: <message>", the source line, a caret under COL.
  std::string head = fmt::format("{}:{}:{}: error: ", path, *e.line, *e.col);
  auto lines = lines_of(r.err);
  auto at = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(head, 0) == 0; });
  if (at == lines.end()) {
    f.location.push_back(fmt::format("stderr has no line starting '{}'", head));
    return f;
  }
  if (!contains(*at, e.message)) f.message.push_back("the message is not on the 'error:' line");
  std::string src = size_t(*e.line) <= src_lines.size() ? rtrim(src_lines[size_t(*e.line) - 1]) : "";
  size_t k = size_t(at - lines.begin());
  if (k + 2 >= lines.size()) {
    f.location.push_back("no source line and caret line after the 'error:' line");
    return f;
  }
  const std::string echo = rtrim(lines[k + 1]), caret = rtrim(lines[k + 2]);
  if (echo.size() < src.size() || echo.compare(echo.size() - src.size(), src.size(), src) != 0) {
    f.location.push_back(fmt::format("the line after 'error:' is '{}', not source line {} '{}'", echo, *e.line, src));
    return f;
  }
  static const std::regex caret_re(R"(^\s*\^~*$)");
  if (!std::regex_match(caret, caret_re)) {
    f.location.push_back(fmt::format("no caret line under the source line (found '{}')", caret));
    return f;
  }
  size_t indent = echo.size() - src.size();
  size_t caret_col = caret.find('^') - indent + 1;
  if (caret_col != size_t(*e.col)) f.location.push_back(fmt::format("the caret is under column {}, not {}", caret_col, *e.col));
  return f;
}

Findings check_success_run(const Expectations& e, const Run& r) {
  Findings f;
  if (r.status != 0) {
    f.message.push_back(fmt::format("exit status {}; expected 0. stderr:\n{}", r.status, r.err));
    return f;
  }
  auto got = lines_of(r.out);
  if (got != e.output) {
    std::string want;
    for (auto& l : e.output) want += l + "\n";
    f.message.push_back(fmt::format("stdout differs.\nexpected:\n{}got:\n{}", want, r.out));
  }
  if (!r.err.empty()) f.message.push_back(fmt::format("unexpected stderr: {}", r.err));
  return f;
}

std::vector<fs::path> error_scripts() {
  std::vector<fs::path> scripts;
  for (auto& entry : fs::directory_iterator(kErrorsDir))
    if (entry.is_regular_file() && entry.path().extension() == ".nj") scripts.push_back(entry.path());
  std::sort(scripts.begin(), scripts.end());
  return scripts;
}

}  // namespace

TEST_SUITE("errors") {

TEST_CASE("each error script fails with its annotated diagnostic") {
  REQUIRE(fs::is_directory(kErrorsDir));
  TempDir work("errors");
  write_fixtures(work.dir);
  auto scripts = error_scripts();
  REQUIRE(scripts.size() >= 40);
  int known = 0;
  for (const fs::path& script : scripts) {
    const std::string name = script.filename().string();
    INFO("script: tests/errors/", name);
    Expectations e = parse_annotations(read_text(script));
    REQUIRE_MESSAGE((e.line.has_value() || !e.output.empty()), "no expect-error or expect-output annotation");
    Run r = run_cli(quote(script.string()), work.dir);
    if (r.crashed()) {
      FAIL_CHECK("the CLI crashed or did not run (status " << r.status << "); stderr:\n" << r.err);
      continue;
    }
    Findings f = e.line ? check_error_run(script, e, r) : check_success_run(e, r);

    std::vector<std::string> hard = f.message, soft;
    if (e.known_bug_no_location.empty()) hard.insert(hard.end(), f.location.begin(), f.location.end());
    else soft = f.location;
    if (!e.known_bug.empty()) {
      soft.insert(soft.end(), hard.begin(), hard.end());
      hard.clear();
    }
    const std::string bug = e.known_bug.empty() ? e.known_bug_no_location : e.known_bug;
    if (!soft.empty()) {
      ++known;
      MESSAGE("known bug (", name, "): ", bug, joined(soft));
    } else if (!bug.empty()) {
      MESSAGE(name, " passes now: remove its known-bug annotation (", bug, ")");
    }
    if (!hard.empty()) FAIL_CHECK(name << ":" << joined(hard) << "\nstderr was:\n" << r.err);
  }
  MESSAGE(scripts.size(), " error scripts, ", known, " with a known bug");
}

TEST_CASE("the same error script gives the same diagnostic every run") {
  // The two shapes of a runtime broadcast error once came in node-address
  // order, alternating between "(5,) (6,)" and "(6,) (5,)" from run to run.
  TempDir work("errors_det");
  write_fixtures(work.dir);
  std::vector<std::string> seen;
  for (int i = 0; i < 6; ++i) {
    Run r = run_cli(quote((kErrorsDir / "shape_runtime_mismatch_reduce.nj").string()), work.dir);
    REQUIRE(!r.crashed());
    if (std::find(seen.begin(), seen.end(), r.err) == seen.end()) seen.push_back(r.err);
  }
  CHECK_MESSAGE(seen.size() == 1, "different diagnostics from run to run:\n" << seen[0] << seen.back());
}

// --- the command line itself ------------------------------------------------------

TEST_CASE("an unknown --emit stage names the valid stages") {
  TempDir work("cli");
  Run r = run_cli("--emit=bogus -e 1", work.dir);
  REQUIRE(!r.crashed());
  CHECK(r.status != 0);
  CHECK(contains(r.err, "unknown stage 'bogus'"));
  CHECK(contains(r.err, "tokens, ast, typed, array, fused, loops, llvm, llvm-opt, asm"));
  CHECK(r.out.empty());
}

TEST_CASE("a missing script file is an error naming the file") {
  TempDir work("cli");
  std::string missing = (work.dir / "no_such_script.nj").string();
  Run r = run_cli(quote(missing), work.dir);
  REQUIRE(!r.crashed());
  CHECK(r.status != 0);
  CHECK(contains(r.err, missing));
  CHECK(contains(r.err, "No such file or directory"));
}

TEST_CASE("a script that succeeds exits 0, from a file, -e and standard input") {
  TempDir work("cli");
  write_text(work.dir / "ok.nj", "p = arange(4)\nprint(sum(p * 2))\n");
  Run file = run_cli("ok.nj", work.dir);
  CHECK(file.status == 0);
  CHECK(file.out == "12\n");
  CHECK(file.err.empty());

  Run expr = run_cli("-e " + quote("p = arange(4)\nsum(p * 2)"), work.dir);
  CHECK(expr.status == 0);
  CHECK(expr.out == "12\n");

  Run piped = run_cli("", work.dir, "p = arange(4)\nprint(sum(p * 2))\n");
  CHECK(piped.status == 0);
  CHECK(piped.out == "12\n");

  Run dash = run_cli("-", work.dir, "print(1 + 2)\n");
  CHECK(dash.status == 0);
  CHECK(dash.out == "3\n");
}

TEST_CASE("diagnostics name <string> for -e and <stdin> for piped scripts") {
  TempDir work("cli");
  Run expr = run_cli("-e " + quote("x = 1 +"), work.dir);
  CHECK(expr.status == 1);
  CHECK(contains(expr.err, "<string>:1:8: error: expected an expression"));

  Run piped = run_cli("", work.dir, "p = zeros(3)\nprint(1 +\n");
  CHECK(piped.status == 1);
  CHECK(contains(piped.err, "<stdin>:2:"));
  CHECK(contains(piped.err, ": error: expected"));
}

TEST_CASE("output printed before an error is kept, and the error still fails the run") {
  TempDir work("cli");
  write_text(work.dir / "half.nj", "print(1)\nx = zeros(3) + zeros(4)\nprint(2)\n");
  Run r = run_cli("half.nj", work.dir);
  CHECK(r.status == 1);
  CHECK(r.out == "1\n");
  CHECK(contains(r.err, "half.nj:2:5: error: operands could not be broadcast"));
}

TEST_CASE("a file and -e together are refused") {
  TempDir work("cli");
  write_text(work.dir / "ok.nj", "print(1)\n");
  Run r = run_cli("ok.nj -e " + quote("print(2)"), work.dir);
  REQUIRE(!r.crashed());
  CHECK(r.status != 0);
  CHECK(contains(r.err, "not both"));
  CHECK(r.out.empty());
}

}  // TEST_SUITE("errors")
