// Shared pieces of the `perk` subcommands.
#include "cli/common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/input.h"
#include "compiler/compiler.h"
#include "stdlib/stdlib.h"

namespace perk::cli {

bool DistinctFiles(const std::vector<NamedFile>& files) {
  // A file's identity: its device and inode when it exists, else its absolute path with the
  // existing directories resolved (two spellings of a file still to be created).
  struct Identity {
    bool counts = false;
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    std::string path;
  };
  std::vector<Identity> ids;
  for (const NamedFile& f : files) {
    Identity id;
    if (!f.path.empty() && f.path != "-") {
      struct stat st;
      if (::stat(f.path.c_str(), &st) == 0) {
        id.counts = S_ISREG(st.st_mode);
        id.exists = true;
        id.dev = st.st_dev;
        id.ino = st.st_ino;
      } else {
        std::error_code ec;
        auto canonical = std::filesystem::weakly_canonical(std::filesystem::absolute(f.path, ec), ec);
        id.counts = !ec;
        id.path = canonical.string();
      }
    }
    ids.push_back(std::move(id));
  }
  for (size_t a = 0; a < files.size(); ++a) {
    for (size_t b = a + 1; b < files.size(); ++b) {
      if (!ids[a].counts || !ids[b].counts || !(files[a].written || files[b].written)) continue;
      const bool same = ids[a].exists ? ids[b].exists && ids[a].dev == ids[b].dev && ids[a].ino == ids[b].ino
                                      : !ids[b].exists && ids[a].path == ids[b].path;
      if (same) {
        fmt::print(stderr, "perk: {} and {} name the same file ({}); give each its own file\n", files[a].flag,
                   files[b].flag, files[b].path);
        return false;
      }
    }
  }
  return true;
}

bool ReadFile(const std::string& path, std::string* out, std::string* error) {
  std::string why;
  const bool ok = ReadFileCapped(path, kMaxProgramBytes, out, &why);
  if (!ok && error) *error = why;
  return ok;
}

std::string RejectLine(uint64_t line, std::string_view error) {
  return fmt::format("{{\"line\":{},\"error\":{}}}\n", line, stdlib::JsonQuote(error));
}

std::string TooLongMessage(uint64_t bytes, size_t max) {
  return fmt::format("the line is {} bytes long, more than --max-line-bytes ({}); it was skipped unread", bytes, max);
}

std::unique_ptr<checked::Program> Load(const std::string& path, bool show_warnings, int* exit_code) {
  std::string source;
  std::string error;
  if (!ReadFile(path, &source, &error)) {
    fmt::print(stderr, "perk: {}\n", error);
    *exit_code = 2;
    return nullptr;
  }
  perk::Diagnostics diags(path, source);
  auto program = perk::CompileProgram(source, diags);
  bool color = isatty(fileno(stderr));
  if (diags.HasErrors() || (show_warnings && diags.warnings() > 0)) fmt::print(stderr, "{}", diags.Render(color));
  if (diags.HasErrors()) {
    fmt::print(stderr, "{}: {} error{}{}\n", path, diags.errors(), diags.errors() == 1 ? "" : "s",
               diags.warnings() ? fmt::format(", {} warning{}", diags.warnings(), diags.warnings() == 1 ? "" : "s") : "");
    *exit_code = 1;
    return nullptr;
  }
  *exit_code = 0;
  return program;
}

bool ApplyParams(checked::Program& program, const std::vector<std::string>& params) {
  for (const auto& p : params) {
    auto eq = p.find('=');
    if (eq == std::string::npos) {
      fmt::print(stderr, "perk: --param takes NAME=VALUE, got `{}`\n", p);
      return false;
    }
    std::string error;
    if (!OverrideParam(program, p.substr(0, eq), p.substr(eq + 1), &error)) {
      fmt::print(stderr, "perk: {}\n", error);
      return false;
    }
  }
  return true;
}

}  // namespace perk::cli
