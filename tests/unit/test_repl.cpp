// The REPL, driven through the real binary (NUMJIT_CLI): once through a pipe
// with --repl (the exact output of a session), once through a pseudo-terminal
// the way a person types (prompts, echo, line editing, completion, history,
// Ctrl-C, Ctrl-D), checking what the screen shows.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;

/** A fresh directory, removed afterwards; the REPL's $HOME, so that its
 *  history file never touches the real one. */
struct TempHome {
  fs::path dir;
  TempHome() {
    static int n = 0;
    dir = fs::temp_directory_path() / fmt::format("numjit_repl_{}_{}", getpid(), n++);
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempHome() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

int exit_status(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  return 128 + (WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
}

/** `numjit --repl` with `input` on standard input (a file, not a terminal);
 *  standard output and error are read together, in the order written. */
struct PipedSession {
  int status = -1;
  std::string out;
};

PipedSession run_piped(const std::string& input) {
  TempHome home;
  fs::path in_path = home.dir / "input";
  std::ofstream(in_path, std::ios::binary) << input;
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    dup2(in, 0);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    setenv("HOME", home.dir.c_str(), 1);
    execl(NUMJIT_CLI, "numjit", "--repl", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  PipedSession s;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  char buf[4096];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 1000) > 0) {
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      s.out.append(buf, size_t(n));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      FAIL_CHECK("the piped REPL session did not finish in 120 s; output so far:\n" << s.out);
      break;
    }
  }
  close(fds[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  s.status = exit_status(wstatus);
  return s;
}

bool has(const std::string& out, const std::string& text) { return out.find(text) != std::string::npos; }

/** The REPL on a pseudo-terminal: keys go in one at a time, as typed, and
 *  what comes out is drawn on a small screen model (an unbounded list of
 *  rows; the cursor moves and erasures libedit uses) that tests read. */
class Terminal {
 public:
  explicit Terminal(const fs::path& home) {
    winsize ws{};
    ws.ws_row = 40;
    ws.ws_col = 200;
    pid_ = forkpty(&fd_, nullptr, nullptr, &ws);
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      setenv("HOME", home.c_str(), 1);
      setenv("TERM", "xterm", 1);
      execl(NUMJIT_CLI, "numjit", static_cast<char*>(nullptr));  // no arguments: a terminal starts the REPL
      _exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }

  /** Types `keys` a character at a time (Enter is "\r"), after a pause as
   *  a person makes (libedit sets up the terminal after the prompt shows). */
  void type(const std::string& keys) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    while (std::chrono::steady_clock::now() < until) pump(10);
    for (char c : keys) {
      REQUIRE(write(fd_, &c, 1) == 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      pump(0);
    }
  }

  /** Waits until the screen shows `text` after what earlier expects
   *  matched, then moves past it. */
  bool expect(const std::string& text, int timeout_s = 60) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    for (;;) {
      std::string now = screen();
      size_t at = now.find(text, mark_);
      if (at != std::string::npos) {
        mark_ = at + text.size();
        return true;
      }
      if (std::chrono::steady_clock::now() > deadline || !pump(100)) return false;
    }
  }

  /** Waits for the REPL to exit; its exit status, or -1 on a timeout. */
  int wait_exit(int timeout_s = 30) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      pump(50);
      int wstatus = 0;
      if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
        pid_ = -1;
        while (pump(50)) {
        }
        return exit_status(wstatus);
      }
    }
    return -1;
  }

  /** The rows of the screen, joined by newlines. */
  std::string screen() const {
    std::string s;
    for (size_t r = 0; r < rows_.size(); ++r) s += (r ? "\n" : "") + rows_[r];
    return s;
  }

 private:
  /** Reads what is there within `ms`; false once the terminal is closed. */
  bool pump(int ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return !(p.revents & (POLLHUP | POLLERR));
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) return false;  // EIO: the child has gone
    for (ssize_t i = 0; i < n; ++i) render(buf[i]);
    return true;
  }

  std::string& row() {
    while (rows_.size() <= row_) rows_.emplace_back();
    return rows_[row_];
  }

  void render(char c) {
    if (esc_ == 1) {  // ESC [ starts a control sequence; other escapes are two bytes
      esc_ = c == '[' ? 2 : 0;
      params_.clear();
      return;
    }
    if (esc_ == 2) {
      if (c < 0x40 || c > 0x7e) {
        params_ += c;
        return;
      }
      esc_ = 0;
      control(c, params_.empty() || !isdigit(static_cast<unsigned char>(params_[0])) ? -1 : std::atoi(params_.c_str()));
      return;
    }
    switch (c) {
      case '\x1b': esc_ = 1; return;
      case '\r': col_ = 0; return;
      case '\n': ++row_; row(); return;
      case '\b': if (col_ > 0) --col_; return;
      case '\a': return;
      case '\t': col_ = (col_ / 8 + 1) * 8; return;
      default: {
        std::string& r = row();
        if (r.size() < col_) r.resize(col_, ' ');
        if (r.size() == col_) r += c;
        else r[col_] = c;
        ++col_;
      }
    }
  }

  /** A control sequence ESC [ n <final> (n < 0: none given). */
  void control(char final, int n) {
    size_t k = n < 1 ? 1 : size_t(n);
    std::string& r = row();
    switch (final) {
      case 'G': col_ = k - 1; break;
      case 'C': col_ += k; break;
      case 'D': col_ = col_ > k ? col_ - k : 0; break;
      case 'A': row_ = row_ > k ? row_ - k : 0; break;
      case 'B': row_ += k; row(); break;
      case 'K':  // erase in line: to the end, from the start, or all
        if (n <= 0) { if (r.size() > col_) r.resize(col_); }
        else if (n == 1) r.replace(0, std::min(r.size(), col_ + 1), std::min(r.size(), col_ + 1), ' ');
        else r.clear();
        break;
      case 'J':  // erase below
        if (n <= 0) { if (r.size() > col_) r.resize(col_); rows_.resize(row_ + 1); }
        break;
      case '@': if (col_ < r.size()) r.insert(col_, k, ' '); break;
      case 'P': if (col_ < r.size()) r.erase(col_, k); break;
      default: break;  // colours and modes
    }
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  int esc_ = 0;
  std::string params_;
  std::vector<std::string> rows_;
  size_t row_ = 0, col_ = 0;
  size_t mark_ = 0;
};

}  // namespace

TEST_SUITE("repl") {

TEST_CASE("a piped session: values, a bracket and a def block over several lines, an error, commands") {
  auto s = run_piped(
      "p = arange(6) * 1.5\n"
      "p[1:4]\n"
      "total = sum(p)\n"
      "q = (p[1:] +\n"
      "     p[:-1])\n"
      "q\n"
      "def twice(a):\n"
      "    return a * 2\n"
      "\n"
      "y = sumx(p)\n"
      "total + 1\n"
      ":type q\n"
      ":type total\n"
      ":time sum(p * 2)\n"
      ":vars\n"
      ":quit\n"
      "print(999)\n");
  INFO("session output:\n" << s.out);
  CHECK(s.status == 0);
  // Prompts have no newline after them: each output line follows one.
  // Every line of input gets a prompt; assignments print nothing.
  CHECK(s.out.rfind("numjit: :help lists the commands, :quit or Ctrl-D leaves.\n>>> >>> [1.5 3.  4.5]\n", 0) == 0);
  // The bracket continued on a '... ' line; the def block on two more.
  CHECK(has(s.out, "\n>>> >>> ... >>> [ 1.5  4.5  7.5 10.5 13.5]\n"));
  CHECK(has(s.out,
            "\n>>> ... ... >>> <stdin>:1:5: error: unknown function 'sumx'; did you mean 'sum'?\n"
            "    y = sumx(p)\n"
            "        ^~~~\n"
            // The session kept its variables after the error.
            ">>> 23.5\n"
            ">>> f64[:]  shape (5,)\n"
            ">>> f64\n"
            ">>> median "));
  CHECK(has(s.out, "\ninputs p 48 B + result 8 B = 56 B moved -> "));
  CHECK(has(s.out, " GB/s (each array counted once, whole)\n"));  // then a note if that fits in the cache
  CHECK(has(s.out, "\n>>> p      f64[6]        48 B\n"
                   "q      f64[5]        40 B\n"
                   "total  f64           22.5\n"  // no y: the failed assignment bound nothing
                   ">>> "));                       // :quit; print(999) never ran
  CHECK(s.out.substr(s.out.size() - 9) == "22.5\n>>> ");
}

TEST_CASE("the inspection commands, :threads, :reset and mistakes") {
  auto s = run_piped(
      "p = arange(8) * 0.5\n"
      ":ir p * 2 + 1\n"
      ":loops p * 2 + 1\n"
      ":llvm p * 2\n"
      ":asm p * 2\n"
      ":explain (p[1:] - p[:-1]) / p[:-1]\n"
      ":explain sum(p)\n"
      ":threads 1\n"
      ":threads\n"
      "sum(p)\n"
      ":type\n"
      ":tpye p\n"
      ":help\n"
      ":reset\n"
      ":vars\n"
      "p\n");  // then end of input, no :quit
  INFO("session output:\n" << s.out);
  CHECK(s.status == 0);
  CHECK(has(s.out, ">>> >>> -- array IR (before fusion)\n%0 = Input p #0 : f64\n"));
  CHECK(has(s.out, " = Binary.Mul "));
  CHECK(has(s.out, "\n-- after fusion (each group is one loop nest)\n%0 = loop over f64[:]: Add(Mul(p, 2), 1)\n"));
  CHECK(has(s.out, ">>> kernel kernel(p: f64[:]) -> (out0)\n"));
  CHECK(has(s.out, "\ndefine "));  // LLVM IR
  CHECK(has(s.out, "ret"));       // machine code
  CHECK(has(s.out, ">>> fusion: 1 group (one loop nest each"));
  CHECK(has(s.out, "\nloop IR:\n  kernel kernel(p: f64[:]) -> (out0)\n"));
  CHECK(std::regex_search(s.out, std::regex(R"(\n  for i\d+ in \[0, [^\n]*\) parallel vectorized  ->  (parallel \(thread pool\)|serial), vectorized by LLVM, width \d+, interleave count \d+\n)")));
  CHECK(has(s.out, "\nmemory per element: reads p 8 B; writes out0 8 B = 16 B per element\n"
                   "  for 8 elements (the largest input, p): 128 B; at "));
  CHECK(has(s.out, "\nmemory per element: reads p 8 B; writes nothing = 8 B per element\n"));  // sum(p)
  // numjit writes float reductions as vectors itself, in parallel blocks:
  // the loop IR's marks say so (ir/passes/vector_reductions.h).
  CHECK(has(s.out, "\n  reduce k0 in [0, p.shape[0]) parallel vectorized  ->  parallel (thread pool), vectorized by numjit (reduction, 32 lanes)\n"));
  CHECK(has(s.out, "\n>>> threads: 1 (1 variable kept)\n>>> threads: 1\n>>> 14.0\n"));
  CHECK(has(s.out, "\n>>> usage: :type EXPR\n"));
  CHECK(has(s.out, "\n>>> unknown command ':tpye' (did you mean ':type'?); :help lists the commands\n"));
  CHECK(has(s.out, "\n  :explain EXPR   "));
  CHECK(has(s.out, "\n>>> session reset: no variables\n>>> no variables\n>>> <stdin>:1:1: error: unknown name 'p'\n"));
}

TEST_CASE(":threads keeps the kernels defined so far, as well as the variables") {
  auto s = run_piped(
      "def f(x):\n"
      "    s = 0.0\n"
      "    for i in range(len(x)):\n"
      "        s += x[i]\n"
      "    return s\n"
      "\n"
      "y = arange(4) * 1.0\n"
      ":threads 1\n"
      "f(y)\n");
  INFO("session output:\n" << s.out);
  CHECK(s.status == 0);
  CHECK(has(s.out, ">>> threads: 1 (1 variable, 1 kernel definition kept)\n>>> 6.0\n"));
}

// Issue 12: an inspection command that failed on a loop kernel's call left
// the session pointing at its freed output; the next call crashed.
TEST_CASE("a failed :loops of a loop kernel, then a call of it") {
  auto s = run_piped(
      "def f(x):\n"
      "    out = empty_like(x)\n"
      "    for i in range(len(x)):\n"
      "        out[i] = x[i] * 2\n"
      "    return out\n"
      "\n"
      "x = arange(3) * 1.0\n"
      ":loops f(nope)\n"
      "y = f(x)\n"
      "y\n");
  INFO("session output:\n" << s.out);
  CHECK(s.status == 0);
  CHECK(has(s.out, "error: unknown name 'nope'"));
  CHECK(has(s.out, ">>> [0. 2. 4.]\n"));
}

TEST_CASE(":explain reports each loop as compiled: LLVM's width, numjit's own vectors, or why not") {
  auto s = run_piped(
      "p = arange(1000) * 0.5\n"
      "q = p + 1.0\n"
      ":explain p * 2.0 + q\n"
      ":explain cumsum(p)\n"
      "n = arange(1000)\n"
      ":explain cumsum(n)\n");
  INFO("session output:\n" << s.out);
  CHECK(s.status == 0);
  size_t second = s.out.find(">>> fusion: ", s.out.find(">>> fusion: ") + 1);
  size_t third = s.out.find(">>> fusion: ", second + 1);
  REQUIRE(third != std::string::npos);
  std::string elementwise = s.out.substr(0, second), sum = s.out.substr(second, third - second),
              max = s.out.substr(third);
  // The host decides the width (4 f64 lanes on AVX2, 8 with AVX-512).
  std::smatch m;
  REQUIRE(std::regex_search(elementwise, m, std::regex(R"(\n  for i0 [^\n]*  ->  [^\n]*, vectorized by LLVM, width (\d+), interleave count (\d+)\n)")));
  CHECK(std::stoi(m[1]) > 1);
  CHECK(std::stoi(m[2]) >= 1);
  // A running float sum is a recurrence LLVM cannot reorder: it says why.
  CHECK(std::regex_search(sum, std::regex(R"(\n  for k\d+ [^\n]*  ->  serial, not vectorized: [^\n]+\n)")));
  CHECK(!has(sum, "vectorized by"));
  // An integer running sum is exact: numjit writes it as prefix scans over vectors.
  CHECK(std::regex_search(max, std::regex(R"(\n  for k\d+ [^\n]* scan  ->  serial, vectorized by numjit \(prefix scan, \d+ lanes\)\n)")));
}

TEST_CASE("a person at a terminal: echo, continuation, an error, :time, completion, history, Ctrl-C, Ctrl-D") {
  TempHome home;
  {
    Terminal t(home.dir);
    REQUIRE_MESSAGE(t.expect(":help lists the commands, :quit or Ctrl-D leaves.\n"), t.screen());
    t.type("x = arange(4) * 2\r");
    CHECK_MESSAGE(t.expect(">>> x = arange(4) * 2\n>>> "), t.screen());  // the prompt, the echo, the next prompt
    t.type("x + 1\r");
    CHECK_MESSAGE(t.expect("x + 1\n[1 3 5 7]\n>>> "), t.screen());
    // A def block: continuation prompts until an empty line.
    t.type("def inc(a):\r");
    CHECK_MESSAGE(t.expect("def inc(a):\n... "), t.screen());
    t.type("    return a + 1\r");
    CHECK_MESSAGE(t.expect("    return a + 1\n... "), t.screen());
    t.type("\r");
    CHECK_MESSAGE(t.expect(">>> "), t.screen());
    // An error, then the session goes on with its variables.
    t.type("y = nosuch(x)\r");
    CHECK_MESSAGE(t.expect("error: unknown function 'nosuch'"), t.screen());
    CHECK_MESSAGE(t.expect("\n>>> "), t.screen());
    t.type("x\r");
    CHECK_MESSAGE(t.expect("x\n[0 2 4 6]\n>>> "), t.screen());
    t.type(":time sum(x * x)\r");
    CHECK_MESSAGE(t.expect("median "), t.screen());
    CHECK_MESSAGE(t.expect(" GB/s"), t.screen());
    CHECK_MESSAGE(t.expect(">>> "), t.screen());
    // Tab completes a variable, a builtin and a command.
    t.type("my_long_name = 7\r");
    CHECK_MESSAGE(t.expect(">>> "), t.screen());
    t.type("my_lo\t");
    t.type(" + cumpr\t");
    t.type("x)[3]\r");
    CHECK_MESSAGE(t.expect("my_long_name + cumprod(x)[3]\n7\n>>> "), t.screen());  // cumprod starts at 0
    t.type(":va\t\r");
    CHECK_MESSAGE(t.expect(":vars\nmy_long_name  int"), t.screen());
    CHECK_MESSAGE(t.expect("x             i64[4]"), t.screen());
    CHECK_MESSAGE(t.expect(">>> "), t.screen());
    // Up arrow recalls the line before.
    t.type("777 + 1\r");
    CHECK_MESSAGE(t.expect("778\n>>> "), t.screen());
    t.type("\x1b[A\r");
    CHECK_MESSAGE(t.expect("777 + 1\n778\n>>> "), t.screen());
    // Ctrl-C drops an unfinished entry.
    t.type("z = (1 +\r");
    CHECK_MESSAGE(t.expect("... "), t.screen());
    t.type("\x03");
    CHECK_MESSAGE(t.expect("(input dropped)\n>>> "), t.screen());
    t.type("z = 5\r");
    CHECK_MESSAGE(t.expect(">>> "), t.screen());
    t.type("z\r");
    CHECK_MESSAGE(t.expect("z\n5\n>>> "), t.screen());
    t.type("\x04");  // Ctrl-D
    CHECK(t.wait_exit() == 0);
  }
  // History persists in $HOME/.numjit_history, for the next session.
  CHECK(fs::exists(home.dir / ".numjit_history"));
  {
    Terminal t(home.dir);
    REQUIRE_MESSAGE(t.expect("Ctrl-D leaves.\n"), t.screen());
    t.type("\x1b[A\x1b[A\r");  // two back: "z", then "z = 5"
    CHECK_MESSAGE(t.expect(">>> z = 5\n>>> "), t.screen());
    t.type("z * 2\r");
    CHECK_MESSAGE(t.expect("10\n>>> "), t.screen());
    t.type(":quit\r");
    CHECK(t.wait_exit() == 0);
  }
}

}  // TEST_SUITE("repl")
