// Locks, checkpoints and the check of the store's output files (runtime/ledger_check.h).
#include "runtime/ledger_check.h"

#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "runtime/snapshot.h"

namespace perk::runtime {

namespace {

constexpr uint64_t kCheckRowVersion = 1;

void PutU(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutPoints(std::string* out, const std::vector<Checkpoint>& points) {
  PutU(out, points.size());
  uint64_t prev = 0;
  for (const Checkpoint& p : points) {
    PutU(out, p.offset - prev);  // offsets increase: deltas
    prev = p.offset;
    char digest[8];
    std::memcpy(digest, &p.digest, 8);
    out->append(digest, 8);
  }
}

bool GetPoints(ByteReader& r, uint64_t commit, std::vector<Checkpoint>* points) {
  uint64_t n, prev = 0;
  if (!r.Count(&n)) return false;
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t delta;
    std::string_view digest;
    if (!r.U(&delta) || !r.Raw(8, &digest) || (k > 0 && delta == 0)) return false;
    Checkpoint p;
    p.commit = commit;
    p.offset = prev += delta;
    std::memcpy(&p.digest, digest.data(), 8);
    points->push_back(p);
  }
  return true;
}

bool ReadSome(int fd, uint64_t offset, size_t n, char* out) {
  size_t done = 0;
  while (done < n) {
    ssize_t k = ::pread(fd, out + done, n - done, static_cast<off_t>(offset + done));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    done += static_cast<size_t>(k);
  }
  return true;
}

}  // namespace

bool LockOutputFile(int fd) {
  int rc;
  while ((rc = ::flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  return rc == 0;
}

void HashCommit(std::string_view bytes, RunningHash* hash, std::vector<Checkpoint>* points) {
  if (bytes.empty()) return;
  size_t from = 0;
  while (bytes.size() - from > kCheckpointBytes) {
    // The first line end at least kCheckpointBytes past the previous checkpoint.
    size_t want = from + kCheckpointBytes - 1;
    const void* nl = std::memchr(bytes.data() + want, '\n', bytes.size() - want);
    if (!nl) break;
    size_t end = static_cast<size_t>(static_cast<const char*>(nl) - bytes.data()) + 1;
    if (end == bytes.size()) break;  // the commit's own checkpoint is there
    hash->Update(bytes.substr(from, end - from));
    points->push_back({0, hash->length(), hash->Digest()});
    from = end;
  }
  hash->Update(bytes.substr(from));
  points->push_back({0, hash->length(), hash->Digest()});
}

void EncodeCheckRow(const std::vector<Checkpoint>& ledger, const std::vector<Checkpoint>& rejects, std::string* out) {
  out->clear();
  PutU(out, kCheckRowVersion);
  PutPoints(out, ledger);
  PutPoints(out, rejects);
}

bool DecodeCheckRow(std::string_view in, uint64_t commit, std::vector<Checkpoint>* ledger,
                    std::vector<Checkpoint>* rejects) {
  ByteReader r(in);
  uint64_t version;
  return r.U(&version) && version == kCheckRowVersion && GetPoints(r, commit, ledger) &&
         GetPoints(r, commit, rejects) && r.done();
}

OutputCheck CheckOutput(int fd, uint64_t size, uint64_t committed, const std::vector<Checkpoint>& points,
                        std::optional<uint64_t> digest) {
  OutputCheck result;
  // Every stop to compare: the checkpoints up to the committed length, then the length itself.
  std::vector<Checkpoint> stops;
  for (const Checkpoint& p : points)
    if (p.offset <= committed && (stops.empty() || p.offset > stops.back().offset)) stops.push_back(p);
  if (digest && (stops.empty() || stops.back().offset != committed)) {
    Checkpoint last;
    last.commit = points.empty() ? 0 : points.back().commit;
    last.offset = committed;
    last.digest = *digest;
    stops.push_back(last);
  }
  const uint64_t readable = std::min(size, committed);
  std::vector<char> buffer(1u << 20);
  RunningHash hash;
  uint64_t lines = 0, good_offset = 0, good_lines = 0;
  size_t next = 0;
  while (hash.length() < readable) {
    uint64_t at = hash.length();
    uint64_t until = readable;
    if (next < stops.size()) until = std::min(until, stops[next].offset);
    size_t n = static_cast<size_t>(std::min<uint64_t>(until - at, buffer.size()));
    if (!ReadSome(fd, at, n, buffer.data())) {
      result.where = fmt::format("cannot read it at byte {}: {}", at, std::strerror(errno));
      return result;
    }
    hash.Update(std::string_view(buffer.data(), n));
    lines += static_cast<uint64_t>(std::count(buffer.data(), buffer.data() + n, '\n'));
    if (next < stops.size() && hash.length() == stops[next].offset) {
      const Checkpoint& p = stops[next++];
      if (hash.Digest() != p.digest) {
        result.where = fmt::format(
            "it differs from what commit {} recorded somewhere in bytes {}..{} (lines {}..{} of the file as it is "
            "now){}: it was edited or replaced after the state committed it",
            p.commit, good_offset, p.offset, good_lines + 1, std::max(lines, good_lines + 1),
            good_offset == 0 ? "" : fmt::format("; the bytes before match what the state committed"));
        return result;
      }
      good_offset = p.offset;
      good_lines = lines;
      ++result.checked;
    }
  }
  if (size < committed) {
    result.where = fmt::format("it has {} bytes, but the state committed {}: it was truncated in line {}{}", size,
                               committed, lines + 1,
                               good_offset == 0 ? std::string()
                                                : fmt::format(" (what is left matches up to byte {}, the end of line {})",
                                                              good_offset, good_lines));
    return result;
  }
  result.ok = true;
  result.hash = hash;
  result.lines = lines;
  return result;
}

}  // namespace perk::runtime
