// A capture made for real (root, loopback): check resolves the simulated instance's name through
// the simulator's DNS on 127.83.0.1:53 and logs in while a live capture writes a pcap; analyze
// then reads that file and must find the lookups, link the gateway session to the name, and
// fire check's DNS rule for a name the server does not know. Nothing is committed: the pcap is
// made and removed by the test.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "agent/analyze_input.h"
#include "agent/check.h"
#include "agent/simulator/instance.h"
#include "platform/capture/live_capture.h"
#include "reports/report.h"
#include "tests/unit/support/temp_dir.h"

namespace midiag::agent {
namespace {

constexpr const char* kAddress = "127.83.0.1";  // this test's own loopback address

TEST(AnalyzeDnsLive, SimulatorLookupsCapturedOnLoopbackFeedTheDnsRules) {
  if (geteuid() != 0) GTEST_SKIP() << "a live capture needs root (CAP_NET_RAW)";
  sim::InstanceConfig config;
  config.bind_address = kAddress;
  config.dns_port = 53;
  auto inst = sim::SimulatedInstance::start(config);
  if (!inst) GTEST_SKIP() << "cannot serve DNS on " << kAddress << ":53: " << inst.error().message;
  test_support::TempDir dir;
  const std::string pcap_path = dir.track("dns-live.pcap");
  platform::LiveCaptureOptions co;
  co.interface = "lo";
  co.filter = std::string("host ") + kAddress;
  co.write_path = pcap_path;
  auto live = platform::LiveCapture::start(co);
  if (!live) GTEST_SKIP() << "no live capture here: " << live.error().message;

  const std::string missing = "nosuch." + (*inst)->fqdn().substr((*inst)->fqdn().find('.') + 1);
  for (const std::string& name : {(*inst)->fqdn(), missing}) {
    CheckOptions opt;
    opt.target = *reports::parse_target(name);
    opt.connect_port = (*inst)->gateway_port();
    opt.system_servers = {kAddress};
    opt.timeout = std::chrono::milliseconds(2000);
    opt.capture = false;
    const auto out = run_check(opt);
    ASSERT_TRUE(out.ok) << out.failure.message;
  }
  (*live)->stop();
  live->reset();  // closes the pcap file

  AnalyzeOptions ao;
  ao.file = pcap_path;
  ao.ports = {(*inst)->gateway_port()};
  const auto r = analyze_capture_file(pcap_path, ao);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& ev = r->evidence;
  ASSERT_TRUE(ev.packets);
  const auto ok = std::find_if(ev.lookups.begin(), ev.lookups.end(), [&](const dns::Lookup& l) {
    return l.name == (*inst)->fqdn() && l.type == "A";
  });
  ASSERT_NE(ok, ev.lookups.end()) << ev.lookups.size() << " lookup(s) in the capture";
  EXPECT_EQ(ok->resolver, kAddress);
  EXPECT_EQ(ok->status, dns::Status::Ok);
  ASSERT_FALSE(ok->addresses.empty());
  EXPECT_EQ(ok->addresses[0].address, kAddress);
  EXPECT_GT(ok->elapsed_ms, 0.0);
  const auto nx = std::find_if(ev.lookups.begin(), ev.lookups.end(),
                               [&](const dns::Lookup& l) { return l.name == missing; });
  ASSERT_NE(nx, ev.lookups.end());
  EXPECT_EQ(nx->status, dns::Status::NxDomain);
  const auto gateway =
      std::find_if(ev.packets->sessions.begin(), ev.packets->sessions.end(),
                   [&](const auto& s) { return s.server_port == (*inst)->gateway_port(); });
  ASSERT_NE(gateway, ev.packets->sessions.end());
  EXPECT_EQ(gateway->dns_name, (*inst)->fqdn());
  const auto not_found =
      std::find_if(r->findings.begin(), r->findings.end(), [&](const reports::Finding& f) {
        return f.name() == "DNS_NAME_NOT_FOUND" && f.title.find(missing) != std::string::npos;
      });
  EXPECT_NE(not_found, r->findings.end());
  std::filesystem::remove(pcap_path);
}

}  // namespace
}  // namespace midiag::agent
