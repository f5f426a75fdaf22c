#include "platform/linux/route_lookup.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "platform/linux/netlink_io.h"
#include "platform/linux/route_parse.h"

namespace midiag::platform {
namespace {

struct Target {
  int family = 0;
  std::vector<std::uint8_t> addr;
  std::string text;  // normalised numeric form
};

std::optional<Target> parse_target(const std::string& s) {
  for (const int family : {AF_INET, AF_INET6}) {
    std::uint8_t raw[16] = {};
    if (::inet_pton(family, s.c_str(), raw) != 1) continue;
    Target t{family, {raw, raw + (family == AF_INET ? 4 : 16)}, ""};
    t.text = nl::format_addr(family, t.addr);
    return t;
  }
  return std::nullopt;
}

// Errors with which the kernel refuses a route (no route, unreachable/prohibit/blackhole/throw).
bool is_refusal(int err) {
  return err == ENETUNREACH || err == EHOSTUNREACH || err == EACCES || err == EPERM ||
         err == EINVAL || err == EAGAIN || err == ENETDOWN;
}

// Interface MTU through RTM_GETLINK, 0 when unknown.
std::uint32_t link_mtu(int ifindex) {
  nl::Request req(RTM_GETLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  req.add_struct(ifi);
  auto reply = nl::transact(req);
  if (!reply || reply->error != 0 || reply->messages.empty()) return 0;
  std::uint32_t mtu = 0;
  nl::for_each_attr(nl::attrs_after<ifinfomsg>(reply->messages.front().payload),
                    [&](std::uint16_t t, nl::Bytes d) {
                      if (t == IFLA_MTU) mtu = nl::read_as<std::uint32_t>(d).value_or(0);
                    });
  return mtu;
}

Expected<nl::Reply> get_route(const Target& t, unsigned flags) {
  nl::Request req(RTM_GETROUTE, 0);
  rtmsg rt{};
  rt.rtm_family = static_cast<unsigned char>(t.family);
  rt.rtm_dst_len = static_cast<unsigned char>(t.addr.size() * 8);
  rt.rtm_flags = flags;
  req.add_struct(rt);
  req.add_attr(RTA_DST, t.addr.data(), t.addr.size());
  return nl::transact(req);
}

std::optional<nl::ParsedRoute> first_route(const nl::Reply& reply) {
  for (const auto& m : reply.messages) {
    if (auto r = nl::parse_route(m)) return r;
  }
  return std::nullopt;
}

// The FIB entry itself (prefix, table) rather than the resolved path; kernel >= 4.13.
std::optional<nl::ParsedRoute> fib_match(const Target& t) {
  auto reply = get_route(t, RTM_F_FIB_MATCH | RTM_F_LOOKUP_TABLE);
  if (!reply || reply->error != 0) return std::nullopt;
  auto r = first_route(*reply);
  // A cloned (cache) answer means the kernel had no FIB entry to show (e.g. 255.255.255.255).
  if (!r || (r->flags & RTM_F_CLONED)) return std::nullopt;
  return r;
}

// Without custom rules the kernel merges table local into main and reports main; the entry
// itself still belongs to local, which is what `ip route show table local` and users expect.
bool is_local_table_entry(const nl::ParsedRoute& fib) {
  nl::Request req(RTM_GETROUTE, NLM_F_DUMP);
  rtmsg rt{};
  rt.rtm_family = static_cast<unsigned char>(fib.family);
  rt.rtm_table = RT_TABLE_LOCAL;
  req.add_struct(rt);
  auto reply = nl::transact(req, /*strict=*/true);  // strict: the kernel filters by table
  if (!reply || reply->error != 0) return false;
  for (const auto& m : reply->messages) {
    const auto r = nl::parse_route(m);
    if (r && r->table == RT_TABLE_LOCAL && r->type == fib.type && r->dst_len == fib.dst_len &&
        r->dst == fib.dst) {
      return true;
    }
  }
  return false;
}

}  // namespace

Expected<RouteInfo> lookup_route(const std::string& destination) {
  const auto target = parse_target(destination);
  if (!target) return make_error("not a numeric IPv4/IPv6 address: '" + destination + "'");

  auto reply = get_route(*target, RTM_F_LOOKUP_TABLE);  // so the reply names the table
  if (!reply) return reply.error();

  RouteInfo info;
  info.destination = target->text;
  if (reply->error != 0) {
    if (!is_refusal(reply->error)) {
      return make_error("route lookup for " + target->text + ": " + std::strerror(reply->error));
    }
    info.kind = "no_route";
    info.error = std::strerror(reply->error);
    return info;
  }
  const auto got = first_route(*reply);
  if (!got) return make_error("route lookup for " + target->text + ": no route in kernel reply");

  const auto& hop = got->hops.front();
  info.interface = nl::interface_name(hop.oif);
  info.gateway = hop.gateway;
  info.source = got->prefsrc;
  info.table = got->table;
  info.kind = nl::route_type_name(got->type);
  info.mtu = got->mtu != 0 ? got->mtu : hop.oif > 0 ? link_mtu(hop.oif) : 0;
  if (const auto fib = fib_match(*target)) {
    info.prefix = fib->dst_len;
    info.table = fib->table;
    if (info.table == RT_TABLE_MAIN && is_local_table_entry(*fib)) info.table = RT_TABLE_LOCAL;
  }
  return info;
}

}  // namespace midiag::platform
