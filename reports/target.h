// What the user asked to reach: the endpoint kind, zone and port, read from the name alone
// (spec §2), then refined by what DNS said (privatelink, failover-group CNAMEs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::dns {
struct CnameLink;
}

namespace midiag::reports {

enum class EndpointKind {
  VnetLocal,
  Public,
  PrivateEndpoint,
  FailoverListenerRw,
  FailoverListenerRo,
  IpLiteral,
  Other
};
std::string_view to_string(EndpointKind k);  // spec §6 names

struct Target {
  std::string input;  // as typed
  std::string host;   // lower-case, no trailing dot, no brackets
  std::uint16_t port = 0;
  bool port_given = false;
  EndpointKind kind = EndpointKind::Other;
  std::string instance;  // first label ("mi1"), empty for literals/other
  std::string zone;      // DNS zone label ("lab0001"), empty when not an MI name
  std::string suffix;    // "database.windows.net" (or a sovereign cloud's)
};

// Parses "host", "host:port", "[v6]:port", a bare IPv6 literal. Errors name the bad part.
Expected<Target> parse_target(std::string_view input);

// Kind, zone and instance from the name; sets the default port when none was given
// (3342 for public, 1433 otherwise).
void classify_target(Target& t);

// After DNS: a privatelink CNAME means a private endpoint; a CNAME to another instance name
// in the same zone means a failover-group listener.
void refine_with_cname_chain(Target& t, const std::vector<dns::CnameLink>& chain);

// Ports that fit the endpoint kind (empty = any).
std::vector<std::uint16_t> expected_ports(EndpointKind k);

}  // namespace midiag::reports
