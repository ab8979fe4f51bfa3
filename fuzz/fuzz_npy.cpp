// libFuzzer target: arbitrary bytes -> the .npy reader (runtime/npy.h). Each
// input is written to a file and loaded; the result is an Array whose size
// matches its shape, or a numjit::Error naming the file. Anything else is a
// finding. A loaded array is read end to end, so a wrong size or stride
// shows up under AddressSanitizer.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "numjit/numjit.hpp"
#include "runtime/npy.h"

using namespace numjit;

namespace {

/** $TMPDIR, else /dev/shm (memory: 35x the inputs per second of /tmp on
 *  this machine's disk), else /tmp. */
std::string scratch_path() {
  const char* dir = std::getenv("TMPDIR");
  std::string d = dir && *dir ? dir : access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  return d + "/numjit-fuzz-npy-" + std::to_string(getpid()) + ".npy";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = scratch_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  try {
    Array a = load_npy(path);
    int64_t n = 1;
    for (int64_t d : a.shape()) n *= d;
    if (n != a.size()) std::abort();
    // Touch every byte of the data.
    const unsigned char* p = static_cast<const unsigned char*>(a.raw_data());
    unsigned sum = 0;
    for (int64_t i = 0; i < a.size() * dtype_size(a.dtype()); ++i) sum += p[i];
    volatile unsigned sink = sum;
    (void)sink;
  } catch (const Error& e) {
    if (std::string(e.what()).find(path) == std::string::npos) std::abort();  // the error names the file
  }
  return 0;
}
