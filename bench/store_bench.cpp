// Microbenchmark of the durable store's commit path, apart from the CLI.
//
// usage: store_bench PROGRAM EVENTS [DIR]
//
// 1. Runs the engine alone over EVENTS (the interpreter), outputs kept in memory and dropped.
// 2. Encodes every resulting client 5 times: ns and bytes per client (the engine thread's share
//    of a commit is encoding the clients a batch changed).
// 3. Runs the same events through a Store in DIR (default /tmp), with its ledger and rejects
//    files there, and prints where the store's time went (Store::Info).
// Prints records/s for 1 and 3; the difference is what durable state costs end to end.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "compiler/compiler.h"
#include "runtime/engine.h"
#include "runtime/records.h"
#include "runtime/snapshot.h"
#include "runtime/store.h"

using namespace perk;
using Clock = std::chrono::steady_clock;

static double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: store_bench PROGRAM EVENTS [DIR]\n");
    return 2;
  }
  std::string dir = argc > 3 ? argv[3] : "/tmp";
  std::string source;
  {
    FILE* f = std::fopen(argv[1], "rb");
    if (!f) return 2;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) source.append(buf, n);
    std::fclose(f);
  }
  Diagnostics diags(argv[1], source);
  auto program = CompileProgram(source, diags);
  if (!program || diags.HasErrors()) {
    std::fprintf(stderr, "%s", diags.Render(false).c_str());
    return 1;
  }

  // 1. The engine alone.
  std::string error;
  auto reader = runtime::LineReader::Open(argv[2], &error);
  if (!reader) return 2;
  runtime::Engine engine(*program);
  std::string_view line;
  uint64_t number = 0;
  auto start = Clock::now();
  while (reader->Next(&line, &number)) {
    engine.ProcessLine(line, number);
    if (engine.ledger().size() > (1 << 20)) engine.ledger().clear();
    engine.rejects().clear();
  }
  double engine_s = Seconds(start);
  fmt::print("engine alone: {} records in {:.2f} s = {:.0f} records/s, {} clients\n", number, engine_s,
             number / engine_s, engine.clients().size());

  // 2. Encoding clients.
  std::string out;
  size_t bytes = 0;
  start = Clock::now();
  for (int round = 0; round < 5; ++round) {
    out.clear();
    for (const auto& c : engine.clients()) runtime::EncodeClient(c, &out);
    bytes = out.size();
  }
  double plain_s = Seconds(start) / 5;
  // As a commit does it: into client-log rows.
  std::vector<uint32_t> all(engine.clients().size());
  for (size_t k = 0; k < all.size(); ++k) all[k] = static_cast<uint32_t>(k);
  start = Clock::now();
  for (int round = 0; round < 5; ++round) {
    std::vector<std::string> rows;
    runtime::Store::EncodeClientRows(engine.clients(), all, &rows);
  }
  double encode_s = Seconds(start) / 5;
  size_t clients = engine.clients().size();
  // The same 64 clients again and again: their memory stays in cache.
  start = Clock::now();
  size_t hot = std::min<size_t>(clients, 64), hot_rounds = 2000;
  for (size_t round = 0; round < hot_rounds; ++round) {
    out.clear();
    for (size_t k = 0; k < hot; ++k) runtime::EncodeClient(engine.clients()[k], &out);
  }
  double hot_s = Seconds(start) / static_cast<double>(hot_rounds * hot);
  fmt::print("encoding clients: {:.0f} ns per client over all of them (memory not in cache), {:.0f} ns into "
             "client-log rows, {:.0f} ns in cache; {:.0f} bytes per client\n",
             plain_s * 1e9 / clients, encode_s * 1e9 / clients, hot_s * 1e9, static_cast<double>(bytes) / clients);

  // 3. Through a store.
  std::string state = dir + "/store_bench.state", ledger = dir + "/store_bench.ledger",
              rejects = dir + "/store_bench.rejects";
  for (const std::string& f : {state, state + "-wal", state + "-shm", ledger, rejects}) ::unlink(f.c_str());
  runtime::StoreOptions options;
  options.ledger_path = ledger;
  options.rejects_path = rejects;
  std::vector<std::string> notes;
  auto store = runtime::Store::Open(state, *program, nullptr, options, &error, &notes);
  if (!store) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }
  reader = runtime::LineReader::Open(argv[2], &error);
  store->BeginInput(argv[2]);
  start = Clock::now();
  while (reader->Next(&line, &number))
    if (!store->ProcessLine(line, number, reader->offset())) break;
  bool ok = store->Commit();
  double store_s = Seconds(start);
  if (!ok) {
    std::fprintf(stderr, "%s\n", store->error().c_str());
    return 2;
  }
  runtime::StoreInfo info = store->Info();
  fmt::print("with the store: {:.2f} s = {:.0f} records/s ({:+.0f}% time over the engine alone)\n", store_s,
             number / store_s, (store_s / engine_s - 1) * 100);
  fmt::print(
      "  {} commits; engine thread packing batches {:.0f} ms CPU ({:.2f} us per record); writer thread {:.0f} ms "
      "CPU, outputs {:.0f} ms and transactions {:.0f} ms wall; {} client rows ({:.0f} bytes each)\n",
      info.commits, info.collect_millis, info.collect_millis * 1e3 / number, info.writer_cpu_millis,
      info.output_millis, info.sql_millis, info.client_rows,
      info.client_rows ? static_cast<double>(info.client_bytes) / info.client_rows : 0.0);
  fmt::print("  state in use {} bytes for {} clients = {} bytes per client\n", info.live_bytes, info.clients,
             info.clients ? info.live_bytes / info.clients : 0);
  for (const std::string& f : {state, state + "-wal", state + "-shm", ledger, rejects}) ::unlink(f.c_str());
  return 0;
}
