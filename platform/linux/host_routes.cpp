#include "platform/linux/host_routes.h"

#include <sys/socket.h>

namespace midiag::platform {

namespace rt = routes;

namespace {

// Rules as netlink lists them, read through the same `ip rule` parser the files go through.
void add_rules(rt::RouteTable& t, const std::vector<RuleEntry>& rules, int family) {
  const std::string text = ip_rule_text(rules);
  if (text.empty()) return;
  auto parsed = rt::parse_linux(text);
  if (!parsed) return;
  for (auto& p : parsed->rules) {
    p.family = family;
    p.origin = "netlink";
    t.rules.push_back(std::move(p));
  }
  for (auto& u : parsed->unread) t.unread.push_back(std::move(u));
}

bool is_default(const RouteEntry& r) {
  return r.prefix == 0;
}

}  // namespace

Expected<rt::RouteTable> host_route_table() {
  rt::RouteTable t;
  t.format = rt::SourceFormat::Linux;
  for (int af : {AF_INET, AF_INET6}) {
    auto routes = dump_routes(af);
    if (!routes) {
      if (af == AF_INET6) continue;
      return routes.error();
    }
    for (const auto& r : *routes) {
      auto prefix = rt::Prefix::parse(r.destination + "/" + std::to_string(r.prefix));
      if (!prefix) {
        t.unread.push_back({0, r.destination + "/" + std::to_string(r.prefix),
                            "netlink gave a destination the model cannot hold"});
        continue;
      }
      rt::RouteEntry e;
      e.destination = *prefix;
      if (!r.gateway.empty()) {
        e.gateway = rt::Address::parse(r.gateway);
        e.gateway_text = r.gateway;
      }
      e.interface = r.interface;
      e.metric = r.metric;
      e.table = route_table_name(r.table);
      e.kind = r.kind.empty() ? "unicast" : r.kind;
      e.origin = "netlink";
      t.routes.push_back(std::move(e));
    }
    auto rules = dump_rules(af);
    if (rules) add_rules(t, *rules, af == AF_INET ? 4 : 6);
  }
  return t;
}

std::string ip_route_text(const std::vector<RouteEntry>& routes) {
  std::string out;
  for (const auto& r : routes) {
    std::string line;
    if (!r.kind.empty() && r.kind != "unicast") line += r.kind + " ";
    line += is_default(r) ? std::string("default") : r.destination + "/" + std::to_string(r.prefix);
    if (!r.gateway.empty()) line += " via " + r.gateway;
    if (!r.interface.empty()) line += " dev " + r.interface;
    if (r.table != 254) line += " table " + route_table_name(r.table);
    if (!r.protocol.empty()) line += " proto " + r.protocol;
    if (!r.scope.empty() && r.scope != "global") line += " scope " + r.scope;
    if (!r.source.empty()) line += " src " + r.source;
    if (r.metric != 0) line += " metric " + std::to_string(r.metric);
    out += line + "\n";
  }
  return out;
}

std::string ip_rule_text(const std::vector<RuleEntry>& rules) {
  std::string out;
  for (const auto& r : rules) out += std::to_string(r.priority) + ":\t" + r.selector + "\n";
  return out;
}

}  // namespace midiag::platform
