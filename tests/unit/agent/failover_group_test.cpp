// check --mode failover-group against two simulated partners on loopback (127.0.0.1 and
// 127.0.0.2, one gateway port): the primary's DNS serves the listeners as CNAMEs. What the
// partners saw (LOGIN7 with or without the read-only intent) is counted by the simulators.
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/check.h"
#include "agent/simulator/instance.h"
#include "reports/report.h"

namespace midiag::agent {
namespace {

std::string write_temp(const std::string& text) {
  char tmpl[] = "/tmp/mi-diag-fog-XXXXXX";
  const int fd = mkstemp(tmpl);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return tmpl;
}

struct Group {
  std::unique_ptr<sim::SimulatedInstance> primary, secondary;
  std::string ca;
  ~Group() {
    if (!ca.empty()) std::filesystem::remove(ca);
  }
};

// fog1.sim0001 -> mi1.sim0001 (127.0.0.1); fog1.secondary.sim0001 -> mi2.<secondary_zone>
// (127.0.0.2).
void start_group(Group& g, const std::string& secondary_zone) {
  sim::InstanceConfig p;
  const std::string partner = "mi2." + secondary_zone + ".database.windows.net";
  p.dns_aliases = {{"fog1.sim0001.database.windows.net", "mi1.sim0001.database.windows.net", 30},
                   {"fog1.secondary.sim0001.database.windows.net", partner, 45}};
  sim::DnsRecord r;
  r.name = partner;
  inet_pton(AF_INET, "127.0.0.2", &r.address);
  p.dns_records = {r};
  auto primary = sim::SimulatedInstance::start(p);
  ASSERT_TRUE(primary) << primary.error().message;
  g.primary = std::move(*primary);
  sim::InstanceConfig s;
  s.instance = "mi2";
  s.zone = secondary_zone;
  s.bind_address = "127.0.0.2";
  s.gateway_port = g.primary->gateway_port();
  auto secondary = sim::SimulatedInstance::start(s);
  ASSERT_TRUE(secondary) << secondary.error().message;
  g.secondary = std::move(*secondary);
  g.ca = write_temp(g.primary->ca_pem() + g.secondary->ca_pem());
}

CheckOptions options(const Group& g, const std::string& target) {
  CheckOptions o;
  o.target = *reports::parse_target(target);
  o.mode = reports::Mode::FailoverGroup;
  o.connect_port = g.primary->gateway_port();
  o.system_servers = {"127.0.0.1:" + std::to_string(g.primary->dns_port())};
  o.azure = CheckOptions::Azure::Never;
  o.timeout = std::chrono::milliseconds(2000);
  o.ca_file = g.ca;
  o.capture = false;
  o.trace = false;
  o.credentials = tdsprobe::Credentials{"sim", "sim-password"};
  return o;
}

std::vector<std::string> codes(const reports::Report& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings) out.emplace_back(f.name());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FailoverGroupCheck, BothListenersLogInTheReadOnlyOneWithReadOnlyIntent) {
  Group g;
  ASSERT_NO_FATAL_FAILURE(start_group(g, "sim0001"));
  const auto out = run_check(options(g, "fog1.sim0001.database.windows.net"));
  ASSERT_TRUE(out.ok) << out.failure.message;
  EXPECT_EQ(codes(out.report), std::vector<std::string>{"CONNECTION_PATH"});
  const auto& fg = out.report.evidence.failover_group;
  ASSERT_TRUE(fg);
  EXPECT_EQ(fg->given, "read-write listener");
  EXPECT_EQ(fg->read_write.instance, "mi1.sim0001.database.windows.net");
  EXPECT_EQ(fg->read_only.instance, "mi2.sim0001.database.windows.net");
  EXPECT_EQ(fg->read_write.ttl_s, 30u);
  EXPECT_EQ(fg->read_only.ttl_s, 45u);
  EXPECT_EQ(fg->read_only.verdict, "ok");
  EXPECT_EQ(fg->read_only.addresses, std::vector<std::string>{"127.0.0.2"});
  // What each partner received: the read-write side logged in without the intent (gateway and
  // node), the read-only side with it, at its gateway and at its node after the redirect.
  const auto ps = g.primary->stats(), ss = g.secondary->stats();
  EXPECT_EQ(ps.gateway.logins_ok, 1u);
  EXPECT_EQ(ps.gateway.read_only_login7s + ps.node.read_only_login7s, 0u);
  EXPECT_EQ(ss.gateway.logins_ok, 1u);
  EXPECT_EQ(ss.gateway.read_only_login7s, 1u);
  EXPECT_EQ(ss.node.read_only_login7s, 1u);
}

TEST(FailoverGroupCheck, TheReadOnlyListenerGivenIsTheReportsOwnSide) {
  Group g;
  ASSERT_NO_FATAL_FAILURE(start_group(g, "sim0001"));
  const auto out = run_check(options(g, "fog1.secondary.sim0001.database.windows.net"));
  ASSERT_TRUE(out.ok) << out.failure.message;
  const auto& fg = out.report.evidence.failover_group;
  ASSERT_TRUE(fg);
  EXPECT_EQ(fg->given, "read-only listener");
  EXPECT_TRUE(fg->read_only.is_target);
  EXPECT_FALSE(fg->read_write.is_target);
  EXPECT_EQ(g.secondary->stats().gateway.read_only_login7s, 1u);
  EXPECT_EQ(g.primary->stats().gateway.read_only_login7s, 0u);
}

TEST(FailoverGroupCheck, ASecondaryInAnotherZoneIsAZoneMismatchAndItsSideFails) {
  Group g;
  ASSERT_NO_FATAL_FAILURE(start_group(g, "sim0002"));
  const auto out = run_check(options(g, "fog1.sim0001.database.windows.net"));
  ASSERT_TRUE(out.ok) << out.failure.message;
  EXPECT_EQ(codes(out.report), (std::vector<std::string>{"CONNECTION_PATH", "FOG_DNS_ZONE_MISMATCH",
                                                         "FOG_SECONDARY_UNREACHABLE"}));
  EXPECT_EQ(out.report.verdict, reports::Verdict::Fail);
  // The certificate did not cover the listener: the real password was withheld there.
  EXPECT_EQ(g.secondary->stats().gateway.login7s, 0u);
}

TEST(FailoverGroupCheck, APartnerWithTheGroupNameChecksBothListeners) {
  Group g;
  ASSERT_NO_FATAL_FAILURE(start_group(g, "sim0001"));
  auto o = options(g, "mi1.sim0001.database.windows.net");
  o.fog = "fog1";
  const auto out = run_check(o);
  ASSERT_TRUE(out.ok) << out.failure.message;
  const auto& fg = out.report.evidence.failover_group;
  ASSERT_TRUE(fg);
  EXPECT_EQ(fg->given, "partner");
  EXPECT_FALSE(fg->read_write.is_target);
  EXPECT_FALSE(fg->read_only.is_target);
  EXPECT_EQ(fg->read_only.instance, "mi2.sim0001.database.windows.net");
  EXPECT_EQ(fg->read_write.verdict, "ok");
}

TEST(FailoverGroupCheck, AnInstanceNameWithoutTheGroupNameSaysWhatIsMissing) {
  Group g;
  ASSERT_NO_FATAL_FAILURE(start_group(g, "sim0001"));
  const auto out = run_check(options(g, "mi1.sim0001.database.windows.net"));
  ASSERT_TRUE(out.ok) << out.failure.message;
  EXPECT_FALSE(out.report.evidence.failover_group);
  const auto& lim = out.report.evidence.limitations;
  EXPECT_TRUE(std::any_of(lim.begin(), lim.end(), [](const std::string& l) {
    return l.find("not a listener") != std::string::npos && l.find("--fog") != std::string::npos;
  }));
  EXPECT_EQ(g.secondary->stats().connections(), 0u) << "nothing to check on the partner";
}

}  // namespace
}  // namespace midiag::agent
