// What the durable store records to recognise its ledger and rejects files, and the checks
// made with it (docs/state.md, "Checking the outputs"): an exclusive lock on each file while a
// store writes it, and, per commit, checkpoints of a running hash of the file's bytes, so that
// an edited, truncated or swapped file is refused at open and `perk state verify` can say where
// it stops matching.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/checksum.h"

namespace perk::runtime {

// A checkpoint is taken at the first line end this many bytes past the previous one, and at
// the end of each commit: a difference is then placed within about this many bytes.
constexpr uint64_t kCheckpointBytes = 4096;

struct Checkpoint {
  uint64_t commit = 0;  // the commit that recorded it
  uint64_t offset = 0;  // the file's first `offset` bytes...
  uint64_t digest = 0;  // ...hash to this
};

// Takes an exclusive, non-blocking lock (flock) on the open file `fd`. False when another
// process (or another open store in this one) holds it.
bool LockOutputFile(int fd);

// Feeds one commit's bytes of an output to *hash, and appends the checkpoints they make.
void HashCommit(std::string_view bytes, RunningHash* hash, std::vector<Checkpoint>* points);

// One commit's checkpoints of the ledger and of the rejects, as a row of the store's
// output_check table (numbered by commit).
void EncodeCheckRow(const std::vector<Checkpoint>& ledger, const std::vector<Checkpoint>& rejects, std::string* out);
bool DecodeCheckRow(std::string_view in, uint64_t commit, std::vector<Checkpoint>* ledger,
                    std::vector<Checkpoint>* rejects);

struct OutputCheck {
  bool ok = false;
  RunningHash hash;     // ok: over the first `committed` bytes, to go on from
  uint64_t lines = 0;   // ok: lines in them
  uint64_t checked = 0; // ok: checkpoints compared
  std::string where;    // !ok: where the file stops holding what was committed, and how
};

// Reads the first `committed` bytes of the open file `fd` (`size` bytes long) and compares them
// with the checkpoints (in offset order) and with `digest`, the hash recorded at `committed`
// (none in a state written before checksums: the bytes are then taken as they are).
OutputCheck CheckOutput(int fd, uint64_t size, uint64_t committed, const std::vector<Checkpoint>& points,
                        std::optional<uint64_t> digest);

}  // namespace perk::runtime
