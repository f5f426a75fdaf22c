// Windows `route print` and `netsh ... show route`, on real outputs (read in place from
// ../shared/fixtures/realworld/routes) and on our own fixtures for what those lack (German, UTF-16,
// a cut table, tabs and extra columns: tests/fixtures/routes).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "platform/routes/route_table.h"
#include "tests/unit/support/shared_fixture.h"

using namespace midiag::platform::routes;

namespace {

const std::string kShared = MIDIAG_SOURCE_DIR "/../shared/fixtures/realworld/routes/";
const std::string kOwn = MIDIAG_SOURCE_DIR "/tests/fixtures/routes/";

// As the CLI reads a file: bytes, then normalize_text (UTF-16, BOM, CRLF).
#define LOAD_OR_SKIP(var, name)              \
  TEXT_OR_SKIP(var##_raw, kShared + (name)); \
  const std::string var = normalize_text(var##_raw)

std::string own(const std::string& name) {
  auto raw = midiag::test_support::read_text_file(kOwn + name);
  EXPECT_TRUE(raw) << kOwn + name;
  return normalize_text(raw.value_or(""));
}

RouteTable parse_ok(const std::string& text) {
  auto r = parse_windows(text);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : RouteTable{};
}

std::string metric(const RouteEntry& e) {
  return e.metric ? std::to_string(*e.metric) : "none";
}

// How many lines of `text` start (after spaces) like a row of each kind: counted without the
// parser, so a row it silently dropped shows up as a difference.
std::size_t count_lines(const std::string& text, bool (*pred)(const std::string&)) {
  std::istringstream in(text);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) n += pred(line) ? 1 : 0;
  return n;
}

}  // namespace

TEST(RouteParseWindows, EnglishRoutePrintWithPersistentRoutes) {
  LOAD_OR_SKIP(text, "jackpal_windows.txt");
  const RouteTable t = parse_ok(text);
  EXPECT_EQ(t.format, SourceFormat::Windows);
  ASSERT_EQ(t.interfaces.size(), 2U);
  EXPECT_EQ(t.interfaces[0].index, "8");
  EXPECT_EQ(t.interfaces[0].mac, "00:12:3f:a7:17:ba");
  EXPECT_EQ(t.interfaces[0].name, "Intel(R) PRO/100 VE Network Connection");
  EXPECT_EQ(t.interfaces[1].mac, "");
  EXPECT_EQ(t.interfaces[1].name, "Software Loopback Interface 1");
  ASSERT_EQ(t.routes.size(), 6U);
  const RouteEntry& d = t.routes[0];
  EXPECT_EQ(d.destination.text(), "0.0.0.0/0");
  ASSERT_TRUE(d.gateway);
  EXPECT_EQ(d.gateway->text(), "10.88.88.2");
  EXPECT_EQ(d.interface, "10.88.88.149");
  EXPECT_EQ(metric(d), "10");
  EXPECT_TRUE(d.active);
  EXPECT_FALSE(d.persistent);
  EXPECT_EQ(d.origin, "line 10");
  EXPECT_FALSE(t.routes[1].gateway);  // On-link
  EXPECT_EQ(t.routes[1].gateway_text, "On-link");
  // Persistent Routes: no interface column, "Default" metric; kept, but not active.
  const RouteEntry& p = t.routes[4];
  EXPECT_TRUE(p.persistent);
  EXPECT_FALSE(p.active);
  EXPECT_EQ(p.destination.text(), "0.0.0.0/0");
  EXPECT_EQ(p.gateway->text(), "10.88.88.2");
  EXPECT_EQ(metric(p), "none");
  EXPECT_EQ(p.interface, "");
  EXPECT_EQ(t.routes[5].destination.text(), "192.168.1.255/32");
  EXPECT_EQ(metric(t.routes[5]), "1");
  EXPECT_TRUE(t.unread.empty());
}

TEST(RouteParseWindows, FrenchAndSpanishByShapeNotWords) {
  LOAD_OR_SKIP(fr, "jackpal_windowsLocalized.txt");
  const RouteTable f = parse_ok(fr);
  ASSERT_EQ(f.routes.size(), 1U);
  EXPECT_EQ(f.routes[0].gateway->text(), "10.88.88.2");
  EXPECT_EQ(f.interfaces.size(), 2U);
  EXPECT_TRUE(f.unread.empty());

  LOAD_OR_SKIP(es, "jackpal_windowsLocalized2.txt");
  const RouteTable s = parse_ok(es);
  ASSERT_EQ(s.interfaces.size(), 7U);
  EXPECT_EQ(s.interfaces[0].index, "29");
  EXPECT_EQ(s.interfaces[0].name, "SGNAutobahn Tunnel");
  EXPECT_EQ(s.interfaces[2].mac, "01:02:03:04:05:60");
  ASSERT_EQ(s.routes.size(), 2U);
  EXPECT_EQ(s.routes[0].gateway->text(), "192.168.100.1");
  EXPECT_EQ(metric(s.routes[0]), "35");
  // "En vínculo" (two words) is the gateway column, by position: on-link.
  EXPECT_EQ(s.routes[1].destination.text(), "0.0.0.0/2");
  EXPECT_FALSE(s.routes[1].gateway);
  EXPECT_EQ(s.routes[1].gateway_text, "En v\xC3\xADnculo");
  EXPECT_EQ(s.routes[1].interface, "123.45.0.10");
  EXPECT_EQ(metric(s.routes[1]), "250");
  EXPECT_TRUE(s.unread.empty());
  EXPECT_EQ(s.note, "route print: IPv4 and IPv6 sections");
}

TEST(RouteParseWindows, GermanWithIpv6AndPersistentSections) {
  const RouteTable t = parse_ok(own("windows_de_route_print.txt"));
  ASSERT_EQ(t.interfaces.size(), 4U);
  EXPECT_EQ(t.interfaces[1].name, "Azure-VNet-P2S");
  EXPECT_EQ(t.interfaces[2].mac, "00:00:00:00:00:00:00:e0");  // a tunnel: eight pairs, no dots
  EXPECT_EQ(t.interfaces[2].name, "Microsoft ISATAP Adapter #2");
  ASSERT_EQ(t.routes.size(), 16U);
  EXPECT_EQ(t.routes[1].destination.text(), "10.5.0.0/24");
  EXPECT_FALSE(t.routes[1].gateway);
  EXPECT_EQ(t.routes[1].gateway_text, "Auf Verbindung");
  EXPECT_EQ(t.routes[1].interface, "172.16.201.3");
  // "Ständige Routen": persistent, "Standard" metric is none.
  EXPECT_TRUE(t.routes[8].persistent);
  EXPECT_EQ(t.routes[8].destination.text(), "10.9.0.0/16");
  EXPECT_TRUE(t.routes[9].persistent);
  EXPECT_EQ(metric(t.routes[9]), "none");
  // IPv6: the If column maps to the interface list; a long destination's gateway on the next line.
  const RouteEntry& v6d = t.routes[10];
  EXPECT_EQ(v6d.destination.text(), "::/0");
  EXPECT_EQ(v6d.gateway->text(), "fe80::1");
  EXPECT_EQ(v6d.interface, "12");
  EXPECT_EQ(v6d.interface_name, "Intel(R) Ethernet Connection (7) I219-LM");
  EXPECT_FALSE(v6d.persistent);
  const RouteEntry& wrapped = t.routes[13];
  EXPECT_EQ(wrapped.destination.text(), "fe80::1c2b:3d4e:5f60:7182/128");
  EXPECT_EQ(wrapped.gateway_text, "Auf Verbindung");
  EXPECT_EQ(wrapped.origin, "line 35");
  const RouteEntry& v6p = t.routes[15];
  EXPECT_TRUE(v6p.persistent);
  EXPECT_FALSE(v6p.active);
  EXPECT_EQ(metric(v6p), "4294967295");
  for (std::size_t i = 0; i < 8; ++i) EXPECT_TRUE(t.routes[i].active) << i;
  EXPECT_TRUE(t.unread.empty()) << t.unread.front().reason;
}

TEST(RouteParseWindows, Utf16LeWithBomAndCrlfAsPowerShellWritesIt) {
  const auto raw =
      midiag::test_support::read_text_file(kOwn + "windows_route_print_utf16le_crlf.txt");
  ASSERT_TRUE(raw);
  ASSERT_EQ(static_cast<unsigned char>((*raw)[0]), 0xFF);  // really UTF-16LE with a BOM
  EXPECT_FALSE(parse_windows(*raw));                       // undecoded UTF-16 is not a table
  const RouteTable t = parse_ok(normalize_text(*raw));
  ASSERT_EQ(t.routes.size(), 4U);
  EXPECT_EQ(t.routes[1].destination.text(), "10.20.0.0/16");
  EXPECT_EQ(t.routes[1].interface, "172.31.9.2");
  EXPECT_EQ(t.routes[3].destination.text(), "::1/128");
  EXPECT_EQ(t.interfaces[1].name, "contoso-vnet");
  EXPECT_TRUE(t.unread.empty());
}

TEST(RouteParseWindows, TableCutMidwayListsWhatItCouldNotRead) {
  const RouteTable t = parse_ok(own("windows_cut_route_print.txt"));
  ASSERT_EQ(t.routes.size(), 3U);
  ASSERT_EQ(t.unread.size(), 2U);
  EXPECT_EQ(t.unread[0].line, 14U);
  EXPECT_NE(t.unread[0].reason.find("interface '192.16'"), std::string::npos) << t.unread[0].reason;
  EXPECT_EQ(t.unread[1].line, 15U);
  EXPECT_NE(t.unread[1].reason.find("cut short"), std::string::npos);
  EXPECT_NE(t.note.find("output cut?"), std::string::npos) << t.note;

  const RouteTable v6 = parse_ok(own("windows_cut_ipv6_route_print.txt"));
  ASSERT_EQ(v6.routes.size(), 1U);
  ASSERT_EQ(v6.unread.size(), 1U);
  EXPECT_EQ(v6.unread[0].line, 6U);
  EXPECT_NE(v6.note.find("output cut?"), std::string::npos);
}

TEST(RouteParseWindows, TabsAndExtraColumns) {
  const RouteTable t = parse_ok(own("windows_tabs_extra_columns.txt"));
  ASSERT_EQ(t.routes.size(), 3U);
  EXPECT_EQ(t.routes[0].interface, "10.83.74.112");
  EXPECT_EQ(t.routes[1].destination.text(), "10.0.0.0/24");
  EXPECT_EQ(metric(t.routes[1]), "43");
  EXPECT_EQ(t.routes[2].destination.text(), "10.4.0.0/24");
  ASSERT_EQ(t.unread.size(), 3U);  // two rows read with extra columns named, one bad metric
  EXPECT_NE(t.unread[0].reason.find("extra columns 'vpn'"), std::string::npos);
  EXPECT_EQ(t.unread[0].line, 11U);
  EXPECT_NE(t.unread[1].reason.find("'x  y'"), std::string::npos);
  EXPECT_EQ(t.unread[2].line, 13U);
  EXPECT_NE(t.unread[2].reason.find("'4x'"), std::string::npos);
}

TEST(RouteParseWindows, MicrosoftDocsP2sExampleHasTheVpnPrefixes) {
  LOAD_OR_SKIP(text, "msdocs_sqlmi_p2s_route_print-4.txt");
  const RouteTable t = parse_ok(text);
  ASSERT_EQ(t.routes.size(), 3U);
  EXPECT_EQ(t.routes[0].gateway->text(), "10.83.72.1");
  EXPECT_EQ(t.routes[0].interface, "10.83.74.112");
  for (std::size_t i : {1U, 2U}) {
    EXPECT_FALSE(t.routes[i].gateway);
    EXPECT_EQ(t.routes[i].interface, "172.26.34.2");
    EXPECT_EQ(metric(t.routes[i]), "43");
  }
  EXPECT_EQ(t.routes[1].destination.text(), "10.0.0.0/24");
  EXPECT_EQ(t.routes[2].destination.text(), "10.4.0.0/24");
  ASSERT_EQ(t.interfaces.size(), 4U);
  EXPECT_EQ(t.interfaces[1].name, "rndatavnet");
  // The doc's stray "Adapter=====" line: used as the separator it is, the stray word listed.
  ASSERT_EQ(t.unread.size(), 1U);
  EXPECT_EQ(t.unread[0].line, 7U);
}

TEST(RouteParseWindows, MultipleGatewaysNoDefaultAndABadGateway) {
  LOAD_OR_SKIP(multi, "jackpal_windowsMultipleGateways.txt");
  const RouteTable m = parse_ok(multi);
  ASSERT_EQ(m.routes.size(), 2U);
  EXPECT_EQ(metric(m.routes[0]), "50");
  EXPECT_EQ(m.routes[1].gateway->text(), "10.21.38.1");
  EXPECT_EQ(metric(m.routes[1]), "2");
  EXPECT_EQ(m.interfaces.size(), 7U);

  LOAD_OR_SKIP(nodef, "jackpal_windowsNoDefaultRoute.txt");
  const RouteTable n = parse_ok(nodef);
  ASSERT_EQ(n.routes.size(), 3U);
  for (const auto& r : n.routes) EXPECT_NE(r.destination.length, 0);

  // jackpal's hand-edited negative case: the gateway column says "foo". By shape a gateway that
  // is not an address is on-link (every language words it differently), so it reads as on-link.
  LOAD_OR_SKIP(bad, "jackpal_windowsBadRoute2.txt");
  const RouteTable b = parse_ok(bad);
  ASSERT_EQ(b.routes.size(), 1U);
  EXPECT_FALSE(b.routes[0].gateway);
  EXPECT_EQ(b.routes[0].gateway_text, "foo");
}

TEST(RouteParseWindows, Windows10RoutePrint4And6) {
  LOAD_OR_SKIP(v4, "getmac_windows_10__route_print_-4.out");
  const RouteTable a = parse_ok(v4);
  const auto v4_rows = count_lines(v4, [](const std::string& l) {
    return l.find("255.") != std::string::npos || l.find("0.0.0.0 ") != std::string::npos;
  });
  EXPECT_EQ(a.routes.size(), v4_rows);
  EXPECT_EQ(a.routes.size(), 41U);
  EXPECT_EQ(a.interfaces.size(), 10U);
  EXPECT_EQ(a.interfaces[3].name, "WireGuard Tunnel");
  EXPECT_EQ(a.note, "route print: IPv4 section only");
  EXPECT_TRUE(a.unread.empty());

  LOAD_OR_SKIP(v6, "getmac_windows_10__route_print_-6.out");
  const RouteTable b = parse_ok(v6);
  const auto v6_rows = count_lines(
      v6, [](const std::string& l) { return l.find("/") != std::string::npos && l[0] == ' '; });
  EXPECT_EQ(b.routes.size(), v6_rows);
  EXPECT_EQ(b.routes.size(), 23U);
  for (const auto& r : b.routes) {
    EXPECT_EQ(r.family(), 6);
    EXPECT_FALSE(r.gateway);
    EXPECT_FALSE(r.interface_name.empty()) << r.interface;
  }
  EXPECT_EQ(b.routes[8].destination.text(), "fe80::5c07:67a6:7f15:9bab/128");
  EXPECT_EQ(b.routes[8].interface, "16");
  EXPECT_EQ(b.routes[8].interface_name, "VMware Virtual Ethernet Adapter for VMnet1");
  EXPECT_TRUE(b.unread.empty());
}

TEST(RouteParseWindows, NetshShowRouteIpv4AndIpv6) {
  LOAD_OR_SKIP(v4, "getmac_windows_10__netsh_int_ipv4_show_route.out");
  const RouteTable a = parse_ok(v4);
  const auto rows = count_lines(v4, [](const std::string& l) { return l.rfind("No ", 0) == 0; });
  EXPECT_EQ(a.routes.size(), rows);
  EXPECT_EQ(a.routes.size(), 47U);
  const RouteEntry& d = a.routes[0];
  EXPECT_EQ(d.destination.text(), "0.0.0.0/0");
  EXPECT_EQ(d.gateway->text(), "10.0.0.1");
  EXPECT_EQ(d.interface, "5");
  EXPECT_EQ(d.interface_name, "Ethernet 4");  // from the on-link rows of the same Idx
  EXPECT_EQ(metric(d), "0");
  EXPECT_FALSE(a.routes[1].gateway);
  EXPECT_EQ(a.routes[1].interface_name, "Ethernet 4");
  EXPECT_EQ(a.routes[14].interface_name, "VirtualBox Host-Only Network #2");
  EXPECT_NE(a.note.find("netsh"), std::string::npos);
  EXPECT_TRUE(a.unread.empty());

  LOAD_OR_SKIP(v6, "getmac_windows_10__netsh_int_ipv6_show_route.out");
  const RouteTable b = parse_ok(v6);
  EXPECT_EQ(b.routes.size(), 32U);
  EXPECT_EQ(b.routes[11].destination.text(), "fe80::35e0:eb42:9039:278e/128");
  EXPECT_EQ(b.routes[11].interface_name, "Ethernet 5");
  EXPECT_TRUE(b.unread.empty());
}

// jc (an independent parser) read the same file: every route it found, in its order, must be ours.
TEST(RouteParseWindows, Windows10MatchesJcAnswerKey) {
  LOAD_OR_SKIP(text, "jc_windows-10_route.out");
  const auto key_text =
      midiag::test_support::read_text_file(kShared + "jc_windows-10_route.expected.json");
  ASSERT_TRUE(key_text);
  const auto key = nlohmann::json::parse(*key_text);
  const RouteTable t = parse_ok(text);
  ASSERT_TRUE(t.unread.empty());
  // Element 0 holds the interface list.
  const auto& itfs = key[0]["interfaces"];
  ASSERT_EQ(t.interfaces.size(), itfs.size());
  for (std::size_t i = 0; i < itfs.size(); ++i) {
    EXPECT_EQ(t.interfaces[i].index, itfs[i]["id"].get<std::string>());
    EXPECT_EQ(t.interfaces[i].mac, itfs[i]["mac"].get<std::string>());
    EXPECT_EQ(t.interfaces[i].name, itfs[i]["name"].get<std::string>());
  }
  ASSERT_EQ(t.routes.size(), key.size() - 1);
  for (std::size_t i = 1; i < key.size(); ++i) {
    const auto& k = key[i];
    const RouteEntry& r = t.routes[i - 1];
    SCOPED_TRACE("key entry " + std::to_string(i) + ", " + r.origin);
    if (k.contains("genmask") && k.contains("iface")) {  // IPv4 active
      const auto p = Prefix::from_mask(*Address::parse(k["destination"].get<std::string>()),
                                       *Address::parse(k["genmask"].get<std::string>()));
      EXPECT_EQ(r.destination.text(), p->text());
      EXPECT_EQ(r.gateway_text, k["gateway"].get<std::string>());
      EXPECT_EQ(r.interface, k["iface"].get<std::string>());
      EXPECT_EQ(*r.metric, k["metric"].get<std::uint32_t>());
      EXPECT_FALSE(r.persistent);
    } else if (k.contains("network")) {
      // jc's persistent row: its labels are shifted one column (network, address, genmask,
      // gateway hold destination, netmask, gateway, metric); compared by position.
      const auto p = Prefix::from_mask(*Address::parse(k["network"].get<std::string>()),
                                       *Address::parse(k["address"].get<std::string>()));
      EXPECT_EQ(r.destination.text(), p->text());
      EXPECT_EQ(r.gateway->text(), k["genmask"].get<std::string>());
      EXPECT_EQ(metric(r), k["gateway"].get<std::string>());
      EXPECT_TRUE(r.persistent);
    } else {  // IPv6
      EXPECT_EQ(r.destination.text(), k["destination"].get<std::string>());
      EXPECT_EQ(r.gateway_text, k["gateway"].get<std::string>());
      EXPECT_EQ(r.interface, k["iface"].get<std::string>());
      EXPECT_EQ(*r.metric, k["metric"].get<std::uint32_t>());
    }
  }
}

TEST(RouteParseWindows, NothingOfATableIsAUsageErrorNamingWhatWasExpected) {
  for (const char* text :
       {"", "\n\n", "hello world\n", "==========\n==========\n", "default via 10.0.0.1 dev eth0\n",
        "<xml/>", "Destination Gateway Flags Netif\n"}) {
    auto r = parse_windows(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().kind, midiag::ErrorKind::Usage);
    EXPECT_NE(r.error().message.find("route print"), std::string::npos);
  }
  // Lines that look like rows but fit nothing are named in the error.
  auto r = parse_windows("10.0.0.0 garbage 1.2\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("line 1"), std::string::npos) << r.error().message;
}

TEST(RouteParseWindows, GarbageBetweenRowsIsListedNotDropped) {
  const std::string text =
      "IPv4 Route Table\n"
      "===========\n"
      "Active Routes:\n"
      "Network Destination        Netmask          Gateway       Interface  Metric\n"
      "          0.0.0.0          0.0.0.0         10.0.0.1       10.0.0.185     25\n"
      "some words that are not a row\n"
      "         10.0.0.0    255.0.255.0         On-link        10.0.0.185    281\n"
      "         10.1.0.0    255.255.0.0         10.0.0.0.1     10.0.0.185    281\n"
      "         10.2.0.0    255.255.0.0         On-link        10.0.0.185    99999999999\n";
  const RouteTable t = parse_ok(text);
  ASSERT_EQ(t.routes.size(), 1U);
  ASSERT_EQ(t.unread.size(), 4U);
  EXPECT_EQ(t.unread[0].line, 6U);
  EXPECT_NE(t.unread[1].reason.find("not contiguous"), std::string::npos);
  EXPECT_EQ(t.unread[2].line, 8U);
  EXPECT_EQ(t.unread[3].line, 9U);
}

TEST(RouteParseWindows, AHugeFileOfGarbageRowsListsABoundedNumber) {
  std::string text =
      "          0.0.0.0          0.0.0.0         10.0.0.1       10.0.0.185     25\n";
  for (int i = 0; i < 20000; ++i) text += "1.2.3 x\n";
  const RouteTable t = parse_ok(text);
  ASSERT_EQ(t.routes.size(), 1U);
  ASSERT_EQ(t.unread.size(), 1001U);
  EXPECT_NE(t.unread.back().reason.find("19000 more lines"), std::string::npos)
      << t.unread.back().reason;
  EXPECT_EQ(t.unread.back().line, 1002U);
}

// netsh's header and its Publish/Type words are translated: the dash rule, the metric, the
// prefix and the index place it (a German listing, written in netsh's layout).
TEST(RouteParseWindows, NetshIsDetectedByItsShapeInAnyLanguage) {
  const std::string de =
      "\n"
      "Veröffentlichen  Typ       Met  Präfix                    Idx  Gateway/Schnittstelle\n"
      "---------------  --------  ---  ------------------------  ---  ------------------------\n"
      "Nein             Manuell   0    0.0.0.0/0                   5  10.0.0.1\n"
      "Nein             System    256  10.0.0.0/24                 5  Ethernet 4\n"
      "Nein             System    256  10.0.0.185/32               5  Ethernet 4\n";
  ASSERT_EQ(detect_format(de), SourceFormat::Windows);
  const RouteTable t = parse_ok(de);
  ASSERT_EQ(t.routes.size(), 3U);
  EXPECT_EQ(t.routes[0].gateway->text(), "10.0.0.1");
  EXPECT_EQ(t.routes[1].interface_name, "Ethernet 4");
  // The same rows are not mistaken for Linux `ip route` or macOS netstat.
  EXPECT_NE(detect_format("10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.5\n"),
            SourceFormat::Windows);
}
