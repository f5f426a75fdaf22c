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

// A failover group's two listeners (spec §2): <fog>.<zone>.<suffix> (read-write, a CNAME to the
// primary) and <fog>.secondary.<zone>.<suffix> (read-only, a CNAME to the secondary).
struct FailoverNames {
  std::string fog, zone, suffix;
  std::string read_write, read_only;
};
// From a listener of either kind, or from a partner's VNet-local name with the group's name
// (`fog`, one DNS label) given. Empty when the target has no MI DNS zone.
std::optional<FailoverNames> failover_names(const Target& t, const std::string& fog = {});

// The first CNAME of a chain as an instance's VNet-local name (<mi>.<zone>.<suffix>): where a
// listener leads. Empty when the chain does not start with one.
std::optional<Target> cname_instance(const std::vector<dns::CnameLink>& chain);

// Whether a certificate's DNS names cover `host` (RFC 6125: a wildcard stands for exactly one
// whole left-most label; names compare case-insensitively).
bool certificate_covers(const std::vector<std::string>& names, std::string_view host);

// Ports that fit the endpoint kind (empty = any).
std::vector<std::uint16_t> expected_ports(EndpointKind k);

}  // namespace midiag::reports
