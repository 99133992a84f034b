// `perk lsp`: a Language Server Protocol server for Perk programs (docs/lsp.md).
#pragma once

#include <iosfwd>

namespace perk::lsp {

// Serves one client over `in` and `out` (stdin and stdout for `perk lsp`) until `exit` or the
// end of input. Returns the process's exit status: 0 after `shutdown` then `exit`, else 1.
// `log`, when given, gets a line per problem the client caused (stderr for `perk lsp`).
int Serve(std::istream& in, std::ostream& out, std::ostream* log);

}  // namespace perk::lsp
