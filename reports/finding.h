// Findings: stable codes with their catalogue text (one place for every explanation).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace midiag::reports {

enum class Severity { Error, Warning, Info };
std::string_view to_string(Severity s);  // error|warning|info

enum class Code {
  TargetIsIpLiteral,
  WrongPortForEndpoint,
  DnsNameNotFound,
  DnsResolverUnreachable,
  DnsServerFailure,
  DnsHostsFileOverride,
  DnsPublicAddressForVnetLocal,
  DnsPrivateAddressForPublicEndpoint,
  DnsResolversDisagree,
  RouteMissing,
  IcmpUnreachable,
  TcpRefused,
  TcpFiltered,
  PathMtuBlackhole,
  TdsNotSpoken,
  TlsHandshakeFailed,
  TlsCertNameMismatch,
  TlsCertExpired,
  TlsCertUntrusted,
  TlsProtocolObsolete,
  RedirectPortsFiltered,
  RedirectTargetUnreachable,
  LoginFailed,
  TlsNotOffered,
  RedirectLoop,
  CheckIncomplete,
  ConnectionPath,
  TcpResetByMiddlebox,
  TcpSynRetransmitted,
  LoginSlow,
  RouteUnexpectedPath,
  MiLinkNeedsVnetLocal,
  MiLinkPortUnreachable,
  FogDnsZoneMismatch,
  FogListenerNotOnPublicEndpoint,
  FogSecondaryUnreachable,
  EntraEndpointUnreachable,
  MiLinkSqlVersionUnsupported,
};

struct CatalogueEntry {
  Code code;
  std::string_view name;  // the stable code, e.g. "TCP_FILTERED"
  Severity severity;
  std::string_view title;
  std::string_view remediation;
  std::string_view reference;
  int rank;  // causal order: lower explains higher (input → DNS → route → TCP)
};

const CatalogueEntry& catalogue(Code code);
const std::vector<CatalogueEntry>& catalogue_entries();
std::optional<Code> code_from_name(std::string_view name);

struct Finding {
  Code code;
  Severity severity;
  std::string title;  // one line, specific ("10.250.2.10:1433 did not answer ...")
  std::string detail;
  std::vector<std::string> evidence;  // facts, each naming the probe it came from
  std::string remediation;
  std::string reference;
  std::optional<Code> caused_by;  // set when another finding explains this one
  // The addresses this finding is about, so rules link findings by subject, not by title text.
  std::vector<std::string> addresses;

  [[nodiscard]] std::string_view name() const { return catalogue(code).name; }
};

// A finding with the catalogue's severity, remediation and reference.
Finding make_finding(Code code, std::string title, std::string detail,
                     std::vector<std::string> evidence = {});

enum class Verdict { Ok, Warn, Fail };
std::string_view to_string(Verdict v);  // ok|warn|fail
Verdict verdict_of(const std::vector<Finding>& findings);

}  // namespace midiag::reports
