// The REPL: an entry reader (libedit on a terminal, plain lines otherwise)
// in front of a Repl, which keeps one Jit session, collects the lines of an
// entry until the API's input_is_incomplete() says it is whole, and runs it
// or a :command. Everything a command shows comes from the public Jit API
// (emit, explain, eval, get, set).
#include "tools/repl.h"

#include <editline/readline.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>


namespace numjit {
namespace {

const char* const kEntryName = "<stdin>";

struct Command {
  const char* name;
  const char* args;
  const char* help;
};

const Command kCommands[] = {
    {":help", "", "this text"},
    {":type", "EXPR", "the type (dtype and rank) and, for an array, its shape"},
    {":ir", "EXPR", "array IR before and after fusion"},
    {":loops", "EXPR", "loop IR"},
    {":llvm", "EXPR", "optimised LLVM IR"},
    {":asm", "EXPR", "machine code"},
    {":time", "EXPR", "median run time over repetitions, and GB/s"},
    {":explain", "EXPR", "fusion groups, each loop as compiled (parallel? vectorized by numjit or LLVM, at what width), bytes per element"},
    {":threads", "[N]", "show or set the worker threads (0: default), keeping the variables"},
    {":vars", "", "the variables with their types and shapes"},
    {":reset", "", "forget every variable"},
    {":quit", "", "leave (also Ctrl-D)"},
};

// Words that are neither variables nor builtins but complete usefully.
const char* const kKeywords[] = {"def", "return", "for", "in", "range", "prange", "if", "elif", "else",
                                 "while", "and", "or", "not", "pass", "True", "False"};

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

/** A name in source text, with what surrounds it: `x.sum()` has `x` (next
 *  '.') and `sum` (prev '.', next '('); `seed=1` has `seed` (next '=' not
 *  followed by '='). Strings, comments and number literals are skipped. */
struct Ident {
  std::string name;
  bool after_dot = false;  // an attribute or method
  bool called = false;     // followed by '('
  bool keyword = false;    // followed by a single '=' inside brackets: a keyword argument
};

std::vector<Ident> identifiers(const std::string& s) {
  std::vector<Ident> out;
  int depth = 0;
  auto next_code = [&](size_t i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    return i;
  };
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '\'' || c == '"') {
      for (++i; i < s.size() && s[i] != c && s[i] != '\n'; ++i)
        if (s[i] == '\\') ++i;
      ++i;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '.' || s[i] == '_')) ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t b = i;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
      Ident id;
      id.name = s.substr(b, i - b);
      size_t p = b;
      while (p > 0 && (s[p - 1] == ' ' || s[p - 1] == '\t')) --p;
      id.after_dot = p > 0 && s[p - 1] == '.';
      size_t n = next_code(i);
      id.called = n < s.size() && s[n] == '(';
      id.keyword = depth > 0 && n < s.size() && s[n] == '=' && (n + 1 == s.size() || s[n + 1] != '=');
      out.push_back(std::move(id));
    } else {
      if (c == '(' || c == '[') ++depth;
      if ((c == ')' || c == ']') && depth > 0) --depth;
      ++i;
    }
  }
  return out;
}

std::string format_duration(double seconds) {
  const char* unit = "s";
  double v = seconds;
  if (seconds < 1e-6) v = seconds * 1e9, unit = "ns";
  else if (seconds < 1e-3) v = seconds * 1e6, unit = "us";
  else if (seconds < 1) v = seconds * 1e3, unit = "ms";
  return fmt::format("{:.{}f} {}", v, v < 10 ? 2 : v < 100 ? 1 : 0, unit);
}

std::string format_bytes(double bytes) {
  if (bytes < 1e3) return fmt::format("{:.0f} B", bytes);
  if (bytes < 1e6) return fmt::format("{:.1f} kB", bytes / 1e3);
  if (bytes < 1e9) return fmt::format("{:.1f} MB", bytes / 1e6);
  return fmt::format("{:.2f} GB", bytes / 1e9);
}

std::string format_shape(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

/** `f64[1000]`, `f32[3, 4]`, `i64`; weak scalars (from literals) are `int`,
 *  `float`, `bool` as the typed stage prints them. */
std::string describe_type(const Value& v) {
  if (v.is_scalar()) {
    if (!v.weak()) return dtype_name(v.dtype());
    return v.dtype() == DType::F64 ? "float" : v.dtype() == DType::Bool ? "bool" : "int";
  }
  std::string dims;
  for (int64_t d : v.array().shape()) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
  return fmt::format("{}[{}]", dtype_name(v.dtype()), dims);
}

int64_t value_bytes(const Value& v) {
  return v.is_array() ? v.array().size() * dtype_size(v.dtype()) : dtype_size(v.dtype());
}

/** Bytes per second of a single-threaded memcpy of 32 MB (read + write),
 *  the best of five: a floor for the memory bandwidth kernels can reach. */
double copy_bandwidth() {
  static const double bw = [] {
    const size_t n = size_t(32) << 20;
    std::vector<char> a(n, 1), b(n, 0);
    double best = 1e30;
    for (int k = 0; k < 5; ++k) {
      auto t0 = std::chrono::steady_clock::now();
      std::memcpy(b.data(), a.data(), n);
      std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
      best = std::min(best, dt.count());
    }
    volatile char sink = b[n / 2];
    (void)sink;
    return 2.0 * double(n) / best;
  }();
  return bw;
}

/** Bytes of the host's last-level cache (from sysfs), or 0 if unknown. */
int64_t last_level_cache_bytes() {
  static const int64_t bytes = [] {
    int64_t best = 0;
    for (int i = 0; i < 8; ++i) {
      std::ifstream in(fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}/size", i));
      std::string size;
      if (!(in >> size)) break;
      int64_t v = std::atoll(size.c_str());
      if (size.back() == 'K') v <<= 10;
      if (size.back() == 'M') v <<= 20;
      best = std::max(best, v);
    }
    return best;
  }();
  return bytes;
}

// ---------------------------------------------------------------------------

class Repl {
 public:
  Repl(Options options, std::ostream& out, std::ostream& err)
      : options_(std::move(options)), out_(out), err_(err) {
    reset_jit();
  }

  /** Takes one line of input; returns true if the entry needs more lines. */
  bool feed(const std::string& line) {
    if (pending_.empty()) {
      std::string t = trim(line);
      if (t.empty()) return false;
      if (t[0] == ':') {
        guarded([&] { command(t); });
        return false;
      }
    }
    pending_ += line + "\n";
    if (input_is_incomplete(pending_)) return true;
    run_pending();
    return false;
  }

  /** End of input: an unfinished entry still runs (and reports its error). */
  void finish() {
    if (!trim(pending_).empty()) run_pending();
    pending_.clear();
  }

  /** Ctrl-C: forgets the unfinished entry. */
  void finish_dropped() { pending_.clear(); }

  bool quit() const { return quit_; }
  bool continuing() const { return !pending_.empty(); }

  /** Completions of `word`; :commands only when it starts a fresh entry. */
  std::vector<std::string> complete(const std::string& word, bool first_word) const {
    std::vector<std::string> out;
    auto add = [&](const std::string& w, const char* suffix) {
      if (w.compare(0, word.size(), word) == 0) out.push_back(w + suffix);
    };
    if (first_word && pending_.empty() && !word.empty() && word[0] == ':') {
      for (auto& c : kCommands) add(c.name, "");
      return out;
    }
    for (auto& n : names_) add(n, "");
    for (auto& k : kernels_) add(k, "(");
    for (auto& b : builtin_names()) add(b, "(");
    for (auto* k : kKeywords) add(k, "");
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

 private:
  void reset_jit() {
    jit_ = std::make_unique<Jit>(options_);
    jit_->set_output(&out_);
  }

  /** Runs `f`, reporting any error; the session stays as it was. */
  template <class F> void guarded(F&& f) {
    try {
      f();
    } catch (const Error& e) {
      std::string msg = e.what();
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      out_.flush();
      err_ << msg << "\n";
    } catch (const std::exception& e) {
      out_.flush();
      err_ << "error: " << e.what() << "\n";
    }
    out_.flush();
    err_.flush();
  }

  void run_pending() {
    std::string entry;
    entry.swap(pending_);
    bool ran = false;
    guarded([&] {
      jit_->run_interactive(entry, kEntryName);
      ran = true;
    });
    learn_names(entry);
    // Kernel definitions, for a new Jit (:threads) to define them again.
    if (ran && trim(entry).rfind("def ", 0) == 0) defs_.push_back(entry);
  }

  /** Records the names in `text` that are now session variables. (Jit has no
   *  list of its variables; every assignment target appears in the text.) */
  void learn_names(const std::string& text) {
    auto ids = identifiers(text);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!names_.count(ids[i].name) && lookup(ids[i].name)) names_.insert(ids[i].name);
      if (ids[i].name == "def" && i + 1 < ids.size() && ids[i + 1].called) kernels_.insert(ids[i + 1].name);
    }
  }

  std::optional<Value> lookup(const std::string& name) const {
    try {
      return jit_->get(name);
    } catch (const Error&) {
      return std::nullopt;
    }
  }

  /** The session variables `expr` reads, as eval() arguments. */
  Args referenced(const std::string& expr) const {
    Args args;
    std::set<std::string> seen;
    for (auto& id : identifiers(expr)) {
      if (id.after_dot || id.called || id.keyword || !names_.count(id.name) || !seen.insert(id.name).second) continue;
      if (auto v = lookup(id.name)) args.push_back({id.name, *v});
    }
    return args;
  }

  /** Whether `text` is a single expression statement (else: statements, or
   *  a syntax error, which running it will report). */
  static bool is_expression(const std::string& text) { return is_single_expression(text); }

  // --- commands ------------------------------------------------------------------

  void command(const std::string& line) {
    size_t sp = line.find_first_of(" \t");
    std::string name = line.substr(0, sp), arg = sp == std::string::npos ? "" : trim(line.substr(sp));
    const Command* cmd = nullptr;
    for (auto& c : kCommands)
      if (name == c.name) cmd = &c;
    if (!cmd) {
      const Command* near = nullptr;
      size_t best = 3;  // suggest only near misses, or the first command the text begins
      for (auto& c : kCommands) {
        size_t d = edit_distance(name, c.name);
        if (d < best) best = d, near = &c;
      }
      for (auto& c : kCommands)
        if (!near && name.size() > 1 && std::string(c.name).rfind(name, 0) == 0) near = &c;
      throw Error(fmt::format("unknown command '{}'{}; :help lists the commands", name,
                              near ? fmt::format(" (did you mean '{}'?)", near->name) : ""));
    }
    if (*cmd->args == 'E' && arg.empty()) throw Error(fmt::format("usage: {} {}", cmd->name, cmd->args));
    if (!*cmd->args && !arg.empty()) throw Error(fmt::format("{} takes no argument", cmd->name));
    std::string n = cmd->name;
    if (n == ":help") help();
    else if (n == ":type") type(arg);
    else if (n == ":ir") {
      out_ << "-- array IR (before fusion)\n" << jit_->emit(arg, Stage::Array, {}, kEntryName);
      out_ << "-- after fusion (each group is one loop nest)\n" << jit_->emit(arg, Stage::Fused, {}, kEntryName);
    } else if (n == ":loops") out_ << jit_->emit(arg, Stage::Loops, {}, kEntryName);
    else if (n == ":llvm") out_ << jit_->emit(arg, Stage::LlvmOpt, {}, kEntryName);
    else if (n == ":asm") out_ << jit_->emit(arg, Stage::Asm, {}, kEntryName);
    else if (n == ":time") time(arg);
    else if (n == ":explain") explain(arg);
    else if (n == ":threads") threads(arg);
    else if (n == ":vars") vars();
    else if (n == ":reset") {
      reset_jit();
      names_.clear();
      kernels_.clear();
      defs_.clear();
      out_ << "session reset: no variables\n";
    } else if (n == ":quit") quit_ = true;
  }

  void help() {
    out_ << "Type numjit statements; the value of an expression statement is shown. A line that\n"
            "ends in ':' or leaves a bracket open continues on '... ' lines; an empty line ends\n"
            "an indented block such as a def. Commands:\n";
    for (auto& c : kCommands) {
      std::string head = c.name + std::string(*c.args ? " " : "") + c.args;
      out_ << fmt::format("  {:<16}{}\n", head, c.help);
    }
    out_ << "Tab completes variables, builtins and commands; history is kept in ~/.numjit_history.\n"
            "Ctrl-C drops the entry being typed; Ctrl-D (or :quit) leaves.\n";
  }

  /** The static type from the typed stage; for an expression also the shape
   *  of its value (it is evaluated). */
  void type(const std::string& arg) {
    std::string typed = jit_->emit(arg, Stage::Typed, {}, kEntryName);
    if (!is_expression(arg) || typed.rfind("_: ", 0) != 0) {
      out_ << typed;
      return;
    }
    size_t eq = typed.find(" = ");
    std::string static_type = typed.substr(3, eq == std::string::npos ? std::string::npos : eq - 3);
    std::optional<Value> v;
    try {
      v = jit_->eval(arg, referenced(arg));
    } catch (const Error&) {  // e.g. load(), or a tuple: the static type is all we show
    }
    if (v && v->is_array()) out_ << fmt::format("{}  shape {}\n", static_type, format_shape(v->array().shape()));
    else out_ << static_type << "\n";
  }

  /** Median of repeated runs. An expression runs through eval() (compiled
   *  once, then only called) and GB/s counts each array variable it names
   *  once, whole, plus its result; a statement is timed whole. */
  void time(const std::string& arg) {
    using clock = std::chrono::steady_clock;
    bool expr = is_expression(arg);
    Args args = expr ? referenced(arg) : Args{};
    Value result;
    auto once = [&] {
      if (expr) result = jit_->eval(arg, args);
      else jit_->run(arg, kEntryName);
    };
    auto t0 = clock::now();
    try {
      once();
    } catch (const Error&) {
      if (!expr) throw;
      // eval() sees only variables: e.g. a kernel call runs as a statement,
      // which also reports a genuine error against the entry.
      expr = false;
      t0 = clock::now();
      once();
    }
    double first = std::chrono::duration<double>(clock::now() - t0).count();
    if (!expr) learn_names(arg);
    std::vector<double> runs;
    double total = 0;
    while ((runs.size() < 3 || total < 0.3) && runs.size() < 10000 && !(total > 5 && !runs.empty())) {
      auto t = clock::now();
      once();
      runs.push_back(std::chrono::duration<double>(clock::now() - t).count());
      total += runs.back();
    }
    std::sort(runs.begin(), runs.end());
    double median = runs.size() % 2 ? runs[runs.size() / 2] : (runs[runs.size() / 2 - 1] + runs[runs.size() / 2]) / 2;
    out_ << fmt::format("median {} over {} runs (min {}); first call {} (compiles unless cached)\n",
                        format_duration(median), runs.size(), format_duration(runs.front()), format_duration(first));
    if (!expr) {
      out_ << "(timed as a whole statement, parsing and cache lookup included; no GB/s)\n";
      return;
    }
    int64_t in_bytes = 0;
    std::string in_names;
    for (auto& [name, v] : args)
      if (v.is_array()) {
        in_bytes += value_bytes(v);
        in_names += (in_names.empty() ? "" : ", ") + name;
      }
    if (in_names.empty() && result.is_scalar()) {
      out_ << "(no array is read or written, so no GB/s)\n";
      return;
    }
    int64_t bytes = in_bytes + value_bytes(result);
    std::string inputs = in_names.empty() ? "no array inputs"
                                          : fmt::format("inputs {} {}", in_names, format_bytes(double(in_bytes)));
    out_ << fmt::format("{} + result {} = {} moved -> {:.2f} GB/s (each array counted once, whole)\n", inputs,
                        format_bytes(double(value_bytes(result))), format_bytes(double(bytes)),
                        double(bytes) / median / 1e9);
    int64_t cache = last_level_cache_bytes();
    if (cache > 0 && bytes <= cache)
      out_ << fmt::format("(this fits in the {} last-level cache, so it may measure the cache, not memory)\n",
                          format_bytes(double(cache)));
  }

  /** Fusion groups, the loop IR, each loop as it runs (on the thread pool
   *  or not; vectorized by numjit, by LLVM at what width, or why not) and
   *  the bytes moved per element against a measured memory bandwidth: the
   *  facts of Jit::explain, for what run() compiles. */
  void explain(const std::string& arg) {
    Explanation ex = jit_->explain(arg, {}, kEntryName);
    if (!ex.fused.empty()) {
      out_ << fmt::format("fusion: {} group{} (one loop nest each; no array between the operations of a group)\n",
                          ex.fusion_groups, ex.fusion_groups == 1 ? "" : "s");
      std::istringstream fin(ex.fused);
      for (std::string l; std::getline(fin, l);) out_ << "  " << l << "\n";
    }
    out_ << "loop IR:\n";
    std::istringstream lin(ex.loop_ir);
    for (std::string l; std::getline(lin, l);) out_ << "  " << l << "\n";
    // The inputs' sizes now, for the bandwidth bound.
    int64_t elements = 0;
    std::string largest;
    for (auto& [name, v] : referenced(arg))
      if (v.is_array() && v.array().size() > elements) elements = v.array().size(), largest = name;
    for (const KernelExplanation& k : ex.kernels) {
      if (ex.kernels.size() > 1) out_ << k.signature << "\n";
      out_ << "loops, as compiled:\n";
      if (k.loops.empty()) out_ << "  none (computed once, as a scalar)\n";
      for (const LoopExplanation& l : k.loops) {
        std::string how;
        using V = LoopExplanation::Vectorizer;
        if (l.vectorizer == V::Numjit) how = fmt::format("vectorized by numjit ({}, {} lanes)", l.what, l.width);
        else if (l.vectorizer == V::Llvm)
          how = fmt::format("vectorized by LLVM, width {}, interleave count {}", l.width, l.interleave);
        else how = "not vectorized";
        for (size_t i = 0; i < l.why_not.size(); ++i) how += (i ? "; " : ": ") + l.why_not[i];
        out_ << fmt::format("  {}{}  ->  {}, {}\n", std::string(size_t(2 * l.depth), ' '), l.loop,
                            l.parallel                  ? "parallel (thread pool)"
                            : l.serial_reason.empty() ? "serial"
                                                      : "serial (" + l.serial_reason + ")",
                            how);
      }
      auto list = [](const std::vector<std::pair<std::string, int>>& xs) {
        std::string s;
        for (auto& [n, b] : xs) s += (s.empty() ? "" : ", ") + fmt::format("{} {} B", n, b);
        return s.empty() ? std::string("nothing") : s;
      };
      const int per = k.bytes_per_element();
      if (per == 0) {
        out_ << "memory: no array is read or written\n";
        continue;
      }
      std::string temps = k.temps.empty() ? "" : "; temporaries (written, read back) " + list(k.temps);
      out_ << fmt::format("memory per element: reads {}; writes {}{} = {} B per element\n", list(k.reads),
                          list(k.writes), temps, per);
      if (elements > 0) {
        double bytes = double(per) * double(elements), bw = copy_bandwidth();
        out_ << fmt::format("  for {} elements (the largest input, {}): {}; at {:.1f} GB/s (measured memcpy, one "
                            "thread) at least {}\n",
                            elements, largest, format_bytes(bytes), bw / 1e9, format_duration(bytes / bw));
      }
    }
  }

  void threads(const std::string& arg) {
    if (arg.empty()) {
      out_ << fmt::format("threads: {}\n", options_.threads ? std::to_string(options_.threads)
                                                             : "default (NUMJIT_NUM_THREADS or all cores)");
      return;
    }
    char* end = nullptr;
    long n = std::strtol(arg.c_str(), &end, 10);
    if (*end || n < 0 || n > 1024)
      throw Error(fmt::format("usage: :threads N with N from 0 (default) to 1024, not '{}'", arg));
    std::vector<std::pair<std::string, Value>> kept;
    for (auto& name : names_)
      if (auto v = lookup(name)) kept.push_back({name, *v});
    options_.threads = int(n);
    reset_jit();
    for (auto& [name, v] : kept) jit_->set(name, v);
    for (auto& def : defs_) jit_->run(def, kEntryName);  // ran before: defines, prints nothing
    std::string kernels = defs_.empty() ? "" : fmt::format(", {} kernel definition{}", defs_.size(), defs_.size() == 1 ? "" : "s");
    out_ << fmt::format("threads: {} ({} variable{}{} kept)\n", n ? std::to_string(n) : "default", kept.size(),
                        kept.size() == 1 ? "" : "s", kernels);
  }

  void vars() {
    if (names_.empty()) {
      out_ << "no variables\n";
      return;
    }
    size_t width = 0;
    for (auto& n : names_) width = std::max(width, n.size());
    for (auto& n : names_) {
      auto v = lookup(n);
      if (!v) continue;
      std::string t = describe_type(*v);
      if (v->is_scalar()) out_ << fmt::format("{:<{}}  {:<12}  {}\n", n, width, t, format_value(*v));
      else out_ << fmt::format("{:<{}}  {:<12}  {}\n", n, width, t, format_bytes(double(value_bytes(*v))));
    }
  }

  Options options_;
  std::unique_ptr<Jit> jit_;
  std::ostream& out_;
  std::ostream& err_;
  std::set<std::string> names_;    // the session's variables (see learn_names)
  std::set<std::string> kernels_;  // names after `def`, for completion only
  std::vector<std::string> defs_;  // the `def` entries that ran, in order
  std::string pending_;
  bool quit_ = false;
};

// ---------------------------------------------------------------------------
// Reading entries

Repl* g_repl = nullptr;      // for libedit's completion callbacks
bool g_first_word = false;   // the word being completed starts the line
volatile sig_atomic_t g_interrupted = 0;

char* next_completion(const char* text, int state) {
  static std::vector<std::string> matches;
  static size_t next = 0;
  if (state == 0) {
    matches = g_repl->complete(text, g_first_word);
    next = 0;
  }
  return next < matches.size() ? strdup(matches[next++].c_str()) : nullptr;
}

char** attempt_completion(const char* text, int start, int /*end*/) {
  rl_attempted_completion_over = 1;  // never fall back to file names
  g_first_word = true;
  for (int i = 0; i < start && rl_line_buffer[i]; ++i)
    if (rl_line_buffer[i] != ' ' && rl_line_buffer[i] != '\t') g_first_word = false;
  return rl_completion_matches(text, next_completion);
}

void on_interrupt(int) { g_interrupted = 1; }

void on_interrupt_while_running(int) {  // installed with SA_RESETHAND: a second Ctrl-C quits
  static const char msg[] = "\nnumjit: a running statement cannot be stopped halfway; Ctrl-C again quits numjit\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
}

std::string history_path() {
  const char* home = std::getenv("HOME");
  return home && *home ? std::string(home) + "/.numjit_history" : "";
}

int plain_loop(Repl& repl) {
  std::string line;
  while (!repl.quit()) {
    std::cout << (repl.continuing() ? "... " : ">>> ") << std::flush;
    if (!std::getline(std::cin, line)) {
      std::cout << "\n";
      repl.finish();
      break;
    }
    repl.feed(line);
  }
  return 0;
}

int editing_loop(Repl& repl) {
  g_repl = &repl;
  rl_readline_name = "numjit";
  static char breaks[] = " \t\n\"'`@$><=;|&{}()[],.+-*/%~^!";
  rl_basic_word_break_characters = breaks;
  rl_completer_word_break_characters = breaks;
  rl_completion_append_character = '\0';
  rl_attempted_completion_function = attempt_completion;
  rl_catch_signals = 0;
  std::string history = history_path();
  using_history();
  stifle_history(1000);
  if (!history.empty()) read_history(history.c_str());
  // Ctrl-C at the prompt drops the entry being typed. JIT code cannot be
  // stopped halfway, so while a statement runs the first Ctrl-C only says
  // so and the second has its default effect.
  struct sigaction at_prompt{}, running{}, dfl{};
  at_prompt.sa_handler = on_interrupt;  // no SA_RESTART: readline returns
  sigemptyset(&at_prompt.sa_mask);
  running.sa_handler = on_interrupt_while_running;
  running.sa_flags = SA_RESTART | SA_RESETHAND;
  sigemptyset(&running.sa_mask);
  sigaction(SIGINT, nullptr, &dfl);
  while (!repl.quit()) {
    g_interrupted = 0;
    sigaction(SIGINT, &at_prompt, nullptr);
    char* raw = readline(repl.continuing() ? "... " : ">>> ");
    sigaction(SIGINT, &running, nullptr);
    if (g_interrupted) {
      free(raw);
      std::cout << "^C (input dropped)\n" << std::flush;
      repl.finish_dropped();
      continue;
    }
    if (!raw) {
      std::cout << "\n";
      repl.finish();
      break;
    }
    std::string line(raw);
    free(raw);
    if (!trim(line).empty()) {
      add_history(line.c_str());
      if (!history.empty()) write_history(history.c_str());
    }
    repl.feed(line);
  }
  sigaction(SIGINT, &dfl, nullptr);
  g_repl = nullptr;
  return 0;
}

}  // namespace

int run_repl(const Options& options, bool line_editing) {
  Repl repl(options, std::cout, std::cerr);
  std::cout << "numjit: :help lists the commands, :quit or Ctrl-D leaves.\n";
  return line_editing ? editing_loop(repl) : plain_loop(repl);
}

}  // namespace numjit
