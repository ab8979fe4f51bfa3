// Source text and spans: every token, AST node and IR node points back here,
// so an error found in any pass can show the user's line with a caret.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace numjit {

/** A named piece of source text (a file, `-e` string, REPL line or eval). */
class Source {
 public:
  Source(std::string name, std::string text);
  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }
  /** The text of 1-based line `line`, without its newline. */
  std::string_view line_text(int line) const;
  /** 1-based line and column of byte `offset`. */
  std::pair<int, int> line_col(uint32_t offset) const;

 private:
  std::string name_, text_;
  std::vector<uint32_t> line_starts_;
};

/** A byte range [begin, end) of one Source; line/col of `begin` are cached. */
struct Span {
  uint32_t begin = 0, end = 0;
  int line = 0, col = 0;  // 1-based; 0 means "no location"
  bool valid() const { return line > 0; }
  /** The smallest span covering both. */
  static Span merge(const Span& a, const Span& b);
};

}  // namespace numjit
