// The evaluation-core benchmark: the same decoded records through the engine with the JIT
// evaluator, the engine with the reference interpreter, and bench/forex.perk written by hand
// in C++ (bench/native/forex_native.h, the floor). Decoding is done once, untimed; each run
// times only the processing of records, with a fresh engine, and the best run counts. Ledgers
// are drained between chunks of records outside the timed spans and hashed (FNV-1a), so every
// contender must produce the same bytes for its time to mean anything: core exits 1 if not.
//
// A `tick` record is inserted at each midnight the stream crosses, so the day ticks run inside
// their own timed span and are reported apart from the events (in all, and per tick). That leaves the ledger unchanged: the tick the next record would have run, runs one
// record earlier. Figures are per input record (inserted ticks not counted).
//   build/core [--program bench/forex.perk] [--events FILE] [--runs N]
//              [--engines jit,interp,native] [--dump DIR] [--quiet-clients N]
//              [--perf-ctl FIFO,ACK --perf-part events|ticks]
// --dump writes each contender's ledger to DIR/ledger_NAME.jsonl (first run) to diff them.
// --quiet-clients N adds N profile records before the stream, at its first record's time (one
// in ten with a birthdate, spread over the year), processed before the timed span: clients
// the day ticks know of but no event touches, so that the tick time can be compared at
// different numbers of known clients with the same events (issue 19, bench/README.md).
// --perf-ctl drives `perf record -D -1 --control fifo:FIFO,ACK` so that it samples only the
// timed processing of events or of day ticks (bench/profile.sh).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "bench/bench_common.h"
#include "bench/native/forex_native.h"
#include "compiler/compiler.h"
#include "runtime/engine.h"
#include "runtime/interp.h"
#include "runtime/records.h"
#include "stdlib/stdlib.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kChunk = 4096;  // records between ledger drains

struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void Update(std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  }
};

struct Input {
  std::vector<perk::runtime::Record> records;
  std::vector<uint64_t> lines;
  std::vector<uint8_t> inserted_tick;  // 1 for the midnight ticks core adds
  size_t input_records = 0;            // records from the file
  size_t setup = 0;                    // the first `setup` records (quiet clients) are not timed
};

// Thread CPU time is what core reports first (wall time is reported too).
using bench::ThreadCpuNs;

struct Times {
  double cpu_ns = 0;        // everything
  double wall_ns = 0;
  double tick_cpu_ns = 0;   // the part spent in day ticks
  std::vector<double> tick_ns;  // each midnight's, in order
};

struct Outcome {
  Times best;  // the run with the least CPU time
  double best_wall_ns = 1e300;
  uint64_t hash = 0;
  uint64_t effects = 0, rejects = 0, duplicates = 0;
  uint64_t ticks = 0, visits = 0, known = 0;  // day ticks, client visits at them, known clients (engines only)
  uint64_t ledger_bytes = 0;
  bool stable = true;  // same ledger on every run
};

// What core needs of a contender, fresh for each run.
struct Contender {
  std::function<void(size_t, size_t)> process;  // handles records [begin, end)
  std::function<std::string_view()> ledger;  // what it wrote since the last clear
  std::function<void()> clear;
  std::function<void(Outcome*)> stats;
};

// perf's control fifo: sampling on only around the part being profiled.
class PerfControl {
 public:
  enum class Part { None, Events, Ticks };
  bool Open(const std::string& spec, Part part) {
    auto comma = spec.find(',');
    if (comma == std::string::npos) return false;
    ctl_ = std::fopen(spec.substr(0, comma).c_str(), "w");
    ack_ = std::fopen(spec.substr(comma + 1).c_str(), "r");
    part_ = part;
    return ctl_ && ack_;
  }
  void Chunk(bool start) { Set(part_ == Part::Events && start); }
  void Tick(bool start) { Set(part_ == Part::Ticks ? start : part_ == Part::Events && !start); }

 private:
  void Set(bool on) {
    if (!ctl_ || on == on_) return;
    on_ = on;
    std::fputs(on ? "enable\n" : "disable\n", ctl_);
    std::fflush(ctl_);
    char reply[16];
    if (!std::fgets(reply, sizeof reply, ack_)) ctl_ = nullptr;  // perf went away
  }
  std::FILE* ctl_ = nullptr;
  std::FILE* ack_ = nullptr;
  Part part_ = Part::None;
  bool on_ = false;
};
PerfControl g_perf;

// One run: chunks of records timed, ledger drained and hashed in between.
Times TimeRun(const Input& input, Contender& c, Fnv* fnv, uint64_t* bytes, std::FILE* dump) {
  Times t;
  const size_t n = input.records.size();
  auto drain = [&] {
    std::string_view l = c.ledger();
    fnv->Update(l);
    *bytes += l.size();
    if (dump) std::fwrite(l.data(), 1, l.size(), dump);
    c.clear();
  };
  if (input.setup > 0) {
    c.process(0, input.setup);
    drain();
  }
  for (size_t start = input.setup; start < n; start += kChunk) {
    size_t end = std::min(n, start + kChunk);
    g_perf.Chunk(true);
    auto wall = Clock::now();
    int64_t cpu = ThreadCpuNs();
    // Runs of records between the inserted ticks go in one call (the engine looks ahead
    // within it); each tick is timed on its own.
    for (size_t i = start; i < end;) {
      if (input.inserted_tick[i]) {
        g_perf.Tick(true);
        int64_t tick = ThreadCpuNs();
        c.process(i, i + 1);
        t.tick_ns.push_back(static_cast<double>(ThreadCpuNs() - tick));
        t.tick_cpu_ns += t.tick_ns.back();
        g_perf.Tick(false);
        ++i;
      } else {
        size_t j = i;
        while (j < end && !input.inserted_tick[j]) ++j;
        c.process(i, j);
        i = j;
      }
    }
    t.cpu_ns += static_cast<double>(ThreadCpuNs() - cpu);
    t.wall_ns += static_cast<double>((Clock::now() - wall).count());
    g_perf.Chunk(false);
    drain();
  }
  drain();
  return t;
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

bool LoadInput(const std::string& path, const perk::checked::Program& program, size_t quiet, Input* input,
               uint64_t* decode_rejects) {
  std::string error;
  auto reader = perk::runtime::LineReader::Open(path, &error);
  if (!reader) {
    fmt::print(stderr, "core: {} (generate it with bench/run_core.sh)\n", error);
    return false;
  }
  perk::runtime::RecordDecoder decoder(perk::runtime::InputSchemaOf(program));
  std::string_view line;
  uint64_t number = 0;
  auto never = [](std::string_view) { return false; };  // dedup is the contenders' work
  bool has_day = false;
  int64_t day = 0;
  while (reader->Next(&line, &number)) {
    perk::runtime::Record rec;
    switch (decoder.Decode(line, never, &rec, &error)) {
      case perk::runtime::DecodeOutcome::Ok: {
        int64_t d = perk_time_date(rec.time);
        if (has_day && d > day) {
          perk::runtime::Record tick;
          tick.kind = perk::runtime::RecordKind::Tick;
          tick.time = perk_date_start(d);
          input->records.push_back(std::move(tick));
          input->lines.push_back(number);
          input->inserted_tick.push_back(1);
        }
        if (!has_day || d > day) day = d;
        has_day = true;
        input->records.push_back(std::move(rec));
        input->lines.push_back(number);
        input->inserted_tick.push_back(0);
        ++input->input_records;
        break;
      }
      case perk::runtime::DecodeOutcome::Reject: ++*decode_rejects; break;
      default: break;
    }
  }
  if (!reader->error().empty()) {
    fmt::print(stderr, "core: reading {}: {}\n", path, reader->error());
    return false;
  }
  if (quiet > 0 && !input->records.empty()) {
    // Deterministic: client q<k> has a birthdate when k is a multiple of 10, its day from k.
    const std::string at = perk::stdlib::FormatTime(input->records.front().time);
    std::vector<perk::runtime::Record> setup(quiet);
    for (size_t k = 0; k < quiet; ++k) {
      std::string line = fmt::format(R"({{"type":"profile","client":"q{:07}","time":"{}")", k, at);
      if (k % 10 == 0) line += fmt::format(R"(,"birthdate":"{}")", perk::stdlib::FormatDate(perk::stdlib::DaysFromCivil(1970, 1, 1) + static_cast<int64_t>((k * 7919) % 18262)));
      line += "}";
      if (decoder.Decode(line, never, &setup[k], &error) != perk::runtime::DecodeOutcome::Ok) {
        fmt::print(stderr, "core: --quiet-clients needs a program with a `birthdate: date` client attribute ({})\n", error);
        return false;
      }
    }
    input->records.insert(input->records.begin(), std::make_move_iterator(setup.begin()), std::make_move_iterator(setup.end()));
    input->lines.insert(input->lines.begin(), quiet, 0);
    input->inserted_tick.insert(input->inserted_tick.begin(), quiet, 0);
    input->setup = quiet;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // Keep freed memory in the heap instead of returning it to the system, so that a later run's
  // fresh engine reuses pages already mapped: on this kind of VM a first-touch page fault costs
  // microseconds, and the best run should measure processing, not the kernel. The first run of
  // each contender still pays it (see --runs).
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, -1);
  std::string program_path = "bench/forex.perk";
  std::string events_path = "bench/out/events_1000000_100000_60.jsonl";
  std::string engines = "jit,interp,native";
  std::string dump, perf_ctl, perf_part;
  int runs = 3;
  size_t quiet = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "core: {} needs a value\n", a);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--program") program_path = value();
    else if (a == "--events") events_path = value();
    else if (a == "--runs") runs = std::max(1, std::atoi(value().c_str()));
    else if (a == "--engines") engines = value();
    else if (a == "--dump") dump = value();
    else if (a == "--quiet-clients") quiet = static_cast<size_t>(std::atoll(value().c_str()));
    else if (a == "--perf-ctl") perf_ctl = value();
    else if (a == "--perf-part") perf_part = value();
    else {
      fmt::print(stderr,
                 "usage: core [--program FILE] [--events FILE] [--runs N] [--engines jit,interp,native] [--dump DIR]\n"
                 "            [--quiet-clients N]\n"
                 "            [--perf-ctl FIFO,ACK --perf-part events|ticks]\n");
      return 2;
    }
  }
  if (!perf_ctl.empty()) {
    if (perf_part != "events" && perf_part != "ticks") {
      fmt::print(stderr, "core: --perf-part must be events or ticks\n");
      return 2;
    }
    auto part = perf_part == "events" ? PerfControl::Part::Events : PerfControl::Part::Ticks;
    if (!g_perf.Open(perf_ctl, part)) {
      fmt::print(stderr, "core: --perf-ctl takes FIFO,ACK (the fifos of perf record --control)\n");
      return 2;
    }
  }

  int load_status = 0;
  auto program = bench::LoadProgram(program_path, "core", &load_status);
  if (!program) return load_status;

  Input input;
  uint64_t decode_rejects = 0;
  auto t_decode = Clock::now();
  if (!LoadInput(events_path, *program, quiet, &input, &decode_rejects)) return 2;
  const double n = static_cast<double>(input.input_records);
  if (input.input_records == 0) {
    fmt::print(stderr, "core: no records in {}\n", events_path);
    return 2;
  }
  fmt::print("core: {} ({} rules) over {}: {} records decoded in {:.0f} ms, untimed ({} rejected by the decoder)\n",
             program_path, program->rules.size(), events_path, input.input_records,
             std::chrono::duration<double, std::milli>(Clock::now() - t_decode).count(), decode_rejects);
  fmt::print("timed: processing of decoded records only, thread CPU time, best of {} runs in rounds, fresh engine each;\n"
             "ns/event = time / {} input records, split into events and the day ticks of {} midnights\n",
             runs, input.input_records, input.records.size() - input.input_records - input.setup);
  if (input.setup > 0)
    fmt::print("{} quiet clients added by profile records before the stream (processed untimed)\n", input.setup);

  // Every contender is set up first, then the runs go in rounds, each contender once per round:
  // on a shared machine a burst of contention then slows every contender of a round alike,
  // and each round gives a ratio of its own (printed as a range beside the ratio of bests).
  struct Slot {
    std::string name;
    std::unique_ptr<perk::runtime::Evaluator> evaluator;
    forex_native::Config config;
    std::FILE* dump_file = nullptr;
    Outcome o;
    std::vector<double> round_cpu_ns;
  };
  std::vector<Slot> slots;
  for (const std::string& name : Split(engines)) {
    Slot& slot = slots.emplace_back();
    slot.name = name;
    if (!dump.empty()) {
      slot.dump_file = std::fopen(fmt::format("{}/ledger_{}.jsonl", dump, name).c_str(), "wb");
      if (!slot.dump_file) {
        fmt::print(stderr, "core: cannot write to {}\n", dump);
        return 2;
      }
    }
    if (name == "jit" || name == "interp") {
      std::string error;
      auto t = Clock::now();
      slot.evaluator = perk::runtime::CreateEvaluator(
          name == "jit" ? perk::runtime::EngineKind::Jit : perk::runtime::EngineKind::Interp, *program, &error);
      if (!slot.evaluator) {
        fmt::print(stderr, "core: {}: {}\n", name, error);
        return 1;
      }
      if (name == "jit")
        fmt::print("  (jit: program compiled in {:.1f} ms, not timed)\n",
                   std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    } else if (name == "native") {
      try {
        slot.config = forex_native::ConfigFrom(*program);
      } catch (const std::exception& e) {
        fmt::print(stderr, "core: {}\n", e.what());
        return 1;
      }
    } else {
      fmt::print(stderr, "core: unknown engine `{}` (jit, interp, native)\n", name);
      return 2;
    }
  }

  for (int run = 0; run < runs; ++run) {
    for (Slot& slot : slots) {
      Outcome& o = slot.o;
      std::unique_ptr<perk::runtime::Engine> engine;
      std::unique_ptr<forex_native::Engine> native;
      Contender c;
      if (slot.evaluator) {
        engine = std::make_unique<perk::runtime::Engine>(*program, slot.evaluator.get());
        auto* e = engine.get();
        c.process = [e, &input](size_t begin, size_t end) {
          e->ProcessDecodedBatch(input.records.data() + begin, input.lines.data() + begin, end - begin);
        };
        c.ledger = [e] { return std::string_view(e->ledger()); };
        c.clear = [e] {
          e->ledger().clear();
          e->rejects().clear();
        };
        c.stats = [e](Outcome* out) {
          out->effects = e->stats().effects;
          out->rejects = e->stats().rejects;
          out->duplicates = e->stats().duplicates;
          out->ticks = e->tick_stats().ticks;
          out->visits = e->tick_stats().visits;
          out->known = e->clients().size();
        };
      } else {
        native = std::make_unique<forex_native::Engine>(slot.config);
        auto* e = native.get();
        c.process = [e, &input](size_t begin, size_t end) {
          for (size_t i = begin; i < end; ++i) e->Process(input.records[i]);
        };
        c.ledger = [e] { return e->ledger().view(); };
        c.clear = [e] { e->ledger().Clear(); };
        c.stats = [e](Outcome* out) {
          out->effects = e->stats().effects;
          out->rejects = e->stats().rejects;
          out->duplicates = e->stats().duplicates;
        };
      }
      Fnv fnv;
      uint64_t bytes = 0;
      Times t = TimeRun(input, c, &fnv, &bytes, run == 0 ? slot.dump_file : nullptr);
      if (run > 0 && fnv.h != o.hash) o.stable = false;
      if (t.cpu_ns < o.best.cpu_ns || run == 0) o.best = t;
      o.best_wall_ns = std::min(o.best_wall_ns, t.wall_ns);
      o.hash = fnv.h;
      o.ledger_bytes = bytes;
      c.stats(&o);
      slot.round_cpu_ns.push_back(t.cpu_ns);
      // Teardown is not timed.
    }
  }

  std::map<std::string, Outcome> results;
  std::map<std::string, std::vector<double>> rounds;
  std::vector<std::string> order;
  for (Slot& slot : slots) {
    if (slot.dump_file) std::fclose(slot.dump_file);
    const Outcome& o = slot.o;
    const Times& b = o.best;
    const std::string& name = slot.name;
    fmt::print("  {:<7} {:>8.1f} ns/event = events {:>7.1f} + day ticks {:>7.1f}  ({:>8.0f} events/s; wall {:.1f} ns/event)\n"
               "          effects {}, rejects {}, duplicates {}, ledger {} bytes, fnv1a {:016x}{}\n",
               name, b.cpu_ns / n, (b.cpu_ns - b.tick_cpu_ns) / n, b.tick_cpu_ns / n, n * 1e9 / b.cpu_ns,
               o.best_wall_ns / n, o.effects, o.rejects, o.duplicates, o.ledger_bytes, o.hash,
               o.stable ? "" : "  (DIFFERS BETWEEN RUNS)");
    if (!b.tick_ns.empty()) {
      // The median tick: the first one after new clients appear visits each of them once.
      std::vector<double> sorted = b.tick_ns;
      std::sort(sorted.begin(), sorted.end());
      fmt::print("          day ticks {:.1f} ms in all: median {:.0f} us per tick (first {:.0f}, max {:.0f}){}\n",
                 b.tick_cpu_ns / 1e6, sorted[sorted.size() / 2] / 1e3, b.tick_ns.front() / 1e3, sorted.back() / 1e3,
                 o.ticks ? fmt::format("; {:.0f} client visits per tick, {} known clients at the end",
                                       static_cast<double>(o.visits) / static_cast<double>(o.ticks), o.known)
                         : std::string());
    }
    results[name] = o;
    rounds[name] = slot.round_cpu_ns;
    order.push_back(name);
  }
  std::fflush(stdout);

  auto has = [&](const char* k) { return results.count(k) > 0; };
  auto ratio = [&](const char* a, const char* b) { return results[a].best.cpu_ns / results[b].best.cpu_ns; };
  // The ratio within each round, as a range (rounds after the first: it pays the page faults
  // of memory no run has touched yet, unevenly between contenders).
  auto round_ratios = [&](const char* a, const char* b) -> std::string {
    const auto &ra = rounds[a], &rb = rounds[b];
    if (ra.size() < 2) return "";
    double lo = 1e300, hi = 0;
    for (size_t r = 1; r < ra.size(); ++r) {
      lo = std::min(lo, ra[r] / rb[r]);
      hi = std::max(hi, ra[r] / rb[r]);
    }
    return fmt::format("; per round {:.2f}-{:.2f}x", lo, hi);
  };
  if (has("jit") && has("native"))
    fmt::print("  jit / native    = {:.2f}x{}  (target: JIT core within 1.5x of hand-written C++)\n", ratio("jit", "native"),
               round_ratios("jit", "native"));
  if (has("interp") && has("jit"))
    fmt::print("  interp / jit    = {:.2f}x{}  (target: JIT core at least 10x faster than the interpreter)\n",
               ratio("interp", "jit"), round_ratios("interp", "jit"));
  if (has("interp") && has("native"))
    fmt::print("  interp / native = {:.2f}x{}\n", ratio("interp", "native"), round_ratios("interp", "native"));

  // Every contender must have written the same ledger, or the figures compare different work.
  bool same = true;
  for (const auto& name : order) {
    const Outcome& a = results[order[0]];
    const Outcome& b = results[name];
    if (b.hash != a.hash || b.effects != a.effects || b.rejects != a.rejects || b.duplicates != a.duplicates) {
      fmt::print("  LEDGER MISMATCH: {} differs from {} (hash {:016x} vs {:016x}, effects {} vs {}, rejects {} vs {})\n",
                 name, order[0], b.hash, a.hash, b.effects, a.effects, b.rejects, a.rejects);
      same = false;
    }
    if (!b.stable) same = false;
  }
  if (same) fmt::print("  ledgers: identical across {} ({} entries)\n", fmt::join(order, ", "), results[order[0]].effects);
  return same ? 0 : 1;
}
