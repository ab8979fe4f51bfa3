// Helpers shared by the unit tests.
#pragma once

#include <string>

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

}  // namespace numjit::test
