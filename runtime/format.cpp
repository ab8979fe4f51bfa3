// format_value: the text NumPy 1.24 prints for `print(x)` (str, not repr) with
// the default print options (precision 8, floatmode 'maxprec', threshold 1000,
// edgeitems 3, linewidth 75, sign '-').
//
// Arrays follow a port of numpy/core/arrayprint.py: array2string,
// _leading_trailing (summarisation), _formatArray with _extendLine (line
// wrapping), FloatingFormat.fillFormat / __call__ in 'maxprec' mode,
// IntegerFormat and BoolFormat.  Scalars and rank-0 arrays follow the str() of
// NumPy's scalar types (floattype_str in scalartypes.c.src): shortest
// round-trip digits, positional for 1e-4 <= |x| < 1e16, else scientific.
//
// Dragon4's digit modes map onto std::to_chars: "unique" is the shortest
// round-trip form, a precision cutoff (or min_digits padding) is correct
// rounding of the exact binary value, which to_chars with a precision gives.
#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "numjit/numjit.hpp"

namespace numjit {

namespace {

// NumPy's default print options.
constexpr int kPrecision = 8;
constexpr int64_t kThreshold = 1000;
constexpr int64_t kEdgeItems = 3;
constexpr size_t kLineWidth = 75;

/** A non-negative decimal d.ddd × 10^exp; `digits` holds d and ddd. */
struct Decimal {
  std::string digits;
  int exp = 0;
};

/** Parses to_chars' scientific form "d[.ddd]e±XX". */
Decimal parse_scientific(const char* first, const char* last) {
  Decimal d;
  const char* e = std::find(first, last, 'e');
  for (const char* p = first; p != e; ++p)
    if (*p != '.') d.digits += *p;
  std::from_chars(e + (e[1] == '+' ? 2 : 1), last, d.exp);
  return d;
}

/** |x| with the fewest digits that read back as x (as a float when f32). */
Decimal shortest(double x, bool f32) {
  char buf[64];
  auto r = f32 ? std::to_chars(buf, buf + sizeof buf, std::fabs(float(x)), std::chars_format::scientific)
               : std::to_chars(buf, buf + sizeof buf, std::fabs(x), std::chars_format::scientific);
  return parse_scientific(buf, r.ptr);
}

/** The exact |x| rounded (half to even) to `frac` digits after d. */
Decimal rounded_scientific(double x, int frac) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, std::fabs(x), std::chars_format::scientific, frac);
  return parse_scientific(buf, r.ptr);
}

void trim_zeros(std::string& s, size_t keep) {
  while (s.size() > keep && s.back() == '0') s.pop_back();
}

const char* sign_of(double x) { return std::signbit(x) ? "-" : ""; }

/** "+05", "-123": the exponent with at least `digits` digits. */
std::string exponent(int e, size_t digits) {
  std::string n = std::to_string(std::abs(e));
  if (n.size() < digits) n.insert(0, digits - n.size(), '0');
  return (e < 0 ? "-" : "+") + n;
}

/** Integer and fraction digits of |x| in positional form (Dragon4 positional,
 *  unique, fractional, trim '.'): the shortest round-trip digits, or the exact
 *  value rounded to `max_frac` fraction digits with trailing zeros trimmed when
 *  those need more.  With `exact_int` (min_digits=0) Dragon4 generates every
 *  digit down to the units place, so a large float32 prints its exact integer
 *  value (92807872.) rather than the shortest one padded with zeros (92807870.). */
std::pair<std::string, std::string> positional(double x, bool f32, int max_frac, bool exact_int) {
  Decimal d = shortest(x, f32);
  std::string int_part, frac_part;
  bool padded = false;
  if (d.exp < 0) {
    int_part = "0";
    frac_part = std::string(size_t(-d.exp - 1), '0') + d.digits;
  } else {
    size_t n = size_t(d.exp) + 1;
    int_part = d.digits.substr(0, n);
    padded = d.digits.size() < n;
    int_part.resize(n, '0');
    if (d.digits.size() > n) frac_part = d.digits.substr(n);
  }
  if (frac_part.size() > size_t(max_frac) || (exact_int && padded)) {
    // the value is an integer when its shortest digits stop above the units
    char buf[400];
    auto r = std::to_chars(buf, buf + sizeof buf, std::fabs(x), std::chars_format::fixed,
                           padded ? 0 : max_frac);
    std::string s(buf, r.ptr);
    size_t dot = s.find('.');
    int_part = s.substr(0, dot);
    frac_part = dot == std::string::npos ? "" : s.substr(dot + 1);
    trim_zeros(frac_part, 0);
  }
  return {int_part, frac_part};
}

/** str(np.float64(x)) / str(np.float32(x)). */
std::string float_scalar(double x, bool f32) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  long double a = std::fabs(static_cast<long double>(x));
  if (a == 0 || (a < 1.e16L && a >= 1.e-4L)) {
    auto [int_part, frac_part] = positional(x, f32, INT_MAX, false);
    return sign_of(x) + int_part + "." + (frac_part.empty() ? "0" : frac_part);
  }
  Decimal d = shortest(x, f32);
  std::string s = sign_of(x) + d.digits.substr(0, 1);
  if (d.digits.size() > 1) s += "." + d.digits.substr(1);
  return s + "e" + exponent(d.exp, 2);
}

std::string pad_left(std::string s, size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

/** FloatingFormat in 'maxprec' mode, sign '-', suppress_small off. */
class FloatingFormat {
 public:
  FloatingFormat(const std::vector<double>& data, bool f32) : f32_(f32) { fill_format(data); }

  std::string operator()(double x) const {
    if (!std::isfinite(x))
      return pad_left(std::isnan(x) ? "nan" : x < 0 ? "-inf" : "inf", pad_left_ + pad_right_ + 1);
    if (exp_format_) {
      Decimal d = rounded_scientific(x, precision_);
      return pad_left(sign_of(x) + d.digits.substr(0, 1), pad_left_) + "." + d.digits.substr(1) + "e" +
             exponent(d.exp, exp_size_);
    }
    auto [int_part, frac_part] = positional(x, f32_, precision_, true);
    frac_part.resize(std::max(frac_part.size(), pad_right_), ' ');
    return pad_left(sign_of(x) + int_part, pad_left_) + "." + frac_part;
  }

 private:
  void fill_format(const std::vector<double>& data) {
    // only the finite values are used to compute the number of digits
    std::vector<double> finite_vals;
    for (double x : data)
      if (std::isfinite(x)) finite_vals.push_back(x);

    // choose exponential mode based on the non-zero finite values
    double max_val = 0, min_val = INFINITY;
    for (double x : finite_vals)
      if (x != 0) {
        max_val = std::max(max_val, std::fabs(x));
        min_val = std::min(min_val, std::fabs(x));
      }
    if (max_val != 0) {
      // NumPy divides two float32 scalars in float32 (and may overflow to inf)
      double ratio = f32_ ? double(float(max_val) / float(min_val)) : max_val / min_val;
      exp_format_ = max_val >= 1.e8 || min_val < 0.0001 || ratio > 1000.;
    }

    // a first pass of printing all the numbers, to determine sizes
    if (exp_format_) {
      for (double x : finite_vals) {
        Decimal d = shortest(x, f32_);
        if (d.digits.size() - 1 > size_t(kPrecision)) {
          d = rounded_scientific(x, kPrecision);
          trim_zeros(d.digits, 1);
        }
        pad_left_ = std::max(pad_left_, std::string(sign_of(x)).size() + 1);
        precision_ = std::max(precision_, int(d.digits.size()) - 1);
        exp_size_ = std::max(exp_size_, exponent(d.exp, 2).size() - 1);
      }
      pad_right_ = exp_size_ + 2 + size_t(precision_);
    } else {
      for (double x : finite_vals) {
        auto [int_part, frac_part] = positional(x, f32_, kPrecision, false);
        pad_left_ = std::max(pad_left_, std::string(sign_of(x)).size() + int_part.size());
        pad_right_ = std::max(pad_right_, frac_part.size());
      }
      precision_ = kPrecision;
    }

    // if there are non-finite values, may need to increase pad_left
    if (finite_vals.size() != data.size()) {
      bool neginf = std::any_of(data.begin(), data.end(), [](double x) { return std::isinf(x) && x < 0; });
      size_t offset = pad_right_ + 1;  // +1 for the decimal point
      size_t widest = 3 + size_t(neginf);
      if (widest > offset) pad_left_ = std::max(pad_left_, widest - offset);
    }
  }

  bool f32_;
  bool exp_format_ = false;
  int precision_ = 0;  // fraction digits: exact in exponential mode, a cap otherwise
  size_t pad_left_ = 0, pad_right_ = 0, exp_size_ = 0;
};

/** IntegerFormat: right-aligned to the wider of the extremes. */
class IntegerFormat {
 public:
  explicit IntegerFormat(const std::vector<int64_t>& data) {
    auto [lo, hi] = std::minmax_element(data.begin(), data.end());
    width_ = std::max(std::to_string(*lo).size(), std::to_string(*hi).size());
  }
  std::string operator()(int64_t x) const { return pad_left(std::to_string(x), width_); }

 private:
  size_t width_;
};

/** BoolFormat of an array (not 0-d): " True" lines up with "False". */
struct BoolFormat {
  std::string operator()(bool x) const { return x ? " True" : "False"; }
};

/** Indices shown along an axis of length n (_leading_trailing). */
std::vector<int64_t> shown_indices(int64_t n, bool summarise) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i)
    if (!summarise || n <= 2 * kEdgeItems || i < kEdgeItems || i >= n - kEdgeItems) out.push_back(i);
  return out;
}

/** _extendLine: append `word`, first wrapping when the line would get too long. */
void extend_line(std::string& s, std::string& line, const std::string& word, size_t line_width,
                 const std::string& next_line_prefix) {
  // don't wrap lines if it won't help
  if (line.size() + word.size() > line_width && line.size() > next_line_prefix.size()) {
    s += line.substr(0, line.find_last_not_of(' ') + 1) + "\n";
    line = next_line_prefix;
  }
  line += word;
}

/** _formatArray with separator ' ' (and not legacy 1.13). */
template <class T, class Format>
class ArrayFormatter {
 public:
  ArrayFormatter(const Array& a, const Format& format, bool summarise)
      : a_(a), format_(format), summarise_(summarise) {}

  std::string recurse(std::vector<int64_t>& index, const std::string& hanging_indent, size_t curr_width) const {
    size_t axis = index.size();
    int axes_left = a_.ndim() - int(axis);
    if (axes_left == 0) return format_(a_.template at<T>(index[0], axis > 1 ? index[1] : 0));

    // when recursing, add a space to align with the [ added, and reduce the
    // length of the line by 1
    std::string next_hanging_indent = hanging_indent + ' ';
    size_t next_width = curr_width - 1;
    int64_t a_len = a_.shape()[axis];
    bool show_summary = summarise_ && 2 * kEdgeItems < a_len;
    int64_t leading_items = show_summary ? kEdgeItems : 0;
    int64_t trailing_items = show_summary ? kEdgeItems : a_len;
    auto item = [&](int64_t i) {
      index.push_back(i);
      std::string word = recurse(index, next_hanging_indent, next_width);
      index.pop_back();
      return word;
    };

    std::string s;
    if (axes_left == 1) {
      // last axis: wrap elements if they would not fit on one line; the width
      // is up to the beginning of the separator / bracket
      size_t elem_width = curr_width - 1;
      std::string line = hanging_indent;
      for (int64_t i = 0; i < leading_items; ++i) {
        extend_line(s, line, item(i), elem_width, hanging_indent);
        line += ' ';
      }
      if (show_summary) {
        extend_line(s, line, "...", elem_width, hanging_indent);
        line += ' ';
      }
      for (int64_t i = trailing_items; i > 1; --i) {
        extend_line(s, line, item(a_len - i), elem_width, hanging_indent);
        line += ' ';
      }
      extend_line(s, line, item(a_len - 1), elem_width, hanging_indent);
      s += line;
    } else {
      // other axes: insert newlines between rows
      std::string line_sep(size_t(axes_left - 1), '\n');
      for (int64_t i = 0; i < leading_items; ++i) s += hanging_indent + item(i) + line_sep;
      if (show_summary) s += hanging_indent + "..." + line_sep;
      for (int64_t i = trailing_items; i > 1; --i) s += hanging_indent + item(a_len - i) + line_sep;
      s += hanging_indent + item(a_len - 1);
    }
    // remove the hanging indent, and wrap in []
    return "[" + s.substr(hanging_indent.size()) + "]";
  }

 private:
  const Array& a_;
  const Format& format_;
  bool summarise_;
};

/** The elements that are shown, which are all the formatter sees (_leading_trailing). */
template <class T>
std::vector<T> shown_elements(const Array& a, bool summarise) {
  std::vector<T> data;
  std::vector<int64_t> rows = shown_indices(a.shape()[0], summarise);
  std::vector<int64_t> cols = a.ndim() == 2 ? shown_indices(a.shape()[1], summarise) : std::vector<int64_t>{0};
  for (int64_t i : rows)
    for (int64_t j : cols) data.push_back(a.at<T>(i, j));
  return data;
}

template <class T, class Format>
std::string format_array(const Array& a, const Format& format, bool summarise) {
  std::vector<int64_t> index;
  // the next line prefix " " skips over the "["
  return ArrayFormatter<T, Format>(a, format, summarise).recurse(index, " ", kLineWidth);
}

/** array2string of an array of rank 1 or 2. */
std::string array2string(const Array& a) {
  // treat as a null array if any of shape elements == 0
  if (a.size() == 0) return "[]";
  bool summarise = a.size() > kThreshold;
  return visit_dtype(a.dtype(), [&](auto c) {
    using T = typename decltype(c)::type;
    if constexpr (std::is_same_v<T, bool>) return format_array<bool>(a, BoolFormat(), summarise);
    else if constexpr (std::is_integral_v<T>)
      return format_array<int64_t>(a, IntegerFormat(shown_elements<int64_t>(a, summarise)), summarise);
    else
      return format_array<double>(
          a, FloatingFormat(shown_elements<double>(a, summarise), std::is_same_v<T, float>), summarise);
  });
}

}  // namespace

std::string format_value(const Value& v) {
  // the str of a 0-d array is the str of its scalar
  if (v.is_array() && v.array().ndim() != 0) return array2string(v.array());
  return visit_dtype(v.dtype(), [&](auto c) -> std::string {
    using T = typename decltype(c)::type;
    if constexpr (std::is_same_v<T, bool>) return v.scalar<bool>() ? "True" : "False";
    else if constexpr (std::is_integral_v<T>) return std::to_string(v.scalar<int64_t>());
    else return float_scalar(v.scalar<double>(), std::is_same_v<T, float>);
  });
}

}  // namespace numjit
