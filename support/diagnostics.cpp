// Diagnostics: renders "file:line:col: error: message", the source line and a
// caret under the span; throws user and internal errors; suggests near names.
#include "support/diagnostics.h"

#include <algorithm>
#include <fmt/format.h>

namespace numjit {

namespace {

bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

/** Levenshtein distance between `a` and `b`. */
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string render_diagnostic(const Source* src, const Span& span, std::string_view message) {
  if (!src || !span.valid()) return fmt::format("error: {}", message);
  std::string_view line = src->line_text(span.line);
  size_t caret = size_t(span.col - 1);
  size_t span_len = std::max<size_t>(1, span.end - span.begin);
  // A very long line is shown as a window around the caret.
  constexpr size_t kWidth = 120;
  std::string_view prefix, suffix;
  if (line.size() > kWidth) {
    size_t start = caret > kWidth / 3 ? caret - kWidth / 3 : 0;
    while (start > 0 && is_utf8_continuation(line[start])) --start;
    size_t len = std::min(kWidth, line.size() - start);
    if (start > 0) prefix = "...";
    if (start + len < line.size()) suffix = "...";
    line = line.substr(start, len);
    caret = caret - start + prefix.size();
    span_len = std::min(span_len, line.size() + prefix.size() - caret);
  }
  std::string shown = std::string(prefix) + std::string(line) + std::string(suffix);
  std::string out = fmt::format("{}:{}:{}: error: {}\n    {}\n    ", src->name().empty() ? "<input>" : src->name(),
                                span.line, span.col, message, shown);
  // Pad with the line's own tabs so the caret lines up, and count a UTF-8
  // character as one column of the terminal.
  for (size_t i = 0; i < caret; ++i) {
    if (i >= shown.size()) out += ' ';
    else if (shown[i] == '\t') out += '\t';
    else if (!is_utf8_continuation(shown[i])) out += ' ';
  }
  out += '^';
  size_t span_end = std::min<size_t>(caret + span_len, shown.size() - suffix.size());
  for (size_t i = caret + 1; i < span_end; ++i)
    if (!is_utf8_continuation(shown[i])) out += '~';
  return out + '\n';
}

void user_error(const Source* src, const Span& span, std::string_view message) {
  throw Error(render_diagnostic(src, span, message));
}

void internal_error(std::string_view where, std::string_view what) {
  throw Error(fmt::format("internal compiler error in {}: {}", where, what));
}

std::string nearest_name(std::string_view name, const std::vector<std::string>& candidates) {
  size_t limit = std::max<size_t>(1, name.size() / 3);
  const std::string* best = nullptr;
  size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    if (candidate == name) continue;
    // The distance is at least the difference in length: skip the quadratic
    // work for candidates that cannot win (a 10 MB name took 50 s).
    size_t gap = name.size() > candidate.size() ? name.size() - candidate.size() : candidate.size() - name.size();
    if (gap > limit) continue;
    size_t d = edit_distance(name, candidate);
    // Ties go to the alphabetically first, so the suggestion does not depend
    // on the order of the candidates.
    if (d < best_distance || (d == best_distance && best && candidate < *best)) {
      best = &candidate;
      best_distance = d;
    }
  }
  return best ? *best : std::string();
}

}  // namespace numjit
