// The ROUTE_* rules on one route table, shared by `routes --to` (any OS's table) and the route
// step of `check` (this host's): the same table model, the same lookup, the same findings.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "platform/routes/nsg.h"
#include "platform/routes/route_table.h"
#include "reports/finding.h"

namespace midiag::reports {

struct RouteQuestion {
  const platform::routes::RouteTable* table = nullptr;
  platform::routes::Address to;
  platform::routes::Lookup lookup;
  std::string where;  // how findings name the table: "this host", a file name
  // This host's own kernel table (check, or `routes` without a file): the VPN rule then also needs
  // the host not to be an Azure VM and the address not to have answered.
  bool own_host = false;
  bool on_azure = false;                 // own host: DMI or IMDS says Azure VM
  std::optional<bool> address_answered;  // own host: a TCP probe of `to` connected (none: unknown)
};

// ROUTE_UNEXPECTED_PATH when the evidence shows it (spec §3 "routes"): a private address that
// leaves by the default route while a VPN-like interface carries other private prefixes, a VPN's
// own route list (P2S routes.txt, VPN profile) that does not cover it, an Azure effective route
// to None or a virtual appliance. Otherwise ROUTE_MISSING when nothing routes it or the chosen
// route or rule ends the lookup (unreachable, prohibit, blackhole). Empty when the route is fine.
std::vector<Finding> route_findings(const RouteQuestion& q);

// An effective NSG export's verdict for the instance's ports: outbound TCP from `from` (none: not
// known) to `to` on 1433, and on every port of the redirect range 11000-11999 (one verdict).
struct NsgQuestion {
  std::string where;  // how findings name the export: its file name
  platform::routes::Address to;
  std::optional<platform::routes::Address> from;
  std::vector<platform::routes::PortsVerdict> flows;  // instance_flows()
};

// The two verdicts (1433, then 11000-11999) the NSG rule reads.
std::vector<platform::routes::PortsVerdict> instance_flows(
    const platform::routes::EffectiveNsgs& nsgs, const platform::routes::Address& to,
    const std::optional<platform::routes::Address>& from);

// ROUTE_UNEXPECTED_PATH (error) for each span an NSG denies, its title naming the verdict as IP
// flow verify does and the ports; CHECK_INCOMPLETE (warning) for a span whose verdict could not be
// determined (a tag the export did not expand, the source not given): unknown, not healthy.
std::vector<Finding> nsg_findings(const NsgQuestion& q);

// The gateway as reports show it: the address, a name the source printed for a gateway route
// (`route` without -n), or "on-link".
std::string gateway_text(const platform::routes::RouteEntry& r);

// "10.250.0.0/16 via 10.250.1.1 on eth0 (table main)": the chosen entry in one phrase.
std::string describe_route(const platform::routes::RouteEntry& r);

}  // namespace midiag::reports
