// Decoding of RTM_NEWROUTE messages (private to platform/linux), shared by the lookup and the
// table dump, plus the iproute2 names for route types, protocols and scopes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/linux/netlink_io.h"

namespace midiag::platform::nl {

struct Hop {
  int oif = 0;          // 0 when the route has no output interface
  std::string gateway;  // "" when directly connected
};

struct ParsedRoute {
  int family = 0;
  int dst_len = 0;
  std::vector<std::uint8_t> dst;  // raw address bytes, zero-filled when RTA_DST is absent
  std::uint32_t table = 0;
  std::uint8_t type = 0;
  std::uint8_t protocol = 0;
  std::uint8_t scope = 0;
  std::uint32_t flags = 0;
  std::uint32_t metric = 0;
  std::uint32_t mtu = 0;  // RTAX_MTU, 0 when the route carries none
  std::string prefsrc;
  std::vector<Hop> hops;  // one per nexthop; always at least one
};

// Nullopt when the message is not a well-formed IPv4/IPv6 route.
std::optional<ParsedRoute> parse_route(const Message& m);

// True when the first `prefix` bits of `addr` and `net` agree.
bool prefix_contains(const std::vector<std::uint8_t>& net, int prefix,
                     const std::vector<std::uint8_t>& addr);

// Kernel name of interface `ifindex`, "if<N>" when it vanished, "" for 0.
std::string interface_name(int ifindex);

std::string route_type_name(std::uint8_t type);
std::string route_protocol_name(std::uint8_t protocol);
std::string route_scope_name(std::uint8_t scope);

}  // namespace midiag::platform::nl
