// Run files (tests/run/*.nj): a script and, in `# => ` comments, the text it
// prints, line by line. Each runs through the JIT at 1, 2 and 3 threads and
// through the reference interpreter (test_util.h); all must print exactly
// the expected text. A new case is a new file.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "numjit/numjit.hpp"
#include "test_util.h"

using namespace numjit;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string expected_of(const std::string& script) {
  std::string out, line;
  std::istringstream in(script);
  while (std::getline(in, line))
    if (line.rfind("# => ", 0) == 0) out += line.substr(5) + "\n";
  return out;
}

}  // namespace

TEST_SUITE("run") {

TEST_CASE("each run file prints its expected text in the JIT at 1, 2 and 3 threads and in the interpreter") {
  const fs::path dir = fs::path(NUMJIT_SOURCE_DIR) / "tests" / "run";
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".nj") continue;
    ++files;
    const std::string name = entry.path().filename().string();
    CAPTURE(name);
    const std::string script = read(entry.path());
    const std::string want = expected_of(script);
    REQUIRE(!want.empty());
    CHECK(test::same_output_at_1_2_3_threads(script, name) == want);
  }
  CHECK(files >= 4);
}

}  // TEST_SUITE
