// What the `perk` subcommands share: reading files, loading a checked program with its
// diagnostics, and writing output streams.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/checked.h"

namespace perk::cli {

// Reads a program's source: false when it cannot be read or is larger than the compiler's cap
// (input.h, kMaxProgramBytes), which is found without reading it whole; *error says which.
bool ReadFile(const std::string& path, std::string* out, std::string* error = nullptr);

// Loads and checks a program, printing diagnostics to stderr. Warnings are printed only when
// `show_warnings` (check prints them; run stays quiet unless something is wrong). On failure
// returns nullptr with *exit_code set (1: the program has errors, 2: it cannot be read).
std::unique_ptr<checked::Program> Load(const std::string& path, bool show_warnings, int* exit_code);

// Applies `--param NAME=VALUE` overrides; prints the problem and returns false on a bad one.
bool ApplyParams(checked::Program& program, const std::vector<std::string>& params);

// A file a command names on its command line: `flag` says which, for the message.
struct NamedFile {
  const char* flag;
  std::string path;  // "" and "-" (standard streams) are never in conflict
  bool written;
};
// False, after saying which on stderr, when two of `files` are one file and at least one of
// them is written (`--ledger` over `--events` would truncate the input before it is read;
// `--ledger` and `--rejects` as one file would interleave two truncating writers). Only
// regular files and paths that do not exist yet count: devices such as /dev/null may be shared.
bool DistinctFiles(const std::vector<NamedFile>& files);

// An output stream: a file, or stdout/stderr for "" and "-".
class Output {
 public:
  bool Open(const std::string& path, FILE* fallback) {
    if (path.empty() || path == "-") {
      file_ = fallback;
      return true;
    }
    file_ = std::fopen(path.c_str(), "wb");
    owned_ = file_ != nullptr;
    return file_ != nullptr;
  }
  ~Output() {
    if (owned_) std::fclose(file_);
  }
  bool Write(std::string& buffer) {
    if (buffer.empty()) return true;
    bool ok = std::fwrite(buffer.data(), 1, buffer.size(), file_) == buffer.size();
    buffer.clear();
    return ok;
  }
  bool Flush() { return std::fflush(file_) == 0; }

 private:
  FILE* file_ = nullptr;
  bool owned_ = false;
};


struct RunOptions {
  std::string program;
  std::string events;
  std::string ledger;
  std::string rejects;
  std::string state;
  std::string engine = "jit";
  std::string jit_ir = "auto";  // the JIT's IR pipeline: auto, O0..O3 or light (see docs/jit.md)
  std::string reevaluate = "changed";  // or "all": runtime::Engine::SetFullReevaluation
  std::vector<std::string> params;
  std::string until;
  bool explain = false;
  bool stats = false;  // --stats: print what the day ticks did
  std::vector<std::string> allow_drop;
  std::string report;  // write an HTML report of the run here
  size_t max_line_bytes = size_t{1} << 20;  // longer event lines are rejected unread
  std::string max_clock_jump;               // a duration (embed/boundary.h); "" or "off": none
};

int Run(const RunOptions& options);

}  // namespace perk::cli

namespace perk::runtime {
class Engine;
class Evaluator;
class LineReader;
}  // namespace perk::runtime

namespace perk::embed {
struct BoundaryLimits;
}

namespace perk::cli {

// The evaluator `perk run` asks for (--engine, --jit-ir); nullptr with *error set when the JIT
// cannot compile the program.
std::unique_ptr<runtime::Evaluator> CreateRunEvaluator(const RunOptions& options, const checked::Program& program,
                                                       std::string* error);

// `perk run --state` (cli/state.cpp): the run loop over a durable store.
class InputLines;
int RunDurable(const RunOptions& options, const checked::Program& program, InputLines& reader,
               std::optional<int64_t> until, const embed::BoundaryLimits& boundary);

// A reject line as the engine writes them: {"line":N,"error":"..."}.
std::string RejectLine(uint64_t line, std::string_view error);
// Why a line longer than --max-line-bytes is rejected.
std::string TooLongMessage(uint64_t bytes, size_t max);

// `perk run --stats`: the day ticks' client visits, on stderr.
void PrintTickStats(const runtime::Engine& engine);

// `perk state STATE client ID` and `perk state STATE stats` (cli/state.cpp).
struct StateOptions {
  std::string path;
  std::string what;
  std::string id;
  std::string ledger, rejects;  // for `verify`
};
int State(const StateOptions& options);

}  // namespace perk::cli
