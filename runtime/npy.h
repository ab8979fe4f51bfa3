// NumPy .npy files <-> numjit::Array: the reader behind `load("f.npy")` and the
// writer behind `save("f.npy", x)`. Reads format 1.0, 2.0 and 3.0; writes 1.0
// byte for byte as NumPy 1.24's np.save does. Only what numjit arrays can hold
// is accepted: little-endian bool/int32/int64/float32/float64, rank 0-2, C order.
#pragma once

#include <string>

#include "numjit/numjit.hpp"

namespace numjit {

/** Reads the .npy file at `path` into a new owning C-ordered array. Any
 *  failure (I/O, bad magic or version, malformed header, unsupported dtype,
 *  order or rank, truncated data) throws Error "cannot load 'PATH': REASON".
 *  The data size is checked against the file size before anything is
 *  allocated. Bool bytes other than 0 and 1 read as true (1). */
Array load_npy(const std::string& path);

/** Writes `a` (any strides) to `path` as a version 1.0 .npy file in C order,
 *  its data aligned to 64 bytes. Throws Error "cannot save 'PATH': REASON"
 *  on failure (a partly written file is left behind). */
void save_npy(const std::string& path, const Array& a);

}  // namespace numjit
