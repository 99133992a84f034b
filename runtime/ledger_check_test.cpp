#include "runtime/ledger_check.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

using namespace perk::runtime;

namespace {

// Ledger-like lines of about 60 bytes.
std::string Lines(int first, int count) {
  std::string s;
  for (int k = first; k < first + count; ++k) s += fmt::format("{{\"seq\":{},\"client\":\"c{}\",\"amount\":\"{}.50\"}}\n", k, k % 7, k * 13);
  return s;
}

// A file holding `bytes`, removed when done.
struct TempFile {
  std::string path;
  int fd = -1;
  explicit TempFile(std::string_view bytes) {
    char name[] = "/tmp/perk-ledger-check-XXXXXX";
    fd = ::mkstemp(name);
    path = name;
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }
  ~TempFile() {
    ::close(fd);
    ::unlink(path.c_str());
  }
};

// Commits `ledger` in pieces of `per_commit` lines, as the store does, numbering the commits.
std::vector<Checkpoint> Commit(const std::string& ledger, int lines_per_commit, RunningHash* hash) {
  std::vector<Checkpoint> all;
  uint64_t commit = 0;
  size_t from = 0;
  while (from < ledger.size()) {
    size_t to = from;
    for (int k = 0; k < lines_per_commit && to < ledger.size(); ++k) to = ledger.find('\n', to) + 1;
    std::vector<Checkpoint> points;
    HashCommit(std::string_view(ledger).substr(from, to - from), hash, &points);
    ++commit;
    for (auto& p : points) p.commit = commit;
    all.insert(all.end(), points.begin(), points.end());
    from = to;
  }
  return all;
}

}  // namespace

TEST_CASE("the running hash does not depend on how the bytes are cut") {
  std::string bytes = Lines(0, 50);
  uint64_t whole = Hash64(bytes);
  for (size_t step : {1, 3, 7, 8, 9, 64, 1000}) {
    RunningHash h;
    for (size_t k = 0; k < bytes.size(); k += step) h.Update(std::string_view(bytes).substr(k, step));
    CHECK(h.Digest() == whole);
    CHECK(h.length() == bytes.size());
  }
  std::string edited = bytes;
  edited[100] ^= 1;
  CHECK(Hash64(edited) != whole);
  CHECK(Hash64(bytes.substr(0, bytes.size() - 1)) != whole);
  CHECK(Hash64("") != Hash64(std::string(1, '\0')));
}

TEST_CASE("checkpoints fall on line ends every few KiB and at each commit's end") {
  std::string ledger = Lines(0, 1000);  // about 60 KiB
  RunningHash hash;
  std::vector<Checkpoint> points = Commit(ledger, 400, &hash);
  REQUIRE(points.size() > 10);
  uint64_t prev = 0;
  for (const auto& p : points) {
    CHECK(ledger[p.offset - 1] == '\n');
    CHECK(p.digest == Hash64(std::string_view(ledger).substr(0, p.offset)));
    CHECK(p.offset - prev <= kCheckpointBytes + 200);
    prev = p.offset;
  }
  CHECK(points.back().offset == ledger.size());
  CHECK(points.back().commit == 3);

  std::string row;
  std::vector<Checkpoint> first(points.begin(), points.begin() + 5), back_ledger, back_rejects;
  EncodeCheckRow(first, {}, &row);
  REQUIRE(DecodeCheckRow(row, 7, &back_ledger, &back_rejects));
  REQUIRE(back_ledger.size() == 5);
  CHECK(back_rejects.empty());
  CHECK(back_ledger[4].offset == first[4].offset);
  CHECK(back_ledger[4].digest == first[4].digest);
  CHECK(back_ledger[4].commit == 7);
  CHECK_FALSE(DecodeCheckRow(row.substr(0, row.size() - 1), 7, &back_ledger, &back_rejects));
}

TEST_CASE("an edited, truncated or replaced output is placed by its checkpoints") {
  std::string ledger = Lines(0, 1000);
  RunningHash hash;
  std::vector<Checkpoint> points = Commit(ledger, 400, &hash);
  const uint64_t digest = hash.Digest();
  {
    TempFile f(ledger + "{\"seq\":1000}\n");  // bytes past the commit are not checked here
    OutputCheck c = CheckOutput(f.fd, ledger.size() + 13, ledger.size(), points, digest);
    REQUIRE(c.ok);
    CHECK(c.lines == 1000);
    CHECK(c.hash.Digest() == digest);
    CHECK(c.checked == points.size());
  }
  {
    // One byte of line 700 changed.
    std::string edited = ledger;
    size_t at = 0;
    for (int k = 0; k < 699; ++k) at = edited.find('\n', at) + 1;
    edited[at + 8] = '0';
    REQUIRE(edited != ledger);
    TempFile f(edited);
    OutputCheck c = CheckOutput(f.fd, edited.size(), ledger.size(), points, digest);
    REQUIRE_FALSE(c.ok);
    INFO(c.where);
    // The range named holds line 700 and spans one checkpoint.
    uint64_t from = 0, to = 0;
    REQUIRE(std::sscanf(c.where.c_str() + c.where.find("(lines ") + 7, "%lu..%lu", &from, &to) == 2);
    CHECK(from <= 700);
    CHECK(to >= 700);
    CHECK(to - from < 100);
    CHECK(c.where.find("commit 2") != std::string::npos);
  }
  {
    TempFile f(std::string_view(ledger).substr(0, 30000));
    OutputCheck c = CheckOutput(f.fd, 30000, ledger.size(), points, digest);
    REQUIRE_FALSE(c.ok);
    INFO(c.where);
    CHECK(c.where.find("truncated") != std::string::npos);
    CHECK(c.where.find(fmt::format("but the state committed {}", ledger.size())) != std::string::npos);
  }
  {
    // Another ledger of the same length: differs from the first checkpoint on.
    std::string other = Lines(1, 1000);
    other.resize(ledger.size(), ' ');
    TempFile f(other);
    OutputCheck c = CheckOutput(f.fd, other.size(), ledger.size(), points, digest);
    REQUIRE_FALSE(c.ok);
    CHECK(c.where.find("bytes 0..") != std::string::npos);
  }
  {
    // A state written before checksums: nothing recorded, the bytes are taken as they are.
    TempFile f(ledger);
    OutputCheck c = CheckOutput(f.fd, ledger.size(), ledger.size(), {}, std::nullopt);
    REQUIRE(c.ok);
    CHECK(c.hash.Digest() == digest);
  }
}

TEST_CASE("an output file is locked by one holder at a time") {
  TempFile f("x\n");
  int other = ::open(f.path.c_str(), O_RDWR);
  REQUIRE(other >= 0);
  CHECK(LockOutputFile(f.fd));
  CHECK_FALSE(LockOutputFile(other));
  ::close(f.fd);
  f.fd = ::open(f.path.c_str(), O_RDONLY);
  CHECK(LockOutputFile(other));
  ::close(other);
}
