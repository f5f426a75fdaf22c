// The command line: subcommands, options, output format and exit codes (spec §3).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace midiag::agent {

enum ExitCode { kExitOk = 0, kExitProblem = 1, kExitUsage = 2, kExitToolFailure = 3 };

// Runs mi-diag with `args` (without the program name). Reports go to `out`, errors to `err`.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            bool out_is_tty = false);

}  // namespace midiag::agent
