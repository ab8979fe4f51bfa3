// Diagnostics: user errors rendered as
//
//   file:line:col: error: message
//     x = sumx(p)
//         ^~~~
//
// numjit::Error is what the user sees; internal_error() is a compiler bug
// (it names the pass), never the user's fault.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "support/source.h"
#include "numjit/numjit.hpp"

namespace numjit {

/** Renders a diagnostic for `span` of `src` (src may be null: message only). */
std::string render_diagnostic(const Source* src, const Span& span, std::string_view message);

/** Throws numjit::Error with the rendered diagnostic. */
[[noreturn]] void user_error(const Source* src, const Span& span, std::string_view message);

/** Throws numjit::Error saying "internal compiler error in <where>: <what>". */
[[noreturn]] void internal_error(std::string_view where, std::string_view what);

/** The candidate closest to `name` by edit distance, or "" if none is close. */
std::string nearest_name(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace numjit
