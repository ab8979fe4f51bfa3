// The on-disk cache of compiled kernels: one file per kernel, named by a
// hash of its key (numjit and LLVM versions, host CPU and features,
// options, the kernel's loop IR). Files are written atomically (write,
// then rename), so processes can share a directory; a file that is
// truncated, corrupt or holds another key is ignored, never fatal.
#pragma once

#include <optional>
#include <string>

namespace numjit {

class ObjectCache {
 public:
  /** A cache in `dir` (created if missing); an empty dir disables it. */
  explicit ObjectCache(std::string dir);

  bool enabled() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }

  /** The object stored under `key`, if its file is intact. */
  std::optional<std::string> load(const std::string& key) const;
  /** Stores `object` under `key`; false if the directory is not writable. */
  bool store(const std::string& key, const std::string& object) const;

  /** 64-bit hash of `key` as 16 hex digits (file and symbol names). */
  static std::string hash(const std::string& key);
  /** $NUMJIT_CACHE_DIR, else $XDG_CACHE_HOME/numjit, else ~/.cache/numjit. */
  static std::string default_dir();
  /** Removes every cache file in `dir`; returns how many. */
  static int clear(const std::string& dir);

 private:
  std::string dir_;
};

}  // namespace numjit
