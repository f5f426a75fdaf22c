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
  std::string file;       // "" : this host's own table (netlink)
  bool on_azure = false;  // this host is an Azure VM (DMI): its default route is not a finding
  std::optional<platform::routes::Address> to;
  std::optional<platform::routes::Lookup> lookup;
  std::vector<Finding> findings;
};

// The ROUTE_* findings for --to (reports/route_rules.h).
std::vector<Finding> explain_routes(const RoutesReport& r);

nlohmann::json routes_to_json(const RoutesReport& r);
std::string render_routes_json(const RoutesReport& r);
std::string render_routes_text(const RoutesReport& r);

}  // namespace midiag::reports
