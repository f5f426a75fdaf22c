// What the simulated instance saw, counted per role so tests can tell the gateway login from the
// node login that follows a redirect.
#pragma once

#include <atomic>
#include <cstdint>

namespace midiag::sim {

struct RoleStats {
  std::uint64_t connections = 0;
  std::uint64_t prelogins = 0;
  std::uint64_t tls_handshakes = 0;
  std::uint64_t logins_ok = 0;
  std::uint64_t logins_failed = 0;
  std::uint64_t batches = 0;
  std::uint64_t login7s = 0;  // LOGIN7 messages received at all (a withheld login sends none)
  std::uint64_t read_only_login7s = 0;  // of those, with fReadOnlyIntent (ApplicationIntent)
};

struct Stats {
  RoleStats gateway, node;
  std::uint64_t redirects = 0;  // routing ENVCHANGEs sent by the gateway
  std::uint64_t dns_queries = 0;
  [[nodiscard]] std::uint64_t connections() const { return gateway.connections + node.connections; }
  [[nodiscard]] std::uint64_t logins_ok() const { return gateway.logins_ok + node.logins_ok; }
  [[nodiscard]] std::uint64_t logins_failed() const {
    return gateway.logins_failed + node.logins_failed;
  }
};

// Written by the server threads, read by stats() from any thread.
struct RoleCounters {
  std::atomic<std::uint64_t> connections{0}, prelogins{0}, tls_handshakes{0}, logins_ok{0},
      logins_failed{0}, batches{0}, login7s{0}, read_only_login7s{0};
  [[nodiscard]] RoleStats snapshot() const {
    return {connections.load(), prelogins.load(),        tls_handshakes.load(),
            logins_ok.load(),   logins_failed.load(),    batches.load(),
            login7s.load(),     read_only_login7s.load()};
  }
};

struct Counters {
  RoleCounters gateway, node;
  std::atomic<std::uint64_t> redirects{0}, dns_queries{0};
  [[nodiscard]] Stats snapshot() const {
    return {gateway.snapshot(), node.snapshot(), redirects.load(), dns_queries.load()};
  }
};

}  // namespace midiag::sim
