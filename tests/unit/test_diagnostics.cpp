// Diagnostics of very long lines stay readable: a window around the caret.
#include <doctest/doctest.h>

#include "support/diagnostics.h"

using namespace numjit;

TEST_CASE("a long source line is shown as a window around the caret") {
  std::string text = "x = " + std::string(5000, '1') + " + y\n";
  Source src("long.nj", text);
  Span span;
  span.begin = uint32_t(text.find('y'));
  span.end = span.begin + 1;
  span.line = 1;
  span.col = int(span.begin) + 1;
  std::string d = render_diagnostic(&src, span, "unknown name 'y'");
  CHECK(d.find("long.nj:1:5008: error: unknown name 'y'") == 0);
  CHECK(d.size() < 400);
  CHECK(d.find("...") != std::string::npos);
  // The caret sits under the y of the shown window.
  size_t l1 = d.find('\n'), l2 = d.find('\n', l1 + 1);
  std::string shown = d.substr(l1 + 1, l2 - l1 - 1), caret = d.substr(l2 + 1);
  CHECK(shown[caret.find('^')] == 'y');
}
