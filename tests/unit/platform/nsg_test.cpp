// Effective NSG exports and the verdict for one flow, named as IP flow verify names it.
#include "platform/routes/nsg.h"
#include "tests/unit/support/own_fixture.h"

#include <gtest/gtest.h>

#include <string>

using namespace midiag::platform::routes;

namespace {

std::string fixture(const std::string& name) {
  return midiag::test_support::own_fixture("routes", name);
}

EffectiveNsgs load(const std::string& name) {
  auto n = parse_effective_nsgs(fixture(name));
  EXPECT_TRUE(n) << (n ? "" : n.error().message);
  return n ? *n : EffectiveNsgs{};
}

Flow flow(const char* from, const char* to, std::uint16_t port,
          NsgDirection d = NsgDirection::Outbound, const char* proto = "Tcp") {
  Flow f;
  f.source = *Address::parse(from);
  f.destination = *Address::parse(to);
  f.destination_port = port;
  f.direction = d;
  f.protocol = proto;
  return f;
}

}  // namespace

TEST(Nsg, ReadsTheCliExport) {
  const auto n = load("nsg_effective_deny_sql.json");
  EXPECT_TRUE(n.unread.empty());
  ASSERT_EQ(n.groups.size(), 2U);
  EXPECT_EQ(n.groups[0].name(), "nsg-snet-app");
  EXPECT_TRUE(n.groups[0].on_subnet);
  EXPECT_FALSE(n.groups[0].on_nic);
  EXPECT_TRUE(n.groups[1].on_nic);
  ASSERT_EQ(n.groups[0].rules.size(), 9U);
  EXPECT_EQ(n.groups[0].rules[0].priority, 100U);  // sorted by priority
  EXPECT_EQ(n.groups[0].rules[0].destination_ports, (std::vector<std::string>{"443", "8443"}));
  EXPECT_EQ(n.groups[0].rules.back().name, "defaultSecurityRules/DenyAllOutBound");
}

TEST(Nsg, DenyOf1433ToTheManagedInstanceSubnet) {
  const auto n = load("nsg_effective_deny_sql.json");
  const auto v = evaluate_flow(n, flow("10.1.0.4", "10.5.0.10", 1433));
  EXPECT_FALSE(v.allow);
  EXPECT_TRUE(v.determined);
  EXPECT_EQ(v.rule, "securityRules/deny-sql-to-mi");
  // Outbound: the NIC's NSG first (its AllowVnetOutBound), then the subnet's deny.
  ASSERT_EQ(v.steps.size(), 2U);
  EXPECT_EQ(v.steps[0].association, "network interface");
  EXPECT_TRUE(v.steps[0].allow);
  EXPECT_EQ(v.steps[0].rule, "defaultSecurityRules/AllowVnetOutBound");
  EXPECT_EQ(v.steps[1].association, "subnet");
  EXPECT_EQ(v.text(),
            "Access Deny, rule securityRules/deny-sql-to-mi (NSG nsg-snet-app on the subnet)");
  // Another subnet of the MI VNet is not covered by the 10.5.0.0/24 deny.
  EXPECT_TRUE(evaluate_flow(n, flow("10.1.0.4", "10.5.1.10", 1433)).allow);
}

TEST(Nsg, DenyOfTheRedirectRangeThroughAnExpandedTag) {
  const auto n = load("nsg_effective_deny_sql.json");
  for (const int port : {11000, 11005, 11999}) {
    const auto v =
        evaluate_flow(n, flow("10.1.0.4", "10.5.1.10", static_cast<std::uint16_t>(port)));
    EXPECT_FALSE(v.allow) << port;
    EXPECT_EQ(v.rule, "securityRules/deny-redirect-range") << port;
  }
  const auto edge = evaluate_flow(n, flow("10.1.0.4", "10.5.1.10", 12000));
  EXPECT_TRUE(edge.allow);
  EXPECT_EQ(edge.rule, "defaultSecurityRules/AllowVnetOutBound");
  EXPECT_EQ(edge.text(),
            "Access Allow, rule defaultSecurityRules/AllowVnetOutBound (NSG nsg-snet-app on the "
            "subnet)");
  // Outside VirtualNetwork's expansion, the redirect-range rule does not apply: the Internet
  // rule allows it.
  const auto out = evaluate_flow(n, flow("10.1.0.4", "20.1.2.3", 11000));
  EXPECT_TRUE(out.allow);
  EXPECT_EQ(out.rule, "defaultSecurityRules/AllowInternetOutBound");
}

TEST(Nsg, ProtocolAndInboundOrder) {
  const auto n = load("nsg_effective_deny_sql.json");
  // UDP out: the NIC's deny decides before the subnet is reached.
  const auto udp =
      evaluate_flow(n, flow("10.1.0.4", "10.5.0.10", 1433, NsgDirection::Outbound, "Udp"));
  EXPECT_FALSE(udp.allow);
  ASSERT_EQ(udp.steps.size(), 1U);
  EXPECT_EQ(udp.rule, "securityRules/deny-udp-out");
  // Inbound: the subnet first. 443 from the Internet: subnet allows, the NIC's DenyAllInBound.
  const auto https = evaluate_flow(n, flow("198.51.100.7", "10.1.0.4", 443, NsgDirection::Inbound));
  EXPECT_FALSE(https.allow);
  ASSERT_EQ(https.steps.size(), 2U);
  EXPECT_EQ(https.steps[0].association, "subnet");
  EXPECT_EQ(https.steps[0].rule, "securityRules/allow-https-in");
  EXPECT_EQ(https.rule, "defaultSecurityRules/DenyAllInBound");
  EXPECT_EQ(https.steps[1].association, "network interface");
  // RDP from the office: the NIC allows it but the subnet already denied it.
  const auto rdp = evaluate_flow(n, flow("203.0.113.9", "10.1.0.4", 3389, NsgDirection::Inbound));
  EXPECT_FALSE(rdp.allow);
  ASSERT_EQ(rdp.steps.size(), 1U);
  EXPECT_EQ(rdp.steps[0].association, "subnet");
}

TEST(Nsg, UnexpandedTagIsSaidNotGuessed) {
  const auto n = load("nsg_effective_unexpanded_tag.json");
  ASSERT_EQ(n.groups.size(), 1U);
  ASSERT_EQ(n.groups[0].tag_map.count("Storage"), 1U);  // tagMap sent as a JSON string
  // 1433 to a public address: the Sql.WestEurope deny might match; the Internet allow would.
  const auto sql = evaluate_flow(n, flow("10.1.0.4", "20.40.1.1", 1433));
  EXPECT_TRUE(sql.allow);
  EXPECT_FALSE(sql.determined);
  bool said = false;
  for (const auto& note : sql.notes) said |= note.find("Sql.WestEurope") != std::string::npos;
  EXPECT_TRUE(said);
  EXPECT_NE(sql.text().find("undetermined"), std::string::npos);
  // Storage is known through the tag map: 443 to it is allowed by its own rule.
  const auto storage = evaluate_flow(n, flow("10.1.0.4", "52.239.1.1", 443));
  EXPECT_TRUE(storage.allow);
  EXPECT_EQ(storage.rule, "securityRules/allow-storage");
}

TEST(Nsg, PowerShellShapeAndNoNsg) {
  auto n = parse_effective_nsgs(R"({
    "NetworkSecurityGroup": {"Id": "/x/networkSecurityGroups/ps-nsg"},
    "Association": {"Subnet": {"Id": "/x/subnets/s"}},
    "EffectiveSecurityRules": [
      {"Name": "securityRules/deny-all-sql", "Protocol": "Tcp", "SourcePortRange": ["0-65535"],
       "DestinationPortRange": ["1433"], "SourceAddressPrefix": ["0.0.0.0/0"],
       "DestinationAddressPrefix": ["0.0.0.0/0"], "Access": "Deny", "Priority": "100",
       "Direction": "Outbound"}]})");
  ASSERT_TRUE(n) << n.error().message;
  ASSERT_EQ(n->groups.size(), 1U);
  EXPECT_EQ(n->groups[0].name(), "ps-nsg");
  const auto v = evaluate_flow(*n, flow("10.1.0.4", "10.5.0.10", 1433));
  EXPECT_FALSE(v.allow);
  EXPECT_EQ(v.text(), "Access Deny, rule securityRules/deny-all-sql (NSG ps-nsg on the subnet)");
  // No rule for 443 in this export: not a verdict we can give.
  const auto other = evaluate_flow(*n, flow("10.1.0.4", "10.5.0.10", 443));
  EXPECT_FALSE(other.determined);
  EXPECT_TRUE(evaluate_flow(EffectiveNsgs{}, flow("10.1.0.4", "10.5.0.10", 1433)).allow);
  EXPECT_EQ(evaluate_flow(EffectiveNsgs{}, flow("10.1.0.4", "10.5.0.10", 1433)).text(),
            "Access Allow (no NSG applies)");
}

TEST(Nsg, BadRulesAreListedAndEmptyIsAUsageError) {
  auto n = parse_effective_nsgs(R"({"value":[{"association":{"networkInterface":{"id":"/n/nic"}},
    "effectiveSecurityRules":[
      {"name":"a","protocol":"Tcp","sourcePortRange":"*","destinationPortRange":"99999",
       "sourceAddressPrefix":"*","destinationAddressPrefix":"*","access":"Deny","priority":1,
       "direction":"Outbound"},
      {"name":"b","protocol":"Tcp","sourcePortRange":"*","destinationPortRange":"1433",
       "sourceAddressPrefix":"*","destinationAddressPrefix":"*","access":"Maybe","priority":2,
       "direction":"Outbound"},
      {"name":"c","protocol":"Tcp","sourcePortRange":"*","destinationPortRange":"1433",
       "sourceAddressPrefix":"*","destinationAddressPrefix":"*","access":"Allow","priority":-3,
       "direction":"Outbound"},
      "junk"]}]})");
  ASSERT_TRUE(n) << n.error().message;
  ASSERT_EQ(n->unread.size(), 4U);
  EXPECT_NE(n->unread[0].reason.find("99999"), std::string::npos);
  EXPECT_EQ(n->unread[1].reason, "access is neither Allow nor Deny");
  EXPECT_EQ(n->unread[2].reason, "no priority");
  EXPECT_EQ(n->unread[3].reason, "not an object");
  for (const std::string& text : {std::string(""), std::string("[]"), std::string("{\"value\":[]}"),
                                  std::string("{\"value\":[{\"effectiveSecurityRules\":[]}]}"),
                                  std::string(200, '{'), std::string("nope")}) {
    auto e = parse_effective_nsgs(text);
    ASSERT_FALSE(e) << text.substr(0, 20);
    EXPECT_EQ(e.error().kind, midiag::ErrorKind::Usage);
    EXPECT_NE(e.error().message.find("list-effective-nsg"), std::string::npos);
  }
}

TEST(Nsg, OneVerdictForAPortRangeNamesThePortsDenied) {
  auto n = parse_effective_nsgs(R"({"value":[{"association":{"networkInterface":{"id":"/n/nic"}},
    "networkSecurityGroup":{"id":"/g/networkSecurityGroups/nic-nsg"},
    "effectiveSecurityRules":[
      {"name":"securityRules/deny-some","protocol":"Tcp","sourcePortRange":"*",
       "destinationPortRanges":["11010-11019","11999"],"sourceAddressPrefix":"*",
       "destinationAddressPrefix":"*","access":"Deny","priority":100,"direction":"Outbound"},
      {"name":"securityRules/allow-all","protocol":"*","sourcePortRange":"*",
       "destinationPortRange":"*","sourceAddressPrefix":"*","destinationAddressPrefix":"*",
       "access":"Allow","priority":200,"direction":"Outbound"}]}]})");
  ASSERT_TRUE(n) << n.error().message;
  const auto v = evaluate_ports(*n, flow("10.1.0.4", "10.5.0.10", 1), {11000, 11999});
  EXPECT_FALSE(v.allow);
  EXPECT_TRUE(v.determined);
  ASSERT_EQ(v.denied.size(), 2U);
  EXPECT_EQ(v.denied[0].text(), "11010-11019");
  EXPECT_EQ(v.denied[1].text(), "11999");
  EXPECT_EQ(v.verdict.rule, "securityRules/deny-some");
  EXPECT_EQ(v.text(),
            "Access Deny, rule securityRules/deny-some (NSG nic-nsg on the network interface) for "
            "ports 11010-11019, 11999 of 11000-11999");
  const auto sql = evaluate_ports(*n, flow("10.1.0.4", "10.5.0.10", 1), {1433, 1433});
  EXPECT_TRUE(sql.allow);
  EXPECT_TRUE(sql.denied.empty());
  EXPECT_EQ(sql.text(),
            "Access Allow, rule securityRules/allow-all (NSG nic-nsg on the network interface)");
}

TEST(Nsg, AnUnknownSourceDecidesOnlyWhenNoEarlierRuleDependsOnIt) {
  const auto n = load("nsg_effective_deny_sql.json");
  auto f = flow("0.0.0.0", "10.5.0.10", 1433);
  f.source_given = false;
  // On the NIC, AllowVnetOutBound (source VirtualNetwork) allows only a source in the VNet, else
  // DenyAllOutBound denies: which one decides depends on the source.
  const auto v = evaluate_flow(n, f);
  EXPECT_FALSE(v.determined);
  bool said = false;
  for (const auto& note : v.notes) said |= note.find("not given") != std::string::npos;
  EXPECT_TRUE(said);
  // A source-independent deny first decides alone.
  auto any = parse_effective_nsgs(R"({"value":[{"association":{"subnet":{"id":"/s"}},
    "effectiveSecurityRules":[
      {"name":"securityRules/deny-sql","protocol":"Tcp","sourcePortRange":"*",
       "destinationPortRange":"1433","sourceAddressPrefix":"*","destinationAddressPrefix":"*",
       "access":"Deny","priority":100,"direction":"Outbound"},
      {"name":"securityRules/allow-app","protocol":"Tcp","sourcePortRange":"*",
       "destinationPortRange":"*","sourceAddressPrefix":"10.1.0.0/24",
       "destinationAddressPrefix":"*","access":"Allow","priority":200,"direction":"Outbound"}]}]})");
  ASSERT_TRUE(any) << any.error().message;
  const auto d = evaluate_flow(*any, f);
  EXPECT_TRUE(d.determined);
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.rule, "securityRules/deny-sql");
}

TEST(Nsg, LooksLikeAnExportByItsKey) {
  EXPECT_TRUE(looks_like_effective_nsgs(" {\"value\":[{\"effectiveSecurityRules\":[]}]}"));
  EXPECT_TRUE(looks_like_effective_nsgs("[{\"EffectiveSecurityRules\":[]}]"));
  EXPECT_FALSE(looks_like_effective_nsgs("{\"value\":[{\"nextHopType\":\"None\"}]}"));
  EXPECT_FALSE(looks_like_effective_nsgs("effectiveSecurityRules"));
  EXPECT_FALSE(looks_like_effective_nsgs(""));
}
