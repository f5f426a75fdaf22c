// `ip route get`-style lookup through rtnetlink: which interface, gateway, source, table and
// MTU the kernel would use for a destination, or why there is no route.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::platform {

struct RouteInfo {
  std::string destination;
  std::string interface;  // "" when none
  std::string gateway;    // "" when directly connected
  std::string source;     // preferred source address
  std::uint32_t table = 0;
  int prefix = -1;        // prefix length of the matched route when known
  std::uint32_t mtu = 0;  // route MTU, else the interface MTU, 0 unknown
  std::string kind;       // unicast|local|unreachable|prohibit|blackhole|throw|no_route
  std::string
      error;  // kernel's answer when there is no usable route (e.g. "Network is unreachable")
};

// Asks the kernel for the route to `destination` (numeric IPv4/IPv6). A kernel refusal
// (ENETUNREACH, EHOSTUNREACH...) is a RouteInfo with kind "no_route" and `error` set;
// an Error means the lookup itself could not be made (bad address, netlink failure).
Expected<RouteInfo> lookup_route(const std::string& destination);

// One route as `ip route show table all` lists it; a multipath route gives one entry per nexthop.
struct RouteEntry {
  std::string destination;  // network address; all-zero address with prefix 0 for default
  int prefix = 0;
  std::string gateway;    // "" when directly connected
  std::string interface;  // "" when none (e.g. unreachable)
  std::string source;     // preferred source address, "" when unset
  std::uint32_t table = 0;
  std::uint32_t metric = 0;
  std::string kind;      // unicast|local|broadcast|multicast|blackhole|unreachable|prohibit|...
  std::string protocol;  // kernel|boot|static|dhcp|ra|... or the number
  std::string scope;     // global|site|link|host|nowhere or the number
};

// One policy-routing rule as `ip rule show` lists it.
struct RuleEntry {
  std::uint32_t priority = 0;
  std::string selector;     // full rule text, e.g. "from all lookup main"
  std::uint32_t table = 0;  // 0 when the action is not a table lookup
  std::string action;       // lookup|goto|nop|blackhole|unreachable|prohibit
};

// Every route of `family` (AF_INET or AF_INET6) in every table, routing-cache clones excluded.
Expected<std::vector<RouteEntry>> dump_routes(int family);

// Every policy rule of `family` (AF_INET or AF_INET6), in kernel (priority) order.
Expected<std::vector<RuleEntry>> dump_rules(int family);

// "local", "main", "default", or the number.
std::string route_table_name(std::uint32_t table);

}  // namespace midiag::platform
