// Parallel TCP connect probes: one non-blocking socket per target, one epoll loop, one deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::tcp {

// NotProbed: no attempt was made (no socket to be had, or the check's budget ran out).
enum class State { Open, Refused, Filtered, Unreachable, NoRoute, NotProbed };
std::string_view to_string(State s);  // open|refused|filtered|unreachable|no_route|not_probed

enum class Role { Gateway, Public, Link, Redirect, Sweep, Custom };
std::string_view to_string(Role r);  // gateway|public|link|redirect|sweep|custom

struct Target {
  std::string address;  // numeric IPv4/IPv6
  std::uint16_t port = 0;
  Role role = Role::Custom;
};

// What an ICMP error queued on the socket (IP_RECVERR) said, when one arrived.
struct IcmpReport {
  int type = -1;
  int code = -1;
  std::string reporter;  // address of the router/host that sent it
};

struct Result {
  Target target;
  State state = State::Filtered;
  double rtt_ms = 0;     // time to SYN-ACK / RST / error; the full wait for Filtered
  int error_number = 0;  // errno that decided the state (0 for open/filtered)
  std::string detail;    // e.g. "connection refused (RST)", "ICMP 3/13 from 10.250.1.1"
  IcmpReport icmp;
  // The probe socket's own port (getsockname after connect), so the packets of this attempt can
  // be told from others to the same address; 0 when no connect was started.
  std::uint16_t local_port = 0;
};

struct Options {
  std::chrono::milliseconds timeout{3000};  // one deadline per batch
  // No new connection attempt after this (the check's budget); the rest are NotProbed.
  std::optional<std::chrono::steady_clock::time_point> stop_starting_at;
};

// Called once, from inside probe_all, with the targets of the first batch whose SYN is still
// unanswered `after` the batch went out: lets a caller start a traceroute while the probe waits,
// so a filtered check still ends within about one timeout.
struct StillWaiting {
  std::chrono::milliseconds after{200};
  std::function<void(const std::vector<Target>&)> call;
};

// Probes every target at once. Results are in the order of `targets`. Raises RLIMIT_NOFILE to
// what the batch needs (up to the hard limit); when descriptors are short it probes in batches
// that fit, each one timeout long. Targets no socket could be had for are NotProbed. Fails only
// when probing cannot go on at all (epoll).
Expected<std::vector<Result>> probe_all(const std::vector<Target>& targets, const Options& options,
                                        const StillWaiting& still_waiting = {});

// "1433,5022,11000-11999" -> sorted unique ports. Errors name the bad element.
Expected<std::vector<std::uint16_t>> parse_port_list(std::string_view text);

// Summary of many probes on one address (spec §6 tcp_sweeps).
struct SweepSummary {
  std::string address;
  std::uint16_t from = 0;
  std::uint16_t to = 0;
  int open = 0, refused = 0, filtered = 0, unreachable = 0, no_route = 0, not_probed = 0;
};

// One summary per address over the Sweep-role results, in order of first appearance.
std::vector<SweepSummary> summarize_sweeps(const std::vector<Result>& results);

// The state a finished connect() means, from its errno and the ICMP report queued with it (if
// any). A report whose reporter is an IPv6 address is read as ICMPv6.
State classify_error(int err, const IcmpReport& icmp);

// Drains a socket's error queue (IP_RECVERR; bounded): the first ICMP report goes to `out`.
// Returns that report's errno, 0 if none was queued.
int read_icmp_report(int fd, IcmpReport& out);

// A socket's local port (getsockname, IPv4 or IPv6); 0 when it has none or the call fails.
std::uint16_t local_port_of(int fd);

// The one-line Result::detail for the same inputs, e.g. "connection refused (RST)".
std::string describe_error(int err, const IcmpReport& icmp);

}  // namespace midiag::tcp
