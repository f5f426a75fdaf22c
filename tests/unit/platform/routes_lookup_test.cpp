// The route lookup: longest prefix, then metric; Linux policy rules table by table (throw,
// unreachable, prohibit, suppress_prefixlength, fwmark, not); inactive and linkdown never chosen;
// a VPN exclude over an include.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "platform/routes/route_table.h"

namespace rt = midiag::platform::routes;

namespace {

const std::string kData = MIDIAG_SOURCE_DIR "/tests/unit/platform/routes_data/";

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

rt::RouteTable linux_table(const std::string& text) {
  auto t = rt::parse_linux(text);
  EXPECT_TRUE(t) << (t ? "" : t.error().message);
  return t ? *t : rt::RouteTable{};
}

rt::Address addr(const char* s) {
  return *rt::Address::parse(s);
}

const rt::RouteEntry& chosen(const rt::RouteTable& t, const rt::Lookup& l) {
  static const rt::RouteEntry none;
  return l.route ? t.routes.at(*l.route) : none;
}

TEST(RoutesLookup, LongestPrefixWinsOverLowerMetric) {
  auto t = linux_table(
      "default via 10.0.0.1 dev eth0 metric 100\n"
      "10.1.0.0/16 via 10.0.0.2 dev eth0 metric 100\n"
      "10.1.2.0/24 dev wg0 metric 500\n");
  auto l = rt::lookup(t, addr("10.1.2.3"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(*l.route, 2u);
  EXPECT_EQ((std::vector<std::size_t>{1, 0}), l.beaten);
  EXPECT_NE(l.reason.find("/24 is the longest matching prefix"), std::string::npos) << l.reason;
  EXPECT_NE(l.reason.find("main"), std::string::npos) << l.reason;

  l = rt::lookup(t, addr("10.1.9.9"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(*l.route, 1u);
  l = rt::lookup(t, addr("192.0.2.1"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(*l.route, 0u);
  EXPECT_NE(l.reason.find("only route"), std::string::npos) << l.reason;
}

TEST(RoutesLookup, EqualPrefixGoesToTheLowerMetricWhateverTheOrder) {
  for (bool reversed : {false, true}) {
    std::string a = "default via 192.168.2.1 dev enp0s25 proto static metric 100\n";
    std::string b = "default via 192.168.2.1 dev wlp3s0 proto static metric 150\n";
    auto t = linux_table(reversed ? b + a : a + b);
    auto l = rt::lookup(t, addr("203.0.113.9"));
    ASSERT_TRUE(l.route);
    EXPECT_EQ(chosen(t, l).interface, "enp0s25");
    EXPECT_EQ(l.beaten.size(), 1u);
    EXPECT_NE(l.reason.find("metric 100 beat 150"), std::string::npos) << l.reason;
  }
}

TEST(RoutesLookup, LinkdownRouteIsNeverChosenAndTheReasonSaysSo) {
  auto t = linux_table(
      "default via 10.0.2.2 dev enp0s3 proto dhcp metric 100\n"
      "172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown\n");
  ASSERT_FALSE(t.routes[1].active);
  auto l = rt::lookup(t, addr("172.17.0.5"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(*l.route, 0u);
  EXPECT_NE(l.reason.find("linkdown"), std::string::npos) << l.reason;
  EXPECT_EQ((std::vector<std::size_t>{1}), l.beaten);
}

TEST(RoutesLookup, MultipathSkipsTheLinkdownNexthop) {
  auto t = linux_table(read(kData + "multipath.txt"));
  auto l = rt::lookup(t, addr("198.51.100.1"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(chosen(t, l).interface, "eth0");
  EXPECT_EQ(chosen(t, l).gateway->text(), "10.0.0.1");
}

class PolicyTables : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto rules = read(kData + "policy_rules.txt");
    const auto routes = read(kData + "policy_table_all.txt");
    ASSERT_FALSE(rules.empty());
    ASSERT_FALSE(routes.empty());
    t = linux_table(rules + routes);  // `ip rule; ip route show table all` in one file
    ASSERT_EQ(t.rules.size(), 8u);
    ASSERT_TRUE(t.unread.empty()) << t.unread.front().text;
  }
  const rt::PolicyRule& rule(const rt::Lookup& l) { return t.rules.at(l.rule.value()); }
  rt::RouteTable t;
};

TEST_F(PolicyTables, ARuleSendsItsDestinationToItsTable) {
  auto l = rt::lookup(t, addr("10.50.1.1"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(chosen(t, l).table, "100");
  EXPECT_EQ(chosen(t, l).interface, "wg0");
  EXPECT_EQ(rule(l).priority, 100u);
  EXPECT_NE(l.reason.find("rule 100"), std::string::npos) << l.reason;
  EXPECT_NE(l.reason.find("table 100"), std::string::npos) << l.reason;
}

TEST_F(PolicyTables, ThrowGoesOnToTheNextRule) {
  auto l = rt::lookup(t, addr("10.50.7.9"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(chosen(t, l).table, "main");
  EXPECT_EQ(chosen(t, l).interface, "eth0");
  EXPECT_EQ(rule(l).priority, 32766u);
  EXPECT_NE(l.reason.find("threw"), std::string::npos) << l.reason;
}

TEST_F(PolicyTables, UnreachableRouteEndsTheLookup) {
  auto l = rt::lookup(t, addr("10.60.3.3"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(chosen(t, l).kind, "unreachable");
  EXPECT_EQ(rule(l).priority, 150u);
  EXPECT_NE(l.reason.find("answers unreachable"), std::string::npos) << l.reason;
}

TEST_F(PolicyTables, ProhibitRuleEndsTheLookupWithoutARoute) {
  auto l = rt::lookup(t, addr("10.70.0.1"));
  EXPECT_FALSE(l.route);
  EXPECT_EQ(rule(l).priority, 160u);
  EXPECT_NE(l.reason.find("prohibit"), std::string::npos) << l.reason;
}

TEST_F(PolicyTables, FwmarkAndSourceRulesDoNotApplyToAnUnmarkedUnboundLookup) {
  // Table 200 (fwmark 0x1) has a default and table 300 (from 192.168.9.0/24) has 10/8: neither is
  // used for a plain lookup; main's default is.
  auto l = rt::lookup(t, addr("10.99.0.1"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(chosen(t, l).table, "main");
  EXPECT_EQ(chosen(t, l).gateway->text(), "192.168.1.1");
  EXPECT_NE(l.reason.find("source address"), std::string::npos) << l.reason;
}

TEST_F(PolicyTables, LocalTableComesFirst) {
  auto l = rt::lookup(t, addr("192.168.1.10"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(chosen(t, l).kind, "local");
  EXPECT_EQ(rule(l).priority, 0u);
  auto l6 = rt::lookup(t, addr("::1"));
  ASSERT_TRUE(l6.route);
  EXPECT_EQ(chosen(t, l6).kind, "local");
  auto out6 = rt::lookup(t, addr("2001:db8::5"));
  ASSERT_TRUE(out6.route);
  EXPECT_EQ(chosen(t, out6).gateway->text(), "fe80::1");
}

TEST(RoutesLookup, WithoutRulesTheKernelDefaultsApplyAndOtherTablesAreNotConsulted) {
  auto t = linux_table(read(kData + "policy_table_all.txt"));
  ASSERT_TRUE(t.rules.empty());
  auto l = rt::lookup(t, addr("10.50.1.1"));  // table 100 has it, but no rule reads table 100
  ASSERT_TRUE(l.route);
  EXPECT_EQ(chosen(t, l).table, "main");
  EXPECT_FALSE(l.rule);
  EXPECT_NE(l.reason.find("default rule 32766"), std::string::npos) << l.reason;
  auto local = rt::lookup(t, addr("127.0.0.53"));
  ASSERT_TRUE(local.route);
  EXPECT_EQ(chosen(t, local).destination.text(), "127.0.0.0/8");
  EXPECT_NE(local.reason.find("default rule 0"), std::string::npos) << local.reason;
}

TEST(RoutesLookup, WireGuardSuppressPrefixlengthAndNotFwmark) {
  auto t = linux_table(read(kData + "wireguard_rules_routes.txt"));
  ASSERT_EQ(t.rules.size(), 5u);
  EXPECT_TRUE(t.rules[2].invert);
  EXPECT_EQ(t.rules[2].fwmark, 0xca6cu);
  // The Internet: main's default is suppressed (/0), the unmarked packet goes to the tunnel.
  auto l = rt::lookup(t, addr("8.8.8.8"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(chosen(t, l).interface, "wg0");
  EXPECT_EQ(t.rules.at(*l.rule).priority, 32765u);
  EXPECT_NE(l.reason.find("suppresses"), std::string::npos) << l.reason;
  // The LAN: main's /24 is longer than the suppressed length.
  l = rt::lookup(t, addr("192.168.1.7"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(chosen(t, l).interface, "eth0");
  EXPECT_EQ(t.rules.at(*l.rule).priority, 32764u);
}

TEST(RoutesLookup, NoRouteSaysSo) {
  auto t = linux_table("10.0.0.0/8 dev eth0 scope link\n");
  auto l = rt::lookup(t, addr("192.0.2.1"));
  EXPECT_FALSE(l.route);
  EXPECT_TRUE(l.beaten.empty());
  EXPECT_NE(l.reason.find("no route for 192.0.2.1"), std::string::npos) << l.reason;
  // An IPv4 table never answers for IPv6.
  EXPECT_FALSE(rt::lookup(t, addr("2001:db8::1")).route);
}

TEST(RoutesLookup, Ipv6DefaultWithoutGatewayTakesItsNeighboursFamily) {
  auto t = linux_table(read(kData + "ipv6_default_dev.txt"));
  ASSERT_EQ(t.routes.size(), 3u);
  EXPECT_EQ(t.routes[1].family(), 6);
  EXPECT_EQ(t.routes[2].family(), 6);
  auto l = rt::lookup(t, addr("2001:db8:99::1"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(chosen(t, l).interface, "wg0");  // metric 1024 beats the unreachable's 4294967295
  EXPECT_FALSE(rt::lookup(t, addr("192.0.2.1")).route);
}

rt::RouteEntry entry(const char* prefix, const char* iface, std::uint32_t metric,
                     const char* kind = "unicast", bool active = true) {
  rt::RouteEntry e;
  e.destination = *rt::Prefix::parse(prefix);
  e.interface = iface;
  e.metric = metric;
  e.kind = kind;
  e.active = active;
  return e;
}

TEST(RoutesLookup, WindowsMetricBreaksTheTieOfEqualPrefixes) {
  rt::RouteTable t;
  t.format = rt::SourceFormat::Windows;
  t.routes = {entry("0.0.0.0/0", "192.168.1.20", 35), entry("0.0.0.0/0", "10.8.0.2", 25),
              entry("10.0.0.0/8", "10.8.0.2", 281)};
  auto l = rt::lookup(t, addr("52.1.1.1"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(*l.route, 1u);
  EXPECT_NE(l.reason.find("metric 25 beat 35"), std::string::npos) << l.reason;
  l = rt::lookup(t, addr("10.3.3.3"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(*l.route, 2u);  // the prefix first, however high its metric
}

TEST(RoutesLookup, InactiveEntriesAreNeverChosen) {
  rt::RouteTable t;
  t.format = rt::SourceFormat::AzureEffective;
  t.routes = {entry("10.0.0.0/16", "VirtualNetworkGateway", 0, "VirtualNetworkGateway", false),
              entry("0.0.0.0/0", "Internet", 0, "Internet")};
  auto l = rt::lookup(t, addr("10.0.5.4"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(*l.route, 1u);
  EXPECT_NE(l.reason.find("not usable"), std::string::npos) << l.reason;
}

TEST(RoutesLookup, VpnExcludeWinsOverAnIncludeOfEqualOrShorterPrefix) {
  rt::RouteTable t;
  t.format = rt::SourceFormat::AzureVpnXml;
  t.routes = {entry("10.0.0.0/8", "vpn", 0), entry("10.5.0.0/16", "vpn", 0, "exclude", false),
              entry("10.5.1.0/24", "vpn", 0)};
  auto l = rt::lookup(t, addr("10.5.9.9"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(*l.route, 1u);
  EXPECT_NE(l.reason.find("excluded"), std::string::npos) << l.reason;
  l = rt::lookup(t, addr("10.5.1.1"));  // the longer include wins over the exclude
  ASSERT_TRUE(l.route);
  EXPECT_EQ(*l.route, 2u);
  l = rt::lookup(t, addr("10.6.0.1"));
  ASSERT_TRUE(l.route);
  EXPECT_EQ(*l.route, 0u);
}

}  // namespace
