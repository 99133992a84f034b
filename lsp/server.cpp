// The LSP server: JSON-RPC 2.0 over the framing of lsp/framing.h, the lifecycle
// (initialize, shutdown, exit), open documents, and routing to lsp/features.h. Every message
// that cannot be served gets a JSON-RPC error, and the server reads on.
#include "lsp/lsp.h"

#include <map>
#include <memory>
#include <istream>
#include <ostream>
#include <set>
#include <string>

#include "lsp/document.h"
#include "lsp/features.h"
#include "lsp/framing.h"

namespace perk::lsp {

namespace {

// JSON-RPC and LSP error codes.
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kServerNotInitialized = -32002;
constexpr int kRequestFailed = -32803;

// A request the server refuses, answered with `code` and `message`.
struct RpcError {
  int code;
  std::string message;
};

class Server {
 public:
  Server(std::ostream& out, std::ostream* log) : out_(out), log_(log) {}

  // Handles one message's body; false once `exit` came.
  bool Handle(const std::string& body);
  void ReplyError(const json& id, int code, const std::string& message);
  int exit_status() const { return shut_down_ ? 0 : 1; }
  // Checks the documents changed since their last diagnostics, and publishes them.
  void Flush();

 private:
  json Request(const std::string& method, const json& params);
  void Notification(const std::string& method, const json& params);
  void Send(const json& message);
  Document& Doc(const json& params);
  // The check's diagnostics, and the findings of the last analysis while the text is unchanged.
  void Publish(const Document& doc) {
    json params = PublishDiagnostics(doc);
    if (auto it = findings_.find(doc.uri()); it != findings_.end())
      for (const json& finding : it->second) params["diagnostics"].push_back(finding);
    Send({{"jsonrpc", "2.0"}, {"method", "textDocument/publishDiagnostics"}, {"params", params}});
  }
  void Log(const std::string& line) {
    if (log_) *log_ << "perk lsp: " << line << "\n" << std::flush;
  }

  std::ostream& out_;
  std::ostream* log_;
  bool initialized_ = false;
  bool shut_down_ = false;
  std::map<std::string, std::unique_ptr<Document>> docs_;
  std::set<std::string> changed_;  // changed, not yet checked
  std::map<std::string, json> findings_;  // `perk analyze`'s, from the last open or save
};

Position PositionOf(const json& p) { return {p.at("line").get<int>(), p.at("character").get<int>()}; }

void Server::Send(const json& message) {
  WriteMessage(out_, message.dump(-1, ' ', false, json::error_handler_t::replace));
}

void Server::ReplyError(const json& id, int code, const std::string& message) {
  Log(message);
  Send({{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}});
}

Document& Server::Doc(const json& params) {
  const std::string uri = params.at("textDocument").at("uri").get<std::string>();
  auto it = docs_.find(uri);
  if (it == docs_.end()) throw RpcError{kInvalidParams, "the document " + uri + " is not open (send didOpen first)"};
  return *it->second;
}

bool Server::Handle(const std::string& body) {
  json message = json::parse(body, nullptr, false);
  if (message.is_discarded()) {
    ReplyError(nullptr, kParseError, "the message is not valid JSON");
    return true;
  }
  json id = nullptr;
  if (message.is_object() && message.contains("id")) id = message["id"];
  if (!message.is_object() || message.value("jsonrpc", "") != "2.0" || !message.contains("method") ||
      !message["method"].is_string() || !(id.is_null() || id.is_number_integer() || id.is_string())) {
    ReplyError(id.is_number_integer() || id.is_string() ? id : json(nullptr), kInvalidRequest,
               "not a JSON-RPC 2.0 request or notification (it needs \"jsonrpc\": \"2.0\" and a \"method\")");
    return true;
  }
  const std::string method = message["method"].get<std::string>();
  const json params = message.contains("params") ? message["params"] : json::object();
  const bool is_request = message.contains("id");
  if (method == "exit") return false;
  try {
    if (!is_request) {
      if (initialized_ && !shut_down_) Notification(method, params);
      return true;
    }
    if (shut_down_) throw RpcError{kInvalidRequest, "the server is shut down; only `exit` is accepted"};
    if (!initialized_ && method != "initialize")
      throw RpcError{kServerNotInitialized, "`" + method + "` before `initialize`; send `initialize` first"};
    // A request sees the latest text's analysis.
    Flush();
    json result = Request(method, params);
    Send({{"jsonrpc", "2.0"}, {"id", id}, {"result", result}});
  } catch (const RpcError& e) {
    if (is_request) ReplyError(id, e.code, e.message);
    else Log(e.message);
  } catch (const json::exception& e) {
    // Missing or mistyped params: `at()` and `get<>()` throw.
    std::string text = "invalid params for `" + method + "`: " + e.what();
    if (is_request) ReplyError(id, kInvalidParams, text);
    else Log(text);
  } catch (const std::exception& e) {
    if (is_request) ReplyError(id, kInternalError, std::string("internal error: ") + e.what());
    else Log(e.what());
  }
  return true;
}

json Server::Request(const std::string& method, const json& params) {
  if (method == "initialize") {
    if (initialized_) throw RpcError{kInvalidRequest, "`initialize` was already sent"};
    initialized_ = true;
    json capabilities = {
        {"textDocumentSync", {{"openClose", true}, {"change", 2}, {"save", {{"includeText", false}}}}},  // 2: incremental
        {"hoverProvider", true},
        {"definitionProvider", true},
        {"referencesProvider", true},
        {"completionProvider", {{"triggerCharacters", {"."}}}},
        {"documentSymbolProvider", true},
        {"codeActionProvider", {{"codeActionKinds", {"quickfix"}}}},
    };
    capabilities["documentFormattingProvider"] = true;
    return {{"capabilities", capabilities}, {"serverInfo", {{"name", "perk"}, {"version", "0.2"}}}};
  }
  if (method == "shutdown") {
    shut_down_ = true;
    return nullptr;
  }
  if (method == "textDocument/hover") return Hover(Doc(params), PositionOf(params.at("position")));
  if (method == "textDocument/definition") return Definition(Doc(params), PositionOf(params.at("position")));
  if (method == "textDocument/references") {
    bool declaration = params.contains("context") && params["context"].value("includeDeclaration", false);
    return References(Doc(params), PositionOf(params.at("position")), declaration);
  }
  if (method == "textDocument/completion") return Completion(Doc(params), PositionOf(params.at("position")));
  if (method == "textDocument/documentSymbol") return DocumentSymbols(Doc(params));
  if (method == "textDocument/codeAction") {
    const json& range = params.at("range");
    return CodeActions(Doc(params), PositionOf(range.at("start")), PositionOf(range.at("end")));
  }
  if (method == "textDocument/formatting") {
    if (std::optional<json> edits = Formatting(Doc(params))) return *edits;
    throw RpcError{kRequestFailed, "the program does not parse: fix its syntax errors, then format it"};
  }
  throw RpcError{kMethodNotFound, "the server does not handle `" + method + "`"};
}

void Server::Notification(const std::string& method, const json& params) {
  if (method == "textDocument/didOpen") {
    const json& item = params.at("textDocument");
    const std::string uri = item.at("uri").get<std::string>();
    auto doc = std::make_unique<Document>(uri, item.at("text").get<std::string>(), item.value("version", 0));
    doc->Analyze();
    findings_[uri] = AnalysisDiagnostics(*doc);
    Publish(*doc);
    docs_[uri] = std::move(doc);
  } else if (method == "textDocument/didChange") {
    Document& doc = Doc(params);
    const int version = params.at("textDocument").value("version", doc.version() + 1);
    for (const json& change : params.at("contentChanges")) {
      if (change.contains("range")) {
        const json& range = change.at("range");
        doc.Edit(PositionOf(range.at("start")), PositionOf(range.at("end")), change.at("text").get<std::string>(), version);
      } else {
        doc.Replace(change.at("text").get<std::string>(), version);
      }
    }
    // Checked once no more input is waiting (Flush), so a burst of keystrokes costs one check.
    // The analysis's findings are about the old text: gone until the next save.
    changed_.insert(doc.uri());
    findings_.erase(doc.uri());
  } else if (method == "textDocument/didSave") {
    Document& doc = Doc(params);
    if (changed_.erase(doc.uri())) doc.Analyze();
    findings_[doc.uri()] = AnalysisDiagnostics(doc);
    Publish(doc);
  } else if (method == "textDocument/didClose") {
    const std::string uri = params.at("textDocument").at("uri").get<std::string>();
    changed_.erase(uri);
    findings_.erase(uri);
    if (docs_.erase(uri))
      Send({{"jsonrpc", "2.0"},
            {"method", "textDocument/publishDiagnostics"},
            {"params", {{"uri", uri}, {"diagnostics", json::array()}}}});
  }
  // Others (initialized, $/cancelRequest, ...) need nothing.
}

void Server::Flush() {
  for (const std::string& uri : changed_) {
    Document& doc = *docs_.at(uri);
    doc.Analyze();
    Publish(doc);
  }
  changed_.clear();
}

}  // namespace

int Serve(std::istream& in, std::ostream& out, std::ostream* log) {
  Server server(out, log);
  std::string body, error;
  while (true) {
    // Nothing more waiting to be read: the changed documents get their diagnostics now.
    if (in.rdbuf()->in_avail() <= 0) server.Flush();
    ReadStatus status = ReadMessage(in, &body, &error);
    if (status == ReadStatus::End) break;
    if (status == ReadStatus::BadHeader) {
      server.ReplyError(nullptr, kParseError, error);
      continue;
    }
    if (!server.Handle(body)) break;
  }
  return server.exit_status();
}

}  // namespace perk::lsp
