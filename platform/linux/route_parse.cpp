#include "platform/linux/route_parse.h"

#include <net/if.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <utility>

namespace midiag::platform::nl {
namespace {

// Gateway from RTA_GATEWAY (same family) or RTA_VIA (e.g. IPv4 route via an IPv6 nexthop).
void read_gateway(int family, std::uint16_t type, Bytes data, std::string& gateway) {
  if (type == RTA_GATEWAY) gateway = format_addr(family, data);
  // rtvia is a family then the address; read the family alone as rtvia ends in a flexible array.
  constexpr std::size_t kViaHead = offsetof(rtvia, rtvia_addr);
  if (type == RTA_VIA && data.size() >= kViaHead) {
    const auto via_family = read_as<__kernel_sa_family_t>(data).value_or(0);
    gateway = format_addr(via_family, data.subspan(kViaHead));
  }
}

std::vector<Hop> read_multipath(int family, Bytes b) {
  std::vector<Hop> hops;
  while (b.size() >= sizeof(rtnexthop)) {
    const auto nh = *read_as<rtnexthop>(b);
    if (nh.rtnh_len < sizeof(rtnexthop) || nh.rtnh_len > b.size()) break;
    Hop hop{nh.rtnh_ifindex, ""};
    const std::size_t head = align4(sizeof(rtnexthop));
    if (nh.rtnh_len > head) {
      for_each_attr(b.subspan(head, nh.rtnh_len - head),
                    [&](std::uint16_t t, Bytes d) { read_gateway(family, t, d, hop.gateway); });
    }
    hops.push_back(std::move(hop));
    const std::size_t step = align4(nh.rtnh_len);
    if (step >= b.size()) break;
    b = b.subspan(step);
  }
  return hops;
}

std::uint32_t read_mtu_metric(Bytes b) {
  std::uint32_t mtu = 0;
  for_each_attr(b, [&](std::uint16_t t, Bytes d) {
    if (t == RTAX_MTU) mtu = read_as<std::uint32_t>(d).value_or(0);
  });
  return mtu;
}

template <std::size_t N>
std::string name_or_number(const std::array<std::pair<int, const char*>, N>& names, int v) {
  for (const auto& [num, name] : names) {
    if (num == v) return name;
  }
  return std::to_string(v);
}

}  // namespace

std::optional<ParsedRoute> parse_route(const Message& m) {
  const auto rt = read_as<rtmsg>(m.payload);
  if (m.type != RTM_NEWROUTE || !rt) return std::nullopt;
  if (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6) return std::nullopt;
  ParsedRoute r;
  r.family = rt->rtm_family;
  r.dst_len = rt->rtm_dst_len;
  r.dst.assign(r.family == AF_INET ? 4 : 16, 0);
  r.table = rt->rtm_table;
  r.type = rt->rtm_type;
  r.protocol = rt->rtm_protocol;
  r.scope = rt->rtm_scope;
  r.flags = rt->rtm_flags;
  Hop single;
  std::vector<Hop> multi;
  for_each_attr(attrs_after<rtmsg>(m.payload), [&](std::uint16_t t, Bytes d) {
    if (t == RTA_DST && d.size() == r.dst.size()) r.dst.assign(d.begin(), d.end());
    if (t == RTA_TABLE) r.table = read_as<std::uint32_t>(d).value_or(r.table);
    if (t == RTA_OIF) single.oif = read_as<int>(d).value_or(0);
    if (t == RTA_PRIORITY) r.metric = read_as<std::uint32_t>(d).value_or(0);
    if (t == RTA_PREFSRC) r.prefsrc = format_addr(r.family, d);
    if (t == RTA_METRICS) r.mtu = read_mtu_metric(d);
    if (t == RTA_MULTIPATH) multi = read_multipath(r.family, d);
    read_gateway(r.family, t, d, single.gateway);
  });
  r.hops = multi.empty() ? std::vector<Hop>{single} : std::move(multi);
  return r;
}

bool prefix_contains(const std::vector<std::uint8_t>& net, int prefix,
                     const std::vector<std::uint8_t>& addr) {
  if (net.size() != addr.size() || prefix < 0 || prefix > static_cast<int>(net.size()) * 8) {
    return false;
  }
  const auto full = static_cast<std::size_t>(prefix / 8);
  for (std::size_t i = 0; i < full; ++i) {
    if (net[i] != addr[i]) return false;
  }
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFFU << (8 - rest));
  return (net[full] & mask) == (addr[full] & mask);
}

std::string interface_name(int ifindex) {
  if (ifindex <= 0) return "";
  char name[IF_NAMESIZE] = {};
  if (::if_indextoname(static_cast<unsigned>(ifindex), name)) return name;
  return "if" + std::to_string(ifindex);
}

std::string route_type_name(std::uint8_t type) {
  static constexpr std::array<std::pair<int, const char*>, 12> kNames{{
      {RTN_UNSPEC, "none"},
      {RTN_UNICAST, "unicast"},
      {RTN_LOCAL, "local"},
      {RTN_BROADCAST, "broadcast"},
      {RTN_ANYCAST, "anycast"},
      {RTN_MULTICAST, "multicast"},
      {RTN_BLACKHOLE, "blackhole"},
      {RTN_UNREACHABLE, "unreachable"},
      {RTN_PROHIBIT, "prohibit"},
      {RTN_THROW, "throw"},
      {RTN_NAT, "nat"},
      {RTN_XRESOLVE, "xresolve"},
  }};
  return name_or_number(kNames, type);
}

std::string route_protocol_name(std::uint8_t protocol) {
  static constexpr std::array<std::pair<int, const char*>, 15> kNames{{
      {RTPROT_UNSPEC, "unspec"},
      {RTPROT_REDIRECT, "redirect"},
      {RTPROT_KERNEL, "kernel"},
      {RTPROT_BOOT, "boot"},
      {RTPROT_STATIC, "static"},
      {RTPROT_RA, "ra"},
      {RTPROT_ZEBRA, "zebra"},
      {RTPROT_BIRD, "bird"},
      {RTPROT_DHCP, "dhcp"},
      {RTPROT_KEEPALIVED, "keepalived"},
      {RTPROT_BABEL, "babel"},
      {RTPROT_BGP, "bgp"},
      {RTPROT_ISIS, "isis"},
      {RTPROT_OSPF, "ospf"},
      {RTPROT_RIP, "rip"},
  }};
  return name_or_number(kNames, protocol);
}

std::string route_scope_name(std::uint8_t scope) {
  static constexpr std::array<std::pair<int, const char*>, 5> kNames{{
      {RT_SCOPE_UNIVERSE, "global"},
      {RT_SCOPE_SITE, "site"},
      {RT_SCOPE_LINK, "link"},
      {RT_SCOPE_HOST, "host"},
      {RT_SCOPE_NOWHERE, "nowhere"},
  }};
  return name_or_number(kNames, scope);
}

}  // namespace midiag::platform::nl
