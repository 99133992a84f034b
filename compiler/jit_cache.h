// The JIT's object cache: a program's native code, kept on disk so that a second load of the
// same program skips optimisation and code generation (docs/jit.md, "Object cache").
//
// An entry is one file per program, named by its key: a hash of everything that decides the
// machine code (the lowered IR of every module, Perk's codegen version, the LLVM version, the
// target triple, CPU and features, the optimisation levels). Entries are written to a temporary
// file and renamed, so readers see a whole entry or none; an entry whose header, key, sizes or
// checksum do not match is ignored (the program is compiled again), never run.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace perk::jit {

// Where Compile keeps entries when its Options name no directory; "" (the default) is no cache.
// The perk command and libperk set it at start-up from ResolveCacheDir.
void SetDefaultCacheDir(std::string dir);
std::string DefaultCacheDir();

// The cache directory a process should use: `flag` (--jit-cache DIR) if given; "" when
// `disabled` (--no-jit-cache) or PERK_JIT_CACHE is "off"; else PERK_JIT_CACHE;
// else $XDG_CACHE_HOME/perk/jit or $HOME/.cache/perk/jit; else, with neither set (a service
// account without a home), next to the state: `state`.jit-cache; else "" (no cache).
std::string ResolveCacheDir(const std::string& flag, bool disabled, const std::string& state);

namespace cache {

using Key = std::array<uint8_t, 32>;

// Hashes the key's parts in order (BLAKE3).
class KeyBuilder {
 public:
  KeyBuilder();
  ~KeyBuilder();
  void Add(std::string_view part);  // each part is length-prefixed, so parts cannot run together
  Key Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Hex(const Key& key);

// The objects of entry `key` in `dir`, or false when there is none or it is not a whole,
// matching entry (another key's, truncated, corrupt, another format, not `count` objects).
bool Read(const std::string& dir, const Key& key, size_t count, std::vector<std::string>* objects);

// Stores the objects under `key`. Returns false when the directory cannot be written; the
// first such failure in a process prints a note on stderr, later ones are silent.
bool Write(const std::string& dir, const Key& key, const std::vector<std::string>& objects);

// Whether PERK_JIT_CACHE_LOG is set: Compile then says on stderr whether each load hit the
// cache (for tests and for people wondering why a load was slow).
bool Logging();

}  // namespace cache
}  // namespace perk::jit
