#include "reports/finding.h"

#include <algorithm>
#include <stdexcept>

namespace midiag::reports {

namespace {

constexpr std::string_view kDocConnectApp =
    "Connect your application to Azure SQL Managed Instance — "
    "https://learn.microsoft.com/azure/azure-sql/managed-instance/connect-application-instance";
constexpr std::string_view kDocConnTypes =
    "Connection types (proxy, redirect) — "
    "https://learn.microsoft.com/azure/azure-sql/managed-instance/connection-types-overview";
constexpr std::string_view kDocPublic =
    "Configure public endpoint — "
    "https://learn.microsoft.com/azure/azure-sql/managed-instance/public-endpoint-configure";
constexpr std::string_view kDocDns =
    "Configure a custom DNS for Azure SQL Managed Instance — "
    "https://learn.microsoft.com/azure/azure-sql/managed-instance/custom-dns-configure";
constexpr std::string_view kDocTls =
    "TDS 8 and TLS: encryption of connections to SQL Server — "
    "https://learn.microsoft.com/sql/relational-databases/security/networking/tds-8";
constexpr std::string_view kDocFog =
    "Failover groups: enable geo-replication between instances — "
    "https://learn.microsoft.com/azure/azure-sql/managed-instance/failover-group-sql-mi";
constexpr std::string_view kDocLink =
    "Prepare your environment for a link: network connectivity — "
    "https://learn.microsoft.com/azure/azure-sql/managed-instance/"
    "managed-instance-link-preparation";
constexpr std::string_view kDocEntra =
    "Microsoft Entra authentication with Azure SQL — "
    "https://learn.microsoft.com/azure/azure-sql/database/authentication-aad-overview";
constexpr std::string_view kDocTroubleshoot =
    "Troubleshoot transient connection errors — "
    "https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-connectivity-issues";
constexpr std::string_view kDocArch =
    "Connectivity architecture — "
    "https://learn.microsoft.com/azure/azure-sql/managed-instance/"
    "connectivity-architecture-overview";

// One row per code: the only place explanation text lives. Rank orders causes before effects.
const std::vector<CatalogueEntry> kCatalogue = {
    {Code::TargetIsIpLiteral, "TARGET_IS_IP_LITERAL", Severity::Warning,
     "Connecting by IP address; Managed Instance needs its DNS name",
     "Connect by the instance's DNS name (<mi>.<zone>.database.windows.net). The gateway routes "
     "by name and the TLS certificate covers the name, not the address.",
     kDocConnectApp, 10},
    {Code::WrongPortForEndpoint, "WRONG_PORT_FOR_ENDPOINT", Severity::Error,
     "Port does not fit the endpoint",
     "Use port 3342 with the public endpoint (<mi>.public.<zone>...) and 1433 with the VNet-local "
     "name, private endpoints and failover-group listeners.",
     kDocPublic, 11},
    {Code::DnsNameNotFound, "DNS_NAME_NOT_FOUND", Severity::Error,
     "The name does not exist (NXDOMAIN)",
     "Check the spelling and the DNS zone of the instance. If a custom DNS server answers, make "
     "sure it forwards public names to Azure DNS (168.63.129.16) and that no private DNS zone "
     "named "
     "after a reserved name (database.windows.net, windows.net) hides the public record.",
     kDocDns, 20},
    {Code::DnsResolverUnreachable, "DNS_RESOLVER_UNREACHABLE", Severity::Error,
     "No answer from the DNS resolver",
     "Make sure the DNS server in resolv.conf (or the one given) is up and reachable on UDP and "
     "TCP "
     "port 53 from this host (NSGs, firewalls, VPN routes).",
     kDocDns, 21},
    {Code::DnsServerFailure, "DNS_SERVER_FAILURE", Severity::Error,
     "The DNS server failed or refused the query",
     "The resolver answered SERVFAIL or REFUSED: check its forwarders (custom DNS must resolve "
     "public records, e.g. by forwarding to 168.63.129.16) and whether it allows recursion for "
     "this client.",
     kDocDns, 22},
    {Code::DnsHostsFileOverride, "DNS_HOSTS_FILE_OVERRIDE", Severity::Warning,
     "A hosts-file entry decides the address",
     "Remove the hosts-file entry for the instance name unless it is intended: it pins an address "
     "that DNS no longer controls (failover, maintenance moves and private endpoints change it).",
     kDocDns, 23},
    {Code::DnsPublicAddressForVnetLocal, "DNS_PUBLIC_ADDRESS_FOR_VNET_LOCAL", Severity::Error,
     "The VNet-local name resolved to a public address",
     "The VNet-local name must resolve to the private address of the instance's subnet. Check "
     "custom DNS forwarders, conditional forwarders and hosts files; to reach the instance from "
     "the internet use the public endpoint <mi>.public.<zone>... on port 3342 instead.",
     kDocDns, 24},
    {Code::DnsPrivateAddressForPublicEndpoint, "DNS_PRIVATE_ADDRESS_FOR_PUBLIC_ENDPOINT",
     Severity::Error, "The public endpoint's name resolved to a private address",
     "The .public. name must resolve to a public address. A private DNS zone, conditional "
     "forwarder or hosts entry is overriding it; remove the override or use the VNet-local name "
     "from inside the network.",
     kDocPublic, 25},
    {Code::DnsResolversDisagree, "DNS_RESOLVERS_DISAGREE", Severity::Warning,
     "Resolvers return different answers",
     "Find out which resolver applications on this host use and why it differs (stale cache, a "
     "private zone on one server, split-horizon forwarding); they must agree on the instance's "
     "address.",
     kDocDns, 26},
    {Code::RouteMissing, "ROUTE_MISSING", Severity::Error, "No route to the address",
     "Add a route to the instance's network: VPN clients need routes to every VNet involved "
     "(point-to-site keeps them in routes.txt), peered hubs need gateway transit, and BGP route "
     "propagation must be enabled on the route table.",
     kDocArch, 30},
    {Code::RouteUnexpectedPath, "ROUTE_UNEXPECTED_PATH", Severity::Error,
     "The private address leaves by a path that cannot reach the instance",
     "Give the VPN a route to the instance's VNet: after peering, enable gateway transit and "
     "download the point-to-site client configuration again (its routes.txt or profile then lists "
     "the VNet), or add a route to the instance's subnet through the VPN interface. In Azure, a "
     "route table on the path must not send the instance's subnet to None or to an appliance "
     "that drops it, and NSGs must allow 1433 and 11000-11999.",
     kDocConnectApp, 31},
    {Code::IcmpUnreachable, "ICMP_UNREACHABLE", Severity::Error,
     "A router or firewall answered 'destination unreachable'",
     "The ICMP message names the device that rejected the connection: check its rules (NSG, "
     "firewall, NVA) for the port, or its routes for the network.",
     kDocArch, 40},
    {Code::TcpRefused, "TCP_REFUSED", Severity::Error, "Connection refused (TCP reset)",
     "Something answered the SYN with a reset: the port is closed on that address or a firewall "
     "rejects it. Check the address is the instance's and the port fits the endpoint.",
     kDocConnTypes, 41},
    {Code::MiLinkNeedsVnetLocal, "MI_LINK_NEEDS_VNET_LOCAL", Severity::Error,
     "The MI link and failover-group replication need the VNet-local endpoint",
     "Point the link at the instance's VNet-local name (<mi>.<zone>.database.windows.net) from a "
     "network that reaches its VNet (VPN, ExpressRoute or peering): replication does not run "
     "over the public endpoint or a private endpoint.",
     kDocLink, 12},
    {Code::MiLinkPortUnreachable, "MI_LINK_PORT_UNREACHABLE", Severity::Error,
     "The mirroring endpoint or the 11000-11999 range is blocked for the MI link",
     "Allow TCP 5022 and 11000-11999 both ways between the SQL Server host and the instance's "
     "subnet: outbound here and inbound on the instance's NSG, and inbound to this host's "
     "mirroring endpoint from the instance's subnet (host firewall, NSG or on-premises "
     "firewall); the endpoint must be listening.",
     kDocLink, 41},
    {Code::FogListenerNotOnPublicEndpoint, "FOG_LISTENER_NOT_ON_PUBLIC_ENDPOINT", Severity::Error,
     "A failover-group listener was tried over the public endpoint",
     "Failover-group listeners resolve over the VNet-local endpoint only: connect to "
     "<fog>.<zone>.database.windows.net (or <fog>.secondary.<zone>... with "
     "ApplicationIntent=ReadOnly) from a network that reaches the instances' VNet (VPN, "
     "ExpressRoute, peering). From outside it, use an instance's own public endpoint "
     "(<mi>.public.<zone>.database.windows.net,3342), which does not follow a failover.",
     kDocFog, 13},
    {Code::FogDnsZoneMismatch, "FOG_DNS_ZONE_MISMATCH", Severity::Error,
     "The failover-group partners are in different DNS zones",
     "Each instance's certificate covers only *.<its zone>.database.windows.net, so after a "
     "failover clients of the listener fail certificate validation. A secondary must be created "
     "with the primary as its DNS zone partner (an instance's zone is fixed when it is created): "
     "recreate the secondary that way, then the failover group.",
     kDocFog, 14},
    {Code::EntraEndpointUnreachable, "ENTRA_ENDPOINT_UNREACHABLE", Severity::Error,
     "The Microsoft Entra ID authority cannot be reached",
     "Token-based logins (Authentication=Active Directory ...) get their token from the "
     "authority before the first TDS byte: allow outbound HTTPS (443) to it (the "
     "AzureActiveDirectory service tag on NSGs and firewalls), resolve its name, and if a proxy "
     "inspects TLS, trust its root or exempt the authority.",
     kDocEntra, 47},
    {Code::FogSecondaryUnreachable, "FOG_SECONDARY_UNREACHABLE", Severity::Warning,
     "The failover group's read-only listener cannot be reached",
     "The primary answers, but the secondary does not: read scale-out through the read-only "
     "listener fails now, and after a failover the read-write listener would lead here. Open the "
     "same path (DNS, 1433, 11000-11999 for redirect) to the secondary's subnet as to the "
     "primary's; with global VNet peering between the partners' VNets.",
     kDocFog, 77},
    {Code::TcpFiltered, "TCP_FILTERED", Severity::Error, "No answer to the connection attempt",
     "The SYN was silently dropped on the way. Allow the port outbound from this host and inbound "
     "on the instance's NSG (1433 VNet-local, 3342 public, 11000-11999 for redirect) and check "
     "firewalls and NVAs in the path.",
     kDocConnTypes, 42},
    {Code::PathMtuBlackhole, "PATH_MTU_BLACKHOLE", Severity::Error,
     "Small packets pass, full-size ones vanish",
     "A link in the path (VPN, tunnel, NVA) has a smaller MTU than the endpoints and the ICMP "
     "'fragmentation needed' (IPv6: 'packet too big') that would shrink the segments is blocked. "
     "Allow ICMP type 3 code 4 / ICMPv6 type 2 through firewalls and NSGs on the way back, or "
     "clamp the TCP MSS (or lower the MTU) on the tunnel interface, e.g. to 1350.",
     kDocArch, 45},
    {Code::TdsNotSpoken, "TDS_NOT_SPOKEN", Severity::Error,
     "The port is open but nothing there speaks TDS",
     "Something other than the instance's gateway answers on this address and port (a proxy, a "
     "load balancer, another service) or the server stalls mid-answer. Check the address is the "
     "instance's and that no TLS-terminating or HTTP proxy sits in the path.",
     kDocConnTypes, 50},
    {Code::TlsHandshakeFailed, "TLS_HANDSHAKE_FAILED", Severity::Error,
     "The TLS handshake inside TDS failed",
     "Look at the alert or error: a middlebox that breaks TLS, a client that refuses the "
     "server's TLS version or ciphers, or a path that drops large packets (see "
     "PATH_MTU_BLACKHOLE).",
     kDocTls, 51},
    {Code::TlsCertNameMismatch, "TLS_CERT_NAME_MISMATCH", Severity::Error,
     "The server certificate does not cover the name used",
     "Connect with the name the certificate is issued for (*.<zone>.database.windows.net). "
     "A failover-group secondary must share the primary's DNS zone, else clients fail "
     "certificate validation after failover; an IP address or a custom alias never matches.",
     kDocFog, 52},
    {Code::TlsCertExpired, "TLS_CERT_EXPIRED", Severity::Error,
     "The server certificate is outside its validity period",
     "Check this host's clock first; if it is right, the certificate presented is not the "
     "instance's (an intercepting proxy presents its own).",
     kDocTls, 53},
    {Code::TlsCertUntrusted, "TLS_CERT_UNTRUSTED", Severity::Error,
     "The certificate chain does not verify",
     "Drivers that validate (the default with Encrypt=True) will fail. Install the missing root "
     "CA, or find the TLS-intercepting proxy whose certificate this is; use --ca-file to check "
     "against a specific CA. TrustServerCertificate=True hides this, it does not fix it.",
     kDocTls, 54},
    {Code::TlsProtocolObsolete, "TLS_PROTOCOL_OBSOLETE", Severity::Error,
     "TLS below 1.2 was negotiated",
     "Managed Instance requires TLS 1.2 or later: update the client's TLS stack, or find the "
     "middlebox that downgrades the connection.",
     kDocTls, 55},
    {Code::RedirectPortsFiltered, "REDIRECT_PORTS_FILTERED", Severity::Error,
     "The redirect target port is blocked",
     "With the redirect connection type the client reconnects to the node's own address on the "
     "port the gateway names (classically 11000-11999). Allow that range outbound from the client "
     "and inbound on the instance's subnet NSG, or switch the instance to the proxy connection "
     "type.",
     kDocConnTypes, 60},
    {Code::RedirectTargetUnreachable, "REDIRECT_TARGET_UNREACHABLE", Severity::Error,
     "The node the gateway redirects to cannot be reached",
     "The routed host could not be resolved or reached: check that this host resolves and routes "
     "to the instance's subnet (not only to the gateway address), or use the proxy connection "
     "type.",
     kDocConnTypes, 61},
    {Code::LoginFailed, "LOGIN_FAILED", Severity::Error, "The server rejected the login",
     "The network path works; the credentials or the login's permissions do not. Check the user "
     "name, password, default database and whether the login exists on the instance.",
     kDocConnectApp, 70},
    {Code::TlsNotOffered, "TLS_NOT_OFFERED", Severity::Error,
     "The server offered no TLS, so the real login was withheld",
     "A Managed Instance always offers TLS: a server that answers PRELOGIN without it is not the "
     "instance's gateway, or something in the path rewrites the answer (a downgrade). Drivers "
     "with Encrypt=True refuse it. Find what answers on this address and port before sending it "
     "credentials.",
     kDocTls, 50},
    {Code::RedirectLoop, "REDIRECT_LOOP", Severity::Error,
     "The redirect node routed the login again",
     "Drivers follow one redirect: a node that answers with another routing token (back to the "
     "gateway or to itself) never lets a client in. The instance or something impersonating it "
     "is misconfigured; open a support case with the evidence.",
     kDocConnTypes, 62},
    {Code::CheckIncomplete, "CHECK_INCOMPLETE", Severity::Warning,
     "A step on the connection's path could not run, so that part of the path is unknown",
     "Fix what stopped the step (named in the finding: file descriptors, permissions, the time "
     "budget) and run the check again; until then the part of the path it covers is unknown, "
     "not healthy.",
     kDocConnectApp, 90},
    {Code::TcpResetByMiddlebox, "TCP_RESET_BY_MIDDLEBOX", Severity::Error,
     "A device in the path reset the connection, not the server",
     "The reset's TTL (hop count) differs from the server's own packets, so something between "
     "client and instance sent it: a firewall, NVA, proxy or IDS that tears down the flow. Find "
     "the device at that hop distance and check its rules and idle timeouts for the SQL ports "
     "(1433, 3342, 11000-11999); the instance itself did not close the connection.",
     kDocArch, 43},
    {Code::TcpSynRetransmitted, "TCP_SYN_RETRANSMITTED", Severity::Warning,
     "The connection succeeded only after SYN retransmissions",
     "The first SYNs were lost or answered late: look for packet loss, an overloaded firewall or "
     "NVA, or a path that drops the first packet of new flows. Drivers with short connect "
     "timeouts fail here: raise Connect Timeout and use retry logic while the path is fixed.",
     kDocTroubleshoot, 44},
    {Code::LoginSlow, "LOGIN_SLOW", Severity::Warning, "The login took longer than 2 seconds",
     "The per-step times name the slow step: a slow connect points at the network (loss, SYN "
     "retransmissions), a slow TLS step at certificate or CPU trouble or a packet-size problem, a "
     "slow LOGIN7 answer at the instance (authentication, default database, load). Fix that step; "
     "meanwhile give the driver a longer connect timeout.",
     kDocTroubleshoot, 76},
    {Code::ConnectionPath, "CONNECTION_PATH", Severity::Info, "The path the login took",
     "Nothing to fix: this says which way the connection went (proxy or redirect).", kDocConnTypes,
     80},
};

}  // namespace

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::Error:
      return "error";
    case Severity::Warning:
      return "warning";
    case Severity::Info:
      return "info";
  }
  return "info";
}

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Ok:
      return "ok";
    case Verdict::Warn:
      return "warn";
    case Verdict::Fail:
      return "fail";
  }
  return "fail";
}

const std::vector<CatalogueEntry>& catalogue_entries() {
  return kCatalogue;
}

const CatalogueEntry& catalogue(Code code) {
  auto it = std::find_if(kCatalogue.begin(), kCatalogue.end(),
                         [code](const CatalogueEntry& e) { return e.code == code; });
  if (it == kCatalogue.end()) throw std::logic_error("finding code missing from the catalogue");
  return *it;
}

std::optional<Code> code_from_name(std::string_view name) {
  for (const auto& e : kCatalogue)
    if (e.name == name) return e.code;
  return std::nullopt;
}

Finding make_finding(Code code, std::string title, std::string detail,
                     std::vector<std::string> evidence) {
  const auto& e = catalogue(code);
  return Finding{code,
                 e.severity,
                 std::move(title),
                 std::move(detail),
                 std::move(evidence),
                 std::string(e.remediation),
                 std::string(e.reference),
                 std::nullopt,
                 {}};
}

Verdict verdict_of(const std::vector<Finding>& findings) {
  Verdict v = Verdict::Ok;
  for (const auto& f : findings) {
    if (f.severity == Severity::Error) return Verdict::Fail;
    if (f.severity == Severity::Warning) v = Verdict::Warn;
  }
  return v;
}

}  // namespace midiag::reports
