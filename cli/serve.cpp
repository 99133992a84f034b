// `perk serve`: an HTTP service over one embed::Session (docs/serve.md). cpp-httplib parses
// and routes requests over our connection layer (serve_http.h: limits, deadlines, TLS); the
// session's mutex orders the records; every endpoint but /healthz needs the bearer token.
#include "cli/serve.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <httplib.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "cli/common.h"
#include "compiler/jit_cache.h"
#include "embed/session.h"
#include "stdlib/stdlib.h"

namespace perk::cli {

namespace {

using embed::BatchResult;
using embed::ErrorCode;
using embed::RecordStatus;
using embed::Session;

std::string JsonError(std::string_view code, std::string_view message) {
  return fmt::format("{{\"error\":{{\"code\":\"{}\",\"message\":{}}}}}", code, stdlib::JsonQuote(message));
}

void SendError(httplib::Response& res, int status, std::string_view code, std::string_view message) {
  res.status = status;
  res.set_content(JsonError(code, message), "application/json");
}

// Reads a request's body, decoded (gzip, chunked), into *body: false when it is larger than
// `max` bytes (413 sent; the rest is not read, so the connection is closed) or cannot be read
// (400). httplib's own limit looks only at Content-Length: a chunked body, or a small gzip
// body that inflates, would pass it, so the limit is counted here on the bytes as decoded.
bool ReadBody(const httplib::ContentReader& read, httplib::Response& res, size_t max, std::string* body) {
  bool too_large = false;
  const bool complete = read([&](const char* data, size_t n) {
    if (n > max - body->size()) {
      too_large = true;
      return false;
    }
    body->append(data, n);
    return true;
  });
  if (complete && !too_large) return true;
  res.set_header("Connection", "close");
  if (too_large || res.status == 413)
    SendError(res, 413, "too_large",
              fmt::format("the body is larger than {} bytes (--max-body); send smaller batches", max));
  else
    SendError(res, 400, "bad_request", "the request body could not be read");
  return false;
}

// Compares in time independent of where the strings differ, so response timing does not
// reveal how much of a guessed token was right.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t k = 0; k < a.size(); ++k) diff |= static_cast<unsigned char>(a[k] ^ b[k % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

constexpr size_t kMinTokenLength = 16;

// A token is visible ASCII (RFC 6750's b64token and more), at least kMinTokenLength long.
bool CheckToken(const std::string& token, std::string_view from, std::string* error) {
  if (token.size() < kMinTokenLength) {
    *error = fmt::format("the token in {} has {} characters; use at least {} (e.g. `openssl rand -hex 32`)", from,
                         token.size(), kMinTokenLength);
    return false;
  }
  for (char c : token)
    if (c < 0x21 || c > 0x7e) {
      *error = fmt::format("the token in {} holds a space or a character that is not visible ASCII", from);
      return false;
    }
  return true;
}

// A token from a file: its first line without the line end and surrounding spaces. The file
// must be a regular file that only its owner can read or write, and hold that one line.
bool ReadTokenFile(const std::string& path, std::string_view flag, std::string* token, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) ::close(fd);
    *error = fmt::format("cannot read the token file {} ({})", path, flag);
    return false;
  }
  if (st.st_mode & 077) {
    ::close(fd);
    *error = fmt::format("the token file {} ({}) can be read or written by others (mode {:03o}); chmod 600 {}",
                         path, flag, st.st_mode & 0777, path);
    return false;
  }
  std::string text(4096, '\0');
  const ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n < 0 || static_cast<size_t>(n) == text.size()) {
    *error = fmt::format("cannot read the token file {} ({}): {}", path, flag,
                         n < 0 ? std::strerror(errno) : "it is larger than 4 KiB");
    return false;
  }
  text.resize(static_cast<size_t>(n));
  const size_t eol = text.find('\n');
  *token = Trim(std::string_view(text).substr(0, eol));
  if (eol != std::string::npos && !Trim(std::string_view(text).substr(eol)).empty()) {
    *error = fmt::format("the token file {} ({}) holds more than one line; put the token alone on its first line",
                         path, flag);
    return false;
  }
  if (token->empty()) {
    *error = fmt::format("the token file {} ({}) is empty; put the bearer token on its first line", path, flag);
    return false;
  }
  return CheckToken(*token, path, error);
}

// A token from --FLAG FILE, else the environment variable; "" for none. Never from the command
// line, where every user of the machine can read it in the process list.
bool ReadToken(const std::string& file, std::string_view flag, const char* env_name, std::string* token,
               std::string* error) {
  token->clear();
  if (!file.empty()) return ReadTokenFile(file, flag, token, error);
  if (const char* env = std::getenv(env_name)) {
    *token = Trim(env);
    if (!token->empty()) return CheckToken(*token, fmt::format("${}", env_name), error);
  }
  return true;
}

// Whether `host` (from --listen) is a loopback address, reachable only from this machine.
bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

// Prometheus histogram of request latency, lock-free on the request path.
class Histogram {
 public:
  static constexpr std::array<double, 16> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,     0.25,   0.5,   1,     2.5,   5,     10};
  void Observe(double seconds) {
    size_t k = 0;
    while (k < kBounds.size() && seconds > kBounds[k]) ++k;
    counts_[k].fetch_add(1, std::memory_order_relaxed);
    sum_nanos_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
  void Render(std::string& out, std::string_view name, std::string_view help) const {
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    uint64_t cumulative = 0;
    for (size_t k = 0; k < kBounds.size(); ++k) {
      cumulative += counts_[k].load(std::memory_order_relaxed);
      out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBounds[k], cumulative);
    }
    cumulative += counts_[kBounds.size()].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
    out += fmt::format("{}_sum {}\n{}_count {}\n", name, sum_nanos_.load() / 1e9, name, cumulative);
  }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> counts_{};
  std::atomic<uint64_t> sum_nanos_{0};
};

// The route a request took, as a bounded metric label.
std::string_view EndpointLabel(const std::string& path) {
  if (path == "/v1/events") return "/v1/events";
  if (path.rfind("/v1/clients/", 0) == 0) return "/v1/clients";
  if (path == "/v1/program") return "/v1/program";
  if (path == "/healthz") return "/healthz";
  if (path == "/metrics") return "/metrics";
  return "other";
}

struct Metrics {
  Histogram event_latency;
  std::mutex mu;
  std::map<std::pair<std::string, int>, uint64_t> requests;  // (endpoint, status)

  void Count(const std::string& path, int status) {
    std::lock_guard lock(mu);
    ++requests[{std::string(EndpointLabel(path)), status}];
  }
};

// Media types taken as JSON Lines, the batch form.
bool IsJsonLines(std::string_view media) {
  return media == "application/x-ndjson" || media == "application/jsonl" || media == "application/x-jsonlines" ||
         media == "application/jsonlines" || media == "application/json-lines";
}

std::string MediaType(const httplib::Request& req) {
  std::string ct = req.get_header_value("Content-Type");
  ct = Trim(ct.substr(0, ct.find(';')));
  for (char& c : ct) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ct;
}

bool ParseListen(const std::string& listen, std::string* host, int* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = listen.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  const std::string p = listen.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  *port = std::stoi(p);
  return *port <= 65535;
}

}  // namespace

CLI::App* AddServeCommand(CLI::App& app, ServeOptions* o) {
  auto* serve = app.add_subcommand("serve", "serve a program over HTTP to a CRM's hooks (docs/serve.md)");
  serve->add_option("PROGRAM", o->program, "the .perk program")->required();
  serve->add_option("--state", o->state, "durable state: effects are committed before a request is answered");
  serve->add_option("--ledger", o->ledger, "with --state: the ledger file it continues (default STATE.ledger.jsonl)");
  serve->add_option("--rejects", o->rejects, "with --state: the rejects file (default STATE.rejects.jsonl)");
  serve->add_option("--listen", o->listen, "HOST:PORT to listen on (port 0 picks a free one)")->capture_default_str();
  serve->add_option("--token-file", o->token_file,
                    "a file (mode 600) whose first line is the bearer token for events, reads and metrics (else "
                    "$PERK_TOKEN)");
  serve->add_option("--admin-token-file", o->admin_token_file,
                    "a file (mode 600) whose first line is the bearer token for POST /v1/program (else "
                    "$PERK_ADMIN_TOKEN; without one, reloads are refused)");
  serve->add_flag("--insecure-no-auth", o->insecure_no_auth,
                  "serve without a token, on a loopback address only (trusted local testing)");
  serve->add_option("--tls-cert", o->tls_cert, "serve HTTPS with this certificate chain (PEM); needs --tls-key");
  serve->add_option("--tls-key", o->tls_key, "the private key (PEM) of --tls-cert");
  serve->add_option("--engine", o->engine, "jit (default) or interp (the reference interpreter)");
  serve->add_option("--param", o->params, "override a param: NAME=VALUE (repeatable)");
  serve->add_option("--allow-drop", o->allow_drop, "with --state: let a program upgrade drop this name (repeatable)");
  serve->add_option("--max-body", o->max_body, "largest request body in bytes (larger: 413)")->capture_default_str();
  serve->add_option("--max-future", o->max_future,
                    "reject records timed more than this ahead of the wall clock (e.g. 10m, 2h; `off`: no check)")
      ->capture_default_str();
  serve->add_option("--max-clock-jump", o->max_clock_jump,
                    "reject a record that would move the clock forward by more than this at once (e.g. 36h, 7d)");
  HttpLimits& h = o->http;
  serve->add_option("--threads", h.threads, "worker threads started up front (more start on demand)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  serve->add_option("--max-connections", h.max_connections,
                    "open connections at most; past it a new connection gets 503 and is closed")
      ->capture_default_str()
      ->check(CLI::Range(1, 8192));
  serve->add_option("--keep-alive", h.keep_alive, "seconds an idle keep-alive connection waits for its next request")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  serve->add_option("--read-timeout", h.read_timeout,
                    "seconds of silence allowed while a request is read or an answer written")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  serve->add_option("--header-timeout", h.header_timeout,
                    "seconds from a request's first byte to the end of its headers (else 408)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  serve->add_option("--request-timeout", h.request_timeout,
                    "seconds from a request's first byte to the end of its body")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  serve->add_option("--max-header-bytes", h.max_header_bytes, "largest request line and headers, in bytes (else 431)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 24));
  serve->add_option("--max-headers", h.max_headers, "most header fields in a request (else 431)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{8}, size_t{100000}));
  serve->add_option("--drain", h.drain, "seconds a stop (SIGTERM, SIGINT) waits for open connections before it cuts them")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  return serve;
}

int Serve(const ServeOptions& o) {
  if (o.engine != "jit" && o.engine != "interp") {
    fmt::print(stderr, "perk: --engine must be `jit` or `interp`, got `{}`\n", o.engine);
    return 2;
  }
  // SIGINT and SIGTERM stop the server gracefully: requests in flight finish, then the
  // session closes. Blocked first, before the session starts its threads (the store's
  // writer, the JIT's), so that every thread inherits the mask and only the signal thread
  // below takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  // A shell starts background jobs with SIGINT ignored, and an ignored signal never reaches
  // sigwait: take both back to their defaults (they stay blocked, so sigwait gets them).
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  if (!DistinctFiles({{"the program", o.program, false},
                     {"--token-file", o.token_file, false},
                     {"--admin-token-file", o.admin_token_file, false},
                     {"--state", o.state, true},
                     {"--ledger", o.ledger, true},
                     {"--rejects", o.rejects, true}})) return 2;
  std::string host;
  int port = 0;
  if (!ParseListen(o.listen, &host, &port)) {
    fmt::print(stderr, "perk: --listen takes HOST:PORT, e.g. 127.0.0.1:8080, got `{}`\n", o.listen);
    return 2;
  }
  std::string token, admin_token, error;
  if (!ReadToken(o.token_file, "--token-file", "PERK_TOKEN", &token, &error) ||
      !ReadToken(o.admin_token_file, "--admin-token-file", "PERK_ADMIN_TOKEN", &admin_token, &error)) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  if (token.empty() && !o.insecure_no_auth) {
    fmt::print(stderr,
               "perk: serve needs a bearer token: put it in a file (chmod 600) and pass --token-file FILE, or set "
               "PERK_TOKEN (--insecure-no-auth serves without one, on a loopback address, for trusted local testing "
               "only)\n");
    return 2;
  }
  if (token.empty() && !IsLoopback(host)) {
    fmt::print(stderr,
               "perk: --insecure-no-auth serves only on a loopback address (127.0.0.1, ::1, localhost), not on `{}`: "
               "anyone who can reach it could post events and replace the program\n",
               host);
    return 2;
  }
  if (!admin_token.empty() && admin_token == token) {
    fmt::print(stderr, "perk: the admin token (POST /v1/program) must differ from the token for events; give each "
                       "its own\n");
    return 2;
  }
  if (!admin_token.empty() && token.empty()) {
    fmt::print(stderr, "perk: an admin token without a token for events would leave events open; give both\n");
    return 2;
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    fmt::print(stderr, "perk: --tls-cert and --tls-key go together\n");
    return 2;
  }

  embed::SessionOptions so;
  so.engine = o.engine == "jit" ? runtime::EngineKind::Jit : runtime::EngineKind::Interp;
  so.params = o.params;
  so.state_path = o.state;
  so.ledger_path = o.ledger;
  so.rejects_path = o.rejects;
  so.allow_drop = o.allow_drop;
  so.jit_cache = jit::DefaultCacheDir();  // main resolved --jit-cache, --no-jit-cache and --state
  for (auto [flag, text, limit] : {std::tuple{"--max-future", &o.max_future, &so.boundary.max_future},
                                   std::tuple{"--max-clock-jump", &o.max_clock_jump, &so.boundary.max_clock_jump}}) {
    limit->reset();
    if (text->empty() || *text == "off") continue;
    *limit = embed::ParseDuration(*text, &error);
    if (!*limit) {
      fmt::print(stderr, "perk: {} {}\n", flag, error);
      return 2;
    }
  }
  if (o.state.empty() && (!o.ledger.empty() || !o.rejects.empty() || !o.allow_drop.empty())) {
    fmt::print(stderr, "perk: --ledger, --rejects and --allow-drop go with --state\n");
    return 2;
  }
  embed::Error open_error;
  std::unique_ptr<Session> session = Session::OpenFile(o.program, so, &open_error);
  if (!session) {
    fmt::print(stderr, "{}{}", open_error.code == ErrorCode::Program ? "" : "perk: ", open_error.message);
    if (open_error.message.empty() || open_error.message.back() != '\n') fmt::print(stderr, "\n");
    return open_error.code == ErrorCode::Program ? 1 : 2;
  }
  for (const auto& note : session->open_notes()) fmt::print(stderr, "perk: note: {}\n", note);

  Metrics metrics;
  GuardedServer svr(o.http);
  if (!o.tls_cert.empty() && !svr.UseTls(o.tls_cert, o.tls_key, &error)) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  svr.set_tcp_nodelay(true);  // answers are small: never wait for Nagle
  svr.set_payload_max_length(o.max_body);
  svr.set_keep_alive_max_count(100000);

  // Two credentials: the one a CRM's hooks hold posts events and reads; replacing the program
  // (which can drop wallets with allow_drop) takes the admin's.
  const bool auth = !token.empty();
  svr.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (!auth || req.path == "/healthz") return httplib::Server::HandlerResponse::Unhandled;
    const bool admin = req.path == "/v1/program";
    if (admin && admin_token.empty()) {
      res.set_header("Connection", "close");  // the body is not read
      SendError(res, 403, "reload_disabled",
                "POST /v1/program needs the admin token; start the server with --admin-token-file "
                "(or $PERK_ADMIN_TOKEN) to allow program reloads");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string& expected = admin ? admin_token : token;
    const std::string h = req.get_header_value("Authorization");
    // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` are `Bearer`.
    constexpr std::string_view kBearer = "bearer ";
    const auto same_letter = [](char lower, char c) { return lower == std::tolower(static_cast<unsigned char>(c)); };
    const bool bearer = h.size() > kBearer.size() && std::equal(kBearer.begin(), kBearer.end(), h.begin(), same_letter);
    if (bearer && ConstantTimeEquals(std::string_view(h).substr(kBearer.size()), expected))
      return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer realm=\"perk\"");
    // The body (if any) is not read: close the connection rather than parse it as a request.
    res.set_header("Connection", "close");
    SendError(res, 401, "unauthorized",
              h.empty()    ? "this endpoint needs `Authorization: Bearer TOKEN`"
              : admin ? "the bearer token is not valid for POST /v1/program (it takes the admin token)"
                           : "the bearer token is not valid");
    return httplib::Server::HandlerResponse::Handled;
  });

  // Never takes the engine's lock: a long batch or day tick must not make the server look dead.
  svr.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    if (session->Failed()) {
      // A failed commit stops the session: tell the load balancer to send the CRM elsewhere.
      SendError(res, 503, "state", "the state could not be committed; restart the server");
      return;
    }
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });

  svr.Post("/v1/events", [&](const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& read) {
    const auto start = std::chrono::steady_clock::now();
    const std::string media = MediaType(req);
    const bool single = media == "application/json";
    std::string body;
    if (!single && !IsJsonLines(media)) {
      res.set_header("Connection", "close");  // the body is not read
      SendError(res, 415, "unsupported_media_type",
                fmt::format("POST /v1/events takes `application/json` (one record) or `application/x-ndjson` "
                            "(JSON Lines, one record per line), got `{}`",
                            media.empty() ? "no Content-Type" : media));
    } else if (ReadBody(read, res, o.max_body, &body)) {
      // One JSON value may be laid out over lines; raw newlines cannot occur inside JSON
      // strings, so folding them leaves the value as it was.
      if (single)
        for (char& c : body)
          if (c == '\n' || c == '\r') c = ' ';
      BatchResult result;
      embed::Error e;
        if (!session->Process(body, &result, &e)) {
        SendError(res, 503, "state", e.message);
      } else if (result.records.empty()) {
        SendError(res, 400, "no_records", "the body holds no record; send one JSON object per line");
      } else {
        std::string json = result.Json();
        const embed::RecordOutcome& first = result.records[0];
        if (result.records.size() == 1 && first.status == RecordStatus::Rejected) {
          // One record that was rejected: the request failed, and says why beside the outcome.
          res.status = 400;
          json = fmt::format("{{\"error\":{{\"code\":\"rejected\",\"message\":{}}},{}", stdlib::JsonQuote(first.error),
                             std::string_view(json).substr(1));
        }
        res.set_content(json, "application/json");
      }
    }
    metrics.event_latency.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  });

  svr.Get(R"(/v1/clients/(.+))", [&](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    std::string json;
    if (!session->ClientJson(id, &json)) {
      // After a failed commit what the engine holds may not be durable: say so, not "unknown".
      if (session->Failed())
        SendError(res, 503, "state", "the state could not be committed; restart the server");
      else
        SendError(res, 404, "unknown_client", fmt::format("no client `{}`: it has sent no accepted record", id));
      return;
    }
    res.set_content(json, "application/json");
  });

  svr.Post("/v1/program", [&](const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& read) {
    std::string body;
    if (!ReadBody(read, res, o.max_body, &body)) return;
    if (body.empty()) {
      SendError(res, 400, "no_program", "the body must hold the new program's source");
      return;
    }
    std::vector<std::string> params, allow_drop;
    for (size_t k = 0; k < req.get_param_value_count("param"); ++k) params.push_back(req.get_param_value("param", k));
    for (size_t k = 0; k < req.get_param_value_count("allow_drop"); ++k)
      allow_drop.push_back(req.get_param_value("allow_drop", k));
    embed::ReloadResult result;
    embed::Error e;
    if (!session->Reload("POST /v1/program", body, params, allow_drop, &result, &e)) {
      switch (e.code) {
        case ErrorCode::Program: SendError(res, 400, "program", e.message); break;
        case ErrorCode::Param: SendError(res, 400, "param", e.message); break;
        case ErrorCode::Upgrade: SendError(res, 409, "upgrade", e.message); break;
        default: SendError(res, 503, "state", e.message); break;
      }
      fmt::print(stderr, "perk serve: program reload refused: {}\n", e.message);
      return;
    }
    std::string notes;
    for (size_t k = 0; k < result.notes.size(); ++k) notes += (k ? "," : "") + stdlib::JsonQuote(result.notes[k]);
    res.set_content(fmt::format("{{\"version\":{},\"program\":{},\"identity\":\"{}\",\"notes\":[{}]}}", result.version,
                                stdlib::JsonQuote(result.program_name), result.identity, notes),
                    "application/json");
    fmt::print(stderr, "perk serve: program version {} loaded (`{}`, {})\n", result.version, result.program_name,
               result.identity);
  });

  svr.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    const embed::SessionStats s = session->Stats();
    std::string out;
    auto counter = [&](std::string_view name, std::string_view help, uint64_t value) {
      out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, value);
    };
    counter("perk_records_total", "Records received (non-blank lines), over the life of the state.", s.engine.records);
    counter("perk_accepted_total", "Records accepted.", s.engine.accepted);
    counter("perk_duplicates_total", "Records skipped as duplicates of an id already processed.", s.engine.duplicates);
    counter("perk_rejects_total", "Reject lines written (rejected records and failed day ticks).", s.engine.rejects);
    counter("perk_effects_total", "Ledger entries written.", s.engine.effects);
    counter("perk_retries_answered_total", "Duplicates answered with their original effects.", s.retries_answered);
    out += fmt::format("# HELP perk_program_version Program versions loaded by this process: 1, then +1 per reload.\n"
                       "# TYPE perk_program_version gauge\nperk_program_version {}\n",
                       s.program_version);
    out += fmt::format("# HELP perk_program_info The program being served.\n# TYPE perk_program_info gauge\n"
                       "perk_program_info{{program={},identity=\"{}\",engine=\"{}\",durable=\"{}\"}} 1\n",
                       stdlib::JsonQuote(s.program_name), s.program_identity, o.engine, s.durable ? "true" : "false");
    out += fmt::format("# HELP perk_retry_answers Retry answers kept in memory.\n# TYPE perk_retry_answers gauge\n"
                       "perk_retry_answers {}\n",
                       s.answers_kept);
    out += fmt::format("# HELP perk_http_open_connections Connections open now (at most --max-connections).\n"
                       "# TYPE perk_http_open_connections gauge\nperk_http_open_connections {}\n",
                       svr.open_connections());
    metrics.event_latency.Render(out, "perk_event_request_seconds",
                                 "Time to process POST /v1/events and make its effects durable.");
    out += "# HELP perk_http_requests_total HTTP requests answered, by endpoint and status.\n"
           "# TYPE perk_http_requests_total counter\n";
    {
      std::lock_guard lock(metrics.mu);
      for (const auto& [key, n] : metrics.requests)
        out += fmt::format("perk_http_requests_total{{endpoint=\"{}\",code=\"{}\"}} {}\n", key.first, key.second, n);
    }
    res.set_content(out, "text/plain; version=0.0.4");
  });

  svr.set_logger([&](const httplib::Request& req, const httplib::Response& res) { metrics.Count(req.path, res.status); });

  // Statuses httplib sets on its own (no route, body too large) get a JSON body like ours.
  svr.set_error_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    switch (res.status) {
      case 404: {
        // A known endpoint asked with another method: 405, with the methods it takes.
        const char* allow = req.path == "/v1/events" || req.path == "/v1/program"           ? "POST"
                            : req.path == "/healthz" || req.path == "/metrics" ||
                                      req.path.rfind("/v1/clients/", 0) == 0                ? "GET"
                                                                                            : nullptr;
        if (allow) {
          res.set_header("Allow", allow);
          SendError(res, 405, "method_not_allowed", fmt::format("{} takes {}, not {}", req.path, allow, req.method));
        } else {
          SendError(res, 404, "not_found", fmt::format("no endpoint {} {}", req.method, req.path));
        }
        break;
      }
      case 413:
        SendError(res, 413, "too_large",
                  fmt::format("the body is larger than {} bytes (--max-body); send smaller batches", o.max_body));
        break;
      case 400:
        switch (GuardedServer::CurrentFault()) {
          case HttpFault::HeadTooLarge:
            res.set_header("Connection", "close");
            SendError(res, 431, "headers_too_large",
                      fmt::format("the request line and headers are larger than {} bytes (--max-header-bytes)",
                                  o.http.max_header_bytes));
            break;
          case HttpFault::TooManyHeaders:
            res.set_header("Connection", "close");
            SendError(res, 431, "too_many_headers",
                      fmt::format("the request has more than {} header fields (--max-headers)", o.http.max_headers));
            break;
          case HttpFault::Timeout:
            res.set_header("Connection", "close");
            SendError(res, 408, "timeout",
                      fmt::format("the request headers did not arrive within {} s (--header-timeout)",
                                  o.http.header_timeout));
            break;
          case HttpFault::None: SendError(res, 400, "bad_request", "the request is not valid HTTP"); break;
        }
        break;
      default: SendError(res, res.status, "error", fmt::format("HTTP status {}", res.status)); break;
    }
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, 500, "internal", what);
  });


  if (port == 0) {
    port = svr.bind_to_any_port(host);
    if (port < 0) port = 0;
  } else if (!svr.bind_to_port(host, port)) {
    port = 0;
  }
  if (port == 0) {
    fmt::print(stderr, "perk: cannot listen on {}: {}\n", o.listen, std::strerror(errno));
    return 2;
  }
  svr.WidenBacklog();
  const embed::SessionStats s = session->Stats();
  fmt::print(stderr, "perk serve: listening on {}://{}:{} (program `{}`, engine {}, {}{}{})\n",
             svr.tls() ? "https" : "http", host.find(':') == std::string::npos ? host : "[" + host + "]", port,
             s.program_name, o.engine, o.state.empty() ? std::string("state in memory") : "state " + o.state,
             auth ? "" : ", NO AUTHENTICATION", auth && admin_token.empty() ? ", program reloads disabled" : "");
  std::fflush(stderr);

  std::atomic<bool> stopping{false}, listen_done{false};
  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (listen_done) return;  // woken by the code below: the server stopped on its own
    stopping = true;
    // A signal right after start can come before the listener runs, when stopping it would do
    // nothing: wait until it runs (or gave up), then stop it.
    while (!svr.is_running() && !listen_done) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    svr.Drain();
  });
  const bool ok = svr.listen_after_bind();
  listen_done = true;
  if (!stopping) pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  session.reset();
  fmt::print(stderr, "perk serve: stopped\n");
  return ok || stopping ? 0 : 2;
}

}  // namespace perk::cli
