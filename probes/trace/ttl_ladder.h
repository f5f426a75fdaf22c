// TTL ladder to place a reset: SYNs to a refused port with TTL 1..N (all at once, by the trace's
// method) find the smallest TTL that draws the RST; the same ladder to a port of that address
// that answered SYN-ACK gives the target's own distance. A reset drawn with fewer hops than the
// target needs was sent by a device before it. At the target's distance it is consistent with
// the target (or a device on the last hop before it, which a ladder cannot tell apart).
//
// Linux routers: a FORWARD REJECT acts only on packets that still have TTL > 1 there (forwarding
// sends time-exceeded first), so a REJECT on router r draws the RST one TTL past r's own hop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "probes/tcp/tcp_probe.h"
#include "probes/trace/tcp_trace.h"

namespace midiag::trace {

// One refused (address, port) worth a ladder, and a port of the same address that answered.
struct LadderPlan {
  std::string address;
  std::uint16_t refused_port = 0;
  std::optional<std::uint16_t> working_port;
};

// At most `max_refused` refused (address, port) pairs, `prefer_port` first, never a swept port
// (a redirect range's refusals are the node's own and would cost a ladder each); each with the
// open port of that address to measure its distance (`prefer_port` if open, else the first).
std::vector<LadderPlan> plan_ladders(const std::vector<tcp::Result>& results,
                                     std::uint16_t prefer_port, std::size_t max_refused);

enum class Placement { BeforeTarget, AtTarget, NotPlaced };
std::string_view to_string(Placement p);  // before_target|at_target|not_placed

struct ResetPlace {
  Placement placement = Placement::NotPlaced;
  int reset_ttl = 0;   // smallest TTL that drew the reset; 0 when none did
  int target_ttl = 0;  // smallest TTL that drew the working port's SYN-ACK; 0 when none did
  // BeforeTarget: the last router that answered below reset_ttl (the device, or the one just
  // before it) and the router the working port's SYN reached at reset_ttl (the one after it).
  std::string hop_address, next_address;
  int hop_ttl = 0, next_ttl = 0;
  std::string why;  // NotPlaced: why no claim is made
};

// Compares the refused port's ladder with the working port's (nullptr: none answered).
ResetPlace place_reset(const Result& refused, const Result* working);

struct ResetLadder {
  LadderPlan plan;
  Result refused;                 // the ladder to the refused port
  std::optional<Result> working;  // the ladder to the working port (when there was one)
  ResetPlace place;
  // One line for the evidence, e.g. "TTL ladder to 10.250.4.10:1433: the reset comes back from
  // TTL 2, the target's SYN-ACK on 3342 needs TTL 3: sent before the target, at or just after
  // 10.250.1.1 (hop 1)".
  [[nodiscard]] std::string summary() const;
};

}  // namespace midiag::trace
