// `mi-diag demo` and `mi-diag simulate`: the embedded simulated instance, for people and the lab.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace midiag::agent {

// Runs `check` against simulated instances on loopback in several modes and prints each report.
// Exit 0 when every scenario produced the findings it should, 1 otherwise.
int run_demo(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, bool tty);

// Serves one simulated instance until SIGTERM/SIGINT or --max-seconds.
int run_simulate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace midiag::agent
