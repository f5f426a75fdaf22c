// `mi-diag routes`: a route table (this host's or one read from a file), the lookup of --to and its
// findings, as text for people and as JSON (schema mi-diag.routes/1, spec §6).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/routes/route_table.h"
#include "reports/finding.h"

namespace midiag::reports {

inline constexpr std::string_view kRoutesSchema = "mi-diag.routes/1";

struct RoutesReport {
  platform::routes::RouteTable table;
  std::string file;  // "" : this host's own table (netlink)
  std::optional<platform::routes::Address> to;
  std::optional<platform::routes::Lookup> lookup;
  std::vector<Finding> findings;
};

// ROUTE_MISSING when --to has no route, or its route or rule ends the lookup (unreachable,
// prohibit, blackhole).
std::vector<Finding> explain_routes(const RoutesReport& r);

// The gateway as the report shows it: the address, a name the source printed for a gateway
// route (`route` without -n), or "on-link".
std::string gateway_text(const platform::routes::RouteEntry& r);

nlohmann::json routes_to_json(const RoutesReport& r);
std::string render_routes_json(const RoutesReport& r);
std::string render_routes_text(const RoutesReport& r);

}  // namespace midiag::reports
