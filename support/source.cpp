// Source: the line table that turns byte offsets into line:col, and Span::merge.
#include "support/source.h"

#include <algorithm>

namespace numjit {

Source::Source(std::string name, std::string text) : name_(std::move(name)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(uint32_t(i + 1));
}

std::string_view Source::line_text(int line) const {
  if (line < 1 || size_t(line) > line_starts_.size()) return {};
  size_t begin = line_starts_[size_t(line) - 1];
  size_t end = size_t(line) < line_starts_.size() ? line_starts_[size_t(line)] - 1 : text_.size();
  std::string_view s(text_.data() + begin, end - begin);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

std::pair<int, int> Source::line_col(uint32_t offset) const {
  offset = std::min<uint32_t>(offset, uint32_t(text_.size()));
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - 1;
  return {int(it - line_starts_.begin()) + 1, int(offset - *it) + 1};
}

Span Span::merge(const Span& a, const Span& b) {
  if (!a.valid()) return b;
  if (!b.valid()) return a;
  Span out = a.begin <= b.begin ? a : b;
  out.end = std::max(a.end, b.end);
  return out;
}

}  // namespace numjit
