// The CLI run in-process, for tests: its exit code and what it wrote to stdout and stderr.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "agent/cli.h"

namespace midiag::test_support {

struct CliResult {
  int code;
  std::string out, err;
};

inline CliResult cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = agent::run_cli(args, out, err, false);
  return {code, out.str(), err.str()};
}

}  // namespace midiag::test_support
