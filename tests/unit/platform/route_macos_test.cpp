// macOS/BSD netstat route tables: the public fixtures read in place, checked against jc's
// parse of the same files (an independent answer key), and hostile text.
#include <gtest/gtest.h>

#include <cstdlib>

#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "platform/routes/route_table.h"
#include "tests/unit/support/shared_fixture.h"

using namespace midiag::platform::routes;

namespace {

const std::string kRoutes = MIDIAG_SOURCE_DIR "/../shared/fixtures/realworld/routes/";

#define LOAD_OR_SKIP(var, name) TEXT_OR_SKIP(var, kRoutes + (name))

RouteTable parse_ok(const std::string& text) {
  auto t = parse_macos(text);
  EXPECT_TRUE(t) << (t ? "" : t.error().message);
  return t ? *t : RouteTable{};
}

const RouteEntry* find(const RouteTable& t, const std::string& dest, const std::string& iface) {
  for (const auto& r : t.routes)
    if (r.destination.text() == dest && r.interface == iface) return &r;
  return nullptr;
}

// The line numbers of a netstat listing's data rows, in order (jc lists one entry per row).
std::vector<std::size_t> data_lines(const std::string& text) {
  std::vector<std::size_t> out;
  std::size_t no = 0, pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++no;
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (line.starts_with("Routing tables") || line.starts_with("Destination")) continue;
    if (line.back() == ':' && line.find(' ') == std::string::npos) continue;
    out.push_back(no);
  }
  return out;
}

struct KeyCheck {
  std::size_t read = 0, unread = 0;
};

// Every row we read agrees with jc on destination, gateway, flags and interface; every row we
// did not read is listed with its line number.
KeyCheck check_against_jc(const std::string& text, const std::string& key_json) {
  const auto t = parse_ok(text);
  const auto key = nlohmann::json::parse(key_json);
  const auto lines = data_lines(text);
  EXPECT_EQ(lines.size(), key.size());
  std::map<std::size_t, const RouteEntry*> by_line;
  for (const auto& r : t.routes) by_line[std::stoul(r.origin.substr(5))] = &r;
  std::map<std::size_t, std::string> unread;
  for (const auto& u : t.unread) unread[u.line] = u.reason;
  KeyCheck c;
  for (std::size_t i = 0; i < lines.size() && i < key.size(); ++i) {
    const auto& k = key[i];
    const auto it = by_line.find(lines[i]);
    if (it == by_line.end()) {
      EXPECT_TRUE(unread.count(lines[i])) << "line " << lines[i] << " neither read nor listed";
      ++c.unread;
      continue;
    }
    ++c.read;
    const RouteEntry& r = *it->second;
    const std::string dest = k["destination"];
    const auto want = dest == "default" ? Prefix::parse(r.family() == 6 ? "::/0" : "0.0.0.0/0")
                                        : Prefix::parse(dest);
    EXPECT_TRUE(want) << dest;
    if (!want) continue;
    EXPECT_EQ(r.destination.text(), want->text()) << "line " << lines[i];
    EXPECT_EQ(r.gateway_text, k["gateway"].get<std::string>()) << "line " << lines[i];
    EXPECT_EQ(r.flags, k["route_flags"].get<std::string>()) << "line " << lines[i];
    EXPECT_EQ(r.interface, k["iface"].get<std::string>()) << "line " << lines[i];
  }
  return c;
}

}  // namespace

TEST(RouteMacos, Osx10146NumericAgreesWithJcOnEveryRow) {
  LOAD_OR_SKIP(text, "jc_osx-10.14.6_netstat-rnl.out");
  LOAD_OR_SKIP(key, "jc_osx-10.14.6_netstat-rnl.expected.json");
  const auto c = check_against_jc(text, key);
  EXPECT_EQ(c.read, 89U);
  EXPECT_EQ(c.unread, 0U);
  const auto t = parse_ok(text);
  EXPECT_TRUE(t.unread.empty());
  EXPECT_EQ(t.format, SourceFormat::MacOs);
  const auto* lan = find(t, "192.168.1.0/24", "en0");  // written "192.168.1"
  ASSERT_TRUE(lan);
  EXPECT_FALSE(lan->gateway);  // link#10: on-link
  EXPECT_EQ(lan->gateway_text, "link#10");
  const auto* v6def = find(t, "::/0", "en0");
  ASSERT_TRUE(v6def);
  ASSERT_TRUE(v6def->gateway);
  EXPECT_EQ(v6def->gateway->text(), "fe80::feae:34ff:fea1:3a80");
  EXPECT_EQ(v6def->gateway->zone, "%en0");
  EXPECT_TRUE(v6def->active);
  // A gateway that fills its 31-character column but ends in its own interface's zone is whole.
  const auto* utun_ll = find(t, "fe80::/64", "utun0");
  ASSERT_TRUE(utun_ll);
  EXPECT_EQ(utun_ll->gateway_text, "fe80::30fe:52f1:103c:c66c%utun0");
  // The utun defaults are interface-scoped (flag I): never chosen for an unbound connection.
  const auto* utun = find(t, "::/0", "utun0");
  ASSERT_TRUE(utun);
  EXPECT_FALSE(utun->active);
}

TEST(RouteMacos, Osx10146NamesAreListedNotGuessed) {
  LOAD_OR_SKIP(text, "jc_osx-10.14.6_netstat-r.out");
  LOAD_OR_SKIP(key, "jc_osx-10.14.6_netstat-r.expected.json");
  const auto c = check_against_jc(text, key);
  EXPECT_EQ(c.read, 18U);
  EXPECT_EQ(c.unread, 68U);
  const auto t = parse_ok(text);
  EXPECT_NE(t.note.find("netstat -rn"), std::string::npos) << t.note;
  std::map<std::string, int> reasons;
  for (const auto& u : t.unread) ++reasons[u.reason];
  EXPECT_GT(reasons["names, not addresses: run netstat -rn"], 10);
  EXPECT_EQ(reasons["gateway is a name, not an address: run netstat -rn"], 0);
  EXPECT_GT(reasons["IPv6 network without its prefix length: run netstat -rn"], 5);  // fe80::%lo0
  // "2600:1700:bab0:d40" and "fe80::aede:48ff:fe" fill the 18-character column: cut.
  bool cut = false;
  for (const auto& u : t.unread)
    if (u.text.starts_with("fe80::aede:48ff:fe ")) {
      cut = true;
      EXPECT_NE(u.reason.find("may be cut"), std::string::npos) << u.reason;
    }
  EXPECT_TRUE(cut);
  for (const auto& r : t.routes) EXPECT_NE(r.destination.text(), "fe80::aede:48ff:fe/128");
  // The default route's gateway is a name ("dsldevice.attlocal"): kept as the gateway route it
  // is (jc's answer key has it), under that name, never made on-link or given an address.
  const auto* def = find(t, "0.0.0.0/0", "en0");
  ASSERT_TRUE(def);
  EXPECT_FALSE(def->gateway.has_value());
  EXPECT_EQ(def->gateway_text, "dsldevice.attlocal");
  EXPECT_NE(def->flags.find('G'), std::string::npos);
  EXPECT_TRUE(find(t, "127.0.0.0/8", "lo0"));  // "127 localhost": the loopback
  EXPECT_EQ(find(t, "127.0.0.0/8", "lo0")->gateway->text(), "127.0.0.1");
}

TEST(RouteMacos, FreeBsd12AgreesWithJcAndCutAddressIsNotRead) {
  LOAD_OR_SKIP(text, "jc_freebsd12_netstat-r.out");
  LOAD_OR_SKIP(key, "jc_freebsd12_netstat-r.expected.json");
  const auto c = check_against_jc(text, key);
  EXPECT_EQ(c.read, 10U);
  EXPECT_EQ(c.unread, 3U);  // two "localhost" destinations and the cut "fe80::20c:29ff:fe1"
  const auto t = parse_ok(text);
  const auto* v6 = find(t, "::/96", "lo0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->kind, "unreachable");     // UGRS: R is reject
  EXPECT_EQ(v6->gateway->text(), "::1");  // "localhost" in the IPv6 section
  const auto* def = find(t, "0.0.0.0/0", "em0");
  ASSERT_TRUE(def);
  EXPECT_EQ(def->gateway->text(), "192.168.71.2");
}

TEST(RouteMacos, Macos10126AbbreviationsLinkAndMacGateways) {
  LOAD_OR_SKIP(text, "getmac_macos_10.12.6__netstat_-rn.out");
  const auto t = parse_ok(text);
  EXPECT_TRUE(t.unread.empty());
  EXPECT_EQ(t.routes.size(), 21U);
  EXPECT_TRUE(find(t, "127.0.0.0/8", "lo0"));
  EXPECT_TRUE(find(t, "169.254.0.0/16", "en0"));
  EXPECT_TRUE(find(t, "10.0.2.0/24", "en0"));
  EXPECT_TRUE(find(t, "224.0.0.0/4", "en0"));
  const auto* def = find(t, "0.0.0.0/0", "en0");
  ASSERT_TRUE(def);
  EXPECT_EQ(def->gateway->text(), "10.0.2.2");
  EXPECT_TRUE(def->active);
  const auto* neighbour = find(t, "10.0.2.3/32", "en0");  // a MAC gateway: on-link host
  ASSERT_TRUE(neighbour);
  EXPECT_FALSE(neighbour->gateway);
  EXPECT_EQ(neighbour->gateway_text, "52:54:0:12:35:3");
  const auto* ll = find(t, "fe80::/64", "en0");
  ASSERT_TRUE(ll);
  EXPECT_EQ(ll->destination.network.zone, "%en0");
  ASSERT_EQ(t.interfaces.size(), 2U);
  EXPECT_EQ(t.interfaces[0].name, "en0");
  EXPECT_EQ(t.interfaces[1].name, "lo0");
}

TEST(RouteMacos, Macos15NewLayoutAndUtunScopedDefaults) {
  LOAD_OR_SKIP(text, "getmac_macos_15.7.9__netstat_-rn.out");
  const auto t = parse_ok(text);
  EXPECT_TRUE(t.unread.empty());
  EXPECT_TRUE(find(t, "198.51.100.0/24", "en0"));
  const auto* bcast = find(t, "198.51.100.255/32", "en0");
  ASSERT_TRUE(bcast);
  EXPECT_EQ(bcast->kind, "broadcast");
  int v6_defaults = 0;
  for (const auto& r : t.routes)
    if (r.destination.text() == "::/0") {
      ++v6_defaults;
      EXPECT_TRUE(r.interface.starts_with("utun"));
      EXPECT_FALSE(r.active);  // UGcIg: scoped to its utun
      EXPECT_EQ(r.gateway->zone, "%" + r.interface);
    }
  EXPECT_EQ(v6_defaults, 4);
  EXPECT_TRUE(find(t, "0.0.0.0/0", "en0")->active);
}

TEST(RouteMacos, DarwinVpnDefaultWinsOverScopedWifiDefault) {
  LOAD_OR_SKIP(text, "jackpal_darwin.txt");
  const auto t = parse_ok(text);
  ASSERT_EQ(t.routes.size(), 2U);
  EXPECT_TRUE(t.unread.empty());  // the trailing line of spaces is blank, not a row
  EXPECT_EQ(t.routes[0].interface, "utun3");
  EXPECT_FALSE(t.routes[0].gateway);  // link#17
  EXPECT_TRUE(t.routes[0].active);
  EXPECT_EQ(t.routes[1].interface, "en0");
  EXPECT_EQ(t.routes[1].gateway->text(), "192.168.1.254");
  EXPECT_FALSE(t.routes[1].active);  // UGScIg
}

TEST(RouteMacos, BsdLayouts) {
  {
    LOAD_OR_SKIP(text, "jackpal_freeBSD.txt");
    const auto t = parse_ok(text);
    EXPECT_TRUE(t.unread.empty());
    EXPECT_EQ(t.routes.size(), 13U);
    EXPECT_TRUE(find(t, "172.31.16.0/20", "ena0"));
    EXPECT_EQ(find(t, "::ffff:0.0.0.0/96", "lo0")->kind, "unreachable");
  }
  {
    LOAD_OR_SKIP(text, "jackpal_netBSD.txt");  // Refs Use Mtu Interface; "127/8", "172.31.16/20"
    const auto t = parse_ok(text);
    EXPECT_TRUE(t.unread.empty());
    EXPECT_EQ(t.routes.size(), 27U);
    EXPECT_TRUE(find(t, "127.0.0.0/8", "lo0"));
    EXPECT_TRUE(find(t, "172.31.16.0/20", "ena0"));
    const auto* self = find(t, "127.0.0.1/32", "lo0");
    ASSERT_TRUE(self);
    EXPECT_FALSE(self->gateway);     // gateway column "lo0"
    EXPECT_EQ(self->kind, "local");  // UHl
    EXPECT_EQ(find(t, "0.0.0.0/0", "ena0")->gateway->text(), "172.31.16.1");
  }
  {
    LOAD_OR_SKIP(text, "getmac_openbsd_6__route_nq_show_inet_gateway_priority_1.out");
    const auto t = parse_ok(text);
    ASSERT_EQ(t.routes.size(), 2U);
    EXPECT_EQ(t.routes[0].metric, 1U);  // Prio
    EXPECT_EQ(t.routes[0].kind, "broadcast");
    EXPECT_EQ(t.routes[1].interface, "lo0");
  }
  {
    LOAD_OR_SKIP(text, "getmac_freebsd11__netstat_r.out");
    const auto t = parse_ok(text);
    ASSERT_EQ(t.unread.size(), 2U);  // "getmac-freebsd" and "localhost" as destinations
    EXPECT_EQ(t.unread[0].line, 8U);
    EXPECT_EQ(t.unread[0].reason, "names, not addresses: run netstat -rn");
    EXPECT_EQ(t.routes.size(), 9U);
  }
}

TEST(RouteMacos, NothingOfATableIsAUsageError) {
  for (const char* text : {"", "\n\n", "hello world\n", "Routing tables\n\nInternet:\n",
                           "Destination Gateway Flags Netif Expire\n"}) {
    auto t = parse_macos(text);
    ASSERT_FALSE(t) << text;
    EXPECT_EQ(t.error().kind, midiag::ErrorKind::Usage);
    EXPECT_NE(t.error().message.find("netstat -rn"), std::string::npos);
  }
  auto linux_table = parse_macos(
      "Kernel IP routing table\n"
      "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n"
      "0.0.0.0         10.0.2.2        0.0.0.0         UG    100    0        0 eth0\n");
  ASSERT_FALSE(linux_table);
  EXPECT_NE(linux_table.error().message.find("Genmask"), std::string::npos);
}

TEST(RouteMacos, HostileTextIsListedNotFatal) {
  const std::string text =
      "Routing tables\r\n\r\nInternet:\r\n"
      "Destination\tGateway\tFlags\tNetif Expire\r\n"
      "default\t10.1.1.1\tUGSc\ten0\r\n"
      "10.9/16 link#4 UCS en0 ! extra columns\r\n"
      "nonsense\r\n"
      "10.1/33 link#4 UCS en0\r\n"
      "10.2/16 ::zz UCS en0\r\n"
      "\x01\xff\xfe garbage \x7f\r\n"
      "AppleTalk:\r\n"
      "x y z w\r\n";
  const auto t = parse_ok(text);
  ASSERT_EQ(t.routes.size(), 1U);
  EXPECT_EQ(t.routes[0].gateway->text(), "10.1.1.1");  // tabs and CRLF
  EXPECT_EQ(t.unread.size(), 6U);
  EXPECT_EQ(t.unread[0].reason, "more columns than the header");
  EXPECT_EQ(t.unread[0].line, 6U);
  EXPECT_EQ(t.unread.back().reason, "not an Internet section");
}

TEST(RouteMacos, UnreadListIsBoundedButCounted) {
  std::string text = "Internet:\nDestination Gateway Flags Netif\n";
  for (int i = 0; i < 5000; ++i) text += "bogus line here\n";
  const auto t = parse_ok(text);
  ASSERT_EQ(t.unread.size(), 1001U);
  EXPECT_NE(t.unread.back().reason.find("4000 more lines"), std::string::npos);
}
