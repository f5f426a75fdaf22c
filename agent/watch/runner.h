// `mi-diag watch`: the config's targets checked on their schedule, Prometheus metrics over HTTP
// and/or a textfile, JSON-lines events, last-known-good state in state_dir; SIGHUP reloads the
// config (a bad one keeps the old), SIGTERM/SIGINT finish the rounds in flight and exit 0.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "agent/watch/config.h"

namespace midiag::agent::watch {

struct WatchOutputs {
  std::optional<ListenAddress> listen;  // --metrics-listen (default 127.0.0.1:9797)
  std::string textfile;                 // --textfile
  std::string events;                   // --events FILE, "-" for stdout, "" none
  std::size_t max_in_flight = 16;
  // Stop after this many rounds in all (benchmarks and tests); 0: until a signal.
  std::uint64_t max_rounds = 0;
};

// Runs until SIGTERM/SIGINT (or max_rounds); the exit code (0, or 3 when an output cannot be
// opened or the metrics address cannot be bound).
int run_watch(WatchConfig config, const WatchOutputs& outputs, std::ostream& out,
              std::ostream& err);

}  // namespace midiag::agent::watch
