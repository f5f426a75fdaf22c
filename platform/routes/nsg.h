// Effective network security groups of a NIC (`az network nic list-effective-nsg`, or
// Get-AzEffectiveNetworkSecurityGroup | ConvertTo-Json) and the verdict they give one flow, as
// Network Watcher's IP flow verify names it: "Access Deny" and the rule that decided.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"
#include "platform/routes/route_table.h"

namespace midiag::platform::routes {

enum class NsgDirection { Inbound, Outbound };

struct NsgRule {
  std::string name;      // as the export writes it: "securityRules/deny-sql",
                         // "defaultSecurityRules/DenyAllInBound"
  std::string protocol;  // "Tcp", "Udp", "All", "*", "Icmp"...
  std::vector<std::string> source_prefixes, destination_prefixes;  // as written (tags too)
  std::vector<std::string> expanded_source, expanded_destination;  // what Azure expanded
  std::vector<std::string> source_ports, destination_ports;        // "*", "1433", "11000-11999"
  bool allow = false;                                              // access Allow / Deny
  std::uint32_t priority = 0;
  NsgDirection direction = NsgDirection::Inbound;
  std::string origin;  // "value[0].effectiveSecurityRules[3]"
};

struct NsgGroup {
  std::string id;  // the NSG's resource id ("" when the export leaves it out)
  bool on_subnet = false, on_nic = false;                   // association
  std::string association;                                  // the subnet's or NIC's id, as written
  std::vector<NsgRule> rules;                               // in priority order
  std::map<std::string, std::vector<std::string>> tag_map;  // tag -> prefixes, when exported
  [[nodiscard]] std::string name() const;                   // the last part of the id
};

struct EffectiveNsgs {
  std::vector<NsgGroup> groups;
  std::vector<RouteTable::Unread> unread;  // members skipped, with why
};

// An Error (ErrorKind::Usage) when the text holds no effective NSG list, naming what it expected.
Expected<EffectiveNsgs> parse_effective_nsgs(std::string_view text);

struct Flow {
  Address source, destination;
  // false: the source address is not known (`routes --nsg` without --from); a rule on specific
  // source prefixes then may or may not match, and a verdict that depends on one is undetermined.
  bool source_given = true;
  std::uint16_t destination_port = 1433;
  std::optional<std::uint16_t> source_port;  // none: any (rules on a source port then match)
  std::string protocol = "Tcp";
  NsgDirection direction = NsgDirection::Outbound;
};

// One NSG's answer for the flow.
struct NsgStep {
  std::string nsg;          // name
  std::string association;  // "subnet" or "network interface"
  bool allow = true;
  std::string rule;  // the rule that matched; "" when none did
  std::uint32_t priority = 0;
};

struct FlowVerdict {
  bool allow = true;               // both NSGs on the path allow (no NSG: allowed)
  std::string rule;                // the deciding rule: the first deny, else the last allow
  bool determined = true;          // false: a rule before the decision used a tag the export does
                                   // not expand, or no rule matched at all
  std::vector<NsgStep> steps;      // in evaluation order (inbound: subnet, NIC; outbound: NIC,
                                   // subnet); stops at the first deny
  std::vector<std::string> notes;  // tags that could not be expanded, rules that could not be read
  // "Access Deny, rule securityRules/deny-sql (NSG mi-nsg on the subnet)".
  [[nodiscard]] std::string text() const;
};

FlowVerdict evaluate_flow(const EffectiveNsgs& nsgs, const Flow& flow);

struct PortSpan {
  std::uint16_t low = 0, high = 0;
  [[nodiscard]] std::string text() const;  // "1433", "11000-11099"
};

// One verdict for every destination port of a span (1433, or the redirect range 11000-11999).
struct PortsVerdict {
  PortSpan ports;
  bool allow = true;                   // no port of the span is denied (as far as determined)
  bool determined = true;              // every port's verdict was determined
  std::vector<PortSpan> denied;        // the ports denied (determined), merged into spans
  std::vector<PortSpan> undetermined;  // the ports whose verdict could not be determined
  FlowVerdict verdict;  // the first denied port's, else the first undetermined port's, else the
                        // first port's verdict: the rule and steps the report names
  // "Access Deny, rule ... (NSG ... on the subnet)" for the span, naming the ports denied when
  // only some are.
  [[nodiscard]] std::string text() const;
};

// `flow` for each port of [low, high] (its destination_port is replaced).
PortsVerdict evaluate_ports(const EffectiveNsgs& nsgs, Flow flow, PortSpan ports);

// Whether `text` (normalised) looks like an effective NSG export: a JSON document whose first
// 64 KB name effectiveSecurityRules. Shape only; parse_effective_nsgs decides.
bool looks_like_effective_nsgs(std::string_view text);

}  // namespace midiag::platform::routes
