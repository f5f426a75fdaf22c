#include "reports/route_rules.h"

namespace midiag::reports {

namespace rt = platform::routes;

namespace {

bool ends_lookup(std::string_view kind) {
  return kind == "unreachable" || kind == "prohibit" || kind == "blackhole";
}

// A name VPN software gives its interface (WireGuard, OpenVPN, IPsec, PPP, macOS utun, the P2S
// client's "vpn", Cisco AnyConnect, GlobalProtect).
bool vpn_like_name(std::string_view name) {
  for (std::string_view p : {"tun", "tap", "wg", "ppp", "utun", "ipsec", "vpn", "cscotun", "gpd"})
    if (name.starts_with(p)) return true;
  return false;
}

// Routes of other interfaces that carry private prefixes the interface is not itself on: what a
// VPN pushes. Windows names the interface by its address, so its own connected subnet (which
// contains that address) is left out; elsewhere only VPN-like interface names count. Linux's
// local and broadcast entries (table local) are the interface's own addresses, not routes.
std::vector<const rt::RouteEntry*> vpn_private_routes(const rt::RouteTable& t,
                                                      const rt::RouteEntry& chosen) {
  std::vector<const rt::RouteEntry*> out;
  for (const auto& e : t.routes) {
    if (!e.active || e.destination.length == 0 || e.interface == chosen.interface ||
        e.destination.network.family != chosen.destination.network.family ||
        !e.destination.network.is_private() || e.kind == "local" || e.kind == "broadcast")
      continue;
    if (t.format == rt::SourceFormat::Windows) {
      auto own = rt::Address::parse(e.interface);
      if (!own || e.destination.contains(*own) || e.destination.length == 32) continue;
    } else if (!vpn_like_name(e.interface)) {
      continue;
    }
    out.push_back(&e);
  }
  return out;
}

Finding with_address(Finding f, const rt::Address& a) {
  f.addresses.push_back(a.text());
  return f;
}

std::optional<Finding> unexpected_path(const RouteQuestion& q, const rt::RouteEntry* route) {
  const auto& to = q.to;
  const auto& t = *q.table;
  using F = rt::SourceFormat;
  // A VPN's own route list (P2S routes.txt, the VPN profile) that does not cover the address.
  if (t.format == F::P2s || t.format == F::AzureVpnXml) {
    if (route && route->kind != "exclude") return std::nullopt;
    std::string why =
        route ? to.text() + " is excluded by " + route->destination.text()
              : "none of its " + std::to_string(t.routes.size()) + " prefixes covers " + to.text();
    return with_address(
        make_finding(Code::RouteUnexpectedPath,
                     "The VPN does not route " + to.text() + " (" + q.where + ")",
                     why + ": the client sends it outside the tunnel", {"routes: " + why}),
        to);
  }
  if (!route) return std::nullopt;
  // Azure's effective routes: the instance's address sent nowhere, or to an appliance.
  if (t.format == F::AzureEffective) {
    if (route->kind != "None" && route->kind != "VirtualAppliance") return std::nullopt;
    const std::string why =
        route->destination.text() + " (" + route->origin + ") sends " + to.text() + " to " +
        (route->kind == "None" ? std::string("None: it is dropped")
                               : "a virtual appliance at " + gateway_text(*route));
    return with_address(
        make_finding(Code::RouteUnexpectedPath,
                     "Azure routes " + to.text() + " to " + route->kind + " (" + q.where + ")", why,
                     {"effective route: " + why}),
        to);
  }
  // A private address leaving by the default route while a VPN carries other private prefixes:
  // the instance's VNet is missing from the VPN's routes. On this host only when it is not an
  // Azure VM (peered VNets go by the default route there) and the address did not answer.
  if (!to.is_private() || route->destination.length != 0) return std::nullopt;
  if (q.own_host && (q.on_azure || q.address_answered.value_or(false))) return std::nullopt;
  const auto vpn = vpn_private_routes(t, *route);
  if (vpn.empty()) return std::nullopt;
  std::string prefixes;
  for (std::size_t i = 0; i < vpn.size() && i < 6; ++i)
    prefixes += (i ? ", " : "") + vpn[i]->destination.text();
  if (vpn.size() > 6) prefixes += " and " + std::to_string(vpn.size() - 6) + " more";
  const std::string why = to.text() + " leaves by the default route (" + gateway_text(*route) +
                          " on " + route->interface + ") while " + prefixes + " go through " +
                          vpn.front()->interface +
                          ": the VPN carries other private networks but not this one";
  std::vector<std::string> evidence = {"routes: " + why};
  if (q.address_answered)
    evidence.push_back(std::string("tcp: ") + to.text() +
                       (*q.address_answered ? " answered" : " did not answer on any probed port"));
  return with_address(
      make_finding(Code::RouteUnexpectedPath,
                   "The instance's network is missing from the VPN's routes (" + q.where + ")", why,
                   std::move(evidence)),
      to);
}

}  // namespace

std::string gateway_text(const rt::RouteEntry& r) {
  if (r.gateway) return r.gateway->text();
  if (!r.gateway_text.empty() && r.flags.find('G') != std::string::npos) return r.gateway_text;
  return "on-link";
}

std::string describe_route(const rt::RouteEntry& r) {
  std::string s = r.destination.length == 0 && r.destination.network.family == 4
                      ? "default"
                      : r.destination.text();
  s += " via " + gateway_text(r);
  if (!r.interface.empty()) s += " on " + r.interface;
  if (!r.table.empty()) s += " (table " + r.table + ")";
  if (r.kind != "unicast") s += " [" + r.kind + "]";
  return s;
}

std::vector<Finding> route_findings(const RouteQuestion& q) {
  std::vector<Finding> out;
  if (q.table == nullptr) return out;
  const auto& l = q.lookup;
  const rt::RouteEntry* route = l.route ? &q.table->routes[*l.route] : nullptr;
  if (auto f = unexpected_path(q, route)) {
    out.push_back(std::move(*f));
    return out;
  }
  if (route && !ends_lookup(route->kind)) return out;
  std::string title = route ? "The route to " + q.to.text() + " is " + route->kind + " (" +
                                  route->destination.text() + ")"
                            : "No route to " + q.to.text();
  out.push_back(with_address(
      make_finding(Code::RouteMissing, title + " in " + q.where, l.reason, {"routes: " + l.reason}),
      q.to));
  return out;
}

std::vector<rt::PortsVerdict> instance_flows(const rt::EffectiveNsgs& nsgs, const rt::Address& to,
                                             const std::optional<rt::Address>& from) {
  rt::Flow flow;
  flow.destination = to;
  flow.source_given = from.has_value();
  if (from) flow.source = *from;
  flow.protocol = "Tcp";
  flow.direction = rt::NsgDirection::Outbound;
  return {rt::evaluate_ports(nsgs, flow, {1433, 1433}),
          rt::evaluate_ports(nsgs, flow, {11000, 11999})};
}

std::vector<Finding> nsg_findings(const NsgQuestion& q) {
  std::vector<Finding> out;
  const std::string from = q.from ? q.from->text() : std::string("any source");
  for (const auto& f : q.flows) {
    const std::string flow =
        "TCP " + from + " -> " + q.to.text() + ":" + f.ports.text() + " outbound";
    std::vector<std::string> evidence = {"nsg: " + flow + ": " + f.text()};
    for (const auto& s : f.verdict.steps)
      evidence.push_back("nsg: NSG " + s.nsg + " on the " + s.association + ": " +
                         (s.rule.empty()
                              ? std::string("no rule matched")
                              : std::string(s.allow ? "Allow" : "Deny") + " by " + s.rule +
                                    " (priority " + std::to_string(s.priority) + ")"));
    for (std::size_t i = 0; i < f.verdict.notes.size() && i < 6; ++i)
      evidence.push_back("nsg: " + f.verdict.notes[i]);
    if (!f.denied.empty()) {
      std::string ports =
          f.denied.size() == 1 && f.denied[0].low == f.ports.low && f.denied[0].high == f.ports.high
              ? f.ports.text()
              : "";
      if (ports.empty())
        for (std::size_t i = 0; i < f.denied.size() && i < 8; ++i)
          ports += (i ? ", " : "") + f.denied[i].text();
      out.push_back(with_address(
          make_finding(Code::RouteUnexpectedPath,
                       "The NSG denies TCP " + ports + " to " + q.to.text() + ": " +
                           f.verdict.text() + " (" + q.where + ")",
                       "IP flow verify's answer for " + flow + " is " + f.text() +
                           ": the NSG drops the connection" +
                           (f.ports.low == 11000 ? " to the node's redirect ports" : ""),
                       std::move(evidence)),
          q.to));
    } else if (!f.determined) {
      out.push_back(with_address(
          make_finding(Code::CheckIncomplete,
                       "The NSG verdict for TCP " + f.ports.text() + " to " + q.to.text() +
                           " is undetermined (" + q.where + ")",
                       flow + ": " + f.text() +
                           (q.from ? std::string()
                                   : " (give the client's address with --from when a rule "
                                     "depends on the source)"),
                       std::move(evidence)),
          q.to));
    }
  }
  return out;
}

}  // namespace midiag::reports
