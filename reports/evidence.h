// Everything a check observed, as plain data: the input of explain() and of the renderers.
#pragma once

#include <string>
#include <vector>

#include "platform/linux/route_lookup.h"
#include "platform/text/resolv_conf.h"
#include "probes/dns/dns_probe.h"
#include "probes/tcp/tcp_probe.h"
#include "probes/tds/tds_probe.h"
#include "probes/trace/tcp_trace.h"
#include "reports/target.h"

namespace midiag::reports {

enum class Mode { Client, Link, FailoverGroup };
std::string_view to_string(Mode m);  // client|link|failover-group

// One step of a check (spec §4 "Evidence is never absent-as-healthy"): what ran and how it ended.
enum class CollectorStatus { Ok, Partial, Failed, Skipped };
std::string_view to_string(CollectorStatus s);  // ok|partial|failed|skipped

// Why a step did not run in full. A step that did not run because an earlier one already failed
// (no address, no open port: a finding says why) or because the user said so is accounted for;
// the budget running out or the tool failing leaves that part of the path unknown.
enum class Shortfall { None, UserChoice, Explained, Budget, ToolFailure };

struct CollectorRecord {
  std::string name;  // target|dns|routes|tcp|trace|tds|redirect
  CollectorStatus status = CollectorStatus::Ok;
  double duration_ms = 0;
  std::string error;  // why it failed, ran in part or was skipped; empty when ok
  Shortfall shortfall = Shortfall::None;
  // A step on the connection's path whose failure leaves part of the path unknown.
  [[nodiscard]] bool leaves_unknown() const {
    return status != CollectorStatus::Ok &&
           (shortfall == Shortfall::Budget || shortfall == Shortfall::ToolFailure);
  }
};

// What happened after the gateway's routing ENVCHANGE: the node named, and the way to it.
struct RedirectEvidence {
  std::string host;  // as the routing token named it
  std::uint16_t port = 0;
  std::string invalid;  // why the routing token itself cannot be followed (port 0, no host)
  // Why the range around the routed port was not swept (a public address outside the zone).
  std::string sweep_withheld;
  std::vector<std::string> addresses;          // the routed host resolved (or the literal)
  std::string resolve_error;                   // why it could not be resolved
  std::vector<tcp::Result> tcp;                // the routed port and the sweep of its range
  std::uint16_t sweep_from = 0, sweep_to = 0;  // 0 when no range was swept
  std::optional<tdsprobe::Result> node_login;  // the second login, with the original server name
  // ok (the node sent LOGINACK) | invalid | unresolved | not_probed | filtered | refused |
  // unreachable | no_route | login_not_tried | handshake_failed | login_withheld | login_failed |
  // no_loginack | redirect_loop
  [[nodiscard]] std::string state() const;
};

struct Evidence {
  Target target;
  Mode mode = Mode::Client;
  std::vector<net::ClassOverride> class_overrides;  // --classify-as, applied to every address
  std::string started_at;                           // ISO 8601 UTC
  double duration_ms = 0;

  bool dns_ran = false;
  std::vector<dns::Lookup> lookups;                 // the target name first, with every resolver
  std::vector<std::string> system_servers;          // from resolv.conf
  std::vector<platform::HostsEntry> hosts_entries;  // hosts-file lines naming the target
  std::vector<std::string> addresses;               // what was probed: the application's view first

  std::vector<platform::RouteInfo> routes;
  std::vector<tcp::Result> tcp;         // every probe (renderers summarise sweeps)
  std::optional<tdsprobe::Result> tds;  // the login at the gateway (first address that answered)
  std::optional<RedirectEvidence> redirect;  // when the gateway routed the login to a node
  // TCP traceroute, one per address whose endpoint port was filtered (JSON path[], each hop
  // with the traced address and port added as target/port).
  std::vector<trace::Result> paths;

  std::vector<CollectorRecord> collectors;  // every step, in the order it ran
  std::vector<std::string> limitations;     // what this run could not see, in words
};

// The resolver label applications use (the system's).
inline constexpr std::string_view kSystemResolver = "system";
inline constexpr std::string_view kHostsFileResolver = "hosts-file";

}  // namespace midiag::reports
