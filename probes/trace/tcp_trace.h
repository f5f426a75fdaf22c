// TCP traceroute, all TTLs at once under one deadline, by one of two methods:
// - socket (unprivileged): one non-blocking socket per TTL (IP_TTL / IPV6_UNICAST_HOPS with
//   IP_RECVERR). Routers' ICMP time-exceeded arrive on each socket's error queue (Linux >= 5.8
//   queues them for a connecting TCP socket); no CAP_NET_RAW. Each TTL is its own flow.
// - paris (CAP_NET_RAW, IPv4): crafted SYNs with the 5-tuple held fixed across TTLs, so per-flow
//   load balancing keeps every TTL on one path (probes/trace/paris_trace.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::trace {

enum class HopKind { TimeExceeded, Unreachable, Reset, SynAck, Silent };
std::string_view to_string(HopKind k);  // time_exceeded|unreachable|reset|synack|silent

struct Hop {
  int ttl = 0;
  std::string address;  // who answered; empty when silent
  double rtt_ms = 0;    // SYN sent -> answer; the full wait for silent hops
  HopKind kind = HopKind::Silent;
  int icmp_type = -1, icmp_code = -1;  // for time_exceeded / unreachable
};

struct Target {
  std::string address;  // numeric IPv4/IPv6
  std::uint16_t port = 0;
};

enum class Method { Socket, Paris };
std::string_view to_string(Method m);  // socket|paris

// Auto: Paris-style where raw sockets are allowed (IPv4 targets), the socket method otherwise.
enum class MethodChoice { Auto, Socket, Paris };

struct Options {
  int max_ttl = 16;  // at most this many probes (sockets) per target
  std::chrono::milliseconds timeout{3000};
  // Ends the trace earlier than timeout (the probe it explains has its own deadline).
  std::optional<std::chrono::steady_clock::time_point> deadline;
  MethodChoice method = MethodChoice::Auto;
  // Paris probes' sequence numbers and IP IDs start from this (0: a random start).
  std::uint32_t seed = 0;
};

struct Result {
  Target target;
  Method method = Method::Socket;  // how the probes were sent
  // TTL 1 up to the first hop that ended the path (synack, reset, unreachable), else max_ttl.
  std::vector<Hop> path;
  std::string error;  // why the trace could not run for this target (no socket...); path empty
  // The trace sockets' own ports: their TTL-limited SYNs are not connections of the check.
  std::vector<std::uint16_t> local_ports;

  // The last hop that answered (any kind), nullptr when none did.
  [[nodiscard]] const Hop* last_answer() const;
  // The first silent TTL after which nothing answered again; 0 when the path ended in an answer.
  [[nodiscard]] int first_silent_ttl() const;
  // "SYNs pass 10.250.1.1 (hop 1), vanish after it", "SYN-ACK from 10.250.2.10 at hop 2", ...
  [[nodiscard]] std::string summary() const;
};

// Traces every target at once (max_ttl probes each). Results are in the order of `targets`.
// A target's trace ends early once every TTL up to the first that ended its path (SYN-ACK, reset,
// unreachable) has answered; otherwise at the deadline. Fails only when tracing cannot run at all
// (epoll; raw sockets when MethodChoice::Paris was demanded); per-target problems go to
// Result::error.
Expected<std::vector<Result>> trace_all(const std::vector<Target>& targets, const Options& options);

// The socket method alone (what trace_all falls back to without CAP_NET_RAW).
Expected<std::vector<Result>> trace_with_sockets(const std::vector<Target>& targets,
                                                 const Options& options);

namespace detail {
// True once the path is known: some TTL ended it and every TTL below that one has answered.
bool path_known(const std::vector<Hop>& path, const std::vector<bool>& answered);
// Drops the hops past the first one that ended the path (every later TTL reaches it too).
void trim_after_end(std::vector<Hop>& path);
}  // namespace detail

}  // namespace midiag::trace
