// .npy reader and writer. A file is: magic "\x93NUMPY", major and minor
// version bytes, the header length (2 bytes little-endian in 1.0, 4 in 2.0 and
// 3.0), the header (a Python dict literal padded with spaces and a '\n'), then
// the raw elements. The header is parsed by a small recursive-descent parser of
// the literal subset writers emit (strings, integers, True/False/None, tuples,
// lists, dicts) and then checked key by key, so every way a file can be wrong
// gets its own message. The file size is known before the data is allocated.
#include "runtime/npy.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace numjit {

namespace {

// Elements are copied between file and memory as they are; '<' is native.
static_assert(std::endian::native == std::endian::little, "the .npy reader assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
/** np.save aligns the data to 64 bytes (numpy.lib.format.ARRAY_ALIGN). */
constexpr size_t kAlign = 64;
/** np.save leaves room for the first dimension to grow to this many digits
 *  (numpy.lib.format.GROWTH_AXIS_MAX_DIGITS); we copy it to write the same bytes. */
constexpr size_t kGrowthAxisMaxDigits = 21;
/** Bounds the parser's recursion on hostile headers such as "((((((...". */
constexpr int kMaxNesting = 32;
/** Strided arrays are gathered into chunks of this many bytes before writing. */
constexpr size_t kWriteChunk = 1 << 16;

constexpr const char* kSupported = "numjit reads bool, int32, int64, float32, float64, little-endian";

/** Throws the Error "cannot VERB 'PATH': REASON". */
[[noreturn]] void fail(const char* verb, const std::string& path, std::string_view reason) {
  throw Error(fmt::format("cannot {} '{}': {}", verb, path, reason));
}

/** strerror(err), lower-cased to continue a "cannot load 'f': " message. */
std::string errno_text(int err) {
  std::string s = std::error_code(err, std::generic_category()).message();
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = char(s[0] - 'A' + 'a');
  return s;
}

/** A Python literal of the header. */
struct Literal {
  enum class Kind { Str, Int, Bool, None, Tuple, List, Dict };
  explicit Literal(Kind k) : kind(k) {}
  Kind kind;
  std::string text;             ///< Str: the contents; Int: the digits as written
  int64_t integer = 0;          ///< Int: the value, saturated at +-INT64_MAX
  bool overflow = false;        ///< Int: the value does not fit in int64
  bool boolean = false;         ///< Bool
  std::vector<Literal> items;   ///< Tuple, List; Dict: key, value, key, value...
};

/** Parses the header text into its dict; throws Error naming `path` and the
 *  column of the first thing that is not a Python literal. */
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path) : s_(text), path_(path) {}

  Literal parse_dict() {
    skip_space();
    if (!at('{')) malformed("expected a dict '{...}'");
    Literal d = value(0);
    skip_space();
    if (pos_ < s_.size()) malformed("unexpected text after the dict");
    return d;
  }

 private:
  [[noreturn]] void malformed(std::string_view what) const {
    fail("load", path_, fmt::format("malformed header: {} at column {}", what, pos_ + 1));
  }

  bool at(char c) const { return pos_ < s_.size() && s_[pos_] == c; }

  void skip_space() {
    while (pos_ < s_.size() && std::string_view(" \t\n\r\f\v").find(s_[pos_]) != std::string_view::npos) ++pos_;
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || is_digit(c);
  }

  Literal value(int depth) {
    if (depth > kMaxNesting) malformed("nesting too deep");
    skip_space();
    if (pos_ >= s_.size()) malformed("unexpected end");
    char c = s_[pos_];
    if (c == '\'' || c == '"') return string();
    if (c == '+' || c == '-' || is_digit(c)) return integer();
    if (is_name_char(c)) return name();
    if (c == '{') return dict(depth);
    if (c == '[') {
      Literal l(Literal::Kind::List);
      bool comma;
      l.items = items(']', depth, &comma);
      return l;
    }
    if (c == '(') {
      // "(x)" is x; "()", "(x,)" and "(x, y)" are tuples.
      bool comma;
      std::vector<Literal> elems = items(')', depth, &comma);
      if (elems.size() == 1 && !comma) return std::move(elems[0]);
      Literal t(Literal::Kind::Tuple);
      t.items = std::move(elems);
      return t;
    }
    malformed(c >= ' ' && c <= '~' ? fmt::format("unexpected '{}'", c) : fmt::format("unexpected byte 0x{:02x}", uint8_t(c)));
  }

  /** string ::= "'" chars "'" | '"' chars '"'   (a backslash escapes the next char) */
  Literal string() {
    char quote = s_[pos_++];
    Literal l(Literal::Kind::Str);
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      l.text += s_[pos_++];
    }
    if (pos_ >= s_.size()) malformed("unterminated string");
    ++pos_;
    return l;
  }

  /** integer ::= ['+' | '-'] digit+ ['L']   (Python 2 wrote 3L) */
  Literal integer() {
    Literal l(Literal::Kind::Int);
    bool negative = at('-');
    if (at('+') || at('-')) l.text += s_[pos_++];
    if (pos_ >= s_.size() || !is_digit(s_[pos_])) malformed("expected digits after the sign");
    uint64_t v = 0;
    while (pos_ < s_.size() && is_digit(s_[pos_])) {
      uint64_t d = uint64_t(s_[pos_] - '0');
      if (v > (uint64_t(INT64_MAX) - d) / 10) l.overflow = true;
      else v = v * 10 + d;
      l.text += s_[pos_++];
    }
    if (at('L') || at('l')) ++pos_;
    int64_t magnitude = l.overflow ? INT64_MAX : int64_t(v);
    l.integer = negative ? -magnitude : magnitude;
    return l;
  }

  /** name ::= 'True' | 'False' | 'None' */
  Literal name() {
    size_t start = pos_;
    while (pos_ < s_.size() && is_name_char(s_[pos_])) ++pos_;
    std::string_view n = s_.substr(start, pos_ - start);
    if (n == "None") return Literal(Literal::Kind::None);
    if (n == "True" || n == "False") {
      Literal l(Literal::Kind::Bool);
      l.boolean = n == "True";
      return l;
    }
    pos_ = start;
    malformed(fmt::format("unknown name '{}'", n));
  }

  /** items ::= open [value (',' value)* [',']] close; `comma` tells whether
   *  there was a comma at all. */
  std::vector<Literal> items(char close, int depth, bool* comma) {
    ++pos_;
    std::vector<Literal> out;
    *comma = false;
    for (;;) {
      skip_space();
      if (at(close)) break;
      out.push_back(value(depth + 1));
      skip_space();
      if (at(close)) break;
      if (!at(',')) malformed(fmt::format("expected ',' or '{}'", close));
      ++pos_;
      *comma = true;
    }
    ++pos_;
    return out;
  }

  /** dict ::= '{' [string ':' value (',' string ':' value)* [',']] '}' */
  Literal dict(int depth) {
    ++pos_;
    Literal d(Literal::Kind::Dict);
    for (;;) {
      skip_space();
      if (at('}')) break;
      size_t key_pos = pos_;
      Literal key = value(depth + 1);
      if (key.kind != Literal::Kind::Str) {
        pos_ = key_pos;
        malformed("dict keys must be strings");
      }
      skip_space();
      if (!at(':')) malformed("expected ':' after a key");
      ++pos_;
      d.items.push_back(std::move(key));
      d.items.push_back(value(depth + 1));
      skip_space();
      if (at('}')) break;
      if (!at(',')) malformed("expected ',' or '}'");
      ++pos_;
    }
    ++pos_;
    return d;
  }

  std::string_view s_;
  const std::string& path_;
  size_t pos_ = 0;
};

/** The dtype a descr such as '<f8' names, if numjit has it. Byte order '<'
 *  and '=' (native, little-endian here) are accepted; for the one-byte bool
 *  any order is. */
std::optional<DType> dtype_of_descr(std::string_view descr) {
  if (descr.size() != 3 || std::string_view("<=|>").find(descr[0]) == std::string_view::npos) return std::nullopt;
  std::string_view code = descr.substr(1);
  for (DType t : kDTypes) {
    if (code != std::string_view(dtype_descr(t)).substr(1)) continue;
    if (dtype_size(t) > 1 && descr[0] != '<' && descr[0] != '=') return std::nullopt;
    return t;
  }
  return std::nullopt;
}

/** What the header says about the data. */
struct Layout {
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t nbytes;  ///< bytes of data the shape and dtype call for
};

/** Reads one .npy file; every failure is an Error naming the file. */
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "rb")) {
    if (!file_) fail(errno_text(errno));
  }

  Array read() {
    unsigned char pre[8];
    size_t got = read_some(pre, sizeof pre);
    if (got == 0) fail("file is empty");
    if (std::memcmp(pre, kMagic, std::min(got, kMagicLen)) != 0) fail("not a .npy file (bad magic)");
    if (got < sizeof pre) fail("truncated header");
    int major = pre[6], minor = pre[7];
    if (major < 1 || major > 3 || minor != 0) fail(fmt::format("unsupported .npy version {}.{}", major, minor));

    size_t len_bytes = major == 1 ? 2 : 4;
    unsigned char len_field[4] = {0, 0, 0, 0};
    if (read_some(len_field, len_bytes) < len_bytes) fail("truncated header");
    uint64_t header_len = uint64_t(len_field[0]) | uint64_t(len_field[1]) << 8 | uint64_t(len_field[2]) << 16 |
                          uint64_t(len_field[3]) << 24;
    uint64_t header_start = sizeof pre + len_bytes;
    uint64_t file_size = size_of_file(header_start);
    if (file_size < header_start || header_len > file_size - header_start) fail("truncated header");

    std::string header(size_t(header_len), '\0');
    if (read_some(header.data(), header.size()) < header.size()) fail("truncated header");
    Layout layout = interpret(HeaderParser(header, path_).parse_dict());

    uint64_t available = file_size - header_start - header_len;
    if (layout.nbytes > available)
      fail(fmt::format("file is truncated: expected {} bytes of data, found {}", layout.nbytes, available));
    Array a = allocate(layout);
    if (layout.nbytes == 0) return a;
    size_t n = read_some(a.raw_data(), size_t(layout.nbytes));
    if (n < layout.nbytes) fail(fmt::format("file is truncated: expected {} bytes of data, found {}", layout.nbytes, n));
    if (layout.dtype == DType::Bool) {
      auto* b = static_cast<unsigned char*>(a.raw_data());
      for (size_t i = 0; i < n; ++i) b[i] = b[i] != 0;
    }
    return a;
  }

 private:
  [[noreturn]] void fail(std::string_view reason) const { numjit::fail("load", path_, reason); }

  /** Reads up to `n` bytes, fewer only at the end of the file. */
  size_t read_some(void* dst, size_t n) {
    size_t got = std::fread(dst, 1, n, file_.get());
    if (got < n && std::ferror(file_.get())) fail(errno_text(errno));
    return got;
  }

  /** The file's size in bytes; leaves the position at `resume`. */
  uint64_t size_of_file(uint64_t resume) {
    if (std::fseek(file_.get(), 0, SEEK_END) != 0) fail(errno_text(errno));
    long size = std::ftell(file_.get());
    if (size < 0 || std::fseek(file_.get(), long(resume), SEEK_SET) != 0) fail(errno_text(errno));
    return uint64_t(size);
  }

  /** Checks the header dict: exactly the keys descr, fortran_order and shape,
   *  each of a type and value numjit can load. */
  Layout interpret(const Literal& dict) const {
    const Literal* descr = nullptr;
    const Literal* fortran = nullptr;
    const Literal* shape = nullptr;
    for (size_t i = 0; i < dict.items.size(); i += 2) {
      const std::string& key = dict.items[i].text;
      const Literal** slot = key == "descr" ? &descr : key == "fortran_order" ? &fortran : key == "shape" ? &shape : nullptr;
      if (!slot) fail(fmt::format("malformed header: unexpected key '{}'", key));
      if (*slot) fail(fmt::format("malformed header: duplicate key '{}'", key));
      *slot = &dict.items[i + 1];
    }
    if (!descr) fail("malformed header: missing key 'descr'");
    if (!fortran) fail("malformed header: missing key 'fortran_order'");
    if (!shape) fail("malformed header: missing key 'shape'");

    if (descr->kind == Literal::Kind::List) fail(fmt::format("unsupported dtype: structured arrays are not supported ({})", kSupported));
    if (descr->kind != Literal::Kind::Str) fail("malformed header: 'descr' must be a string");
    std::optional<DType> dtype = dtype_of_descr(descr->text);
    if (!dtype) fail(fmt::format("unsupported dtype '{}' ({})", descr->text, kSupported));

    if (fortran->kind != Literal::Kind::Bool) fail("malformed header: 'fortran_order' must be True or False");

    if (shape->kind != Literal::Kind::Tuple) fail("malformed header: 'shape' must be a tuple of integers");
    for (const Literal& d : shape->items) {
      if (d.kind != Literal::Kind::Int) fail("malformed header: 'shape' must be a tuple of integers");
      if (d.integer < 0) fail(fmt::format("malformed header: negative dimension {} in 'shape'", d.text));
    }
    size_t rank = shape->items.size();
    if (rank > 2) fail(fmt::format("rank {} is not supported (numjit arrays have rank 0 to 2)", rank));
    // Below rank 2 Fortran and C order lay the elements out alike.
    if (fortran->boolean && rank == 2) fail("Fortran-order arrays are not supported");

    Layout layout{*dtype, {}, uint64_t(dtype_size(*dtype))};
    for (const Literal& d : shape->items) {
      if (d.overflow || (d.integer != 0 && layout.nbytes > uint64_t(INT64_MAX) / uint64_t(d.integer)))
        fail("shape overflows");
      layout.nbytes *= uint64_t(d.integer);
      layout.shape.push_back(d.integer);
    }
    return layout;
  }

  Array allocate(const Layout& layout) const {
    try {
      return Array::zeros(layout.dtype, layout.shape);
    } catch (const std::bad_alloc&) {
      fail(fmt::format("out of memory for {} bytes of data", layout.nbytes));
    } catch (const Error& e) {
      fail(e.what());
    }
  }

  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };

  const std::string& path_;
  std::unique_ptr<std::FILE, Closer> file_;
};


/** Magic, version 1.0, length and header exactly as np.save (NumPy 1.24)
 *  writes them. The header of a rank-2 array is far below the 65535 bytes
 *  version 1.0 can describe, so 2.0 is never needed. */
std::string preamble(const char* descr, const std::vector<int64_t>& shape) {
  std::string dims = shape.empty() ? "()"
                     : shape.size() == 1 ? fmt::format("({},)", shape[0])
                                         : fmt::format("({}, {})", shape[0], shape[1]);
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, dims);
  if (!shape.empty()) header.append(kGrowthAxisMaxDigits - fmt::format("{}", shape[0]).size(), ' ');
  size_t unpadded = kMagicLen + 2 + 2 + header.size() + 1;
  header.append(kAlign - unpadded % kAlign, ' ');
  header += '\n';
  std::string out(kMagic, kMagicLen);
  out += {'\x01', '\x00', char(header.size() & 0xff), char(header.size() >> 8)};
  return out + header;
}

/** Writes one file; every failure is an Error naming it. */
class Writer {
 public:
  explicit Writer(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "wb")) {
    if (!file_) fail("save", path_, errno_text(errno));
  }
  ~Writer() {
    if (file_) std::fclose(file_);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void put(const void* p, size_t n) {
    if (n > 0 && std::fwrite(p, 1, n, file_) != n) fail("save", path_, errno_text(errno));
  }

  /** Closes the file; buffered data that cannot be written shows up here. */
  void finish() {
    if (std::fclose(std::exchange(file_, nullptr)) != 0) fail("save", path_, errno_text(errno));
  }

 private:
  const std::string& path_;
  std::FILE* file_;
};

}  // namespace

Array load_npy(const std::string& path) { return Reader(path).read(); }

void save_npy(const std::string& path, const Array& a) {
  const char* descr = dtype_descr(a.dtype());
  if (!descr) fail("save", path, fmt::format("unsupported dtype {}", int(a.dtype())));
  // Seen as rows x cols with element strides; rank 0 is 1 x 1, rank 1 is 1 x n.
  const int nd = a.ndim();
  const int64_t rows = nd == 2 ? a.shape()[0] : 1;
  const int64_t cols = nd == 0 ? 1 : a.shape()[size_t(nd - 1)];
  const int64_t row_stride = nd == 2 ? a.strides()[0] : 0;
  const int64_t col_stride = nd == 0 ? 1 : a.strides()[size_t(nd - 1)];
  const auto item = int64_t(dtype_size(a.dtype()));
  const auto* base = static_cast<const char*>(a.raw_data());
  const int64_t count = rows * cols;
  if (count > 0 && !base) fail("save", path, "the array has no data");

  Writer w(path);
  const std::string pre = preamble(descr, a.shape());
  w.put(pre.data(), pre.size());
  if (count > 0 && (rows == 1 || row_stride == cols) && (cols == 1 || col_stride == 1)) {
    w.put(base, size_t(count * item));
  } else if (count > 0) {
    std::vector<char> chunk;
    chunk.reserve(kWriteChunk + size_t(item));
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const char* p = base + (i * row_stride + j * col_stride) * item;
        chunk.insert(chunk.end(), p, p + item);
        if (chunk.size() >= kWriteChunk) {
          w.put(chunk.data(), chunk.size());
          chunk.clear();
        }
      }
    }
    w.put(chunk.data(), chunk.size());
  }
  w.finish();
}

}  // namespace numjit
