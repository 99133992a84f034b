// `perk fmt [--check] FILE...`: the canonical layout of compiler/format.h, applied to files.
#include "cli/fmt.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/common.h"
#include "compiler/diagnostics.h"
#include "compiler/format.h"

namespace perk::cli {
namespace {

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Writes `text` beside `path` and renames it over, so a failure never leaves half a program.
bool WriteInPlace(const std::string& path, const std::string& text, std::string* error) {
  std::string tmp = path + ".perk-fmt.tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    *error = fmt::format("cannot write {}", tmp);
    return false;
  }
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  std::error_code ec;
  if (ok) {
    std::filesystem::permissions(tmp, std::filesystem::status(path, ec).permissions(), ec);
    std::filesystem::rename(tmp, path, ec);
    ok = !ec;
  }
  if (!ok) {
    std::filesystem::remove(tmp, ec);
    *error = fmt::format("cannot write {}", path);
  }
  return ok;
}

// Formats one file: 0 already formatted, 1 reformatted (or would be, with --check), 2 error.
int FormatOne(const std::string& path, bool check) {
  const bool stdio = path == "-";
  std::string source, error;
  if (stdio) {
    source.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else if (!ReadFile(path, &source, &error)) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  const std::string name = stdio ? "<stdin>" : path;
  Diagnostics diags(name, source);
  std::optional<std::string> formatted = FormatSource(source, diags);
  if (!formatted) {
    fmt::print(stderr, "{}", diags.Render(isatty(fileno(stderr)) != 0));
    fmt::print(stderr, "{}: not formatted: it does not parse\n", name);
    return 2;
  }
  if (stdio && !check) {
    fmt::print("{}", *formatted);
    return *formatted == source ? 0 : 1;
  }
  if (*formatted == source) return 0;
  if (check) {
    fmt::print("{}", UnifiedDiff(source, *formatted, name, name + " (formatted)"));
    return 1;
  }
  if (!WriteInPlace(path, *formatted, &error)) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  return 1;
}

}  // namespace

std::string UnifiedDiff(std::string_view old_text, std::string_view new_text, const std::string& old_name,
                        const std::string& new_name) {
  if (old_text == new_text) return "";
  std::vector<std::string_view> a = Lines(old_text), b = Lines(new_text);
  // Common ends first; the edit script of what is left comes from a longest common
  // subsequence table, or (when that would be too big) replaces the middle whole.
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  size_t n = a.size() - prefix - suffix, m = b.size() - prefix - suffix;
  // ops: ' ' keep, '-' old only, '+' new only, over the whole texts.
  std::string ops(prefix, ' ');
  if (n * m <= 16'000'000) {
    std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
    auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
    for (size_t i = n; i-- > 0;) {
      for (size_t j = m; j-- > 0;) {
        at(i, j) = a[prefix + i] == b[prefix + j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
      }
    }
    size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
        ops += ' ';
        ++i, ++j;
      } else if (j < m && (i == n || at(i, j + 1) >= at(i + 1, j))) {
        ops += '+';
        ++j;
      } else {
        ops += '-';
        ++i;
      }
    }
  } else {
    ops += std::string(n, '-') + std::string(m, '+');
  }
  ops += std::string(suffix, ' ');

  std::string out = fmt::format("--- {}\n+++ {}\n", old_name, new_name);
  constexpr size_t kContext = 3;
  size_t k = 0;
  while (k < ops.size()) {
    if (ops[k] == ' ') {
      ++k;
      continue;
    }
    // A hunk: from kContext lines before this change to kContext after the last change that
    // is closer than 2 * kContext to the one before it.
    size_t start = k >= kContext ? k - kContext : 0;
    size_t end = k;
    while (true) {
      while (end < ops.size() && ops[end] != ' ') ++end;
      size_t next = end;
      while (next < ops.size() && ops[next] == ' ' && next - end < 2 * kContext + 1) ++next;
      if (next < ops.size() && ops[next] != ' ') {
        end = next;
        continue;
      }
      break;
    }
    size_t stop = std::min(ops.size(), end + kContext);
    size_t old_line = 0, new_line = 0;
    for (size_t q = 0; q < start; ++q) {
      if (ops[q] != '+') ++old_line;
      if (ops[q] != '-') ++new_line;
    }
    size_t old_count = 0, new_count = 0;
    std::string body;
    size_t ai = old_line, bi = new_line;
    for (size_t q = start; q < stop; ++q) {
      if (ops[q] == ' ') {
        body += fmt::format(" {}\n", a[ai++]);
        ++bi, ++old_count, ++new_count;
      } else if (ops[q] == '-') {
        body += fmt::format("-{}\n", a[ai++]);
        ++old_count;
      } else {
        body += fmt::format("+{}\n", b[bi++]);
        ++new_count;
      }
    }
    out += fmt::format("@@ -{},{} +{},{} @@\n", old_count ? old_line + 1 : old_line, old_count,
                       new_count ? new_line + 1 : new_line, new_count);
    out += body;
    k = stop;
  }
  return out;
}

CLI::App* AddFmtCommand(CLI::App& app, FmtOptions* o) {
  auto* command = app.add_subcommand("fmt", "lay programs out in the canonical layout, in place (docs/fmt.md)");
  command->add_option("FILE", o->files, "the .perk programs; - (or none) formats standard input to standard output");
  command->add_flag("--check", o->check, "change no file: print a diff for each that is not formatted, exit 1 if any");
  return command;
}

int Fmt(const FmtOptions& options) {
  std::vector<std::string> files = options.files;
  if (files.empty()) files.push_back("-");
  int worst = 0;
  for (const std::string& path : files) {
    int code = FormatOne(path, options.check);
    // Rewriting a file is success; only --check reports it.
    if (code == 1 && !options.check) code = 0;
    worst = std::max(worst, code);
  }
  return worst;
}

}  // namespace perk::cli
