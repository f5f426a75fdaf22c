// `mi-diag routes` through the real binary: exit codes, the mi-diag.routes/1 document, --to on a
// real listing, this host's own table over netlink, files it cannot place, UTF-16LE files.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "tests/unit/support/shell.h"
#include "tests/unit/support/temp_dir.h"

using midiag::test_support::sh;
using midiag::test_support::TempDir;
using nlohmann::json;

namespace {

const std::string kRealWorld = MIDIAG_SOURCE_DIR "/../shared/fixtures/realworld/routes/";
const std::string kData = MIDIAG_SOURCE_DIR "/tests/unit/platform/routes_data/";

std::string mi_diag(const std::string& args) {
  return std::string("'") + MIDIAG_BINARY + "' routes " + args;
}

bool exists(const std::string& path) {
  return std::ifstream(path).good();
}

#define FIXTURE_OR_SKIP(path)                                                           \
  if (!exists(path)) {                                                                  \
    if (const char* ci = std::getenv("CI"); ci != nullptr && std::string(ci) == "true") \
      FAIL() << "fixture missing (CI has ../shared): " << (path);                       \
    GTEST_SKIP() << "fixture missing: " << (path);                                      \
  }

// stdout only (stderr to /dev/null), so the JSON parses.
midiag::test_support::Shell run_stdout(const std::string& args) {
  return sh(mi_diag(args) + " 2>/dev/null");
}

TEST(RoutesCmd, JsonOfARealListingWithTheRouteForTo) {
  const auto file = kRealWorld + "jc_centos-7.7_ip_route.out";
  FIXTURE_OR_SKIP(file);
  auto r = run_stdout("--from-file '" + file + "' --to 10.0.2.99 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto doc = json::parse(r.out);
  EXPECT_EQ(doc["schema"], "mi-diag.routes/1");
  EXPECT_EQ(doc["source"]["file"], file);
  EXPECT_EQ(doc["source"]["format"], "linux");
  ASSERT_EQ(doc["routes"].size(), 4u);
  const auto& first = doc["routes"][0];
  EXPECT_EQ(first["destination"], "0.0.0.0/0");
  EXPECT_EQ(first["gateway"], "10.0.2.2");
  EXPECT_EQ(first["interface"], "enp0s3");
  EXPECT_EQ(first["metric"], 100);
  EXPECT_EQ(first["table"], "main");
  EXPECT_EQ(first["family"], 4);
  EXPECT_TRUE(first.contains("flags"));
  EXPECT_EQ(doc["routes"][1]["gateway"], "on-link");
  EXPECT_TRUE(doc["routes"][3]["metric"].is_null());
  EXPECT_EQ(doc["lookup"]["to"], "10.0.2.99");
  EXPECT_EQ(doc["lookup"]["route"]["destination"], "10.0.2.0/24");
  EXPECT_EQ(doc["lookup"]["route"]["index"], 1);
  EXPECT_NE(doc["lookup"]["reason"].get<std::string>().find("/24"), std::string::npos);
  EXPECT_EQ(doc["lookup"]["beaten"], json::array({0}));
  EXPECT_TRUE(doc["findings"].empty());
  EXPECT_TRUE(doc["unread"].empty());
}

TEST(RoutesCmd, TextStartsWithTheVerdictThenOneLinePerRoute) {
  const auto file = kRealWorld + "jc_centos-7.7_ip_route.out";
  FIXTURE_OR_SKIP(file);
  auto r = run_stdout("--from-file '" + file + "' --to 172.17.0.9");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(r.out.starts_with("172.17.0.9: 0.0.0.0/0 via 10.0.2.2 on enp0s3 (table main)\n"))
      << r.out;
  EXPECT_NE(r.out.find("linkdown"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n> 0.0.0.0/0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n~ 172.17.0.0/16"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4 routes from"), std::string::npos) << r.out;
}

TEST(RoutesCmd, PolicyRuleAndTableAppearForTo) {
  TempDir dir;
  std::ifstream rules(kData + "policy_rules.txt"), routes(kData + "policy_table_all.txt");
  std::string text((std::istreambuf_iterator<char>(rules)), std::istreambuf_iterator<char>());
  text.append((std::istreambuf_iterator<char>(routes)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  const auto file = dir.file("rules-and-routes.txt", text);
  auto r = run_stdout("--from-file '" + file + "' --format linux --to 10.50.1.1 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto doc = json::parse(r.out);
  EXPECT_EQ(doc["lookup"]["rule"]["priority"], 100);
  EXPECT_EQ(doc["lookup"]["route"]["table"], "100");
  EXPECT_EQ(doc["rules"].size(), 8u);
  // An unreachable route is a ROUTE_MISSING: exit 1.
  r = run_stdout("--from-file '" + file + "' --to 10.60.0.1 --json");
  EXPECT_EQ(r.code, 1) << r.out;
  const auto missing = json::parse(r.out);
  ASSERT_EQ(missing["findings"].size(), 1u);
  EXPECT_EQ(missing["findings"][0]["code"], "ROUTE_MISSING");
  EXPECT_EQ(missing["verdict"], "fail");
}

TEST(RoutesCmd, NoRouteForToIsExitOneWithRouteMissing) {
  TempDir dir;
  const auto file = dir.file("r.txt", "10.0.0.0/8 dev eth0 proto kernel scope link\n");
  auto r = sh(mi_diag("--from-file '" + file + "' --to 192.0.2.7"));
  EXPECT_EQ(r.code, 1) << r.out;
  // The finding first (the cause and the fix), then the lookup's answer.
  EXPECT_TRUE(r.out.starts_with("error ROUTE_MISSING")) << r.out;
  EXPECT_NE(r.out.find("\n192.0.2.7: no route\n"), std::string::npos) << r.out;
}

// The Microsoft docs' point-to-site example: the VPN carries 10.0.0.0/24 and 10.4.0.0/24, so an
// instance at 10.5.0.4 leaving by the default gateway is a VNet missing from the VPN's routes;
// an address the VPN does carry is not a finding.
TEST(RoutesCmd, TheDocsP2sExampleNamesTheMissingVnetRoute) {
  const std::string file = kRealWorld + "msdocs_sqlmi_p2s_route_print-4.txt";
  FIXTURE_OR_SKIP(file);
  auto r = run_stdout("--from-file '" + file + "' --to 10.5.0.4 --json");
  EXPECT_EQ(r.code, 1) << r.out;
  const auto doc = json::parse(r.out);
  ASSERT_EQ(doc["findings"].size(), 1u) << r.out;
  EXPECT_EQ(doc["findings"][0]["code"], "ROUTE_UNEXPECTED_PATH");
  const std::string detail = doc["findings"][0]["detail"];
  EXPECT_NE(detail.find("10.0.0.0/24, 10.4.0.0/24 go through 172.26.34.2"), std::string::npos)
      << detail;
  EXPECT_NE(std::string(doc["findings"][0]["remediation"]).find("gateway transit"),
            std::string::npos);
  auto text = sh(mi_diag("--from-file '" + file + "' --to 10.5.0.4"));
  EXPECT_TRUE(text.out.starts_with("error ROUTE_UNEXPECTED_PATH")) << text.out;
  EXPECT_NE(text.out.find("\n  fix: "), std::string::npos) << text.out;
  auto carried = run_stdout("--from-file '" + file + "' --to 10.4.0.9 --json");
  EXPECT_EQ(carried.code, 0) << carried.out;
  EXPECT_TRUE(json::parse(carried.out)["findings"].empty()) << carried.out;
  // A P2S routes.txt that does not cover the address says so too.
  TempDir dir;
  const auto p2s =
      dir.file("routes.txt", "ADD 10.0.0.0 MASK 255.255.255.0 default METRIC default IF default\n");
  auto uncovered = run_stdout("--from-file '" + p2s + "' --format p2s --to 10.5.0.4 --json");
  EXPECT_EQ(uncovered.code, 1) << uncovered.out;
  EXPECT_EQ(json::parse(uncovered.out)["findings"][0]["code"], "ROUTE_UNEXPECTED_PATH");
}

TEST(RoutesCmd, AFileItCannotPlaceIsExitTwoNamingWhatItExpected) {
  TempDir dir;
  const auto file = dir.file("garbage.txt", "lorem ipsum\n\x01\x02\x03 dolor sit amet\n");
  auto r = sh(mi_diag("--from-file '" + file + "'"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("not a route table"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ip route"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("route print"), std::string::npos) << r.out;
  // Forced to Linux, the same file says what Linux listing it expected.
  r = sh(mi_diag("--from-file '" + file + "' --format linux"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("no Linux route or rule found"), std::string::npos) << r.out;
}

TEST(RoutesCmd, BadUsageIsExitTwo) {
  TempDir dir;
  const auto file = dir.file("r.txt", "default via 10.0.0.1 dev eth0\n");
  EXPECT_EQ(sh(mi_diag("--from-file '" + file + "' --to not-an-ip")).code, 2);
  EXPECT_EQ(sh(mi_diag("--from-file '" + file + "' --format solaris")).code, 2);
  EXPECT_EQ(sh(mi_diag("--format linux")).code, 2);
  EXPECT_EQ(sh(mi_diag("--from-file '" + dir.track("missing.txt") + "'")).code, 2);
  EXPECT_EQ(sh(mi_diag("--from-file '" + dir.path() + "'")).code, 2);  // a directory
  EXPECT_EQ(sh(mi_diag("--bogus")).code, 2);
  EXPECT_EQ(sh(mi_diag("--help")).code, 0);
}

TEST(RoutesCmd, Utf16LittleEndianFileWithBomIsRead) {
  TempDir dir;
  const std::string text = "default via 10.1.0.1 dev eth0 metric 5\r\n10.1.0.0/16 dev eth0\r\n";
  std::string utf16 = "\xFF\xFE";
  for (char c : text) {
    utf16 += c;
    utf16 += '\0';
  }
  const auto file = dir.file("ps-redirect.txt", utf16);
  auto r = run_stdout("--from-file '" + file + "' --to 10.1.2.3 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto doc = json::parse(r.out);
  ASSERT_EQ(doc["routes"].size(), 2u);
  EXPECT_EQ(doc["routes"][0]["metric"], 5);
  EXPECT_EQ(doc["lookup"]["route"]["destination"], "10.1.0.0/16");
  EXPECT_TRUE(doc["unread"].empty());
}

TEST(RoutesCmd, UnreadLinesAreListedInTextAndJson) {
  TempDir dir;
  const auto file = dir.file(
      "r.txt", "$ ip route\ndefault via 10.0.0.1 dev eth0\n10.0.0.0/8 via junk dev eth0\n");
  auto r = run_stdout("--from-file '" + file + "' --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto doc = json::parse(r.out);
  ASSERT_EQ(doc["unread"].size(), 2u);
  EXPECT_EQ(doc["unread"][0]["line"], 1);
  EXPECT_EQ(doc["unread"][1]["line"], 3);
  r = run_stdout("--from-file '" + file + "'");
  EXPECT_NE(r.out.find("lines not read:\n  line 1: $ ip route"), std::string::npos) << r.out;
}

TEST(RoutesCmd, ThisHostsTableOverNetlinkAnswersForLoopback) {
  // Every Linux host has 127.0.0.1 in its local table, found by the rule at priority 0.
  auto r = run_stdout("--to 127.0.0.1 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto doc = json::parse(r.out);
  EXPECT_TRUE(doc["source"]["file"].is_null());
  EXPECT_EQ(doc["source"]["format"], "linux");
  ASSERT_FALSE(doc["routes"].empty());
  ASSERT_FALSE(doc["lookup"]["route"].is_null()) << doc["lookup"].dump();
  EXPECT_EQ(doc["lookup"]["route"]["kind"], "local");
  EXPECT_EQ(doc["lookup"]["route"]["table"], "local");
  ASSERT_FALSE(doc["rules"].empty());
  EXPECT_EQ(doc["lookup"]["rule"]["priority"], 0);
  for (const auto& route : doc["routes"]) EXPECT_EQ(route["origin"], "netlink");
}

}  // namespace

// --- routes --nsg: an effective NSG export's verdict for the instance's ports ---

namespace {

const std::string kOwnRoutes = MIDIAG_SOURCE_DIR "/tests/fixtures/routes/";

// One NSG on the NIC: `rules` (JSON objects) before the default outbound rules.
std::string nic_nsg(const std::string& rules) {
  const std::string tail =
      R"({"name":"defaultSecurityRules/AllowVnetOutBound","protocol":"All","sourcePortRange":"*",
          "destinationPortRange":"*","sourceAddressPrefix":"VirtualNetwork",
          "expandedSourceAddressPrefix":["10.1.0.0/16","10.5.0.0/16"],
          "destinationAddressPrefix":"VirtualNetwork",
          "expandedDestinationAddressPrefix":["10.1.0.0/16","10.5.0.0/16"],
          "access":"Allow","priority":65000,"direction":"Outbound"},
         {"name":"defaultSecurityRules/DenyAllOutBound","protocol":"All","sourcePortRange":"*",
          "destinationPortRange":"*","sourceAddressPrefix":"*","destinationAddressPrefix":"*",
          "access":"Deny","priority":65500,"direction":"Outbound"})";
  return R"({"value":[{"networkSecurityGroup":{"id":"/s/networkSecurityGroups/mi-nsg"},
    "association":{"networkInterface":{"id":"/s/networkInterfaces/vm-nic"}},
    "effectiveSecurityRules":[)" +
         rules + (rules.empty() ? "" : ",") + tail + "]}]}";
}

std::string rule(const std::string& name, const std::string& source, const std::string& ports,
                 const std::string& access, int priority) {
  return R"({"name":"securityRules/)" + name +
         R"(","protocol":"Tcp","sourcePortRange":"*","destinationPortRange":")" + ports +
         R"(","sourceAddressPrefix":")" + source +
         R"(","destinationAddressPrefix":"*","access":")" + access + R"(","priority":)" +
         std::to_string(priority) + R"(,"direction":"Outbound"})";
}

}  // namespace

TEST(RoutesCmdNsg, DenyOf1433AndTheRedirectRangeIsRouteUnexpectedPathExitOne) {
  const auto file = kOwnRoutes + "nsg_effective_deny_sql.json";
  auto r = run_stdout("--nsg '" + file + "' --to 10.5.0.10 --from 10.1.0.4 --json");
  ASSERT_EQ(r.code, 1) << r.out;
  const auto doc = json::parse(r.out);
  EXPECT_EQ(doc["verdict"], "fail");
  EXPECT_TRUE(doc["source"]["format"].is_null());  // no route table read: only the export
  EXPECT_TRUE(doc["routes"].empty());
  EXPECT_TRUE(doc["lookup"].is_null());
  const auto& nsg = doc["nsg"];
  EXPECT_EQ(nsg["file"], file);
  ASSERT_EQ(nsg["flows"].size(), 2u);
  const auto& sql = nsg["flows"][0];
  EXPECT_EQ(sql["destination_port"], 1433);
  EXPECT_EQ(sql["source"], "10.1.0.4");
  EXPECT_FALSE(sql["allow"].get<bool>());
  EXPECT_TRUE(sql["determined"].get<bool>());
  EXPECT_EQ(sql["rule"], "securityRules/deny-sql-to-mi");
  // Outbound: the NIC's NSG allowed it, then the subnet's denied it.
  ASSERT_EQ(sql["steps"].size(), 2u);
  EXPECT_EQ(sql["steps"][0]["association"], "network interface");
  EXPECT_TRUE(sql["steps"][0]["allow"].get<bool>());
  EXPECT_EQ(sql["steps"][1]["nsg"], "nsg-snet-app");
  EXPECT_EQ(sql["steps"][1]["rule"], "securityRules/deny-sql-to-mi");
  const auto& range = nsg["flows"][1];
  EXPECT_EQ(range["destination_ports"], "11000-11999");
  EXPECT_FALSE(range.contains("destination_port"));
  EXPECT_FALSE(range["allow"].get<bool>());
  EXPECT_EQ(range["denied_ports"], json::array({"11000-11999"}));
  EXPECT_EQ(range["rule"], "securityRules/deny-redirect-range");
  ASSERT_EQ(doc["findings"].size(), 2u);
  for (const auto& f : doc["findings"]) {
    EXPECT_EQ(f["code"], "ROUTE_UNEXPECTED_PATH");
    EXPECT_EQ(f["severity"], "error");
    EXPECT_EQ(f["addresses"], json::array({"10.5.0.10"}));
  }
  EXPECT_NE(doc["findings"][0]["title"].get<std::string>().find(
                "TCP 1433 to 10.5.0.10: Access Deny, rule securityRules/deny-sql-to-mi (NSG "
                "nsg-snet-app on the subnet)"),
            std::string::npos)
      << doc["findings"][0]["title"];
  EXPECT_NE(doc["findings"][1]["title"].get<std::string>().find(
                "TCP 11000-11999 to 10.5.0.10: Access Deny, rule "
                "securityRules/deny-redirect-range"),
            std::string::npos)
      << doc["findings"][1]["title"];
}

TEST(RoutesCmdNsg, TextSaysTheVerdictLinesFirst) {
  auto r = run_stdout("--nsg '" + kOwnRoutes + "nsg_effective_deny_sql.json' --to 10.5.1.10 " +
                      "--from 10.1.0.4");
  ASSERT_EQ(r.code, 1) << r.out;
  // 10.5.1.10 is outside the /24 the 1433 deny names: allowed; the redirect range is denied.
  EXPECT_EQ(r.out.rfind("nsg: TCP 10.1.0.4 -> 10.5.1.10:1433 outbound: Access Allow, rule "
                        "defaultSecurityRules/AllowVnetOutBound (NSG nsg-snet-app on the subnet)\n",
                        0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("nsg: TCP 10.1.0.4 -> 10.5.1.10:11000-11999 outbound: Access Deny, rule "
                       "securityRules/deny-redirect-range"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("error ROUTE_UNEXPECTED_PATH: The NSG denies TCP 11000-11999"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("routes from"), std::string::npos) << r.out;  // no table was read
}

TEST(RoutesCmdNsg, PartOfTheRedirectRangeDeniedNamesThosePorts) {
  TempDir dir;
  const auto file =
      dir.file("nsg.json", nic_nsg(rule("deny-low-redirect", "*", "11000-11099", "Deny", 300) +
                                   "," + rule("deny-one", "*", "11500", "Deny", 310)));
  auto r = run_stdout("--nsg " + file + " --to 10.5.0.10 --from 10.1.0.4 --json");
  ASSERT_EQ(r.code, 1) << r.out;
  const auto doc = json::parse(r.out);
  const auto& sql = doc["nsg"]["flows"][0];
  EXPECT_TRUE(sql["allow"].get<bool>());
  EXPECT_EQ(sql["rule"], "defaultSecurityRules/AllowVnetOutBound");
  const auto& range = doc["nsg"]["flows"][1];
  EXPECT_FALSE(range["allow"].get<bool>());
  EXPECT_EQ(range["denied_ports"], json::array({"11000-11099", "11500"}));
  EXPECT_EQ(range["rule"], "securityRules/deny-low-redirect");
  EXPECT_NE(range["verdict"].get<std::string>().find(
                "Access Deny, rule securityRules/deny-low-redirect (NSG mi-nsg on the network "
                "interface) for ports 11000-11099, 11500 of 11000-11999"),
            std::string::npos)
      << range["verdict"];
  ASSERT_EQ(doc["findings"].size(), 1u);
  EXPECT_NE(doc["findings"][0]["title"].get<std::string>().find(
                "denies TCP 11000-11099, 11500 to 10.5.0.10"),
            std::string::npos)
      << doc["findings"][0]["title"];
}

TEST(RoutesCmdNsg, WithoutTheSourceARuleOnItLeavesTheVerdictUndetermined) {
  TempDir dir;
  // Only the app subnet may reach SQL; everything else falls to DenyAllOutBound... unless the
  // VNet rule lets it: which one applies depends on where the flow comes from.
  const auto file =
      dir.file("nsg.json", nic_nsg(rule("allow-sql-from-app", "10.1.0.0/24", "1433", "Allow", 100) +
                                   "," + rule("deny-sql", "*", "1433", "Deny", 200)));
  auto r = run_stdout("--nsg " + file + " --to 10.5.0.10 --json");
  ASSERT_EQ(r.code, 0) << r.out;  // unknown is not a problem found; it is not health either
  auto doc = json::parse(r.out);
  EXPECT_EQ(doc["verdict"], "warn");
  const auto& sql = doc["nsg"]["flows"][0];
  EXPECT_FALSE(sql["determined"].get<bool>());
  EXPECT_TRUE(sql["source"].is_null());
  bool said = false;
  for (const auto& n : sql["notes"])
    said |= n.get<std::string>().find("source address, which was not given") != std::string::npos;
  EXPECT_TRUE(said) << sql["notes"];
  ASSERT_GE(doc["findings"].size(), 1u);
  EXPECT_EQ(doc["findings"][0]["code"], "CHECK_INCOMPLETE");
  EXPECT_NE(doc["findings"][0]["title"].get<std::string>().find("TCP 1433"), std::string::npos);
  EXPECT_NE(doc["findings"][0]["detail"].get<std::string>().find("--from"), std::string::npos);

  // From the app subnet: allowed. From elsewhere: the deny decides, even before the VNet rule.
  r = run_stdout("--nsg " + file + " --to 10.5.0.10 --from 10.1.0.4 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  doc = json::parse(r.out);
  EXPECT_EQ(doc["verdict"], "ok");
  EXPECT_EQ(doc["nsg"]["flows"][0]["rule"], "securityRules/allow-sql-from-app");
  r = run_stdout("--nsg " + file + " --to 10.5.0.10 --from 10.1.7.4 --json");
  ASSERT_EQ(r.code, 1) << r.out;
  doc = json::parse(r.out);
  EXPECT_EQ(doc["nsg"]["flows"][0]["rule"], "securityRules/deny-sql");
}

TEST(RoutesCmdNsg, TheExportGivenAsFromFileIsPlacedAndBothCanBeGiven) {
  const auto nsg = kOwnRoutes + "nsg_effective_deny_sql.json";
  auto r = run_stdout("--from-file '" + nsg + "' --to 10.5.0.10 --from 10.1.0.4 --json");
  ASSERT_EQ(r.code, 1) << r.out;
  auto doc = json::parse(r.out);
  EXPECT_EQ(doc["nsg"]["file"], nsg);
  EXPECT_EQ(doc["nsg"]["flows"][0]["rule"], "securityRules/deny-sql-to-mi");

  // A route table and the NSG of the same question: both answers, both findings' sources.
  const auto table = kOwnRoutes + "azure_effective_routes_cli.json";
  r = run_stdout("--from-file '" + table + "' --nsg '" + nsg +
                 "' --to 10.5.1.10 --from 10.1.0.4 --json");
  ASSERT_EQ(r.code, 1) << r.out;
  doc = json::parse(r.out);
  EXPECT_EQ(doc["source"]["format"], "azure-effective");
  EXPECT_FALSE(doc["routes"].empty());
  EXPECT_FALSE(doc["lookup"].is_null());
  EXPECT_TRUE(doc["nsg"]["flows"][0]["allow"].get<bool>());
  EXPECT_FALSE(doc["nsg"]["flows"][1]["allow"].get<bool>());
}

TEST(RoutesCmdNsg, UsageErrorsAreExitTwo) {
  const auto nsg = kOwnRoutes + "nsg_effective_deny_sql.json";
  auto r = sh(mi_diag("--nsg '" + nsg + "'"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--to"), std::string::npos) << r.out;
  r = sh(mi_diag("--from 10.1.0.4 --to 10.5.0.10 --from-file '" + kOwnRoutes + "p2s_routes.txt'"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--nsg"), std::string::npos) << r.out;
  r = sh(mi_diag("--nsg '" + nsg + "' --to 10.5.0.10 --from nowhere"));
  EXPECT_EQ(r.code, 2) << r.out;
  r = sh(mi_diag("--nsg '" + kOwnRoutes + "p2s_routes.txt' --to 10.5.0.10"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("list-effective-nsg"), std::string::npos) << r.out;
  r = sh(mi_diag("--help"));
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--nsg FILE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--from ADDR"), std::string::npos) << r.out;
}

// --- netsh show route, placed by its shape ---

TEST(RoutesCmd, NetshShowRouteIsPlacedWithoutFormat) {
  for (const auto& [name, routes, to, chosen] :
       {std::tuple{"getmac_windows_10__netsh_int_ipv4_show_route.out", 47u, "10.0.0.77",
                   "10.0.0.0/24"},
        std::tuple{"getmac_windows_10__netsh_int_ipv6_show_route.out", 32u, "fe80::1",
                   "fe80::/64"}}) {
    const auto file = kRealWorld + name;
    FIXTURE_OR_SKIP(file);
    auto r = run_stdout("--from-file '" + file + "' --to " + to + " --json");
    ASSERT_EQ(r.code, 0) << name << r.out;
    const auto doc = json::parse(r.out);
    EXPECT_EQ(doc["source"]["format"], "windows") << name;
    EXPECT_EQ(doc["routes"].size(), routes) << name;
    EXPECT_TRUE(doc["unread"].empty()) << name;
    EXPECT_EQ(doc["lookup"]["route"]["destination"], chosen) << name;
    EXPECT_NE(doc["source"]["note"].get<std::string>().find("netsh"), std::string::npos);
  }
}

// A file over the bound is refused before it is read, saying what a real table needs.
TEST(RoutesCmd, AFileOverTheBoundIsExitTwoBeforeItIsRead) {
  TempDir dir;
  const auto path = dir.track("huge_ip_route.txt");
  {
    std::ofstream f(path, std::ios::binary);
    f << "10.0.0.0/8 dev eth0\n";
  }
  // Sparse: 65 MiB of size, no disk and no reading.
  std::filesystem::resize_file(path, 65U * 1024U * 1024U);
  const auto r = sh(mi_diag("--from-file " + path + " --to 10.1.2.3"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("over the 64 MB this tool reads"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("60 MB"), std::string::npos) << r.out;
}
