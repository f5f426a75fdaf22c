// This host's tables in the route model, and the bundle's iproute2-style members read back
// through the same parser `routes --from-file` uses.
#include "platform/linux/host_routes.h"

#include <gtest/gtest.h>

using namespace midiag;
namespace rt = midiag::platform::routes;

namespace {

platform::RouteEntry entry(std::string dest, int prefix, std::string gw, std::string dev,
                           std::uint32_t table, std::uint32_t metric, std::string kind) {
  platform::RouteEntry e;
  e.destination = std::move(dest);
  e.prefix = prefix;
  e.gateway = std::move(gw);
  e.interface = std::move(dev);
  e.table = table;
  e.metric = metric;
  e.kind = std::move(kind);
  e.protocol = "static";
  e.scope = e.gateway.empty() ? "link" : "global";
  return e;
}

}  // namespace

TEST(HostRoutes, TheBundleTextReadsBackAsTheSameRoutes) {
  const std::vector<platform::RouteEntry> routes = {
      entry("0.0.0.0", 0, "10.250.1.1", "eth0", 254, 100, "unicast"),
      entry("10.250.0.0", 16, "", "wg0", 254, 0, "unicast"),
      entry("10.99.0.0", 24, "", "", 254, 0, "blackhole"),
      entry("172.16.0.0", 12, "10.250.1.254", "eth1", 100, 5, "unicast"),
      entry("127.0.0.1", 32, "", "lo", 255, 0, "local"),
  };
  const std::string text = platform::ip_route_text(routes);
  auto back = rt::parse_linux(text);
  ASSERT_TRUE(back) << text;
  EXPECT_TRUE(back->unread.empty()) << back->unread.front().reason;
  ASSERT_EQ(back->routes.size(), routes.size()) << text;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const auto& b = back->routes[i];
    EXPECT_EQ(b.destination.text(), routes[i].destination + "/" + std::to_string(routes[i].prefix));
    EXPECT_EQ(b.gateway ? b.gateway->text() : "", routes[i].gateway) << i;
    EXPECT_EQ(b.interface, routes[i].interface) << i;
    EXPECT_EQ(b.table, platform::route_table_name(routes[i].table)) << i;
    EXPECT_EQ(b.kind, routes[i].kind) << i;
    EXPECT_EQ(b.metric.value_or(0), routes[i].metric) << i;
  }
}

TEST(HostRoutes, TheRulesTextReadsBackAsTheSameRules) {
  std::vector<platform::RuleEntry> rules = {{0, "from all lookup local", 255, "lookup"},
                                            {100, "from 10.250.0.0/16 lookup 100", 100, "lookup"},
                                            {32766, "from all lookup main", 254, "lookup"}};
  auto back = rt::parse_linux(platform::ip_rule_text(rules));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->rules.size(), 3u);
  EXPECT_EQ(back->rules[1].priority, 100u);
  EXPECT_EQ(back->rules[1].table, "100");
  EXPECT_EQ(back->rules[1].from->text(), "10.250.0.0/16");
}

// The live tables of the namespace the test runs in: the model's choice for the loopback address
// is the kernel's (a local route in table local, chosen by rule 0).
TEST(HostRoutes, TheModelChoosesWhatTheKernelChoosesForLoopback) {
  auto table = platform::host_route_table();
  ASSERT_TRUE(table) << table.error().message;
  ASSERT_FALSE(table->routes.empty());
  auto kernel = platform::lookup_route("127.0.0.1");
  ASSERT_TRUE(kernel);
  auto l = rt::lookup(*table, *rt::Address::parse("127.0.0.1"));
  ASSERT_TRUE(l.route) << l.reason;
  const auto& e = table->routes[*l.route];
  EXPECT_EQ(e.kind, kernel->kind);
  EXPECT_EQ(e.interface, kernel->interface);
  EXPECT_EQ(e.table, platform::route_table_name(kernel->table));
  ASSERT_TRUE(l.rule);
  EXPECT_EQ(table->rules[*l.rule].priority, 0u);
}
