// The object cache's files and keys (see jit_cache.h).
//
// An entry, "<key in hex>.perkjit":
//   "PERKJITC"  u32 format  u32 count  key[32]  u64 size[count]  object bytes...  u64 xxh3
// where the last word is the XXH3 hash of every byte before it. Numbers are little-endian.
#include "compiler/jit_cache.h"

#include <fcntl.h>
#include <llvm/Support/BLAKE3.h>
#include <llvm/Support/xxhash.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace perk::jit {

namespace {

std::mutex default_dir_lock;
std::string& DefaultDir() {
  static std::string dir;
  return dir;
}

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

void SetDefaultCacheDir(std::string dir) {
  std::lock_guard<std::mutex> hold(default_dir_lock);
  DefaultDir() = std::move(dir);
}

std::string DefaultCacheDir() {
  std::lock_guard<std::mutex> hold(default_dir_lock);
  return DefaultDir();
}

std::string ResolveCacheDir(const std::string& flag, bool disabled, const std::string& state) {
  if (disabled) return "";
  if (!flag.empty()) return flag;
  if (const char* env = Env("PERK_JIT_CACHE")) return std::strcmp(env, "off") == 0 ? "" : env;
  if (const char* xdg = Env("XDG_CACHE_HOME")) return std::string(xdg) + "/perk/jit";
  if (const char* home = Env("HOME")) return std::string(home) + "/.cache/perk/jit";
  if (!state.empty()) return state + ".jit-cache";
  return "";
}

namespace cache {

namespace {

constexpr char kMagic[8] = {'P', 'E', 'R', 'K', 'J', 'I', 'T', 'C'};
constexpr uint32_t kFormat = 1;
constexpr size_t kHeader = sizeof kMagic + 4 + 4 + sizeof(Key);
// No program's code comes near this; a larger file is not an entry.
constexpr uint64_t kMaxEntryBytes = uint64_t{1} << 30;

void Put(std::string& out, uint64_t v, int bytes) {
  for (int k = 0; k < bytes; ++k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}

uint64_t Get(const char* p, int bytes) {
  uint64_t v = 0;
  for (int k = 0; k < bytes; ++k) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[k])) << (8 * k);
  return v;
}

uint64_t Checksum(std::string_view bytes) {
  return llvm::xxh3_64bits(llvm::ArrayRef(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

std::string EntryPath(const std::string& dir, const Key& key) { return dir + "/" + Hex(key) + ".perkjit"; }

bool ReadWhole(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) <= kMaxEntryBytes;
  if (ok) {
    out->resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (ok && done < out->size()) {
      ssize_t n = ::read(fd, out->data() + done, out->size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ok = false;
      else done += static_cast<size_t>(n);
    }
  }
  ::close(fd);
  return ok;
}

bool WriteWhole(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::once_flag note_once;

void NoteUnwritable(const std::string& dir, const std::string& why) {
  std::call_once(note_once, [&] {
    std::fprintf(stderr, "perk: note: the JIT cache in %s cannot be written (%s); programs are compiled without it\n",
                 dir.c_str(), why.c_str());
  });
}

}  // namespace

struct KeyBuilder::Impl {
  llvm::BLAKE3 hasher;
};

KeyBuilder::KeyBuilder() : impl_(std::make_unique<Impl>()) {}
KeyBuilder::~KeyBuilder() = default;

void KeyBuilder::Add(std::string_view part) {
  std::string size;
  Put(size, part.size(), 8);
  impl_->hasher.update(llvm::StringRef(size));
  impl_->hasher.update(llvm::StringRef(part.data(), part.size()));
}

Key KeyBuilder::Finish() {
  Key key;
  auto result = impl_->hasher.final();
  std::memcpy(key.data(), result.data(), key.size());
  return key;
}

std::string Hex(const Key& key) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : key) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

bool Read(const std::string& dir, const Key& key, size_t count, std::vector<std::string>* objects) {
  std::string bytes;
  if (!ReadWhole(EntryPath(dir, key), &bytes)) return false;
  if (bytes.size() < kHeader + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return false;
  if (Get(bytes.data() + 8, 4) != kFormat || Get(bytes.data() + 12, 4) != count) return false;
  if (std::memcmp(bytes.data() + 16, key.data(), key.size()) != 0) return false;
  const size_t body = bytes.size() - 8;
  if (Get(bytes.data() + body, 8) != Checksum(std::string_view(bytes.data(), body))) return false;
  size_t at = kHeader + 8 * count;
  if (at > body) return false;
  std::vector<std::string> found;
  for (size_t k = 0; k < count; ++k) {
    uint64_t size = Get(bytes.data() + kHeader + 8 * k, 8);
    if (size > body - at) return false;
    found.emplace_back(bytes.data() + at, static_cast<size_t>(size));
    at += static_cast<size_t>(size);
  }
  if (at != body) return false;
  *objects = std::move(found);
  return true;
}

bool Write(const std::string& dir, const Key& key, const std::vector<std::string>& objects) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    NoteUnwritable(dir, ec.message());
    return false;
  }
  std::string bytes(kMagic, sizeof kMagic);
  Put(bytes, kFormat, 4);
  Put(bytes, objects.size(), 4);
  bytes.append(reinterpret_cast<const char*>(key.data()), key.size());
  for (const auto& o : objects) Put(bytes, o.size(), 8);
  for (const auto& o : objects) bytes += o;
  Put(bytes, Checksum(bytes), 8);

  // A name no other writer uses; the rename makes the entry appear whole, and a concurrent
  // writer of the same key renames identical bytes over it.
  static std::atomic<unsigned> serial{0};
  const std::string path = EntryPath(dir, key);
  const std::string temp = dir + "/.tmp-" + Hex(key).substr(0, 16) + "-" + std::to_string(::getpid()) + "-" +
                           std::to_string(serial++);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    NoteUnwritable(dir, std::strerror(errno));
    return false;
  }
  bool ok = WriteWhole(fd, bytes);
  int saved = errno;
  ok = ::close(fd) == 0 && ok;
  if (ok && ::rename(temp.c_str(), path.c_str()) != 0) {
    saved = errno;
    ok = false;
  }
  if (!ok) {
    ::unlink(temp.c_str());
    NoteUnwritable(dir, std::strerror(saved));
  }
  return ok;
}

bool Logging() {
  const char* v = Env("PERK_JIT_CACHE_LOG");
  return v != nullptr && std::strcmp(v, "0") != 0;
}

}  // namespace cache
}  // namespace perk::jit
