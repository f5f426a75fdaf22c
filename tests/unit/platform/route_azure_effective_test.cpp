// Azure effective routes (az CLI and PowerShell JSON) into the shared RouteTable.
#include <gtest/gtest.h>

#include <string>

#include "platform/routes/route_table.h"
#include "tests/unit/support/own_fixture.h"

using namespace midiag::platform::routes;

namespace {

std::string fixture(const std::string& name) {
  return midiag::test_support::own_fixture("routes", name);
}

const RouteEntry* find(const RouteTable& t, const std::string& dest, const std::string& kind) {
  for (const auto& r : t.routes)
    if (r.destination.text() == dest && r.kind == kind) return &r;
  return nullptr;
}

}  // namespace

TEST(RouteAzureEffective, CliExportOneEntryPerPrefix) {
  auto t = parse_azure_effective(fixture("azure_effective_routes_cli.json"));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->format, SourceFormat::AzureEffective);
  EXPECT_TRUE(t->unread.empty());
  EXPECT_EQ(t->routes.size(), 11U);  // 8 routes, two with 2 and 3 prefixes
  const auto* udr = find(*t, "10.5.0.0/24", "VirtualAppliance");
  ASSERT_TRUE(udr);
  ASSERT_TRUE(udr->gateway);
  EXPECT_EQ(udr->gateway->text(), "10.1.250.4");
  EXPECT_EQ(udr->interface, "VirtualAppliance");
  EXPECT_TRUE(udr->active);
  EXPECT_EQ(udr->origin, "value[2], source User, route mi-subnet-via-firewall");
  const auto* internet = find(*t, "0.0.0.0/0", "Internet");
  ASSERT_TRUE(internet);
  EXPECT_FALSE(internet->active);  // Invalid: overridden by the UDR below
  EXPECT_FALSE(internet->gateway);
  EXPECT_TRUE(find(*t, "0.0.0.0/0", "VirtualAppliance")->active);
  EXPECT_TRUE(find(*t, "192.168.20.0/24", "VirtualNetworkGateway"));
  EXPECT_EQ(find(*t, "192.168.20.0/24", "VirtualNetworkGateway")->gateway->text(), "20.50.60.70");
  EXPECT_TRUE(find(*t, "100.64.0.0/10", "None"));
  EXPECT_EQ(find(*t, "ace:cab:deca::/48", "VnetLocal")->family(), 6);
}

TEST(RouteAzureEffective, PowerShellShapeAndBareList) {
  auto t = parse_azure_effective(fixture("azure_effective_routes_powershell.json"));
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->routes.size(), 3U);
  EXPECT_EQ(t->routes[1].destination.text(), "10.5.0.0/24");
  EXPECT_EQ(t->routes[1].kind, "None");
  EXPECT_EQ(t->routes[1].origin, "value[1], source User, route to-mi");
  // PowerShell writes a one-element list as the object itself, and a string for one prefix.
  auto one = parse_azure_effective(
      R"({"Name":null,"State":"Active","Source":"Default","AddressPrefix":"10.9.0.0/16",)"
      R"("NextHopType":"VnetLocal","NextHopIpAddress":[]})");
  ASSERT_TRUE(one) << one.error().message;
  ASSERT_EQ(one->routes.size(), 1U);
  EXPECT_EQ(one->routes[0].destination.text(), "10.9.0.0/16");
}

TEST(RouteAzureEffective, BadMembersAreListed) {
  auto t = parse_azure_effective(R"({"value":[
    {"source":"Default","state":"Active","addressPrefix":["10.1.0.0/16","10.300.0.0/16"],
     "nextHopType":"VnetLocal","nextHopIpAddress":[]},
    {"source":"User","state":"Active","addressPrefix":["10.2.0.0/16"],"nextHopType":"VirtualAppliance",
     "nextHopIpAddress":["not-an-ip"]},
    {"source":"Default","state":"Active","addressPrefix":[],"nextHopType":"VnetLocal"},
    {"source":"Default","state":"Active","addressPrefix":["10.3.0.0/16"]},
    42,
    {"source":"Default","state":"Weird","addressPrefix":["10.4.0.0/16"],"nextHopType":"Internet"}
  ]})");
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->routes.size(), 2U);
  EXPECT_FALSE(t->routes[1].active);  // a state that is neither Active nor Invalid
  EXPECT_NE(t->routes[1].origin.find("state Weird"), std::string::npos);
  ASSERT_EQ(t->unread.size(), 5U);
  EXPECT_EQ(t->unread[0].reason, "not an address prefix");
  EXPECT_EQ(t->unread[0].text, "value[0].addressPrefix[1]: \"10.300.0.0/16\"");
  EXPECT_EQ(t->unread[1].reason, "nextHopIpAddress is not an address");
  EXPECT_EQ(t->unread[2].reason, "no addressPrefix");
  EXPECT_EQ(t->unread[3].reason, "no nextHopType");
  EXPECT_EQ(t->unread[4].reason, "not an object");
  EXPECT_EQ(t->unread[4].line, 5U);
}

TEST(RouteAzureEffective, NothingOfATableIsAUsageError) {
  const std::string deep(100000, '[');
  for (const std::string& text :
       {std::string(""), std::string("not json"), std::string("{}"), std::string("{\"value\":[]}"),
        std::string("[1,2"), std::string("{\"value\":{}}"), deep,
        std::string("\xFF\xFE{\0}\0", 6)}) {
    auto t = parse_azure_effective(text);
    ASSERT_FALSE(t) << text.substr(0, 20);
    EXPECT_EQ(t.error().kind, midiag::ErrorKind::Usage);
    EXPECT_NE(t.error().message.find("show-effective-route-table"), std::string::npos);
  }
}

TEST(RouteAzureEffective, Utf16FromPowerShellRedirect) {
  // PowerShell's `>` writes UTF-16LE with a BOM.
  const std::string json =
      R"([{"State":"Active","Source":"Default","AddressPrefix":["10.1.0.0/16"],"NextHopType":"VnetLocal"}])";
  std::string utf16 = "\xFF\xFE";
  for (char c : json) {
    utf16 += c;
    utf16 += '\0';
  }
  auto t = parse_azure_effective(utf16);
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->routes.size(), 1U);
}
