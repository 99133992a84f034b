// The connection layer of `perk serve`: see serve_http.h. Each connection has one worker
// thread that blocks only in poll(), in slices, so deadlines and a drain are noticed in time.
#include "cli/serve_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace perk::cli {

namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t Nanos(double seconds) { return static_cast<int64_t>(seconds * 1e9); }

thread_local HttpFault tl_fault = HttpFault::None;
thread_local bool tl_over_limit = false;

// The workers: `warm` start at once, more on demand up to `max` busy or queued connections.
// A connection past the limit runs on the accepting thread, which answers 503 and closes it
// without reading: a flood of connections cannot queue behind the ones being served.
class ElasticPool : public httplib::TaskQueue {
 public:
  ElasticPool(unsigned warm, unsigned max) : max_(max) {
    std::lock_guard lock(mu_);
    for (unsigned k = 0; k < std::min(warm, max); ++k) StartWorker();
  }

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard lock(mu_);
      if (busy_ + jobs_.size() < max_) {
        jobs_.push_back(std::move(fn));
        if (idle_ < jobs_.size()) StartWorker();
        cv_.notify_one();
        return;
      }
    }
    tl_over_limit = true;
    fn();
    tl_over_limit = false;
  }

  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void StartWorker() {
    threads_.emplace_back([this] { Work(); });
  }

  void Work() {
    std::unique_lock lock(mu_);
    for (;;) {
      ++idle_;
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      --idle_;
      if (jobs_.empty()) return;  // stopping, and nothing left to serve
      std::function<void()> fn = std::move(jobs_.front());
      jobs_.pop_front();
      ++busy_;
      lock.unlock();
      fn();
      lock.lock();
      --busy_;
    }
  }

  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t busy_ = 0, idle_ = 0;
  bool stop_ = false;
};

// One connection's bytes, read and written with deadlines, and the request head counted as
// it is read (httplib reads the head a byte at a time, so the count is exact).
class GuardedStream : public httplib::Stream {
 public:
  GuardedStream(int fd, SSL* ssl, const HttpLimits& limits, const std::atomic<int64_t>& drain_deadline)
      : fd_(fd), ssl_(ssl), limits_(limits), drain_deadline_(drain_deadline) {}

  // Waits up to `seconds` for the first byte of a next request; false when none comes, the
  // peer closed, or the server is draining.
  bool WaitForRequest(double seconds) {
    if (failed_) return false;
    if (pos_ < len_ || (ssl_ && SSL_pending(ssl_) > 0)) return Begin();
    if (drain_deadline_.load(std::memory_order_relaxed) != INT64_MAX) return false;
    const int64_t until = NowNanos() + Nanos(seconds);
    if (!Wait(POLLIN, until, /*stop_on_drain=*/true)) return false;
    return Begin();
  }

  bool is_readable() const override { return pos_ < len_ || (ssl_ && SSL_pending(ssl_) > 0); }
  bool is_writable() const override { return !failed_; }

  ssize_t read(char* ptr, size_t size) override {
    if (failed_) return -1;
    if (pos_ == len_ && !Fill()) {
      failed_ = true;
      return -1;
    }
    size_t n = std::min(size, len_ - pos_);
    if (in_head_ && !CountHead(buf_ + pos_, n)) {
      failed_ = true;
      return -1;
    }
    std::memcpy(ptr, buf_ + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    const int64_t until = std::min(NowNanos() + Nanos(limits_.read_timeout), DrainCut());
    for (;;) {
      if (ssl_) {
        ERR_clear_error();
        int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
        if (n > 0) return n;
        int e = SSL_get_error(ssl_, n);
        if ((e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) ||
            !Wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, until, false))
          return -1;
      } else {
        ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if ((errno != EAGAIN && errno != EWOULDBLOCK) || !Wait(POLLOUT, until, false)) return -1;
      }
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { Address(true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { Address(false, ip, port); }
  socket_t socket() const override { return fd_; }

  bool failed() const { return failed_; }

 private:
  bool Begin() {
    const int64_t now = NowNanos();
    head_deadline_ = now + Nanos(limits_.header_timeout);
    request_deadline_ = now + Nanos(limits_.request_timeout);
    in_head_ = true;
    head_bytes_ = 0;
    head_lines_ = 0;
    newlines_in_a_row_ = 0;
    tl_fault = HttpFault::None;
    return true;
  }

  // Counts head bytes up to the blank line that ends the head; false past a cap.
  bool CountHead(const char* p, size_t n) {
    for (size_t k = 0; k < n && in_head_; ++k) {
      ++head_bytes_;
      if (p[k] == '\n') {
        ++head_lines_;
        if (++newlines_in_a_row_ == 2) in_head_ = false;
      } else if (p[k] != '\r') {
        newlines_in_a_row_ = 0;
      }
    }
    if (head_bytes_ > limits_.max_header_bytes) {
      tl_fault = HttpFault::HeadTooLarge;
      return false;
    }
    if (head_lines_ > limits_.max_headers + 2) {  // the request line and the blank line
      tl_fault = HttpFault::TooManyHeaders;
      return false;
    }
    return true;
  }

  int64_t DrainCut() const { return drain_deadline_.load(std::memory_order_relaxed); }

  // Reads more bytes into the buffer, waiting under the deadlines.
  bool Fill() {
    pos_ = len_ = 0;
    for (;;) {
      int64_t until = std::min({NowNanos() + Nanos(limits_.read_timeout), request_deadline_, DrainCut()});
      if (in_head_) until = std::min(until, head_deadline_);
      if (ssl_) {
        ERR_clear_error();
        int n = SSL_read(ssl_, buf_, sizeof buf_);
        if (n > 0) {
          len_ = static_cast<size_t>(n);
          return true;
        }
        int e = SSL_get_error(ssl_, n);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return false;
        if (!Wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, until, false)) return false;
      } else {
        ssize_t n = ::recv(fd_, buf_, sizeof buf_, 0);
        if (n > 0) {
          len_ = static_cast<size_t>(n);
          return true;
        }
        if (n == 0) return false;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
        if (!Wait(POLLIN, until, false)) return false;
      }
    }
  }

  // Polls in slices so that a drain that starts meanwhile is seen; false at `until`.
  bool Wait(short events, int64_t until, bool stop_on_drain) const {
    for (;;) {
      const int64_t now = NowNanos();
      const int64_t cut = DrainCut();
      if (stop_on_drain && cut != INT64_MAX) return false;
      const int64_t end = std::min(until, cut);
      if (now >= end) {
        if (tl_fault == HttpFault::None && in_head_) tl_fault = HttpFault::Timeout;
        return false;
      }
      const int slice = static_cast<int>(std::min<int64_t>((end - now) / 1000000 + 1, 100));
      pollfd p{fd_, events, 0};
      int r = ::poll(&p, 1, slice);
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  }

  void Address(bool remote, std::string& ip, int& port) const {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    ip.clear();
    port = 0;
    if ((remote ? ::getpeername(fd_, reinterpret_cast<sockaddr*>(&a), &len)
                : ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len)) != 0)
      return;
    char text[INET6_ADDRSTRLEN] = {};
    if (a.ss_family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&a);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
      port = ntohs(in->sin_port);
    } else if (a.ss_family == AF_INET6) {
      auto* in = reinterpret_cast<sockaddr_in6*>(&a);
      inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof text);
      port = ntohs(in->sin6_port);
    }
    ip = text;
  }

  const int fd_;
  SSL* const ssl_;
  const HttpLimits& limits_;
  const std::atomic<int64_t>& drain_deadline_;
  char buf_[16384];
  size_t pos_ = 0, len_ = 0;
  bool failed_ = false;
  bool in_head_ = false;
  size_t head_bytes_ = 0, head_lines_ = 0;
  int newlines_in_a_row_ = 0;
  int64_t head_deadline_ = INT64_MAX, request_deadline_ = INT64_MAX;
};

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

}  // namespace

struct GuardedServer::Tls {
  SSL_CTX* ctx = nullptr;
  ~Tls() {
    if (ctx) SSL_CTX_free(ctx);
  }
};

GuardedServer::GuardedServer(const HttpLimits& limits) : limits_(limits) {
  new_task_queue = [this] { return new ElasticPool(limits_.threads, limits_.max_connections); };
}

GuardedServer::~GuardedServer() = default;

bool GuardedServer::UseTls(const std::string& cert_file, const std::string& key_file, std::string* error) {
  auto tls = std::make_unique<Tls>();
  tls->ctx = SSL_CTX_new(TLS_server_method());
  if (!tls->ctx) {
    *error = "cannot set up TLS: " + OpenSslError();
    return false;
  }
  SSL_CTX_set_min_proto_version(tls->ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(tls->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(tls->ctx, cert_file.c_str()) != 1) {
    *error = "cannot load the certificate " + cert_file + " (--tls-cert): " + OpenSslError();
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(tls->ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = "cannot load the key " + key_file + " (--tls-key): " + OpenSslError();
    return false;
  }
  if (SSL_CTX_check_private_key(tls->ctx) != 1) {
    *error = "the key " + key_file + " does not match the certificate " + cert_file;
    return false;
  }
  tls_ = std::move(tls);
  return true;
}

void GuardedServer::WidenBacklog() { ::listen(svr_sock_, SOMAXCONN); }

void GuardedServer::Drain() {
  drain_deadline_ = NowNanos() + Nanos(limits_.drain);
  stop();
}

HttpFault GuardedServer::CurrentFault() { return tl_fault; }

bool GuardedServer::process_and_close_socket(socket_t sock) {
  struct Close {
    int fd;
    SSL* ssl = nullptr;
    ~Close() {
      if (ssl) {
        SSL_shutdown(ssl);  // one non-blocking attempt: a close_notify if the buffer takes it
        SSL_free(ssl);
      }
      ::shutdown(fd, SHUT_RDWR);
      ::close(fd);
    }
  } close{sock};
  ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK);
  int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // answers are small: no Nagle
  if (tl_over_limit) {
    if (!tls_) {
      static const std::string kBody =
          "{\"error\":{\"code\":\"busy\",\"message\":\"too many open connections (--max-connections); retry "
          "later\"}}";
      static const std::string kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
          "Retry-After: 1\r\nContent-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
      (void)!::send(sock, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    return true;
  }
  open_.fetch_add(1, std::memory_order_relaxed);
  struct Count {
    std::atomic<size_t>& n;
    ~Count() { n.fetch_sub(1, std::memory_order_relaxed); }
  } count{open_};

  if (tls_) {
    close.ssl = SSL_new(tls_->ctx);
    if (!close.ssl || SSL_set_fd(close.ssl, sock) != 1) return true;
    // The handshake is part of the first request's head: the same deadline bounds it.
    const int64_t until = NowNanos() + Nanos(limits_.header_timeout);
    for (;;) {
      ERR_clear_error();
      int r = SSL_accept(close.ssl);
      if (r == 1) break;
      int e = SSL_get_error(close.ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return true;
      const int64_t now = NowNanos();
      const int64_t end = std::min(until, drain_deadline_.load());
      if (now >= end) return true;
      pollfd p{sock, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
      ::poll(&p, 1, static_cast<int>(std::min<int64_t>((end - now) / 1000000 + 1, 100)));
    }
  }
  GuardedStream served(sock, close.ssl, limits_, drain_deadline_);
  const std::function<void(httplib::Request&)> setup = [](httplib::Request&) {};
  for (size_t n = 0; served.WaitForRequest(n == 0 ? limits_.header_timeout : limits_.keep_alive); ++n) {
    const bool last = n + 1 >= keep_alive_max_count_ || drain_deadline_.load() != INT64_MAX;
    bool closed = false;
    const bool ok = process_request(served, last, closed, setup);
    if (!ok || closed || last || served.failed()) break;
  }
  return true;
}

}  // namespace perk::cli
