// libperk for C++: a thin, header-only wrapper over the C API of perk.h. Handles are owned
// (move-only, freed by destructors) and failures throw perk::Error on the C++ side of the ABI;
// the library itself never throws. Thread safety is the C API's: share one perk::Engine.
#ifndef PERK_PERK_HPP
#define PERK_PERK_HPP

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "perk/perk.h"

namespace perk {

class Error : public std::runtime_error {
 public:
  Error(perk_status code, const std::string& message) : std::runtime_error(message), code_(code) {}
  perk_status code() const { return code_; }

 private:
  perk_status code_;
};

namespace detail {
inline void Check(perk_status s) {
  if (s != PERK_SUCCESS) throw Error(s, perk_last_error());
}
}  // namespace detail

struct Options {
  std::string engine = "jit";  // or "interp"
  std::string state_path;      // "" keeps the state in memory
  std::vector<std::string> params;  // NAME=VALUE
  std::vector<std::string> allow_drop;  // with a state: names a changed program may drop
};

using Counts = perk_counts;
enum class RecordStatus { Accepted = PERK_RECORD_ACCEPTED, Duplicate = PERK_RECORD_DUPLICATE, Rejected = PERK_RECORD_REJECTED };

// The outcome of one batch. Views stay valid as long as the Result lives.
class Result {
 public:
  explicit Result(perk_result* r) : r_(r) {}
  Result(Result&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  Result& operator=(Result&& o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  ~Result() { perk_result_free(r_); }

  Counts counts() const {
    Counts c;
    perk_result_counts(r_, &c);
    return c;
  }
  // Every effect as ledger JSON Lines.
  std::string_view ledger() const { return View(perk_result_ledger); }
  std::string_view rejects() const { return View(perk_result_rejects); }
  std::string_view json() const { return View(perk_result_json); }
  size_t size() const { return perk_result_record_count(r_); }
  RecordStatus status(size_t i) const { return static_cast<RecordStatus>(perk_result_record_status(r_, i)); }
  std::string_view effects(size_t i) const {
    size_t n = 0;
    const char* p = perk_result_record_effects(r_, i, &n);
    return {p, n};
  }

 private:
  std::string_view View(const char* (*f)(const perk_result*, size_t*)) const {
    size_t n = 0;
    const char* p = f(r_, &n);
    return {p, n};
  }
  perk_result* r_;
};

class Engine {
 public:
  static Engine Open(const std::string& program_path, const Options& options = {}) {
    Engine e;
    Holder h(options);
    detail::Check(perk_open(program_path.c_str(), &h.o, &e.e_));
    return e;
  }
  static Engine FromSource(const std::string& name, std::string_view source, const Options& options = {}) {
    Engine e;
    Holder h(options);
    detail::Check(perk_open_source(name.c_str(), source.data(), source.size(), &h.o, &e.e_));
    return e;
  }
  Engine(Engine&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  Engine& operator=(Engine&& o) noexcept {
    std::swap(e_, o.e_);
    return *this;
  }
  ~Engine() { perk_close(e_); }

  // Processes one record or a JSON Lines batch; returns once its effects are durable.
  Result Process(std::string_view jsonl) {
    perk_result* r = nullptr;
    detail::Check(perk_process(e_, jsonl.data(), jsonl.size(), &r));
    return Result(r);
  }

  // Calls on_effect(std::string_view entry) for each ledger entry, after the records are
  // durable and outside the engine's lock.
  template <typename F>
  Counts ForEachEffect(std::string_view jsonl, F&& on_effect) {
    Counts counts;
    auto trampoline = [](void* user, const char* json, size_t n) -> int {
      (*static_cast<F*>(user))(std::string_view(json, n));
      return 0;
    };
    detail::Check(perk_process_each(e_, jsonl.data(), jsonl.size(), trampoline, &on_effect, &counts));
    return counts;
  }

  // The client's state as JSON, or nullopt for a client the engine has not seen.
  std::optional<std::string> Client(const std::string& id) {
    char* json = nullptr;
    size_t n = 0;
    perk_status s = perk_client_json(e_, id.c_str(), &json, &n);
    if (s == PERK_ERR_NOT_FOUND) return std::nullopt;
    detail::Check(s);
    std::string out(json, n);
    perk_free(json);
    return out;
  }

  // Records more than max_future_seconds ahead of the wall clock are rejected (default 600;
  // negative: no check), and so is one that would move the clock by more than
  // max_clock_jump_seconds at once (0: no cap). See perk_set_time_limits.
  void SetTimeLimits(int64_t max_future_seconds, int64_t max_clock_jump_seconds = 0) {
    detail::Check(perk_set_time_limits(e_, max_future_seconds, max_clock_jump_seconds));
  }

  Counts Stats() {
    Counts c;
    detail::Check(perk_stats(e_, &c));
    return c;
  }

  perk_engine* handle() { return e_; }

 private:
  Engine() = default;
  // Keeps the C strings of an Options alive for one call.
  struct Holder {
    explicit Holder(const Options& options) {
      perk_options_init(&o);
      o.engine = options.engine.c_str();
      if (!options.state_path.empty()) o.state_path = options.state_path.c_str();
      for (const auto& p : options.params) ptrs.push_back(p.c_str());
      o.params = ptrs.data();
      o.param_count = ptrs.size();
      for (const auto& d : options.allow_drop) drops.push_back(d.c_str());
      o.allow_drop = drops.data();
      o.allow_drop_count = drops.size();
    }
    perk_options o;
    std::vector<const char*> ptrs, drops;
  };
  perk_engine* e_ = nullptr;
};

}  // namespace perk

#endif  // PERK_PERK_HPP
