// A fast 64-bit hash, fed in pieces, for checking bytes the store wrote against what it
// recorded: the ledger and rejects files (runtime/ledger_check.h) and client blobs
// (runtime/snapshot.cpp). Not cryptographic: it detects damage and edits, not an adversary who
// rewrites the state too (docs/state.md says why that is the line). xxHash64's round on one
// lane over 8-byte little-endian words and its final mix: several GB/s, no dependency outside
// runtime/ (the JIT cache's BLAKE3 lives in compiler/ and is cryptographic, which this does
// not need).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace perk::runtime {

class RunningHash {
 public:
  void Update(std::string_view bytes) {
    const char* p = bytes.data();
    size_t n = bytes.size();
    size_t have = static_cast<size_t>(length_ & 7);
    length_ += n;
    if (have) {  // finish the word a previous piece began
      size_t take = n < 8 - have ? n : 8 - have;
      std::memcpy(pending_ + have, p, take);
      p += take, n -= take;
      if (have + take < 8) return;
      acc_ = Round(acc_, Load(pending_));
    }
    uint64_t acc = acc_;
    for (; n >= 8; p += 8, n -= 8) acc = Round(acc, Load(p));
    acc_ = acc;
    std::memcpy(pending_, p, n);
  }

  // The hash of every byte fed so far; feeding may go on.
  uint64_t Digest() const {
    uint64_t tail = 0;
    std::memcpy(&tail, pending_, static_cast<size_t>(length_ & 7));
    uint64_t h = acc_ ^ Round(0, tail) ^ (length_ * kP5);
    h ^= h >> 33;
    h *= kP2;
    h ^= h >> 29;
    h *= kP3;
    h ^= h >> 32;
    return h;
  }

  uint64_t length() const { return length_; }

 private:
  static constexpr uint64_t kP1 = 11400714785074694791ull, kP2 = 14029467366897019727ull,
                            kP3 = 1609587929392839161ull, kP5 = 2870177450012600261ull;
  static uint64_t Round(uint64_t acc, uint64_t word) {
    acc += word * kP2;
    acc = (acc << 31) | (acc >> 33);
    return acc * kP1;
  }
  // Little-endian on every machine Perk builds for (x86-64, arm64).
  static uint64_t Load(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }

  uint64_t acc_ = kP5;
  uint64_t length_ = 0;
  char pending_[8] = {};
};

inline uint64_t Hash64(std::string_view bytes) {
  RunningHash h;
  h.Update(bytes);
  return h.Digest();
}

}  // namespace perk::runtime
