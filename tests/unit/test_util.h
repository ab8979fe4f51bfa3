// Helpers shared by the unit tests.
#pragma once

#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "driver/driver.h"
#include "numjit/numjit.hpp"

namespace numjit::test {

/** The message of the numjit::Error that `f` throws, or "(no error)". */
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

/** What `script` prints, checked to be the same with 1, 2 and 3 threads
 *  and in the reference interpreter (driver/driver.h). */
inline std::string same_output_at_1_2_3_threads(const std::string& script, const std::string& filename) {
  std::string outs[3];
  for (int t = 1; t <= 3; ++t) {
    Options o;
    o.threads = t;
    o.disk_cache = false;
    Jit jit(o);
    std::ostringstream out;
    jit.set_output(&out);
    jit.run(script, filename);
    outs[t - 1] = out.str();
  }
  CHECK(outs[0] == outs[1]);
  CHECK(outs[0] == outs[2]);
  CHECK(outs[0] == reference_run(script, filename));
  return outs[0];
}

}  // namespace numjit::test
