// On-disk object cache (object_cache.h). File layout, all integers
// little-endian u64:  "NJOBJ001" | key size | key | object size | object |
// XXH3 of the object.
#include "codegen/object_cache.h"

#include <fmt/format.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace numjit {

namespace {
constexpr char kMagic[8] = {'N', 'J', 'O', 'B', 'J', '0', '0', '1'};
constexpr const char* kSuffix = ".njo";

void put_u64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }

bool get_u64(const std::string& in, size_t& at, uint64_t& v) {
  if (in.size() < at + 8) return false;
  std::memcpy(&v, in.data() + at, 8);
  at += 8;
  return true;
}
}  // namespace

ObjectCache::ObjectCache(std::string dir) {
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!ec && std::filesystem::is_directory(dir, ec)) dir_ = std::move(dir);
}

std::string ObjectCache::hash(const std::string& key) {
  return fmt::format("{:016x}", XXH3_64bits(key.data(), key.size()));
}

std::string ObjectCache::default_dir() {
  if (const char* d = std::getenv("NUMJIT_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/numjit";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/numjit";
  return "";
}

std::optional<std::string> ObjectCache::load(const std::string& key) const {
  if (!enabled()) return std::nullopt;
  std::ifstream in(dir_ + "/" + hash(key) + kSuffix, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  size_t at = sizeof kMagic;
  uint64_t klen, olen, sum;
  if (data.size() < at || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) return std::nullopt;
  if (!get_u64(data, at, klen) || data.size() - at < klen || data.compare(at, klen, key) != 0) return std::nullopt;
  at += klen;
  if (!get_u64(data, at, olen) || data.size() - at < olen) return std::nullopt;
  std::string object = data.substr(at, olen);
  at += olen;
  if (!get_u64(data, at, sum) || at != data.size() || sum != XXH3_64bits(object.data(), object.size()))
    return std::nullopt;
  return object;
}

bool ObjectCache::store(const std::string& key, const std::string& object) const {
  if (!enabled()) return false;
  std::string data(kMagic, sizeof kMagic);
  put_u64(data, key.size());
  data += key;
  put_u64(data, object.size());
  data += object;
  put_u64(data, XXH3_64bits(object.data(), object.size()));
  std::string final_path = dir_ + "/" + hash(key) + kSuffix;
  std::string tmp = fmt::format("{}.tmp.{}.{}", final_path, getpid(), std::rand());
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) return false;
    out.write(data.data(), std::streamsize(data.size()));
    if (!out.flush()) {
      std::remove(tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), final_path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

int ObjectCache::clear(const std::string& dir) {
  int n = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == kSuffix && std::filesystem::remove(e.path(), ec)) ++n;
  }
  return n;
}

}  // namespace numjit
