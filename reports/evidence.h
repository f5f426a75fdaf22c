// Everything a check observed, as plain data: the input of explain() and of the renderers.
#pragma once

#include <string>
#include <vector>

#include "platform/linux/route_lookup.h"
#include "platform/text/resolv_conf.h"
#include "probes/dns/dns_probe.h"
#include "probes/tcp/tcp_probe.h"
#include "reports/target.h"

namespace midiag::reports {

enum class Mode { Client, Link, FailoverGroup };
std::string_view to_string(Mode m);  // client|link|failover-group

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
  std::vector<tcp::Result> tcp;          // every probe (renderers summarise sweeps)
  std::vector<std::string> limitations;  // what this run could not see, in words
};

// The resolver label applications use (the system's).
inline constexpr std::string_view kSystemResolver = "system";
inline constexpr std::string_view kHostsFileResolver = "hosts-file";

}  // namespace midiag::reports
