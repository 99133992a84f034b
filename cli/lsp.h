// `perk lsp`: the language server for editors, on stdin and stdout (docs/lsp.md).
#pragma once

namespace CLI {
class App;
}

namespace perk::cli {

// Registers the subcommand on `app`.
CLI::App* AddLspCommand(CLI::App& app);

// Serves one editor until it sends `exit` or closes stdin.
int Lsp();

}  // namespace perk::cli
