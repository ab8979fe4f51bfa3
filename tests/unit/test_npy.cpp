// Unit tests of the .npy reader and writer (runtime/npy): round trips of every
// dtype and rank, strided saves, the header variants other writers produce,
// one hand-made bad file per error message, and, when /usr/bin/python3 has
// NumPy, files exchanged with np.save / np.load in both directions.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "numjit/numjit.hpp"
#include "runtime/npy.h"

using namespace numjit;
namespace fs = std::filesystem;

namespace {

const DType kAllDTypes[] = {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64};

/** A fresh directory under the system temp directory, removed afterwards. */
struct TempDir {
  fs::path dir;
  TempDir() {
    static int counter = 0;
    dir = fs::temp_directory_path() / fmt::format("numjit_npy_test_{}_{}", getpid(), counter++);
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/** Magic, version major.0, the header length field and `header` verbatim
 *  (no padding), then `data`. */
std::string npy(const std::string& header, const std::string& data = "", int major = 1) {
  std::string out("\x93NUMPY", 6);
  out += char(major);
  out += '\0';
  auto n = uint32_t(header.size());
  out += char(n & 0xff);
  out += char(n >> 8 & 0xff);
  if (major >= 2) {
    out += char(n >> 16 & 0xff);
    out += char(n >> 24 & 0xff);
  }
  return out + header + data;
}

/** A header dict as NumPy spells it (without padding). */
std::string dict(const std::string& descr, const std::string& shape, const std::string& fortran = "False") {
  return fmt::format("{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}\n", descr, fortran, shape);
}

/** The REASON of "cannot VERB 'PATH': REASON" thrown by `f`. */
template <class F> std::string reason_of(const char* verb, const std::string& path, F f) {
  try {
    f();
  } catch (const Error& e) {
    std::string msg = e.what();
    std::string prefix = fmt::format("cannot {} '{}': ", verb, path);
    return msg.starts_with(prefix) ? msg.substr(prefix.size()) : "(unprefixed) " + msg;
  }
  return "(no error)";
}

std::string load_reason(const std::string& path) {
  return reason_of("load", path, [&] { load_npy(path); });
}

/** Writes `bytes` to a file and returns why load_npy rejects it. */
std::string load_reason_of_bytes(const TempDir& t, const std::string& bytes) {
  std::string path = t.file("bad.npy");
  write_bytes(path, bytes);
  return load_reason(path);
}

/** The raw elements of a C-ordered array. */
std::string bytes_of(const Array& a) {
  return std::string(static_cast<const char*>(a.raw_data()), size_t(a.size() * dtype_size(a.dtype())));
}

/** A C-ordered array whose element k is the value gen.py's values() gives. */
Array iota(DType t, std::vector<int64_t> shape) {
  Array a = Array::zeros(t, std::move(shape));
  for (int64_t k = 0; k < a.size(); ++k) {
    void* p = static_cast<char*>(a.raw_data()) + k * dtype_size(t);
    switch (t) {
      case DType::Bool: *static_cast<bool*>(p) = k % 3 == 1; break;
      case DType::I32: *static_cast<int32_t*>(p) = int32_t(k * 3 - 7); break;
      case DType::I64: *static_cast<int64_t*>(p) = k * 1000000000000 - 5; break;
      case DType::F32: *static_cast<float*>(p) = float(double(k) * 0.5 - 1); break;
      case DType::F64: *static_cast<double*>(p) = double(k) / 3.0; break;
    }
  }
  return a;
}

/** Checks that `got` has the dtype, shape and elements of `want`. */
void check_same(const Array& got, const Array& want) {
  CHECK(std::string(dtype_name(got.dtype())) == dtype_name(want.dtype()));
  CHECK(fmt::format("{}", got.shape()) == fmt::format("{}", want.shape()));
  if (got.dtype() == want.dtype() && got.shape() == want.shape()) CHECK(bytes_of(got) == bytes_of(want));
}

const std::vector<std::vector<int64_t>> kShapes = {{}, {5}, {2, 3}, {0}, {3, 0}};

}  // namespace

TEST_SUITE("npy") {

TEST_CASE("every dtype and rank round-trips") {
  TempDir t;
  for (DType d : kAllDTypes) {
    for (const auto& shape : kShapes) {
      CAPTURE(dtype_name(d));
      CAPTURE(fmt::format("{}", shape));
      std::string path = t.file("a.npy");
      Array a = iota(d, shape);
      save_npy(path, a);
      check_same(load_npy(path), a);
      auto nbytes = uint64_t(a.size() * dtype_size(d));
      CHECK((fs::file_size(path) - nbytes) % 64 == 0);
    }
  }
}

TEST_CASE("save writes the header np.save writes") {
  TempDir t;
  std::string path = t.file("a.npy");
  save_npy(path, iota(DType::F64, {3}));
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }";
  header.resize(117, ' ');  // the dict, room for 21 digits of shape[0], padding to 128 bytes
  header += '\n';
  std::string want = std::string("\x93NUMPY\x01\x00\x76\x00", 10) + header;
  CHECK(read_bytes(path).substr(0, 128) == want);
  CHECK(fs::file_size(path) == 128 + 3 * 8);

  save_npy(path, iota(DType::Bool, {}));
  std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() == 129);
  std::string rank0 = "{'descr': '|b1', 'fortran_order': False, 'shape': (), }";
  CHECK(bytes.substr(10, rank0.size()) == rank0);
  CHECK(bytes[127] == '\n');

  save_npy(path, iota(DType::I32, {2, 3}));
  std::string rank2 = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK(read_bytes(path).substr(10, rank2.size()) == rank2);
}

TEST_CASE("strided arrays are saved in C order") {
  TempDir t;
  std::string path = t.file("a.npy");
  std::vector<double> data(12);
  for (size_t i = 0; i < data.size(); ++i) data[i] = double(i);
  auto expect = [](std::vector<int64_t> shape, std::vector<double> values) {
    Array a = Array::zeros(DType::F64, std::move(shape));
    std::memcpy(a.raw_data(), values.data(), values.size() * sizeof(double));
    return a;
  };

  SUBCASE("transposed") {
    save_npy(path, Array::view(data.data(), DType::F64, {4, 3}, {1, 4}));
    check_same(load_npy(path), expect({4, 3}, {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  }
  SUBCASE("rows of a wider array") {
    save_npy(path, Array::view(data.data(), DType::F64, {2, 2}, {4, 1}));
    check_same(load_npy(path), expect({2, 2}, {0, 1, 4, 5}));
  }
  SUBCASE("reversed") {
    save_npy(path, Array::view(data.data() + 11, DType::F64, {4}, {-3}));
    check_same(load_npy(path), expect({4}, {11, 8, 5, 2}));
  }
  SUBCASE("rank 0 view") {
    save_npy(path, Array::view(data.data() + 7, DType::F64, {}));
    check_same(load_npy(path), expect({}, {7}));
  }
  SUBCASE("bool columns") {
    bool flags[6] = {true, false, false, true, true, false};
    save_npy(path, Array::view(flags, DType::Bool, {3}, {2}));
    Array want = Array::zeros(DType::Bool, {3});
    std::memcpy(want.raw_data(), "\x01\x00\x01", 3);
    check_same(load_npy(path), want);
  }
  SUBCASE("larger than one write chunk") {
    std::vector<int64_t> big(2 * 40000);
    for (size_t i = 0; i < big.size(); ++i) big[i] = int64_t(i);
    save_npy(path, Array::view(big.data(), DType::I64, {40000, 2}, {1, 40000}));
    Array got = load_npy(path);
    REQUIRE(got.size() == 80000);
    const auto* v = static_cast<const int64_t*>(got.raw_data());
    CHECK(v[0] == 0);
    CHECK(v[1] == 40000);
    CHECK(v[2] == 1);
    CHECK(v[79999] == 79999);
  }
}

TEST_CASE("headers other writers produce are accepted") {
  TempDir t;
  std::string path = t.file("a.npy");
  std::string data("\x07\x00\x00\x00\xff\xff\xff\xff", 8);  // int32 7, -1
  Array want = Array::zeros(DType::I32, {2});
  std::memcpy(want.raw_data(), data.data(), 8);
  Array want_2d = Array::zeros(DType::I32, {1, 2});
  std::memcpy(want_2d.raw_data(), data.data(), 8);

  auto loads = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    return load_npy(path);
  };
  SUBCASE("keys in any order, no trailing comma, no newline") {
    check_same(loads(npy("{'shape': (2,), 'fortran_order': False, 'descr': '<i4'}", data)), want);
  }
  SUBCASE("double quotes and odd whitespace") {
    check_same(loads(npy("{ \"descr\" : \"<i4\" ,\n\t\"fortran_order\":False,\"shape\":( 2 , ) , }  \r\n", data)), want);
  }
  SUBCASE("trailing comma in a rank-2 shape") { check_same(loads(npy(dict("<i4", "(1, 2,)"), data)), want_2d); }
  SUBCASE("Python 2 long integers") { check_same(loads(npy(dict("<i4", "(2L,)"), data)), want); }
  SUBCASE("version 2.0") { check_same(loads(npy(dict("<i4", "(2,)"), data, 2)), want); }
  SUBCASE("version 3.0") { check_same(loads(npy(dict("<i4", "(2,)"), data, 3)), want); }
  SUBCASE("native byte order") { check_same(loads(npy(dict("=i4", "(2,)"), data)), want); }
  SUBCASE("Fortran order of rank 1 is C order") { check_same(loads(npy(dict("<i4", "(2,)", "True"), data)), want); }
  SUBCASE("trailing bytes after the data are ignored") {
    check_same(loads(npy(dict("<i4", "(2,)"), data + "junk")), want);
  }
  SUBCASE("any byte order for bool") {
    for (const char* descr : {"|b1", "<b1", "=b1", ">b1"}) {
      CAPTURE(descr);
      Array a = loads(npy(dict(descr, "()"), std::string("\x01", 1)));
      CHECK(std::string(dtype_name(a.dtype())) == "bool");
      CHECK(bytes_of(a) == std::string("\x01", 1));
    }
  }
}

TEST_CASE("bool bytes other than 0 and 1 read as 1") {
  TempDir t;
  std::string path = t.file("a.npy");
  write_bytes(path, npy(dict("|b1", "(5,)"), std::string("\x00\x01\x02\xff\x80", 5)));
  CHECK(bytes_of(load_npy(path)) == std::string("\x00\x01\x01\x01\x01", 5));
}

TEST_CASE("unreadable files") {
  TempDir t;
  CHECK(load_reason(t.file("missing.npy")) == "no such file or directory");
  CHECK(load_reason(t.dir.string()) == "is a directory");
  CHECK(load_reason_of_bytes(t, "") == "file is empty");
}

TEST_CASE("bad magic and version") {
  TempDir t;
  CHECK(load_reason_of_bytes(t, "hello, world") == "not a .npy file (bad magic)");
  CHECK(load_reason_of_bytes(t, "PK\x03\x04") == "not a .npy file (bad magic)");
  CHECK(load_reason_of_bytes(t, std::string("\x93NUMPX\x01\x00", 8)) == "not a .npy file (bad magic)");
  std::string v4 = npy(dict("<f8", "()"), std::string(8, '\0'));
  v4[6] = 4;
  CHECK(load_reason_of_bytes(t, v4) == "unsupported .npy version 4.0");
  v4[6] = 1;
  v4[7] = 1;
  CHECK(load_reason_of_bytes(t, v4) == "unsupported .npy version 1.1");
  v4[6] = 0;
  v4[7] = 0;
  CHECK(load_reason_of_bytes(t, v4) == "unsupported .npy version 0.0");
}

TEST_CASE("truncated headers") {
  TempDir t;
  std::string good = npy(dict("<f8", "()"), std::string(8, '\0'));
  CHECK(load_reason_of_bytes(t, good.substr(0, 4)) == "truncated header");
  CHECK(load_reason_of_bytes(t, good.substr(0, 8)) == "truncated header");
  CHECK(load_reason_of_bytes(t, good.substr(0, 9)) == "truncated header");
  CHECK(load_reason_of_bytes(t, good.substr(0, 30)) == "truncated header");
  // A 4 GiB header length in a tiny version 2.0 file: rejected before allocating.
  CHECK(load_reason_of_bytes(t, std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14)) == "truncated header");
}

TEST_CASE("malformed headers") {
  TempDir t;
  auto reason = [&](const std::string& header) { return load_reason_of_bytes(t, npy(header, std::string(8, '\0'))); };
  CHECK(reason("") == "malformed header: expected a dict '{...}' at column 1");
  CHECK(reason("  [1, 2]") == "malformed header: expected a dict '{...}' at column 3");
  CHECK(reason("{'descr' '<f8'}") == "malformed header: expected ':' after a key at column 10");
  CHECK(reason("{'descr': '<f8}") == "malformed header: unterminated string at column 16");
  CHECK(reason("{'descr': '<f8' 'shape': ()}") == "malformed header: expected ',' or '}' at column 17");
  CHECK(reason("{'descr': '<f8', 'fortran_order': False, 'shape': ()} x") ==
        "malformed header: unexpected text after the dict at column 55");
  CHECK(reason("{'fortran_order': false}") == "malformed header: unknown name 'false' at column 19");
  CHECK(reason("{1: 2}") == "malformed header: dict keys must be strings at column 2");
  CHECK(reason("{'shape': (3.5,)}") == "malformed header: expected ',' or ')' at column 13");
  CHECK(reason("{'shape': (,)}") == "malformed header: unexpected ',' at column 12");
  CHECK(reason("{'shape': (-)}") == "malformed header: expected digits after the sign at column 13");
  CHECK(reason(std::string("{\0}", 3)) == "malformed header: unexpected byte 0x00 at column 2");
  CHECK(reason("{'shape': " + std::string(1000, '(')) == "malformed header: nesting too deep at column 43");
  CHECK(reason("{'descr': '<f8',") == "malformed header: unexpected end at column 17");

  CHECK(reason("{'descr': '<f8', 'shape': ()}") == "malformed header: missing key 'fortran_order'");
  CHECK(reason("{'fortran_order': False, 'shape': ()}") == "malformed header: missing key 'descr'");
  CHECK(reason("{'descr': '<f8', 'fortran_order': False}") == "malformed header: missing key 'shape'");
  CHECK(reason("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': ()}") ==
        "malformed header: duplicate key 'descr'");
  CHECK(reason("{'descr': '<f8', 'fortran_order': False, 'shape': (), 'foo': 1}") ==
        "malformed header: unexpected key 'foo'");
  CHECK(reason("{'descr': 8, 'fortran_order': False, 'shape': ()}") == "malformed header: 'descr' must be a string");
  CHECK(reason("{'descr': '<f8', 'fortran_order': 0, 'shape': ()}") ==
        "malformed header: 'fortran_order' must be True or False");
  for (const char* shape : {"3", "(3)", "[3]", "('3',)", "(None,)", "((3,),)"}) {
    CAPTURE(shape);
    CHECK(reason(dict("<f8", shape)) == "malformed header: 'shape' must be a tuple of integers");
  }
  CHECK(reason(dict("<f8", "(-3,)")) == "malformed header: negative dimension -3 in 'shape'");
  CHECK(reason(dict("<f8", "(2, -1)")) == "malformed header: negative dimension -1 in 'shape'");
}

TEST_CASE("dtypes, orders and ranks numjit has not") {
  TempDir t;
  auto reason = [&](const std::string& header) { return load_reason_of_bytes(t, npy(header, std::string(64, '\0'))); };
  const std::string tail = " (numjit reads bool, int32, int64, float32, float64, little-endian)";
  for (const char* descr : {">f8", ">i4", "|i4", "<u1", "|u1", "<u4", "<f2", "<c16", "|O", "<f8 ", "", "<M8[ns]"}) {
    CAPTURE(descr);
    CHECK(reason(dict(descr, "(2,)")) == fmt::format("unsupported dtype '{}'", descr) + tail);
  }
  CHECK(reason("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,)}") ==
        "unsupported dtype: structured arrays are not supported" + tail);
  CHECK(reason(dict("<f8", "(2, 3)", "True")) == "Fortran-order arrays are not supported");
  CHECK(reason(dict("<f8", "(1, 2, 3)")) == "rank 3 is not supported (numjit arrays have rank 0 to 2)");
  CHECK(reason(dict("<f8", "(1, 1, 1, 1)", "True")) == "rank 4 is not supported (numjit arrays have rank 0 to 2)");
}

TEST_CASE("truncated data and absurd shapes") {
  TempDir t;
  CHECK(load_reason_of_bytes(t, npy(dict("<f8", "(3,)"), std::string(20, '\0'))) ==
        "file is truncated: expected 24 bytes of data, found 20");
  CHECK(load_reason_of_bytes(t, npy(dict("<i4", "()"))) == "file is truncated: expected 4 bytes of data, found 0");
  CHECK(load_reason_of_bytes(t, npy(dict("|b1", "(2, 3)"), "abc")) ==
        "file is truncated: expected 6 bytes of data, found 3");
  // 8e18 bytes fit in int64: the file size check, not the allocator, rejects it.
  CHECK(load_reason_of_bytes(t, npy(dict("<f8", "(1000000000, 1000000000)"))) ==
        "file is truncated: expected 8000000000000000000 bytes of data, found 0");
  CHECK(load_reason_of_bytes(t, npy(dict("<f8", "(4611686018427387904, 2)"))) == "shape overflows");
  CHECK(load_reason_of_bytes(t, npy(dict("<i4", "(3037000500, 3037000500)"))) == "shape overflows");
  CHECK(load_reason_of_bytes(t, npy(dict("|b1", "(99999999999999999999,)"))) == "shape overflows");
  CHECK(load_reason_of_bytes(t, npy(dict("|b1", "(0, 99999999999999999999)"))) == "shape overflows");
  // An empty array may have a huge other dimension.
  std::string path = t.file("empty.npy");
  write_bytes(path, npy(dict("<f8", "(0, 4611686018427387904)")));
  CHECK(load_npy(path).size() == 0);
}

TEST_CASE("save reports I/O errors") {
  TempDir t;
  Array a = iota(DType::F64, {3});
  std::string missing = t.file("no_such_dir/a.npy");
  CHECK(reason_of("save", missing, [&] { save_npy(missing, a); }) == "no such file or directory");
  std::string dir = t.dir.string();
  CHECK(reason_of("save", dir, [&] { save_npy(dir, a); }) == "is a directory");
  if (fs::exists("/dev/full")) {
    Array big = Array::zeros(DType::F64, {100000});
    CHECK(reason_of("save", "/dev/full", [&] { save_npy("/dev/full", big); }) == "no space left on device");
    CHECK(reason_of("save", "/dev/full", [&] { save_npy("/dev/full", a); }) == "no space left on device");
  }
}

TEST_CASE("files exchanged with NumPy") {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    MESSAGE("skipped: /usr/bin/python3 cannot import numpy");
    return;
  }
  TempDir t;
  std::string script = t.file("gen.py");
  write_bytes(script, R"(import io, os, sys
import numpy as np
d, mode = sys.argv[1], sys.argv[2]
shapes = {'r0': (), 'r1': (5,), 'r2': (2, 3), 'e1': (0,), 'e2': (3, 0)}
def values(code, shape):
    k = np.arange(int(np.prod(shape)), dtype=np.int64)
    v = {'bool': k % 3 == 1, 'i32': (k * 3 - 7).astype(np.int32), 'i64': k * 10**12 - 5,
         'f32': (k * 0.5 - 1).astype(np.float32), 'f64': k / 3.0}[code]
    return v.reshape(shape)
for code in ['bool', 'i32', 'i64', 'f32', 'f64']:
    for tag, shape in shapes.items():
        name = os.path.join(d, code + '_' + tag + '.npy')
        want = values(code, shape)
        if mode == 'write':
            np.save(name, want)
            continue
        got = np.load(name)
        assert got.dtype == want.dtype and got.shape == want.shape, (name, got.dtype, got.shape)
        assert np.array_equal(got, want), name
        if hasattr(np.lib.format, 'GROWTH_AXIS_MAX_DIGITS'):
            b = io.BytesIO()
            np.save(b, want)
            assert open(name, 'rb').read() == b.getvalue(), name + ': bytes differ from np.save'
if mode == 'write':
    for v in [2, 3]:
        with open(os.path.join(d, 'v%d.npy' % v), 'wb') as f:
            np.lib.format.write_array(f, values('f64', (2, 3)), version=(v, 0))
    np.save(os.path.join(d, 'strided.npy'), np.arange(12.0).reshape(3, 4)[:, ::2])
    np.save(os.path.join(d, 'fortran.npy'), np.asfortranarray(np.ones((2, 3))))
    np.save(os.path.join(d, 'big_endian.npy'), np.arange(3, dtype='>f8'))
    np.save(os.path.join(d, 'uint8.npy'), np.arange(3, dtype=np.uint8))
    np.save(os.path.join(d, 'rank3.npy'), np.zeros((1, 2, 3)))
)");
  auto python = [&](const fs::path& dir, const char* mode) {
    return std::system(fmt::format("/usr/bin/python3 '{}' '{}' {}", script, dir.string(), mode).c_str());
  };
  const std::pair<DType, const char*> codes[] = {
      {DType::Bool, "bool"}, {DType::I32, "i32"}, {DType::I64, "i64"}, {DType::F32, "f32"}, {DType::F64, "f64"}};
  const char* tags[] = {"r0", "r1", "r2", "e1", "e2"};

  SUBCASE("we read what np.save writes") {
    REQUIRE(python(t.dir, "write") == 0);
    for (auto [dtype, code] : codes) {
      for (size_t s = 0; s < kShapes.size(); ++s) {
        std::string name = fmt::format("{}_{}.npy", code, tags[s]);
        CAPTURE(name);
        check_same(load_npy(t.file(name)), iota(dtype, kShapes[s]));
      }
    }
    check_same(load_npy(t.file("v2.npy")), iota(DType::F64, {2, 3}));
    check_same(load_npy(t.file("v3.npy")), iota(DType::F64, {2, 3}));
    Array strided = Array::zeros(DType::F64, {3, 2});
    const double evens[] = {0, 2, 4, 6, 8, 10};
    std::memcpy(strided.raw_data(), evens, sizeof evens);
    check_same(load_npy(t.file("strided.npy")), strided);
    CHECK(load_reason(t.file("fortran.npy")) == "Fortran-order arrays are not supported");
    CHECK(load_reason(t.file("big_endian.npy")) ==
          "unsupported dtype '>f8' (numjit reads bool, int32, int64, float32, float64, little-endian)");
    CHECK(load_reason(t.file("uint8.npy")) ==
          "unsupported dtype '|u1' (numjit reads bool, int32, int64, float32, float64, little-endian)");
    CHECK(load_reason(t.file("rank3.npy")) == "rank 3 is not supported (numjit arrays have rank 0 to 2)");
  }
  SUBCASE("np.load reads what we write, byte for byte as np.save") {
    for (auto [dtype, code] : codes)
      for (size_t s = 0; s < kShapes.size(); ++s)
        save_npy(t.file(fmt::format("{}_{}.npy", code, tags[s])), iota(dtype, kShapes[s]));
    CHECK(python(t.dir, "verify") == 0);
  }
}

}  // TEST_SUITE("npy")
