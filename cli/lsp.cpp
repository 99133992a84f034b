// `perk lsp`: the language server (lsp/lsp.h) on stdin and stdout, problems logged on stderr.
#include "cli/lsp.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "lsp/lsp.h"

namespace perk::cli {

CLI::App* AddLspCommand(CLI::App& app) {
  return app.add_subcommand("lsp", "a Language Server Protocol server on stdin and stdout, for editors (docs/lsp.md)");
}

int Lsp() {
  // Bytes, not text: Content-Length counts bytes. Untied, so reading never flushes a half reply.
  std::ios::sync_with_stdio(false);
  std::cin.tie(nullptr);
  return perk::lsp::Serve(std::cin, std::cout, &std::cerr);
}

}  // namespace perk::cli
