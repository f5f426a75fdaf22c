// check with its own capture (as root, on loopback): the packets it took beside its probes are
// analysed per connection (sessions[]), and a healthy path gets no packet finding.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
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
  char tmpl[] = "/tmp/mi-diag-capture-XXXXXX";
  const int fd = mkstemp(tmpl);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return tmpl;
}

TEST(CheckCapture, SimulatorOnLoopbackHasTheGatewaySessionEstablishedAndNoPacketFinding) {
  if (geteuid() != 0) GTEST_SKIP() << "a live capture needs root (CAP_NET_RAW)";
  sim::InstanceConfig config;
  auto inst = sim::SimulatedInstance::start(config);
  ASSERT_TRUE(inst) << inst.error().message;
  const std::string ca = write_temp((*inst)->ca_pem());
  CheckOptions opt;
  opt.target = *reports::parse_target((*inst)->fqdn());
  opt.connect_port = (*inst)->gateway_port();
  opt.system_servers = {"127.0.0.1:" + std::to_string((*inst)->dns_port())};
  opt.timeout = std::chrono::milliseconds(2000);
  opt.ca_file = ca;
  opt.credentials = tdsprobe::Credentials{config.user, config.password};
  const auto out = run_check(opt);
  std::filesystem::remove(ca);
  ASSERT_TRUE(out.ok) << out.failure.message;
  const auto& ev = out.report.evidence;
  if (ev.capture.status != "on") GTEST_SKIP() << "no capture here: " << ev.capture.error;
  ASSERT_TRUE(ev.packets) << "the capture was not analysed";
  const auto gateway = std::find_if(ev.tcp.begin(), ev.tcp.end(), [&](const tcp::Result& r) {
    return r.target.port == (*inst)->gateway_port();
  });
  ASSERT_NE(gateway, ev.tcp.end());
  EXPECT_NE(gateway->local_port, 0);
  const auto& sessions = ev.packets->sessions;
  const auto probe = std::find_if(sessions.begin(), sessions.end(), [&](const auto& s) {
    return s.client_port == gateway->local_port && s.server_port == (*inst)->gateway_port();
  });
  ASSERT_NE(probe, sessions.end()) << sessions.size() << " session(s), none the TCP probe's";
  EXPECT_EQ(probe->state, "established");
  const bool login = std::any_of(sessions.begin(), sessions.end(), [&](const auto& s) {
    return s.server_port == (*inst)->gateway_port() && s.speaks_tds && s.tls;
  });
  EXPECT_TRUE(login) << "the TDS probe's own connection is not among the sessions";
  for (const auto& f : out.report.findings)
    for (auto code : {"TCP_RESET_BY_MIDDLEBOX", "PATH_MTU_BLACKHOLE", "TCP_SYN_RETRANSMITTED",
                      "TCP_REFUSED", "TCP_FILTERED", "LOGIN_SLOW"})
      EXPECT_NE(f.name(), code) << f.title;
  const auto doc = nlohmann::json::parse(reports::render_json(out.report));
  ASSERT_TRUE(doc.contains("sessions"));
  EXPECT_FALSE(doc["sessions"].empty());
  EXPECT_FALSE(doc.contains("input")) << "input{} is analyze's";
  EXPECT_EQ(doc["capture"]["status"], "on");
}

}  // namespace
}  // namespace midiag::agent
