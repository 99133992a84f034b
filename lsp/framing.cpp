// The LSP base protocol's framing (lsp/framing.h).
#include "lsp/framing.h"

#include <algorithm>
#include <cctype>
#include <istream>
#include <ostream>

namespace perk::lsp {

namespace {

// The header block up to and without its blank line; false at the end of the stream.
bool ReadHeaderBlock(std::istream& in, std::string* block) {
  block->clear();
  char c;
  while (in.get(c)) {
    block->push_back(c);
    const size_t n = block->size();
    if (n >= 4 && block->compare(n - 4, 4, "\r\n\r\n") == 0) {
      block->resize(n - 4);
      return true;
    }
    // A lone `\n\n` ends a header block too: clients written by hand send it.
    if (n >= 2 && (*block)[n - 1] == '\n' && (*block)[n - 2] == '\n') {
      block->resize(n - 2);
      return true;
    }
    // A header block this long is garbage; answer once and read on.
    if (n > (1 << 16)) return true;
  }
  return false;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

ReadStatus ReadMessage(std::istream& in, std::string* body, std::string* error) {
  std::string block;
  if (!ReadHeaderBlock(in, &block)) return ReadStatus::End;
  const std::string lower = Lower(block);
  const size_t at = lower.rfind("content-length:");
  if (at == std::string::npos) {
    *error = "a message without a Content-Length header";
    return ReadStatus::BadHeader;
  }
  size_t i = at + 15;
  while (i < block.size() && (block[i] == ' ' || block[i] == '\t')) ++i;
  size_t end = i;
  while (end < block.size() && std::isdigit(static_cast<unsigned char>(block[end]))) ++end;
  size_t eol = block.find_first_of("\r\n", end);
  std::string_view rest(block.data() + end, (eol == std::string::npos ? block.size() : eol) - end);
  const bool trailing_ok = std::all_of(rest.begin(), rest.end(), [](char c) { return c == ' ' || c == '\t'; });
  if (end == i || end - i > 9 || !trailing_ok) {
    *error = "the Content-Length header is not a number of bytes";
    return ReadStatus::BadHeader;
  }
  const size_t length = std::stoul(block.substr(i, end - i));
  if (length > kMaxBodyBytes) {
    *error = "the message is larger than the server reads";
    // Skip the body, so the next message is read in step.
    in.ignore(static_cast<std::streamsize>(length));
    return in ? ReadStatus::BadHeader : ReadStatus::End;
  }
  body->assign(length, '\0');
  in.read(body->data(), static_cast<std::streamsize>(length));
  if (static_cast<size_t>(in.gcount()) != length) return ReadStatus::End;
  return ReadStatus::Ok;
}

void WriteMessage(std::ostream& out, std::string_view body) {
  out << "Content-Length: " << body.size() << "\r\n\r\n" << body;
  out.flush();
}

}  // namespace perk::lsp
