// `mi-diag capture`: a live capture (libpcap) of the application's own connections for
// --duration seconds or until SIGINT/SIGTERM, then the same analysis and report as `analyze`.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace midiag::agent {

// Exit codes as the other commands: 0/1 by the findings, 2 bad usage, 3 when it may not capture.
int run_capture_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                        bool tty);

}  // namespace midiag::agent
