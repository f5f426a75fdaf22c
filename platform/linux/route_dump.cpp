// dump_routes / dump_rules: the `ip route show table all` and `ip rule show` views for the bundle.
#include <linux/fib_rules.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>

#include "platform/linux/netlink_io.h"
#include "platform/linux/route_lookup.h"
#include "platform/linux/route_parse.h"

namespace midiag::platform {
namespace {

bool is_ip_family(int family) {
  return family == AF_INET || family == AF_INET6;
}

Expected<std::vector<nl::Message>> dump(std::uint16_t type, int family) {
  if (!is_ip_family(family)) return make_error("dump: family must be AF_INET or AF_INET6");
  nl::Request req(type, NLM_F_DUMP);
  rtmsg hdr{};  // fib_rule_hdr has the same size and leading family byte
  hdr.rtm_family = static_cast<unsigned char>(family);
  req.add_struct(hdr);
  auto reply = nl::transact(req);
  if (!reply) return reply.error();
  if (reply->error != 0) return make_error(std::string("dump: ") + std::strerror(reply->error));
  return std::move(reply->messages);
}

// "from all", "to 10.0.0.0/8": iproute2's address selector text.
std::string selector(const char* word, int family, const std::string& addr, int len) {
  const int host = family == AF_INET ? 32 : 128;
  if (addr.empty() && len == 0) return std::string(word) + " all";
  std::string s = std::string(word) + " " + (addr.empty() ? "0" : addr);
  return len == host && !addr.empty() ? s : s + "/" + std::to_string(len);
}

std::string port_range(nl::Bytes d) {
  const auto r = nl::read_as<fib_rule_port_range>(d);
  if (!r) return "?";
  if (r->start == r->end) return std::to_string(r->start);
  return std::to_string(r->start) + "-" + std::to_string(r->end);
}

std::string hex(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

std::string c_string(nl::Bytes d) {
  return {d.begin(), std::find(d.begin(), d.end(), 0)};
}

// The attributes of one rule, gathered before formatting in iproute2's order.
struct RuleAttrs {
  std::uint32_t priority = 0, table = 0, goto_target = 0;
  std::string src, dst, match, suppress;
  std::optional<std::uint32_t> mark, mask;
};

RuleAttrs read_rule_attrs(int family, nl::Bytes attrs) {
  RuleAttrs a;
  nl::for_each_attr(attrs, [&](std::uint16_t t, nl::Bytes d) {
    const auto u32 = nl::read_as<std::uint32_t>(d);
    if (t == FRA_PRIORITY && u32) a.priority = *u32;
    if (t == FRA_TABLE && u32) a.table = *u32;
    if (t == FRA_GOTO && u32) a.goto_target = *u32;
    if (t == FRA_SRC) a.src = nl::format_addr(family, d);
    if (t == FRA_DST) a.dst = nl::format_addr(family, d);
    if (t == FRA_FWMARK && u32) a.mark = *u32;
    if (t == FRA_FWMASK && u32) a.mask = *u32;
    if (t == FRA_IFNAME) a.match += " iif " + c_string(d);
    if (t == FRA_OIFNAME) a.match += " oif " + c_string(d);
    if (t == FRA_UID_RANGE) {
      if (const auto u = nl::read_as<fib_rule_uid_range>(d)) {
        a.match += " uidrange " + std::to_string(u->start) + "-" + std::to_string(u->end);
      }
    }
    if (t == FRA_L3MDEV && !d.empty() && d[0] != 0) a.match += " lookup [l3mdev-table]";
    if (t == FRA_IP_PROTO && !d.empty()) a.match += " ipproto " + std::to_string(d[0]);
    if (t == FRA_SPORT_RANGE) a.match += " sport " + port_range(d);
    if (t == FRA_DPORT_RANGE) a.match += " dport " + port_range(d);
    // The kernel always sends suppress_prefixlength; all ones (-1) means unset.
    if (t == FRA_SUPPRESS_PREFIXLEN && u32 && *u32 != 0xFFFFFFFFU) {
      a.suppress = " suppress_prefixlength " + std::to_string(*u32);
    }
  });
  return a;
}

std::optional<RuleEntry> parse_rule(const nl::Message& m) {
  const auto frh = nl::read_as<fib_rule_hdr>(m.payload);
  if (m.type != RTM_NEWRULE || !frh || !is_ip_family(frh->family)) return std::nullopt;
  const RuleAttrs a = read_rule_attrs(frh->family, nl::attrs_after<fib_rule_hdr>(m.payload));
  RuleEntry rule;
  rule.priority = a.priority;
  rule.table = a.table != 0 ? a.table : frh->table;
  std::string s = (frh->flags & FIB_RULE_INVERT) ? "not " : "";
  s += selector("from", frh->family, a.src, frh->src_len);
  if (!a.dst.empty() || frh->dst_len != 0)
    s += " " + selector("to", frh->family, a.dst, frh->dst_len);
  if (frh->tos != 0) s += " tos " + hex(frh->tos);
  if (a.mark || a.mask) {
    s += " fwmark " + hex(a.mark.value_or(0));
    if (a.mask.value_or(0xFFFFFFFFU) != 0xFFFFFFFFU) s += "/" + hex(*a.mask);
  }
  s += a.match;
  if (rule.table != 0) s += " lookup " + route_table_name(rule.table) + a.suppress;
  if (frh->action == FR_ACT_TO_TBL) {
    rule.action = "lookup";
  } else if (frh->action == FR_ACT_GOTO) {
    rule.action = "goto";
    s += a.goto_target != 0 ? " goto " + std::to_string(a.goto_target) : " goto none";
  } else {
    // nop, and blackhole / unreachable / prohibit which share the RTN_* numbering.
    rule.action = frh->action == FR_ACT_NOP ? "nop" : nl::route_type_name(frh->action);
    s += " " + rule.action;
  }
  rule.selector = std::move(s);
  return rule;
}

}  // namespace

std::string route_table_name(std::uint32_t table) {
  switch (table) {
    case RT_TABLE_LOCAL:
      return "local";
    case RT_TABLE_MAIN:
      return "main";
    case RT_TABLE_DEFAULT:
      return "default";
    default:
      return std::to_string(table);
  }
}

Expected<std::vector<RouteEntry>> dump_routes(int family) {
  auto msgs = dump(RTM_GETROUTE, family);
  if (!msgs) return msgs.error();
  std::map<int, std::string> names;  // one if_indextoname per interface, not per route
  auto name_of = [&](int ifindex) -> const std::string& {
    auto it = names.find(ifindex);
    if (it == names.end()) it = names.emplace(ifindex, nl::interface_name(ifindex)).first;
    return it->second;
  };
  std::vector<RouteEntry> out;
  for (const auto& m : *msgs) {
    const auto r = nl::parse_route(m);
    if (!r || (r->flags & RTM_F_CLONED)) continue;  // cache clones are not routes
    for (const auto& hop : r->hops) {
      RouteEntry e;
      e.destination = nl::format_addr(r->family, r->dst);
      e.prefix = r->dst_len;
      e.gateway = hop.gateway;
      e.interface = name_of(hop.oif);
      e.source = r->prefsrc;
      e.table = r->table;
      e.metric = r->metric;
      e.kind = nl::route_type_name(r->type);
      e.protocol = nl::route_protocol_name(r->protocol);
      e.scope = nl::route_scope_name(r->scope);
      out.push_back(std::move(e));
    }
  }
  return out;
}

Expected<std::vector<RuleEntry>> dump_rules(int family) {
  auto msgs = dump(RTM_GETRULE, family);
  if (!msgs) return msgs.error();
  std::vector<RuleEntry> out;
  for (const auto& m : *msgs) {
    if (auto rule = parse_rule(m)) out.push_back(std::move(*rule));
  }
  return out;
}

}  // namespace midiag::platform
