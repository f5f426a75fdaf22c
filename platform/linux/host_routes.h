// This host's routes and policy rules (rtnetlink, every table, both families) in the one route
// model the other OSes' tables are read into, and the same routes written as iproute2 prints them
// (the bundle's system/ members), so `routes --from-file` reads a bundle back through the same
// parser.
#pragma once

#include <string>
#include <vector>

#include "decoders/common/expected.h"
#include "platform/linux/route_lookup.h"
#include "platform/routes/route_table.h"

namespace midiag::platform {

// Routes of both families in every table and the policy rules, origin "netlink". An Error only
// when the IPv4 table cannot be read (a host without IPv6 still has a table).
Expected<routes::RouteTable> host_route_table();

// `ip [-6] route show table all` lines for these routes (type, destination, gateway, device, table,
// protocol, scope, source, metric), one per nexthop.
std::string ip_route_text(const std::vector<RouteEntry>& routes);

// `ip [-6] rule show` lines ("0:\tfrom all lookup local").
std::string ip_rule_text(const std::vector<RuleEntry>& rules);

}  // namespace midiag::platform
