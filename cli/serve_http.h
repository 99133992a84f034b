// The connection layer of `perk serve` (docs/serve.md, "Limits"): cpp-httplib parses requests
// and routes them, but every byte it reads comes through a stream of ours that enforces
// deadlines and header caps, connections are served by a pool with a hard limit, TLS is
// OpenSSL's, and a stop drains within a bound. Debian's httplib 0.11 has none of these.
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace perk::cli {

struct HttpLimits {
  unsigned max_connections = 512;  // open connections; past it a new one gets 503 and is closed
  unsigned threads = 16;           // workers started up front (more start on demand, up to the limit)
  unsigned keep_alive = 5;         // seconds an idle keep-alive connection waits for its next request
  double read_timeout = 5;         // seconds of silence while a request is read or an answer written
  double header_timeout = 10;      // seconds from a request's first byte to the end of its head
  double request_timeout = 60;     // seconds from a request's first byte to the end of its body
  size_t max_header_bytes = 64u << 10;  // request line and headers together
  size_t max_headers = 100;
  double drain = 10;  // seconds a stop waits for connections before it cuts them
};

// Why the connection layer failed a request: the error handler turns it into a status.
enum class HttpFault { None, HeadTooLarge, TooManyHeaders, Timeout };

class GuardedServer : public httplib::Server {
 public:
  explicit GuardedServer(const HttpLimits& limits);
  ~GuardedServer() override;

  // Serves HTTPS with this certificate chain and key (PEM files); false with *error set.
  bool UseTls(const std::string& cert_file, const std::string& key_file, std::string* error);
  bool tls() const { return tls_ != nullptr; }

  // The packaged library listens with a backlog of 5, which drops bursts of connections.
  void WidenBacklog();

  // Stops accepting; connections finish the request they are in and close, and any still
  // open `drain` seconds later are cut. listen_after_bind() returns once all are closed.
  void Drain();

  // The fault of the request being served on this thread (for the error handler).
  static HttpFault CurrentFault();

  size_t open_connections() const { return open_.load(std::memory_order_relaxed); }

 private:
  bool process_and_close_socket(socket_t sock) override;

  HttpLimits limits_;
  struct Tls;
  std::unique_ptr<Tls> tls_;
  std::atomic<size_t> open_{0};
  std::atomic<int64_t> drain_deadline_{INT64_MAX};  // steady-clock nanoseconds
};

}  // namespace perk::cli
