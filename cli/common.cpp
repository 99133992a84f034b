// Shared pieces of the `perk` subcommands.
#include "cli/common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "compiler/compiler.h"

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

bool ReadFile(const std::string& path, std::string* out) {
  // A directory opens as a stream that reads nothing: it would look like an empty file.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::unique_ptr<checked::Program> Load(const std::string& path, bool show_warnings, int* exit_code) {
  std::string source;
  if (!ReadFile(path, &source)) {
    fmt::print(stderr, "perk: cannot read {}\n", path);
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
