// A wall-clock limit on one solver call, by our own thread calling Z3's interrupt: Debian's Z3
// 4.8.12 can deadlock in the timer behind its own `timeout` (analyze.h). Internal to analyze/.
#pragma once

#include <z3++.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace perk::analyze {

class Watchdog {
 public:
  Watchdog(z3::context& ctx, unsigned limit_ms)
      : thread_([this, &ctx, limit_ms] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!done_changed_.wait_for(lock, std::chrono::milliseconds(limit_ms), [this] { return done_; })) ctx.interrupt();
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_changed_.notify_one();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable done_changed_;
  bool done_ = false;
  std::thread thread_;  // last: it starts once the members it uses exist
};

}  // namespace perk::analyze
