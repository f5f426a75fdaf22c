#include "reports/target.h"

#include <gtest/gtest.h>

#include "probes/dns/dns_probe.h"

using namespace midiag::reports;

TEST(TargetClassification, NamesAndDefaultPorts) {
  struct Case {
    const char* input;
    EndpointKind kind;
    const char* instance;
    const char* zone;
    int port;
  } cases[] = {
      {"mymi.abc123.database.windows.net", EndpointKind::VnetLocal, "mymi", "abc123", 1433},
      {"MyMI.ABC123.database.windows.net.", EndpointKind::VnetLocal, "mymi", "abc123", 1433},
      {"mymi.public.abc123.database.windows.net", EndpointKind::Public, "mymi", "abc123", 3342},
      {"fog1.secondary.abc123.database.windows.net", EndpointKind::FailoverListenerRo, "fog1",
       "abc123", 1433},
      {"mymi.privatelink.abc123.database.windows.net", EndpointKind::PrivateEndpoint, "mymi",
       "abc123", 1433},
      {"mymi.abc123.database.chinacloudapi.cn", EndpointKind::VnetLocal, "mymi", "abc123", 1433},
      {"mymi.abc123.database.usgovcloudapi.net:1433", EndpointKind::VnetLocal, "mymi", "abc123",
       1433},
      {"myserver.database.windows.net", EndpointKind::Other, "", "", 1433},
      {"sql.contoso.com", EndpointKind::Other, "", "", 1433},
      {"10.0.0.4", EndpointKind::IpLiteral, "", "", 1433},
      {"10.0.0.4:3342", EndpointKind::IpLiteral, "", "", 3342},
      {"[2001:db8::4]:1433", EndpointKind::IpLiteral, "", "", 1433},
      {"2001:db8::4", EndpointKind::IpLiteral, "", "", 1433},
      {"a.b.c.abc123.database.windows.net", EndpointKind::Other, "", "", 1433},
  };
  for (const auto& c : cases) {
    auto t = parse_target(c.input);
    ASSERT_TRUE(t) << c.input << ": " << t.error().message;
    EXPECT_EQ(t->kind, c.kind) << c.input;
    EXPECT_EQ(t->instance, c.instance) << c.input;
    EXPECT_EQ(t->zone, c.zone) << c.input;
    EXPECT_EQ(t->port, c.port) << c.input;
  }
}

TEST(TargetClassification, MalformedInputsAreErrorsNamingTheProblem) {
  struct Case {
    const char* input;
    const char* says;
  } cases[] = {
      {"", "empty"},
      {"mymi..database.windows.net", "empty label"},
      {"-bad.abc.database.windows.net", "starts or ends with '-'"},
      {"my mi.abc.database.windows.net", "not allowed"},
      {"host:0", "bad port '0'"},
      {"host:70000", "bad port '70000'"},
      {"host:", "empty port"},
      {"host:abc", "bad port 'abc'"},
      {"[::1", "closing"},
      {"[10.0.0.1]:1433", "not an IPv6"},
      {"fe80::1::2", "not a host name"},
      {"host/../etc", "not allowed"},
  };
  for (const auto& c : cases) {
    auto t = parse_target(c.input);
    ASSERT_FALSE(t) << c.input;
    EXPECT_NE(t.error().message.find(c.says), std::string::npos)
        << c.input << " -> " << t.error().message;
  }
  EXPECT_FALSE(parse_target(std::string(300, 'a')));
  EXPECT_FALSE(parse_target(std::string(64, 'a') + ".example.com"));
}

TEST(TargetClassification, CnameChainRefinesTheKind) {
  auto t = *parse_target("mymi.abc123.database.windows.net");
  refine_with_cname_chain(t, {{"mymi.abc123.database.windows.net",
                               "mymi.privatelink.abc123.database.windows.net", 60}});
  EXPECT_EQ(t.kind, EndpointKind::PrivateEndpoint);

  auto fog = *parse_target("fog1.abc123.database.windows.net");
  refine_with_cname_chain(
      fog, {{"fog1.abc123.database.windows.net", "mi-primary.abc123.database.windows.net.", 30}});
  EXPECT_EQ(fog.kind, EndpointKind::FailoverListenerRw);

  auto other_zone = *parse_target("fog1.abc123.database.windows.net");
  refine_with_cname_chain(other_zone, {{"fog1.abc123.database.windows.net",
                                        "tr42.westeurope1-a.worker.database.windows.net", 30}});
  EXPECT_EQ(other_zone.kind, EndpointKind::VnetLocal);
}
