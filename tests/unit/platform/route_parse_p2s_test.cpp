// The P2S VPN client's routes.txt (tests/fixtures/routes/p2s_routes.txt, written from the
// documented Connection Manager shape: "ADD d MASK m default METRIC default IF default").
#include <gtest/gtest.h>

#include "platform/routes/route_table.h"
#include "tests/unit/support/own_fixture.h"

using namespace midiag::platform::routes;

namespace {
std::string own(const std::string& name) {
  return normalize_text(midiag::test_support::own_fixture("routes", name));
}
}  // namespace

TEST(RouteParseP2s, AddLinesCommentsAndDeleteAsExclusion) {
  auto r = parse_p2s(own("p2s_routes.txt"));
  ASSERT_TRUE(r) << r.error().message;
  const RouteTable& t = *r;
  EXPECT_EQ(t.format, SourceFormat::P2s);
  ASSERT_EQ(t.routes.size(), 6U);
  const RouteEntry& a = t.routes[0];
  EXPECT_EQ(a.destination.text(), "10.1.0.0/16");
  EXPECT_EQ(a.interface, "vpn");
  EXPECT_FALSE(a.gateway);
  EXPECT_EQ(a.gateway_text, "default");
  EXPECT_FALSE(a.metric);  // METRIC default
  EXPECT_TRUE(a.active);
  EXPECT_EQ(a.kind, "unicast");
  EXPECT_EQ(a.origin, "line 3");
  EXPECT_EQ(t.routes[1].destination.text(), "10.2.0.0/24");   // trailing comment cut off
  EXPECT_EQ(t.routes[2].destination.text(), "20.60.0.0/16");  // lower-case "add"
  // DELETE: the prefix is taken off the VPN; an exclusion, never chosen as a route.
  const RouteEntry& del = t.routes[3];
  EXPECT_EQ(del.destination.text(), "10.1.5.0/24");
  EXPECT_EQ(del.kind, "exclude");
  EXPECT_FALSE(del.active);
  EXPECT_EQ(del.interface, "vpn");
  // An explicit gateway and metric.
  EXPECT_EQ(t.routes[4].gateway->text(), "10.1.0.1");
  EXPECT_EQ(*t.routes[4].metric, 5U);
  EXPECT_EQ(t.routes[5].destination.text(), "10.7.0.0/16");  // "/len" without MASK
  ASSERT_EQ(t.unread.size(), 3U);
  EXPECT_EQ(t.unread[0].line, 10U);
  EXPECT_EQ(t.unread[1].line, 11U);
  EXPECT_NE(t.unread[1].reason.find("not contiguous"), std::string::npos);
  EXPECT_EQ(t.unread[2].line, 12U);
  EXPECT_NE(t.unread[2].reason.find("'fast'"), std::string::npos);
}

TEST(RouteParseP2s, CrlfAndUtf16AsWindowsWritesThem) {
  const std::string crlf = "ADD 10.1.0.0 MASK 255.255.0.0 default METRIC default IF default\r\n";
  std::string utf16 = "\xFF\xFE";
  for (char c : crlf) {
    utf16 += c;
    utf16 += '\0';
  }
  for (const std::string& raw : {crlf, utf16}) {
    auto r = parse_p2s(normalize_text(raw));
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->routes.size(), 1U);
    EXPECT_EQ(r->routes[0].destination.text(), "10.1.0.0/16");
    EXPECT_TRUE(r->unread.empty());
  }
}

TEST(RouteParseP2s, BadLinesNamedAndNothingIsAUsageError) {
  for (const char* text : {"", "# only a comment\n\n", "hello\n", "ADD\n", "ADD 10.0.0.0 MASK\n",
                           "ADD 10.0.0.0 MASK 255.0.0.0 default METRIC\n", "ADD default default\n",
                           "DELETE 1.2.3.4 MASK x\n", "ADD 10.0.0.0 MASK 255.0.0.0 fe80::1\n",
                           "ADD 10.0.0.0 MASK 255.0.0.0 default IF eth0\n",
                           "ADD 10.0.0.0 MASK 255.0.0.0 default COLOR blue\n"}) {
    auto r = parse_p2s(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().kind, midiag::ErrorKind::Usage);
    EXPECT_NE(r.error().message.find("ADD 10.1.0.0 MASK"), std::string::npos);
  }
  auto r = parse_p2s("ADD 10.0.0.0 MASK 255.0.0.0 default IF eth0\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("line 1: interface 'eth0'"), std::string::npos)
      << r.error().message;
  // A host route without MASK, an interface index, REMOVE_GATEWAY noted.
  auto ok = parse_p2s("REMOVE_GATEWAY\nroute add 10.9.9.9 default METRIC 3 IF 12\n");
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(ok->routes.size(), 1U);
  EXPECT_EQ(ok->routes[0].destination.text(), "10.9.9.9/32");
  EXPECT_EQ(ok->routes[0].interface, "12");
  EXPECT_NE(ok->note.find("REMOVE_GATEWAY"), std::string::npos);
}
