// Calling Perk from C++ through the header-only wrapper perk/perk.hpp: the steps of embed.c,
// with owned handles and perk::Error instead of status codes. Prints embed.c's transcript.
//
//   c++ -std=c++17 embed.cpp $(pkg-config --cflags --libs perk) -o embed_cpp
#include <perk/perk.hpp>

#include <cstdio>
#include <string>
#include <string_view>

namespace {

const char* kStatus[] = {"accepted", "duplicate", "rejected"};

void PrintLines(std::string_view text) {
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    std::printf("  %.*s\n", static_cast<int>(line.size()), line.data());
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
}

void Process(perk::Engine& engine, const char* title, std::string_view jsonl) {
  perk::Result r = engine.Process(jsonl);
  perk::Counts c = r.counts();
  std::printf("%s: %llu records, %llu accepted, %llu duplicates, %llu rejected, %llu effects\n", title,
              static_cast<unsigned long long>(c.records), static_cast<unsigned long long>(c.accepted),
              static_cast<unsigned long long>(c.duplicates), static_cast<unsigned long long>(c.rejected),
              static_cast<unsigned long long>(c.effects));
  for (size_t k = 0; k < r.size(); ++k) {
    std::printf(" record %zu: %s\n", k + 1, kStatus[static_cast<int>(r.status(k))]);
    PrintLines(r.effects(k));
  }
  if (!r.rejects().empty()) {
    std::printf(" rejects:\n");
    PrintLines(r.rejects());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s PROGRAM.perk jit|interp\n", argv[0]);
    return 2;
  }
  std::printf("libperk %s\n", perk_version());
  try {
    perk::Options options;
    options.engine = argv[2];
    options.params = {"rate=25%"};
    perk::Engine engine = perk::Engine::Open(argv[1], options);
    std::printf("opened the program with rate=25%%\n");

    Process(engine, "one record",
            R"({"type":"deposit","id":"d1","client":"c1","time":"2026-01-05T10:00:00Z","amount":"250.00","first":true})");
    Process(engine, "batch",
            R"({"type":"deposit","id":"d2","client":"c2","time":"2026-01-05T11:00:00Z","amount":80})" "\n"
            R"({"type":"deposit","id":"d1","client":"c1","time":"2026-01-05T10:00:00Z","amount":"250.00","first":true})" "\n"
            R"({"type":"deposit","id":"d3","client":"c2","time":"2026-01-05T12:00:00Z","amount":"10.001"})" "\n");

    int seen = 0;
    perk::Counts counts = engine.ForEachEffect(
        R"({"type":"deposit","id":"d4","client":"c1","time":"2026-01-06T09:00:00Z","amount":40})",
        [&](std::string_view effect) {
          ++seen;
          std::printf("  callback: %.*s\n", static_cast<int>(effect.size()), effect.data());
        });
    std::printf("callback saw %d effects of %llu\n", seen, static_cast<unsigned long long>(counts.effects));

    if (auto c1 = engine.Client("c1")) std::printf("client c1: %s\n", c1->c_str());
    // Client() answers nullopt for an unknown client; the C call underneath shows the status.
    char* json = nullptr;
    perk_status s = perk_client_json(engine.handle(), "nobody", &json, nullptr);
    std::printf("client nobody: status %d: %s\n", static_cast<int>(s), perk_last_error());
    counts = engine.Stats();
    std::printf("totals: %llu records, %llu accepted, %llu duplicates, %llu effects\n",
                static_cast<unsigned long long>(counts.records), static_cast<unsigned long long>(counts.accepted),
                static_cast<unsigned long long>(counts.duplicates), static_cast<unsigned long long>(counts.effects));
  } catch (const perk::Error& e) {
    std::printf("error %d: %s\n", static_cast<int>(e.code()), e.what());
    return 1;
  }
  try {
    perk::Engine::FromSource("broken.perk", "program \"Broken\"\nwallet bonus: mony\n");
  } catch (const perk::Error& e) {
    std::string message = e.what();
    std::printf("broken program: status %d: %s\n", static_cast<int>(e.code()), message.substr(0, message.find('\n')).c_str());
  }
  return 0;
}
