// The LSP framing layer (lsp/framing.h): well-formed messages, and staying in step after bad ones.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "lsp/framing.h"

namespace {

using perk::lsp::ReadMessage;
using perk::lsp::ReadStatus;

std::string Frame(const std::string& body) { return "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body; }

}  // namespace

TEST_CASE("framing reads messages one after another", "[lsp]") {
  std::istringstream in(Frame("{\"a\":1}") + Frame("{\"b\":\"é\"}"));
  std::string body, error;
  REQUIRE(ReadMessage(in, &body, &error) == ReadStatus::Ok);
  CHECK(body == "{\"a\":1}");
  REQUIRE(ReadMessage(in, &body, &error) == ReadStatus::Ok);
  CHECK(body == "{\"b\":\"é\"}");  // the length counts bytes
  CHECK(ReadMessage(in, &body, &error) == ReadStatus::End);
}

TEST_CASE("framing takes other headers, any case and a bare newline", "[lsp]") {
  std::istringstream in("Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: 2\r\n\r\n{}" +
                        std::string("Content-Length: 2\n\n[]"));
  std::string body, error;
  REQUIRE(ReadMessage(in, &body, &error) == ReadStatus::Ok);
  CHECK(body == "{}");
  REQUIRE(ReadMessage(in, &body, &error) == ReadStatus::Ok);
  CHECK(body == "[]");
}

TEST_CASE("framing reports a bad Content-Length and reads the next message", "[lsp]") {
  std::istringstream in("Content-Length: abc\r\n\r\n{\"x\":1}" + Frame("{\"ok\":true}"));
  std::string body, error;
  CHECK(ReadMessage(in, &body, &error) == ReadStatus::BadHeader);
  CHECK(error.find("Content-Length") != std::string::npos);
  // The bad message's body is skipped as junk before the next header.
  REQUIRE(ReadMessage(in, &body, &error) == ReadStatus::Ok);
  CHECK(body == "{\"ok\":true}");
}

TEST_CASE("framing reports a header block without Content-Length", "[lsp]") {
  std::istringstream in("Content-Type: x\r\n\r\n" + Frame("{}"));
  std::string body, error;
  CHECK(ReadMessage(in, &body, &error) == ReadStatus::BadHeader);
  REQUIRE(ReadMessage(in, &body, &error) == ReadStatus::Ok);
  CHECK(body == "{}");
}

TEST_CASE("framing ends on a cut-off body", "[lsp]") {
  std::istringstream in("Content-Length: 10\r\n\r\n{}");
  std::string body, error;
  CHECK(ReadMessage(in, &body, &error) == ReadStatus::End);
}

TEST_CASE("framing writes the byte length", "[lsp]") {
  std::ostringstream out;
  perk::lsp::WriteMessage(out, "{\"é\":1}");
  CHECK(out.str() == "Content-Length: 8\r\n\r\n{\"é\":1}");
}
