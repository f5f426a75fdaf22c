// `ip route get`-style lookup through rtnetlink: which interface, gateway, source, table and
// MTU the kernel would use for a destination, or why there is no route.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "decoders/common/expected.h"

namespace midiag::platform {

struct RouteInfo {
  std::string destination;
  std::string interface;  // "" when none
  std::string gateway;  // "" when directly connected
  std::string source;  // preferred source address
  std::uint32_t table = 0;
  int prefix = -1;  // prefix length of the matched route when known
  std::uint32_t mtu = 0;  // route MTU, else the interface MTU, 0 unknown
  std::string kind;  // unicast|local|unreachable|prohibit|blackhole|throw|no_route
  std::string error;  // kernel's answer when there is no usable route (e.g. "Network is unreachable")
};

// Asks the kernel for the route to `destination` (numeric IPv4/IPv6). A kernel refusal
// (ENETUNREACH, EHOSTUNREACH...) is a RouteInfo with kind "no_route" and `error` set;
// an Error means the lookup itself could not be made (bad address, netlink failure).
Expected<RouteInfo> lookup_route(const std::string& destination);

}  // namespace midiag::platform
