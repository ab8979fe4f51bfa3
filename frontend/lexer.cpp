// Lexer: Source -> tokens. A hand-written scanner in the manner of clox's
// scanner.c, plus Python's bookkeeping of indentation and open brackets.
#include "frontend/lexer.h"

#include <charconv>
#include <fmt/format.h>
#include <limits>
#include <utility>

#include "support/diagnostics.h"

namespace numjit {

namespace {

/** Python's own limit; it also bounds the parser's recursion on blocks. */
constexpr size_t kMaxIndentLevels = 100;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

bool is_digit_of_base(char c, int base) {
  switch (base) {
    case 2: return c == '0' || c == '1';
    case 8: return c >= '0' && c <= '7';
    case 16: return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    default: return is_digit(c);
  }
}

Tok keyword_or_name(std::string_view word) {
  static constexpr std::pair<std::string_view, Tok> kKeywords[] = {
      {"def", Tok::KwDef},     {"return", Tok::KwReturn}, {"if", Tok::KwIf},
      {"elif", Tok::KwElif},   {"else", Tok::KwElse},     {"for", Tok::KwFor},
      {"in", Tok::KwIn},       {"while", Tok::KwWhile},   {"break", Tok::KwBreak},
      {"continue", Tok::KwContinue}, {"pass", Tok::KwPass}, {"and", Tok::KwAnd},
      {"or", Tok::KwOr},       {"not", Tok::KwNot},       {"True", Tok::KwTrue},
      {"False", Tok::KwFalse}, {"None", Tok::KwNone},
  };
  for (const auto& [text, kind] : kKeywords)
    if (word == text) return kind;
  return Tok::Name;
}

/** Whether a float literal outside the range of double overflows (to inf)
 *  rather than underflows (to 0), judged by its decimal exponent. `digits`
 *  has no underscores and at least one nonzero mantissa digit. */
bool overflows(std::string_view digits) {
  size_t e = digits.find_first_of("eE");
  std::string_view mantissa = digits.substr(0, e);
  long exponent = 0;
  if (e != std::string_view::npos) {
    std::string_view exp = digits.substr(e + 1);
    bool negative = exp.front() == '-';
    if (exp.front() == '-' || exp.front() == '+') exp.remove_prefix(1);
    if (std::from_chars(exp.data(), exp.data() + exp.size(), exponent).ec != std::errc()) return !negative;
    if (negative) exponent = -exponent;
  }
  size_t point = std::min(mantissa.find('.'), mantissa.size());
  size_t first = mantissa.find_first_of("123456789");
  long magnitude = first < point ? long(point - first) - 1 : -long(first - point);
  return magnitude + exponent >= 0;
}

class Lexer {
 public:
  explicit Lexer(const Source& src) : src_(src), text_(src.text()) {}

  std::vector<Token> run() {
    bool line_start = true;
    while (true) {
      if (line_start) {
        if (!indentation()) break;
        line_start = false;
      }
      skip_whitespace();
      if (at_end()) break;
      if (peek() == '\n') {
        ++pos_;
        if (open_brackets_.empty()) {
          newline();
          line_start = true;
        }
        continue;
      }
      scan_token();
    }
    finish();
    return std::move(tokens_);
  }

 private:
  const Source& src_;
  std::string_view text_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
  std::vector<int> indents_{0};
  std::vector<size_t> open_brackets_;  // indices in tokens_ of unclosed '(' and '['

  bool at_end() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }

  Span span(size_t begin, size_t end) const {
    auto [line, col] = src_.line_col(uint32_t(begin));
    return Span{uint32_t(begin), uint32_t(end), line, col};
  }

  [[noreturn]] void error(size_t begin, size_t end, std::string_view message) const {
    user_error(&src_, span(begin, end), message);
  }

  /** Appends a token whose lexeme is text_[begin, pos_). */
  Token& add(Tok kind, size_t begin) {
    Token t;
    t.kind = kind;
    t.span = span(begin, pos_);
    t.text = std::string(text_.substr(begin, pos_ - begin));
    tokens_.push_back(std::move(t));
    return tokens_.back();
  }

  /** Appends a zero-width NEWLINE, INDENT, DEDENT or EOF at `offset`. */
  void add_marker(Tok kind, size_t offset) {
    Token t;
    t.kind = kind;
    t.span = span(offset, offset);
    tokens_.push_back(std::move(t));
  }

  /** Markers that end a line point just past its last token, so "found
   *  newline" carets sit after the code rather than after a comment. */
  size_t end_of_last_token() const { return tokens_.empty() ? 0 : tokens_.back().span.end; }

  void newline() {
    if (!tokens_.empty() && tokens_.back().kind != Tok::Newline) add_marker(Tok::Newline, end_of_last_token());
  }

  /** At the start of a line: skips blank and comment-only lines, then emits
   *  INDENT or DEDENTs for the next line's leading spaces. False at the end. */
  bool indentation() {
    while (true) {
      int width = 0;
      size_t tab = std::string_view::npos;
      for (; !at_end(); ++pos_) {
        char c = peek();
        if (c == ' ') ++width;
        else if (c == '\t') tab = std::min(tab, pos_);
        else if (c != '\r' && c != '\f') break;
      }
      if (peek() == '#')
        while (!at_end() && peek() != '\n') ++pos_;
      if (at_end()) return false;
      if (peek() == '\n') {
        ++pos_;
        continue;
      }
      if (tab != std::string_view::npos) error(tab, tab + 1, "tabs are not allowed for indentation; use spaces");
      if (width > indents_.back()) {
        if (indents_.size() > kMaxIndentLevels) error(pos_, pos_ + 1, "too many levels of indentation");
        indents_.push_back(width);
        add_marker(Tok::Indent, pos_);
      }
      while (width < indents_.back()) {
        indents_.pop_back();
        add_marker(Tok::Dedent, pos_);
      }
      if (width != indents_.back())
        error(pos_, pos_ + 1, "unindent does not match any outer indentation level");
      return true;
    }
  }

  /** Skips spaces, comments and backslash-newline line continuations. */
  void skip_whitespace() {
    while (!at_end()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
        ++pos_;
      } else if (c == '#') {
        while (!at_end() && peek() != '\n') ++pos_;
      } else if (c == '\\') {
        size_t after = peek(1) == '\r' ? 2 : 1;
        if (peek(after) != '\n')
          error(pos_, pos_ + 1, "a line continuation character '\\' must end its line");
        pos_ += after + 1;
      } else {
        return;
      }
    }
  }

  void scan_token() {
    char c = peek();
    if (is_alpha(c)) name();
    else if (is_digit(c) || (c == '.' && is_digit(peek(1)))) number();
    else if (c == '\'' || c == '"') string_literal(c);
    else punctuation(c);
  }

  // name ::= [A-Za-z_][A-Za-z0-9_]*   (a keyword if it is one)
  void name() {
    size_t begin = pos_;
    while (is_alnum(peek())) ++pos_;
    add(keyword_or_name(text_.substr(begin, pos_ - begin)), begin);
  }

  void digits() {
    while (is_digit(peek()) || peek() == '_') ++pos_;
  }

  // int   ::= decimal | '0' [xX] hexdigits | '0' [oO] octdigits | '0' [bB] bindigits
  // float ::= digits '.' [digits] [exponent] | '.' digits [exponent] | digits exponent
  // exponent ::= [eE] [+-] digits          (single '_' allowed between digits)
  void number() {
    size_t begin = pos_;
    int base = 10;
    bool is_float = false;
    char prefix = char(peek(1) | 0x20);
    if (peek() == '0' && (prefix == 'x' || prefix == 'o' || prefix == 'b')) {
      base = prefix == 'x' ? 16 : prefix == 'o' ? 8 : 2;
      pos_ += 2;
      while (is_alnum(peek())) ++pos_;
    } else {
      digits();
      if (peek() == '.') {
        is_float = true;
        ++pos_;
        digits();
      }
      bool sign = peek(1) == '+' || peek(1) == '-';
      if ((peek() == 'e' || peek() == 'E') && is_digit(peek(sign ? 2 : 1))) {
        is_float = true;
        pos_ += sign ? 2 : 1;
        digits();
      }
    }
    std::string_view lexeme = text_.substr(begin, pos_ - begin);
    auto invalid = [&] {
      while (is_alnum(peek()) || peek() == '.') ++pos_;
      error(begin, pos_, fmt::format("invalid number literal '{}'", text_.substr(begin, pos_ - begin)));
    };
    if (is_alnum(peek()) || peek() == '.') invalid();

    // Drop the prefix and the underscores, each of which must sit between
    // two digits (or just after the base prefix, as Python allows).
    size_t start = base == 10 ? 0 : 2;
    std::string clean;
    for (size_t i = start; i < lexeme.size(); ++i) {
      char c = lexeme[i];
      if (c == '_') {
        bool after_digit = i > start ? is_digit_of_base(lexeme[i - 1], base) : base != 10;
        bool before_digit = i + 1 < lexeme.size() && is_digit_of_base(lexeme[i + 1], base);
        if (!after_digit || !before_digit) invalid();
      } else if (base != 10 && !is_digit_of_base(c, base)) {
        invalid();
      } else {
        clean += c;
      }
    }
    if (clean.empty()) invalid();
    const char* first = clean.data();
    const char* last = first + clean.size();

    if (is_float) {
      double value = 0;
      auto result = std::from_chars(first, last, value);
      if (result.ec == std::errc::result_out_of_range)
        value = overflows(clean) ? std::numeric_limits<double>::infinity() : 0.0;
      add(Tok::Float, begin).fval = value;
      return;
    }
    if (base == 10 && clean.size() > 1 && clean[0] == '0' && clean.find_first_not_of('0') != std::string::npos)
      error(begin, pos_, "leading zeros are not allowed in integer literals; use 0o for octal");
    int64_t value = 0;
    if (std::from_chars(first, last, value, base).ec == std::errc::result_out_of_range)
      error(begin, pos_, "integer literal too large; the largest is 9223372036854775807");
    add(Tok::Int, begin).ival = value;
  }

  // string ::= "'" char* "'" | '"' char* '"'   (escapes \n \t \r \\ \' \")
  void string_literal(char quote) {
    size_t begin = pos_++;
    std::string value;
    while (true) {
      if (at_end() || peek() == '\n') error(begin, pos_, "unterminated string literal");
      char c = text_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        continue;
      }
      switch (peek()) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        default:
          if (at_end() || peek() == '\n') error(begin, pos_, "unterminated string literal");
          error(pos_ - 1, pos_ + 1, "unknown escape sequence in string; write '\\\\' for a backslash");
      }
      ++pos_;
    }
    add(Tok::String, begin).text = std::move(value);
  }

  /** Consumes the next character if it is `expected` (clox's match()). */
  bool match(char expected) {
    if (peek() != expected || at_end()) return false;
    ++pos_;
    return true;
  }

  void punctuation(char c) {
    size_t begin = pos_++;
    Tok kind;
    switch (c) {
      case '(': kind = Tok::LParen; break;
      case '[': kind = Tok::LBracket; break;
      case ')': kind = Tok::RParen; break;
      case ']': kind = Tok::RBracket; break;
      case ',': kind = Tok::Comma; break;
      case ':': kind = Tok::Colon; break;
      case '.': kind = Tok::Dot; break;
      case '~': kind = Tok::Tilde; break;
      case '+': kind = match('=') ? Tok::PlusEq : Tok::Plus; break;
      case '-': kind = match('>') ? Tok::Arrow : match('=') ? Tok::MinusEq : Tok::Minus; break;
      case '*':
        if (match('*')) kind = match('=') ? Tok::StarStarEq : Tok::StarStar;
        else kind = match('=') ? Tok::StarEq : Tok::Star;
        break;
      case '/':
        if (match('/')) kind = match('=') ? Tok::SlashSlashEq : Tok::SlashSlash;
        else kind = match('=') ? Tok::SlashEq : Tok::Slash;
        break;
      case '%': kind = match('=') ? Tok::PercentEq : Tok::Percent; break;
      case '&': kind = match('=') ? Tok::AmpEq : Tok::Amp; break;
      case '|': kind = match('=') ? Tok::PipeEq : Tok::Pipe; break;
      case '^': kind = match('=') ? Tok::CaretEq : Tok::Caret; break;
      case '<': kind = match('=') ? Tok::Le : Tok::Lt; break;
      case '>': kind = match('=') ? Tok::Ge : Tok::Gt; break;
      case '=': kind = match('=') ? Tok::EqEq : Tok::Assign; break;
      case '!':
        if (!match('=')) error(begin, pos_, "unexpected character '!'; use 'not' for logical negation");
        kind = Tok::NotEq;
        break;
      default: unexpected_character(begin);
    }
    if (kind == Tok::LParen || kind == Tok::LBracket) open_brackets_.push_back(tokens_.size());
    if ((kind == Tok::RParen || kind == Tok::RBracket) && !open_brackets_.empty()) open_brackets_.pop_back();
    add(kind, begin);
  }

  [[noreturn]] void unexpected_character(size_t begin) {
    // Show a whole UTF-8 character, and control bytes as \xNN.
    auto lead = static_cast<unsigned char>(text_[begin]);
    size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    size_t end = std::min(begin + length, text_.size());
    std::string shown = lead < 0x20 || lead == 0x7f ? fmt::format("\\x{:02x}", lead)
                                                     : std::string(text_.substr(begin, end - begin));
    error(begin, end, fmt::format("unexpected character '{}'", shown));
  }

  void finish() {
    if (!open_brackets_.empty()) {
      const Token& open = tokens_[open_brackets_.back()];
      size_t at = end_of_last_token();
      error(at, at, fmt::format("expected '{}' to close '{}' at {}:{}, found end of input",
                                open.kind == Tok::LParen ? ')' : ']', open.text, open.span.line, open.span.col));
    }
    newline();
    size_t at = end_of_last_token();
    for (size_t i = 1; i < indents_.size(); ++i) add_marker(Tok::Dedent, at);
    add_marker(Tok::Eof, at);
  }
};

}  // namespace

std::vector<Token> lex(const Source& src) { return Lexer(src).run(); }

std::string print_tokens(const std::vector<Token>& tokens) {
  std::string out;
  for (const Token& t : tokens) {
    out += fmt::format("{}:{} {}", t.span.line, t.span.col, token_name(t.kind));
    bool marker = t.kind == Tok::Newline || t.kind == Tok::Indent || t.kind == Tok::Dedent || t.kind == Tok::Eof;
    if (!marker) out += " " + quoted(t.text);
    out += '\n';
  }
  return out;
}

}  // namespace numjit
