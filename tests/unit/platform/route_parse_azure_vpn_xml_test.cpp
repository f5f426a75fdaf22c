// The Azure VPN Client profile's include/exclude routes (tests/fixtures/routes/azurevpnconfig.xml,
// written from the documented <clientconfig><includeroutes><route> shape), and hostile XML.
#include <gtest/gtest.h>

#include <chrono>

#include "platform/routes/route_table.h"
#include "tests/unit/support/own_fixture.h"

using namespace midiag::platform::routes;

namespace {
std::string own(const std::string& name) {
  return normalize_text(midiag::test_support::own_fixture("routes", name));
}
}  // namespace

TEST(RouteParseAzureVpnXml, IncludeAndExcludeRoutes) {
  auto r = parse_azure_vpn_xml(own("azurevpnconfig.xml"));
  ASSERT_TRUE(r) << r.error().message;
  const RouteTable& t = *r;
  EXPECT_EQ(t.format, SourceFormat::AzureVpnXml);
  ASSERT_EQ(t.routes.size(), 3U);
  EXPECT_EQ(t.routes[0].destination.text(), "10.1.0.0/16");
  EXPECT_EQ(t.routes[0].interface, "vpn");
  EXPECT_EQ(t.routes[0].kind, "unicast");
  EXPECT_TRUE(t.routes[0].active);
  EXPECT_EQ(t.routes[0].origin, "line 17");
  EXPECT_EQ(t.routes[1].destination.text(), "10.5.0.0/24");  // a dotted mask is read too
  const RouteEntry& ex = t.routes[2];
  EXPECT_EQ(ex.destination.text(), "10.1.9.0/24");
  EXPECT_EQ(ex.kind, "exclude");
  EXPECT_EQ(ex.interface, "vpn");
  EXPECT_FALSE(ex.active);
  ASSERT_EQ(t.unread.size(), 2U);
  EXPECT_EQ(t.unread[0].line, 23U);
  EXPECT_NE(t.unread[0].reason.find("without a <mask>"), std::string::npos);
  EXPECT_EQ(t.unread[1].line, 26U);  // mask 40 on IPv4
}

TEST(RouteParseAzureVpnXml, DocsShapeWithoutNamespaceAndUtf16) {
  const std::string doc =
      "<azvpnprofile>\n<clientconfig>\n\t<includeroutes>\n\t\t<route>\n"
      "\t\t\t<destination>0.0.0.0</destination><mask>1</mask>\n\t\t</route>\n\t\t<route>\n"
      "\t\t\t<destination>128.0.0.0</destination><mask>1</mask>\n\t\t</route>\n"
      "\t</includeroutes>\n</clientconfig>\n</azvpnprofile>\n";
  std::string utf16 = "\xFF\xFE";
  for (char c : "<?xml version=\"1.0\" encoding=\"utf-16\"?>\r\n" + doc) {
    if (c == '\0') break;
    utf16 += c;
    utf16 += '\0';
  }
  for (const std::string& text : {doc, normalize_text(utf16)}) {
    auto r = parse_azure_vpn_xml(text);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->routes.size(), 2U);
    EXPECT_EQ(r->routes[0].destination.text(), "0.0.0.0/1");
    EXPECT_EQ(r->routes[1].destination.text(), "128.0.0.0/1");
  }
}

TEST(RouteParseAzureVpnXml, NothingOfAProfileIsAUsageError) {
  for (const char* text :
       {"", "not xml", "<a><b></a>", "<AzVpnProfile><name>x</name></AzVpnProfile>",
        "ADD 10.1.0.0 MASK 255.255.0.0 default METRIC default IF default\n"}) {
    auto r = parse_azure_vpn_xml(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().kind, midiag::ErrorKind::Usage);
    EXPECT_NE(r.error().message.find("<includeroutes>"), std::string::npos) << r.error().message;
  }
}

// Entities are neither expanded nor fetched: the classic billion laughs and an external entity
// pointing at a local file and at the network are refused at once, and nothing is read.
TEST(RouteParseAzureVpnXml, HostileXmlCannotFetchOrBlowUp) {
  std::string laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [\n<!ENTITY a \"aaaaaaaaaa\">\n";
  for (int i = 1; i < 10; ++i) {  // each entity is ten of the one before: 10^10 characters
    const std::string prev = "&" + std::string(1, static_cast<char>('a' + i - 1)) + ";";
    laughs += "<!ENTITY " + std::string(1, static_cast<char>('a' + i)) + " \"";
    for (int k = 0; k < 10; ++k) laughs += prev;
    laughs += "\">\n";
  }
  laughs +=
      "]>\n<r><includeroutes><route><destination>&j;</destination><mask>8</mask></route>"
      "</includeroutes></r>\n";
  const std::string external =
      "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
      "<r><includeroutes><route><destination>&x;</destination><mask>8</mask></route>"
      "</includeroutes></r>";
  const std::string dtd =
      "<?xml version=\"1.0\"?><!DOCTYPE r SYSTEM \"http://127.0.0.1:9/evil.dtd\">"
      "<r><includeroutes><route><destination>10.0.0.0</destination><mask>8</mask></route>"
      "</includeroutes></r>";
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& text : {laughs, external}) {
    auto r = parse_azure_vpn_xml(text);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, midiag::ErrorKind::Usage);
    EXPECT_NE(r.error().message.find("entities"), std::string::npos) << r.error().message;
  }
  // An external DTD is not loaded (NONET, no DTDLOAD): the routes are read, nothing fetched.
  auto r = parse_azure_vpn_xml(dtd);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->routes.size(), 1U);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // A predefined entity reference inside a value is fine (&#49; is '1').
  auto ref = parse_azure_vpn_xml(
      "<r><includeroutes><route><destination>10.0.0.0</destination><mask>&#49;6</mask></route>"
      "</includeroutes></r>");
  ASSERT_TRUE(ref) << ref.error().message;
  ASSERT_EQ(ref->routes.size(), 1U);
  EXPECT_EQ(ref->routes[0].destination.text(), "10.0.0.0/16");
}

TEST(RouteParseAzureVpnXml, DeepNestingAndStrayChildren) {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "<a>";
  for (int i = 0; i < 5000; ++i) deep += "</a>";
  auto r = parse_azure_vpn_xml(deep);
  ASSERT_FALSE(r);  // libxml2 refuses nesting deeper than 256 levels: an error, not a crash
  EXPECT_EQ(r.error().kind, midiag::ErrorKind::Usage);
  auto stray = parse_azure_vpn_xml(
      "<p><excluderoutes><note>x</note><route><destination>fd00::</destination><mask>8</mask>"
      "</route></excluderoutes></p>");
  ASSERT_TRUE(stray) << stray.error().message;
  ASSERT_EQ(stray->routes.size(), 1U);
  EXPECT_EQ(stray->routes[0].destination.text(), "fd00::/8");
  EXPECT_EQ(stray->routes[0].kind, "exclude");
  ASSERT_EQ(stray->unread.size(), 1U);
  EXPECT_NE(stray->unread[0].reason.find("not a <route>"), std::string::npos);
}
