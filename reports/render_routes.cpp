#include "reports/render_routes.h"

#include <algorithm>
#include <array>
#include <sstream>

#include "reports/safe_text.h"

namespace midiag::reports {

namespace rt = platform::routes;
using nlohmann::json;

namespace {

bool ends_lookup(std::string_view kind) {
  return kind == "unreachable" || kind == "prohibit" || kind == "blackhole";
}

std::string source_name(const RoutesReport& r) {
  return r.file.empty() ? "this host (netlink)" : r.file;
}

json route_json(const rt::RouteEntry& e, std::size_t index) {
  json j = {{"index", index},
            {"destination", e.destination.text()},
            {"gateway", gateway_text(e)},
            {"interface", e.interface},
            {"metric", e.metric ? json(*e.metric) : json(nullptr)},
            {"flags", e.flags},
            {"table", e.table},
            {"family", e.family()},
            {"kind", e.kind},
            {"active", e.active},
            {"origin", e.origin}};
  if (e.persistent) j["persistent"] = true;
  return j;
}

std::string metric_text(const rt::RouteEntry& e) {
  return e.metric ? std::to_string(*e.metric) : "-";
}

}  // namespace

std::string gateway_text(const rt::RouteEntry& r) {
  if (r.gateway) return r.gateway->text();
  if (!r.gateway_text.empty() && r.flags.find('G') != std::string::npos) return r.gateway_text;
  return "on-link";
}

namespace {

// A name VPN software gives its interface (WireGuard, OpenVPN, IPsec, PPP, macOS utun, the P2S
// client's "vpn", Cisco AnyConnect, GlobalProtect).
bool vpn_like_name(std::string_view name) {
  for (std::string_view p : {"tun", "tap", "wg", "ppp", "utun", "ipsec", "vpn", "cscotun", "gpd"})
    if (name.starts_with(p)) return true;
  return false;
}

// Routes of other interfaces that carry private prefixes the interface is not itself on: what a
// VPN pushes. Windows names the interface by its address, so its own connected subnet (which
// contains that address) is left out; elsewhere only VPN-like interface names count.
std::vector<const rt::RouteEntry*> vpn_private_routes(const rt::RouteTable& t,
                                                      const rt::RouteEntry& chosen) {
  std::vector<const rt::RouteEntry*> out;
  for (const auto& e : t.routes) {
    if (!e.active || e.destination.length == 0 || e.interface == chosen.interface ||
        e.destination.network.family != chosen.destination.network.family ||
        !e.destination.network.is_private())
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

std::optional<Finding> unexpected_path(const RoutesReport& r, const rt::RouteEntry* route) {
  const auto& to = *r.to;
  const std::string where = source_name(r);
  using F = rt::SourceFormat;
  const F format = r.table.format;
  // A VPN's own route list (P2S routes.txt, the VPN profile) that does not cover the address.
  if (format == F::P2s || format == F::AzureVpnXml) {
    if (route && route->kind != "exclude") return std::nullopt;
    std::string why = route ? to.text() + " is excluded by " + route->destination.text()
                            : "none of its " + std::to_string(r.table.routes.size()) +
                                  " prefixes covers " + to.text();
    auto f = make_finding(Code::RouteUnexpectedPath,
                          "The VPN does not route " + to.text() + " (" + where + ")",
                          why + ": the client sends it outside the tunnel", {"routes: " + why});
    f.addresses.push_back(to.text());
    return f;
  }
  if (!route) return std::nullopt;
  // Azure's effective routes: the instance's address sent nowhere, or to an appliance.
  if (format == F::AzureEffective) {
    if (route->kind != "None" && route->kind != "VirtualAppliance") return std::nullopt;
    const std::string why =
        route->destination.text() + " (" + route->origin + ") sends " + to.text() + " to " +
        (route->kind == "None" ? std::string("None: it is dropped")
                               : "a virtual appliance at " + gateway_text(*route));
    auto f = make_finding(Code::RouteUnexpectedPath,
                          "Azure routes " + to.text() + " to " + route->kind + " (" + where + ")",
                          why, {"effective route: " + why});
    f.addresses.push_back(to.text());
    return f;
  }
  // A private address leaving by the default route while a VPN carries other private prefixes:
  // the instance's VNet is missing from the VPN's routes. Only from a file another host gave:
  // this host's own table may be an Azure VM's, where peered VNets go by the default route.
  if (r.file.empty() || !to.is_private() || route->destination.length != 0) return std::nullopt;
  const auto vpn = vpn_private_routes(r.table, *route);
  if (vpn.empty()) return std::nullopt;
  std::string prefixes;
  for (std::size_t i = 0; i < vpn.size() && i < 6; ++i)
    prefixes += (i ? ", " : "") + vpn[i]->destination.text();
  if (vpn.size() > 6) prefixes += " and " + std::to_string(vpn.size() - 6) + " more";
  const std::string why = to.text() + " leaves by the default route (" + gateway_text(*route) +
                          " on " + route->interface + ") while " + prefixes + " go through " +
                          vpn.front()->interface +
                          ": the VPN carries other private networks but not this one";
  auto f = make_finding(Code::RouteUnexpectedPath,
                        "The instance's network is missing from the VPN's routes (" + where + ")",
                        why, {"routes: " + why});
  f.addresses.push_back(to.text());
  return f;
}

}  // namespace

std::vector<Finding> explain_routes(const RoutesReport& r) {
  std::vector<Finding> out;
  if (!r.to || !r.lookup) return out;
  const auto& l = *r.lookup;
  const rt::RouteEntry* route = l.route ? &r.table.routes[*l.route] : nullptr;
  if (auto f = unexpected_path(r, route)) {
    out.push_back(std::move(*f));
    return out;
  }
  if (route && !ends_lookup(route->kind)) return out;
  std::string title = route ? "The route to " + r.to->text() + " is " + route->kind + " (" +
                                  route->destination.text() + ")"
                            : "No route to " + r.to->text();
  auto f = make_finding(Code::RouteMissing, title + " in " + source_name(r), l.reason,
                        {"routes: " + l.reason});
  f.addresses.push_back(r.to->text());
  out.push_back(std::move(f));
  return out;
}

namespace {

// The document; with `routes_too` false, routes[] is left empty for render_routes_json to stream.
json document(const RoutesReport& r, bool routes_too) {
  json routes = json::array();
  for (std::size_t i = 0; routes_too && i < r.table.routes.size(); ++i)
    routes.push_back(route_json(r.table.routes[i], i));
  json rules = json::array();
  for (const auto& p : r.table.rules)
    rules.push_back({{"priority", p.priority},
                     {"text", p.text},
                     {"table", p.table},
                     {"action", p.action},
                     {"family", p.family == 0 ? json(nullptr) : json(p.family)}});
  json lookup = nullptr;
  if (r.to && r.lookup) {
    const auto& l = *r.lookup;
    lookup = {{"to", r.to->text()},
              {"route", l.route ? route_json(r.table.routes[*l.route], *l.route) : json(nullptr)},
              {"reason", l.reason},
              {"beaten", l.beaten}};
    if (l.rule) {
      const auto& p = r.table.rules[*l.rule];
      lookup["rule"] = {{"priority", p.priority}, {"text", p.text}};
    }
  }
  json findings = json::array();
  for (const auto& f : r.findings)
    findings.push_back({{"code", code_name(f.code)},
                        {"severity", to_string(f.severity)},
                        {"title", f.title},
                        {"detail", f.detail},
                        {"evidence", f.evidence},
                        {"remediation", f.remediation},
                        {"reference", f.reference},
                        {"addresses", f.addresses}});
  json unread = json::array();
  for (const auto& u : r.table.unread)
    unread.push_back({{"line", u.line}, {"text", u.text}, {"reason", u.reason}});
  json doc = {{"schema", kRoutesSchema},
              {"source",
               {{"file", r.file.empty() ? json(nullptr) : json(r.file)},
                {"format", rt::format_name(r.table.format)},
                {"note", r.table.note}}},
              {"verdict", to_string(verdict_of(r.findings))},
              {"routes", std::move(routes)},
              {"rules", std::move(rules)},
              {"lookup", std::move(lookup)},
              {"findings", std::move(findings)},
              {"unread", std::move(unread)}};
  make_strings_valid(doc);
  return doc;
}

}  // namespace

json routes_to_json(const RoutesReport& r) {
  return document(r, true);
}

std::string render_routes_json(const RoutesReport& r) {
  // A table read from a file may hold a million routes: each is dumped on its own line instead of
  // as one document tree (the tree cost ~2 KB per route: 486 MB for 200,000 routes).
  const std::string text = document(r, false).dump(2);
  const std::string empty = "\"routes\": []";
  const auto at = text.find(empty);
  if (at == std::string::npos || r.table.routes.empty()) return text + "\n";
  std::string out = text.substr(0, at) + "\"routes\": [";
  for (std::size_t i = 0; i < r.table.routes.size(); ++i) {
    json one = route_json(r.table.routes[i], i);
    make_strings_valid(one);
    out += i == 0 ? "\n    " : ",\n    ";
    out += one.dump();
  }
  out += "\n  ]";
  out += text.substr(at + empty.size());
  return out + "\n";
}

std::string render_routes_text(const RoutesReport& r) {
  std::ostringstream o;
  const auto& t = r.table;
  // The verdict first: a finding with its cause and fix, then the lookup's answer.
  for (const auto& f : r.findings) {
    o << to_string(f.severity) << " " << code_name(f.code) << ": " << safe_text(f.title) << "\n";
    if (!f.detail.empty()) o << "  why: " << safe_text(f.detail) << "\n";
    if (!f.remediation.empty()) o << "  fix: " << safe_text(f.remediation) << "\n";
  }
  if (r.to && r.lookup) {
    const auto& l = *r.lookup;
    if (l.route) {
      const auto& e = t.routes[*l.route];
      o << r.to->text() << ": " << safe_text(e.destination.text()) << " via "
        << safe_text(gateway_text(e)) << (e.interface.empty() ? "" : " on ")
        << safe_text(e.interface) << (e.table.empty() ? "" : " (table " + safe_text(e.table) + ")")
        << (e.kind == "unicast" ? "" : " [" + safe_text(e.kind) + "]") << "\n";
    } else {
      o << r.to->text() << ": no route\n";
    }
    o << "  why: " << safe_text(l.reason) << "\n";
  }
  o << t.routes.size() << (t.routes.size() == 1 ? " route" : " routes");
  if (!t.rules.empty()) o << ", " << t.rules.size() << (t.rules.size() == 1 ? " rule" : " rules");
  o << " from " << safe_text(source_name(r)) << " (" << rt::format_name(t.format) << ")";
  if (!t.unread.empty())
    o << ", " << t.unread.size() << (t.unread.size() == 1 ? " line" : " lines") << " not read";
  if (!t.note.empty()) o << "; " << safe_text(t.note);
  o << "\n";

  // One line per route, in columns.
  struct Row {
    std::string mark, dest, gw, iface, metric, table, kind, flags;
  };
  std::vector<Row> rows;
  rows.push_back({" ", "destination", "gateway", "interface", "metric", "table", "kind", "flags"});
  for (std::size_t i = 0; i < t.routes.size(); ++i) {
    const auto& e = t.routes[i];
    std::string mark = " ";
    if (r.lookup && r.lookup->route == i)
      mark = ">";
    else if (r.lookup && std::find(r.lookup->beaten.begin(), r.lookup->beaten.end(), i) !=
                             r.lookup->beaten.end())
      mark = "~";
    rows.push_back({mark, e.destination.text(), safe_text(gateway_text(e)), safe_text(e.interface),
                    metric_text(e), safe_text(e.table),
                    safe_text(e.kind) + (e.active ? "" : " (inactive)"), safe_text(e.flags)});
  }
  std::array<std::size_t, 7> width{};
  for (const auto& row : rows) {
    const std::array<const std::string*, 7> cells = {&row.dest,  &row.gw,   &row.iface, &row.metric,
                                                     &row.table, &row.kind, &row.flags};
    for (std::size_t c = 0; c < 7; ++c) width[c] = std::max(width[c], cells[c]->size());
  }
  for (const auto& row : rows) {
    const std::array<const std::string*, 7> cells = {&row.dest,  &row.gw,   &row.iface, &row.metric,
                                                     &row.table, &row.kind, &row.flags};
    std::string line = row.mark;
    for (std::size_t c = 0; c < 7; ++c) {
      line += ' ';
      line += *cells[c];
      if (c + 1 < 7) line.append(width[c] - cells[c]->size(), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    o << line << "\n";
  }
  if (r.lookup) o << "(> the chosen route, ~ other routes that match)\n";
  if (!t.rules.empty()) {
    o << "rules:\n";
    for (std::size_t i = 0; i < t.rules.size(); ++i) {
      const auto& p = t.rules[i];
      o << (r.lookup && r.lookup->rule == i ? ">" : " ") << " " << p.priority << ": "
        << safe_text(p.text)
        << (p.family == 6   ? "  (IPv6)"
            : p.family == 4 ? "  (IPv4)"
                            : "")
        << "\n";
    }
  }
  if (!t.unread.empty()) {
    o << "lines not read:\n";
    for (const auto& u : t.unread)
      o << "  line " << u.line << ": " << safe_text(u.text) << "  (" << safe_text(u.reason)
        << ")\n";
  }
  return o.str();
}

}  // namespace midiag::reports
