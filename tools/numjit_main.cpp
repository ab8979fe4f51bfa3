// The numjit command line: runs a .nj script (a file, -e CODE, or standard
// input), prints any stage of the pipeline (--emit=STAGE), or starts the
// REPL (tools/repl.h: `numjit` alone on a terminal, or --repl). Exit status 0
// on success, 1 with a diagnostic on standard error otherwise.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "numjit/numjit.hpp"
#include "tools/repl.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw numjit::Error(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"numjit: a JIT compiler for NumPy-style array expressions.\n"
               "Runs FILE.nj, -e CODE, or a script on standard input."};
  std::string file, code, emit;
  numjit::Options opts;
  app.add_option("file", file, "script to run ('-' reads standard input)");
  app.add_option("-e,--execute", code, "run CODE (the value of each expression statement is printed)");
  app.add_option("--emit", emit, "print a stage instead of only running: tokens, ast, typed, array, fused, loops, "
                                 "llvm, llvm-opt, asm, remarks (the loop vectorizer's remarks)");
  app.add_option("-O,--opt-level", opts.opt_level, "optimisation level 0-3 (default 2: numjit's pipeline; 1, 3: LLVM's O1, O3)")->check(CLI::Range(0, 3));
  app.add_option("--threads", opts.threads, "worker threads (default: NUMJIT_NUM_THREADS or all cores)");
  app.add_flag("--fastmath", opts.fastmath, "allow reassociation and contraction of float math");
  bool no_cache = false, clear_cache = false;
  app.add_flag("--no-cache", no_cache, "neither read nor write the on-disk cache of compiled kernels");
  app.add_flag("--clear-cache", clear_cache, "empty the on-disk cache ($NUMJIT_CACHE_DIR or ~/.cache/numjit) first");
  bool list_builtins = false;
  app.add_flag("--builtins", list_builtins, "list the elementwise builtin functions and exit");
  bool repl = false;
  app.add_flag("--repl", repl, "start the interactive REPL even if standard input is not a terminal "
                               "(numjit alone on a terminal starts it too)");
  CLI11_PARSE(app, argc, argv);
  opts.disk_cache = !no_cache;
  if (list_builtins) {
    std::cout << numjit::builtin_functions_text();
    return 0;
  }
  if (clear_cache) {
    std::string dir = numjit::default_cache_dir();
    int n = dir.empty() ? 0 : numjit::clear_cache(dir);
    std::cerr << "numjit: removed " << n << " cached kernel" << (n == 1 ? "" : "s") << " from " << dir << "\n";
    if (file.empty() && code.empty() && isatty(STDIN_FILENO)) return 0;
  }

  try {
    std::optional<numjit::Stage> stage;
    if (!emit.empty()) stage = numjit::parse_stage(emit);
    std::string source, name;
    bool interactive = false;
    bool start_repl = repl || (code.empty() && file.empty() && isatty(STDIN_FILENO));
    if (start_repl) {
      if (!code.empty() || !file.empty()) throw numjit::Error("--repl takes no script file or -e CODE");
      if (stage) throw numjit::Error("--emit needs a script; in the REPL use :ir, :loops, :llvm or :asm");
      return numjit::run_repl(opts, isatty(STDIN_FILENO));
    }
    if (!code.empty()) {
      if (!file.empty()) throw numjit::Error("give either a script file or -e CODE, not both");
      source = code;
      name = "<string>";
      interactive = true;
    } else if (!file.empty() && file != "-") {
      source = read_file(file);
      name = file;
    } else {
      std::stringstream ss;
      ss << std::cin.rdbuf();
      source = ss.str();
      name = "<stdin>";
    }
    numjit::Jit jit(opts);
    if (stage) {
      std::cout << jit.emit(source, *stage, {}, name);
      return 0;
    }
    if (interactive) jit.run_interactive(source, name);
    else jit.run(source, name);
  } catch (const numjit::Error& e) {
    std::cout.flush();
    std::string msg = e.what();
    std::cerr << msg << (msg.empty() || msg.back() != '\n' ? "\n" : "");
    return 1;
  }
  return 0;
}
