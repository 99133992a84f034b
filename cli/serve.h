// `perk serve`: the webhook service a CRM calls from its hooks (docs/serve.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/serve_http.h"

namespace CLI {
class App;
}

namespace perk::cli {

struct ServeOptions {
  std::string program;
  std::string state;
  std::string ledger, rejects;
  std::string listen = "127.0.0.1:8080";
  std::string token_file;        // events, reads and metrics
  std::string admin_token_file;  // POST /v1/program
  bool insecure_no_auth = false;
  std::string tls_cert, tls_key;
  std::string engine = "jit";
  std::vector<std::string> params;
  std::vector<std::string> allow_drop;
  uint64_t max_body = 16u << 20;
  std::string max_future = "10m";  // a duration (embed/boundary.h), or "off"
  std::string max_clock_jump;      // "" or "off": no cap
  HttpLimits http;  // connections, deadlines, header caps, drain (serve_http.h)
};

// Registers the subcommand and its options on `app`.
CLI::App* AddServeCommand(CLI::App& app, ServeOptions* options);

int Serve(const ServeOptions& options);

}  // namespace perk::cli
