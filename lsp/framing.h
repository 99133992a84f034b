// The LSP base protocol: messages framed by a `Content-Length` header over a byte stream.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

namespace perk::lsp {

enum class ReadStatus {
  Ok,         // *body holds one message's content
  End,        // the stream ended (between messages, or inside a cut-off one)
  BadHeader,  // a header block with no usable Content-Length; *error says why
};

// Reads one message. A header block is read up to its blank line; junk before the last
// `Content-Length:` in it (what is left of an earlier message whose length was wrong) is
// skipped, so one bad message costs one error and the stream stays in step.
ReadStatus ReadMessage(std::istream& in, std::string* body, std::string* error);

// Writes one message with its header, and flushes.
void WriteMessage(std::ostream& out, std::string_view body);

// The largest body accepted (a program is at most 1 MiB; its JSON escaping can double it).
inline constexpr size_t kMaxBodyBytes = size_t{16} << 20;

}  // namespace perk::lsp
