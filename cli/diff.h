// `perk diff OLD NEW --events FILE`: two versions of a program on the same history.
#pragma once

#include <string>

namespace perk::cli {

struct DiffOptions {
  std::string old_program;
  std::string new_program;
  std::string events;
  std::string report;
  std::string engine = "jit";
  std::string until;
};

int Diff(const DiffOptions& options);

}  // namespace perk::cli
