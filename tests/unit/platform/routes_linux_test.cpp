// The Linux route parser against real listings (read in place from ../shared/fixtures), with jc's
// parse of the same files as an independent answer key; our own fixtures for policy tables;
// format detection over every real listing.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <bit>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/routes/route_table.h"
#include "tests/unit/support/shared_fixture.h"

namespace rt = midiag::platform::routes;
using nlohmann::json;

namespace {

const std::string kRealWorld = MIDIAG_SOURCE_DIR "/../shared/fixtures/realworld/routes/";
const std::string kData = MIDIAG_SOURCE_DIR "/tests/unit/platform/routes_data/";

#define LOAD_OR_SKIP(var, path) TEXT_OR_SKIP(var, path)

// One route as both parsers should see it.
struct Key {
  std::string destination, gateway, interface;
  std::optional<std::uint32_t> metric;
  bool operator==(const Key&) const = default;
};

std::ostream& operator<<(std::ostream& o, const Key& k) {
  return o << k.destination << " gw " << k.gateway << " if " << k.interface << " metric "
           << (k.metric ? std::to_string(*k.metric) : "-");
}

Key ours(const rt::RouteEntry& r) {
  std::string gw = r.gateway ? r.gateway->text()
                   : !r.gateway_text.empty() && r.flags.find('G') != std::string::npos
                       ? r.gateway_text
                       : "on-link";
  return {r.destination.text(), gw, r.interface, r.metric};
}

bool numeric(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

int mask_bits(const std::string& mask) {
  in_addr a{};
  inet_pton(AF_INET, mask.c_str(), &a);
  return std::popcount(a.s_addr);
}

std::optional<std::uint32_t> jc_metric(const json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  const auto m = j[key].get<long long>();
  return m < 0 ? 0xFFFFFFFFU : static_cast<std::uint32_t>(m);
}

// jc's rows as Keys; rows whose destination is a name (a listing made without -n) are counted in
// `names` instead.
enum class Layout { IpRoute, Route4, Route6, ProcRoute, ProcIpv6 };

std::vector<Key> answer_key(const json& rows, Layout layout, std::size_t& names) {
  std::vector<Key> keys;
  names = 0;
  for (const auto& j : rows) {
    if (j.empty()) continue;  // jc's row for a trailing blank line (route -6)
    Key k;
    switch (layout) {
      case Layout::IpRoute: {
        std::string ip = j["ip"];
        k.destination = ip == "default"                     ? "0.0.0.0/0"
                        : ip.find('/') != std::string::npos ? ip
                                                            : ip + "/32";
        k.gateway = j.contains("via") ? j["via"].get<std::string>() : "on-link";
        k.interface = j["dev"];
        k.metric = jc_metric(j, "metric");
        break;
      }
      case Layout::Route4: {
        std::string d = j["destination"];
        if (d == "default") d = "0.0.0.0";
        if (!numeric(d)) {
          ++names;
          continue;
        }
        k.destination = d + "/" + std::to_string(mask_bits(j["genmask"]));
        std::string gw = j["gateway"];
        k.gateway = gw == "0.0.0.0" || gw == "*" ? "on-link" : gw;
        k.interface = j["iface"];
        k.metric = jc_metric(j, "metric");
        break;
      }
      case Layout::Route6: {
        std::string d = j["destination"];
        if (d.starts_with("[::]")) d = "::" + d.substr(4);
        if (d == "0.0.0.0/96") d = "::ffff:0.0.0.0/96";  // net-tools' print of the v4-mapped net
        if (!numeric(d.substr(0, d.find('/')))) {
          ++names;
          continue;
        }
        k.destination = d;
        std::string gw = j["next_hop"];
        k.gateway = gw == "::" || gw == "[::]" ? "on-link" : gw;
        k.interface = j["iface"];
        k.metric = jc_metric(j, "metric");
        break;
      }
      case Layout::ProcRoute: {
        auto le = [](const std::string& hex) {
          in_addr a{};
          a.s_addr =
              static_cast<std::uint32_t>(std::stoul(hex, nullptr, 16));  // little-endian host
          char buf[INET_ADDRSTRLEN];
          inet_ntop(AF_INET, &a, buf, sizeof buf);
          return std::string(buf);
        };
        k.destination = le(j["Destination"]) + "/" + std::to_string(mask_bits(le(j["Mask"])));
        k.gateway = j["Gateway"] == "00000000" ? "on-link" : le(j["Gateway"]);
        k.interface = j["Iface"];
        k.metric = static_cast<std::uint32_t>(j["Metric"].get<int>());
        break;
      }
      case Layout::ProcIpv6: {
        const std::string hex = j["dest_net"];
        unsigned char b[16];
        for (int i = 0; i < 16; ++i)
          b[i] = static_cast<unsigned char>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
        char buf[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, b, buf, sizeof buf);
        k.destination =
            std::string(buf) + "/" +
            std::to_string(std::stoul(j["dest_prefix"].get<std::string>(), nullptr, 16));
        k.gateway = "on-link";  // every next hop in this listing is ::
        k.interface = j["device"];
        k.metric =
            static_cast<std::uint32_t>(std::stoul(j["metric"].get<std::string>(), nullptr, 16));
        break;
      }
    }
    keys.push_back(k);
  }
  return keys;
}

struct JcCase {
  const char* stem;
  const char* suffix;  // ".out" or ".txt"
  Layout layout;
};

const JcCase kJcCases[] = {
    {"jc_centos-7.7_ip_route", ".out", Layout::IpRoute},
    {"jc_ubuntu-18.04_ip_route", ".out", Layout::IpRoute},
    {"jc_centos-7.7_netstat-r", ".out", Layout::Route4},
    {"jc_centos-7.7_netstat-rne", ".out", Layout::Route4},
    {"jc_centos-7.7_netstat-rnee", ".out", Layout::Route4},
    {"jc_centos-7.7_route", ".out", Layout::Route4},
    {"jc_centos-7.7_route-vn", ".out", Layout::Route4},
    {"jc_centos-7.7_route-6", ".out", Layout::Route6},
    {"jc_centos-7.7_route-6-n", ".out", Layout::Route6},
    {"jc_nixos_route-ee", ".out", Layout::Route4},
    {"jc_ubuntu-18.04_netstat-r", ".out", Layout::Route4},
    {"jc_ubuntu-18.04_netstat-rne", ".out", Layout::Route4},
    {"jc_ubuntu-18.04_netstat-rnee", ".out", Layout::Route4},
    {"jc_ubuntu-18.04_route", ".out", Layout::Route4},
    {"jc_ubuntu-18.04_route-vn", ".out", Layout::Route4},
    {"jc_linux-proc_net_route", ".txt", Layout::ProcRoute},
    {"jc_linux-proc_net_ipv6_route", ".txt", Layout::ProcIpv6},
};

// Named in test output by their file, not by gtest's dump of the struct's bytes (pointers).
void PrintTo(const JcCase& c, std::ostream* os) {
  *os << c.stem << c.suffix;
}

class JcAnswerKey : public ::testing::TestWithParam<JcCase> {};

TEST_P(JcAnswerKey, SameRoutesAsJcAndOnlyNamesUnread) {
  const auto& c = GetParam();
  LOAD_OR_SKIP(text, kRealWorld + c.stem + c.suffix);
  LOAD_OR_SKIP(expected, kRealWorld + c.stem + ".expected.json");
  EXPECT_EQ(rt::detect_format(text), rt::SourceFormat::Linux);
  auto t = rt::parse_linux(text);
  ASSERT_TRUE(t) << t.error().message;
  std::size_t names = 0;
  const auto want = answer_key(json::parse(expected), c.layout, names);
  std::vector<Key> got;
  for (const auto& r : t->routes) got.push_back(ours(r));
  EXPECT_EQ(got, want);
  // Only the rows `route` printed with names (no -n) are left unread, each with its reason.
  EXPECT_EQ(t->unread.size(), names);
  for (const auto& u : t->unread) EXPECT_NE(u.reason.find("a name"), std::string::npos) << u.text;
  if (std::string(c.stem).find("-n") != std::string::npos ||
      std::string(c.stem).find("proc") != std::string::npos ||
      std::string(c.stem).find("ip_route") != std::string::npos) {
    EXPECT_EQ(names, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(RoutesLinux, JcAnswerKey, ::testing::ValuesIn(kJcCases),
                         [](const ::testing::TestParamInfo<JcCase>& p) {
                           std::string n = p.param.stem;
                           for (auto& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// Listings without a jc answer: read whole, spot-checked against what the file says.
struct OtherCase {
  const char* file;
  std::size_t routes;
  const char* first_destination;
  const char* first_gateway;
  const char* first_interface;
};

const OtherCase kOtherCases[] = {
    {"cloudinit_sample-iproute-output-v4.txt", 3, "0.0.0.0/0", "192.168.2.1", "enp0s25"},
    {"cloudinit_sample-iproute-output-v6.txt", 11, "2a00:abcd:82ae:cd33::657/128", "on-link",
     "enp0s25"},
    {"cloudinit_sample-route-output-v4.txt", 3, "0.0.0.0/0", "192.168.2.1", "enp0s25"},
    {"cloudinit_sample-route-output-v6.txt", 11, "2a00:abcd:82ae:cd33::657/128", "on-link",
     "enp0s25"},
    {"getmac_WSL_ubuntu_18.04__ip_route_list_0slash0.out", 1, "0.0.0.0/0", "10.0.0.1", "eth0"},
    {"getmac_WSL_ubuntu_18.04__route_-n.out", 0, "0.0.0.0/32", "10.0.0.1", "eth0"},
    {"getmac_ubuntu_18.04__route_-n.out", 4, "0.0.0.0/0", "192.168.16.2", "ens33"},
    {"getmac_android_9__ip_route_list.out", 2, "192.168.200.0/24", "on-link", "radio0"},
    {"jackpal_linux.txt", 5, "169.254.0.0/16", "on-link", "wlp4s0"},
};

void PrintTo(const OtherCase& c, std::ostream* os) {
  *os << c.file;
}

class OtherListings : public ::testing::TestWithParam<OtherCase> {};

TEST_P(OtherListings, EveryLineReadAndTheFirstRouteAsWritten) {
  const auto& c = GetParam();
  LOAD_OR_SKIP(text, kRealWorld + c.file);
  EXPECT_EQ(rt::detect_format(text), rt::SourceFormat::Linux);
  auto t = rt::parse_linux(text);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_TRUE(t->unread.empty()) << t->unread.front().line << ": " << t->unread.front().text;
  // Every line that is not a header is one route.
  std::size_t rows = 0;
  for (std::size_t at = 0; at < text.size();) {
    auto nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    const auto line = text.substr(at, nl - at);
    if (line.find_first_not_of(" \t\r") != std::string::npos && !line.starts_with("Kernel") &&
        !line.starts_with("Destination") && !line.starts_with("Iface"))
      ++rows;
    at = nl + 1;
  }
  EXPECT_EQ(t->routes.size(), rows);
  if (c.routes != 0) {
    EXPECT_EQ(t->routes.size(), c.routes);
  }
  ASSERT_FALSE(t->routes.empty());
  const auto k = ours(t->routes.front());
  EXPECT_EQ(k.destination, c.first_destination);
  EXPECT_EQ(k.gateway, c.first_gateway);
  EXPECT_EQ(k.interface, c.first_interface);
}

INSTANTIATE_TEST_SUITE_P(RoutesLinux, OtherListings, ::testing::ValuesIn(kOtherCases),
                         [](const ::testing::TestParamInfo<OtherCase>& p) {
                           std::string n = p.param.file;
                           for (auto& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(RoutesLinux, TableAllTypesTablesAndRulesInOneFile) {
  LOAD_OR_SKIP(rules, kData + "policy_rules.txt");
  LOAD_OR_SKIP(routes, kData + "policy_table_all.txt");
  auto t = rt::parse_linux(rules + "\n" + routes);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_TRUE(t->unread.empty());
  ASSERT_EQ(t->rules.size(), 8u);
  EXPECT_EQ(t->rules[1].priority, 100u);
  EXPECT_EQ(t->rules[1].to->text(), "10.50.0.0/16");
  EXPECT_EQ(t->rules[1].table, "100");
  EXPECT_EQ(t->rules[3].action, "prohibit");
  EXPECT_EQ(t->rules[4].fwmark, 1u);
  EXPECT_EQ(t->rules[5].from->text(), "192.168.9.0/24");
  EXPECT_EQ(t->rules[6].table, "main");
  EXPECT_EQ(t->rules[6].text, "from all lookup main");
  ASSERT_EQ(t->routes.size(), 17u);
  EXPECT_EQ(t->routes[0].table, "main");
  EXPECT_EQ(t->routes[0].metric, 100u);
  EXPECT_EQ(t->routes[3].kind, "throw");
  EXPECT_EQ(t->routes[3].table, "100");
  EXPECT_EQ(t->routes[4].kind, "unreachable");
  EXPECT_EQ(t->routes[7].kind, "local");
  EXPECT_EQ(t->routes[7].table, "local");
  EXPECT_EQ(t->routes[7].destination.text(), "192.168.1.10/32");
  EXPECT_EQ(t->routes[8].kind, "broadcast");
  EXPECT_EQ(t->routes[13].gateway->text(), "fe80::1");
  EXPECT_EQ(t->routes[13].destination.text(), "::/0");
  EXPECT_EQ(t->routes[16].kind, "multicast");
  EXPECT_EQ(t->routes[16].destination.text(), "ff00::/8");
}

TEST(RoutesLinux, MultipathNexthopsBecomeOneRouteEach) {
  LOAD_OR_SKIP(text, kData + "multipath.txt");
  auto t = rt::parse_linux(text);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_TRUE(t->unread.empty());
  ASSERT_EQ(t->routes.size(), 4u);
  EXPECT_EQ(t->routes[0].gateway->text(), "10.0.0.1");
  EXPECT_EQ(t->routes[0].metric, 100u);
  EXPECT_TRUE(t->routes[0].active);
  EXPECT_EQ(t->routes[1].gateway->text(), "10.0.1.1");
  EXPECT_EQ(t->routes[1].interface, "eth1");
  EXPECT_FALSE(t->routes[1].active);
  EXPECT_EQ(t->routes[1].origin, "line 3");
  EXPECT_FALSE(t->routes[3].active);
  EXPECT_EQ(t->routes[3].flags, "linkdown");
}

TEST(RoutesLinux, TableNumbersOfTheReservedTablesBecomeTheirNames) {
  auto t = rt::parse_linux(
      "10.0.0.0/8 dev eth0 table 254\nlocal 10.0.0.1 dev eth0 table 255\n"
      "1000:\tfrom all lookup 253\n");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->routes[0].table, "main");
  EXPECT_EQ(t->routes[1].table, "local");
  EXPECT_EQ(t->rules[0].table, "default");
}

TEST(RoutesLinux, LinesItCannotReadAreListedWithTheirNumber) {
  auto t = rt::parse_linux(
      "$ ip route\ndefault via 10.0.0.1 dev eth0\nvia nowhere\n"
      "10.0.0.0/8 via not-an-address dev eth0\n");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->routes.size(), 1u);
  ASSERT_EQ(t->unread.size(), 3u);
  EXPECT_EQ(t->unread[0].line, 1u);
  EXPECT_EQ(t->unread[0].text, "$ ip route");
  EXPECT_EQ(t->unread[2].line, 4u);
  EXPECT_NE(t->unread[2].reason.find("not-an-address"), std::string::npos);
}

TEST(RoutesLinux, NothingOfATableIsAUsageErrorNamingWhatWasExpected) {
  for (const char* text : {"", "hello world\n", "\x01\x02\x03", "Kernel IP routing table\n"}) {
    auto t = rt::parse_linux(text);
    ASSERT_FALSE(t) << text;
    EXPECT_EQ(t.error().kind, midiag::ErrorKind::Usage);
    EXPECT_NE(t.error().message.find("ip route"), std::string::npos);
  }
}

TEST(RoutesDetect, RealListingsOfOtherSystemsAreNotTakenForLinux) {
  const std::pair<const char*, rt::SourceFormat> cases[] = {
      {"jackpal_windows.txt", rt::SourceFormat::Windows},
      {"jackpal_windowsLocalized.txt", rt::SourceFormat::Windows},
      {"getmac_windows_10__route_print_-4.out", rt::SourceFormat::Windows},
      {"msdocs_sqlmi_p2s_route_print-4.txt", rt::SourceFormat::Windows},
      {"jc_windows-10_route.out", rt::SourceFormat::Windows},
      {"getmac_macos_10.12.6__netstat_-rn.out", rt::SourceFormat::MacOs},
      {"getmac_macos_15.7.9__netstat_-rn.out", rt::SourceFormat::MacOs},
      {"jackpal_darwin.txt", rt::SourceFormat::MacOs},
      {"jc_osx-10.14.6_netstat-rnl.out", rt::SourceFormat::MacOs},
      {"jc_freebsd12_netstat-r.out", rt::SourceFormat::MacOs},
      {"jackpal_freeBSD.txt", rt::SourceFormat::MacOs},
      {"jackpal_netBSD.txt", rt::SourceFormat::MacOs},
  };
  for (const auto& [file, format] : cases) {
    LOAD_OR_SKIP(text, kRealWorld + file);
    EXPECT_EQ(rt::detect_format(rt::normalize_text(text)), format) << file;
  }
}

TEST(RoutesDetect, ShapesOfTheOtherSourcesAndNothing) {
  EXPECT_EQ(rt::detect_format("ADD 10.1.0.0 MASK 255.255.0.0 default METRIC default IF default\n"),
            rt::SourceFormat::P2s);
  EXPECT_EQ(rt::detect_format("<?xml version=\"1.0\"?>\n<AzVpnProfile><clientconfig>"
                              "<includeroutes><route><destination>10.0.0.0</destination>"),
            rt::SourceFormat::AzureVpnXml);
  EXPECT_EQ(rt::detect_format("{\n \"value\": [ { \"addressPrefix\": [\"10.0.0.0/16\"], "
                              "\"nextHopType\": \"VnetLocal\" } ] }"),
            rt::SourceFormat::AzureEffective);
  EXPECT_EQ(rt::detect_format(""), std::nullopt);
  EXPECT_EQ(rt::detect_format("lorem ipsum dolor\nsit amet 10.0.0.1\n"), std::nullopt);
  EXPECT_EQ(rt::detect_format("\x89PNG\r\n\x1a\n\x00\x00"), std::nullopt);
}

}  // namespace
