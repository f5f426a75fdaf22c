// `mi-diag routes`: a route table (this host's or one read from a file), the lookup of --to and its
// findings, as text for people and as JSON (schema mi-diag.routes/1, spec §6).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/routes/nsg.h"
#include "platform/routes/route_table.h"
#include "reports/finding.h"

namespace midiag::reports {

inline constexpr std::string_view kRoutesSchema = "mi-diag.routes/1";

// `routes --nsg`: an effective NSG export and its verdicts for the instance's ports.
struct RoutesNsg {
  std::string file;
  std::optional<platform::routes::Address> from;             // the flow's source (--from), if given
  std::vector<platform::routes::PortsVerdict> flows;         // 1433, 11000-11999 (route_rules.h)
  std::vector<platform::routes::RouteTable::Unread> unread;  // export members not read
};

struct RoutesReport {
  platform::routes::RouteTable table;
  bool table_read = true;  // false: only an NSG export was given (no route table)
  std::string file;        // "" : this host's own table (netlink)
  bool on_azure = false;   // this host is an Azure VM (DMI): its default route is not a finding
  std::optional<platform::routes::Address> to;
  std::optional<platform::routes::Lookup> lookup;
  std::optional<RoutesNsg> nsg;
  std::vector<Finding> findings;
};

// The ROUTE_* findings for --to and the NSG's verdicts (reports/route_rules.h).
std::vector<Finding> explain_routes(const RoutesReport& r);

nlohmann::json routes_to_json(const RoutesReport& r);
std::string render_routes_json(const RoutesReport& r);
std::string render_routes_text(const RoutesReport& r);
// The same written to `out` as it is made: a million-route table is never held twice.
void render_routes_json(const RoutesReport& r, std::ostream& out);
void render_routes_text(const RoutesReport& r, std::ostream& out);

}  // namespace midiag::reports
