// Read-only checks against the host's own loopback routes and default policy rules.
#include "platform/linux/route_lookup.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include "platform/linux/route_parse.h"

using namespace midiag::platform;

namespace {
bool ipv6_loopback_up() {
  std::ifstream f("/proc/net/if_inet6");
  std::stringstream s;
  s << f.rdbuf();
  return s.str().find("00000000000000000000000000000001") != std::string::npos;
}
}  // namespace

TEST(RouteLookup, Ipv4LoopbackIsLocalOnLo) {
  auto r = lookup_route("127.0.0.1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->destination, "127.0.0.1");
  EXPECT_EQ(r->interface, "lo");
  EXPECT_EQ(r->kind, "local");
  EXPECT_EQ(r->table, 255U);
  EXPECT_EQ(r->gateway, "");
  EXPECT_EQ(r->source, "127.0.0.1");
  EXPECT_EQ(r->prefix, 32);  // the host route "local 127.0.0.1" beats 127.0.0.0/8
  EXPECT_GT(r->mtu, 0U);
  EXPECT_TRUE(r->error.empty());
}

TEST(RouteLookup, Ipv4LoopbackNetworkMatchesSlash8) {
  auto r = lookup_route("127.0.0.2");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->kind, "local");
  EXPECT_EQ(r->prefix, 8);
}

TEST(RouteLookup, Ipv6Loopback) {
  if (!ipv6_loopback_up()) GTEST_SKIP() << "IPv6 ::1 not configured";
  auto r = lookup_route("::1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->destination, "::1");
  EXPECT_EQ(r->interface, "lo");
  EXPECT_EQ(r->kind, "local");
  EXPECT_EQ(r->table, 255U);
  EXPECT_EQ(r->prefix, 128);
  EXPECT_GT(r->mtu, 0U);
}

TEST(RouteLookup, GarbageDestinationIsError) {
  for (const char* bad : {"", "not-an-ip", "300.1.1.1", "1.2.3", "::g", "example.com"}) {
    auto r = lookup_route(bad);
    EXPECT_FALSE(r) << bad;
  }
}

TEST(RouteDump, Ipv4HasLoopbackNetworkInLocalTable) {
  auto routes = dump_routes(AF_INET);
  ASSERT_TRUE(routes) << routes.error().message;
  const bool found = std::any_of(routes->begin(), routes->end(), [](const RouteEntry& e) {
    return e.destination == "127.0.0.0" && e.prefix == 8 && e.table == 255 && e.kind == "local" &&
           e.interface == "lo" && e.scope == "host" && e.protocol == "kernel";
  });
  EXPECT_TRUE(found);
}

TEST(RouteDump, Ipv6HasLoopbackHostRoute) {
  if (!ipv6_loopback_up()) GTEST_SKIP() << "IPv6 ::1 not configured";
  auto routes = dump_routes(AF_INET6);
  ASSERT_TRUE(routes) << routes.error().message;
  const bool found = std::any_of(routes->begin(), routes->end(), [](const RouteEntry& e) {
    return e.destination == "::1" && e.prefix == 128 && e.table == 255 && e.kind == "local";
  });
  EXPECT_TRUE(found);
}

TEST(RouteDump, RejectsNonIpFamily) {
  EXPECT_FALSE(dump_routes(AF_UNIX));
  EXPECT_FALSE(dump_rules(AF_PACKET));
}

TEST(RouteRules, Ipv4HasLookupMain) {
  auto rules = dump_rules(AF_INET);
  ASSERT_TRUE(rules) << rules.error().message;
  const auto it = std::find_if(rules->begin(), rules->end(),
                               [](const RuleEntry& r) { return r.priority == 32766; });
  ASSERT_NE(it, rules->end());
  EXPECT_EQ(it->selector, "from all lookup main");
  EXPECT_EQ(it->table, 254U);
  EXPECT_EQ(it->action, "lookup");
  const bool local = std::any_of(rules->begin(), rules->end(), [](const RuleEntry& r) {
    return r.selector == "from all lookup local" && r.table == 255;
  });
  EXPECT_TRUE(local);
}

TEST(RouteRules, TableNames) {
  EXPECT_EQ(route_table_name(255), "local");
  EXPECT_EQ(route_table_name(254), "main");
  EXPECT_EQ(route_table_name(253), "default");
  EXPECT_EQ(route_table_name(1000), "1000");
}

TEST(RouteParse, RejectsLyingAttributeLengths) {
  // rtmsg header, then an RTA_DST attribute whose rta_len claims more bytes than exist.
  const std::uint8_t lying[] = {0xFF, 0x00, RTA_DST, 0x00, 127, 0, 0};  // rta_len 255 > 7
  midiag::platform::nl::Message m{RTM_NEWROUTE, std::vector<std::uint8_t>(sizeof(rtmsg))};
  m.payload[0] = AF_INET;
  for (std::uint8_t b : lying) m.payload.push_back(b);
  const auto r = midiag::platform::nl::parse_route(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dst, std::vector<std::uint8_t>(4, 0));  // the lying attribute was not read
  m.payload.resize(sizeof(rtmsg) - 1);
  EXPECT_FALSE(midiag::platform::nl::parse_route(m));
}

TEST(RouteParse, SurvivesRandomPayloads) {
  // What every parsed route must satisfy, however the attributes lie.
  static const std::vector<std::string> kTypeNames = {
      "none",      "unicast",     "local",    "broadcast", "anycast", "multicast",
      "blackhole", "unreachable", "prohibit", "throw",     "nat",     "xresolve"};
  std::mt19937 rng(42);  // fixed seed: reproducible; ASan builds turn overreads into failures
  int parsed = 0;
  for (int i = 0; i < 5000; ++i) {
    midiag::platform::nl::Message m{RTM_NEWROUTE, std::vector<std::uint8_t>(rng() % 96)};
    for (auto& b : m.payload) b = static_cast<std::uint8_t>(rng() % 8 == 0 ? rng() % 24 : rng());
    if (!m.payload.empty()) m.payload[0] = (i % 2) ? AF_INET : AF_INET6;
    const auto r = midiag::platform::nl::parse_route(m);
    if (m.payload.size() < sizeof(rtmsg)) {
      EXPECT_FALSE(r) << "a " << m.payload.size() << "-byte payload has no rtmsg";
      continue;
    }
    ASSERT_TRUE(r) << "round " << i;  // a whole rtmsg of a known family always parses
    ++parsed;
    EXPECT_EQ(r->family, m.payload[0]);
    EXPECT_EQ(r->dst.size(), r->family == AF_INET ? 4U : 16U);
    EXPECT_EQ(r->dst_len, m.payload[1]);
    EXPECT_FALSE(r->hops.empty());
    for (const auto& hop : r->hops) {
      unsigned char buf[16];
      EXPECT_TRUE(hop.gateway.empty() || inet_pton(AF_INET, hop.gateway.c_str(), buf) == 1 ||
                  inet_pton(AF_INET6, hop.gateway.c_str(), buf) == 1)
          << hop.gateway;
    }
    // The kind a lookup reports: a known name, or the number when the kernel is newer than us.
    const std::string kind = nl::route_type_name(r->type);
    const bool known = std::find(kTypeNames.begin(), kTypeNames.end(), kind) != kTypeNames.end();
    EXPECT_TRUE(known || kind == std::to_string(r->type)) << kind;
    EXPECT_EQ(known, r->type <= RTN_XRESOLVE) << kind;
  }
  EXPECT_GT(parsed, 1000);  // the random payloads do reach the attribute walk
}
