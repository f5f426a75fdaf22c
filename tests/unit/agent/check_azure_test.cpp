// check on an Azure VM (planted DMI strings or --imds) against a loopback IMDS stand-in: the
// azure collector, the evidence and its JSON/text, IMDS never asked off Azure, and a silent IMDS
// that costs at most its bound, leaves a limitation and changes no finding. The target is an IP
// literal, so no DNS query (and no Azure DNS query) leaves the host.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/check.h"
#include "reports/report.h"
#include "tests/unit/support/imds_responder.h"
#include "tests/unit/support/temp_dir.h"

namespace midiag::agent {
namespace {

using test_support::ImdsResponder;

constexpr const char* kInstance = R"({"compute":{"name":"vm-under-test","location":"westeurope",
  "vmId":"0b6b2a1e-0000-4000-8000-000000000001"},"network":{"interface":[{"macAddress":"000D3A5F0001",
  "ipv4":{"ipAddress":[{"privateIpAddress":"10.20.1.4","publicIpAddress":""}],
  "subnet":[{"address":"10.20.1.0","prefix":"24"}]},"ipv6":{"ipAddress":[]}}]}})";

// A loopback port that completes handshakes (the kernel's backlog) for the TCP step.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&sa), len) == 0 &&
        ::listen(fd, 16) == 0 && ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0)
      port = ntohs(sa.sin_port);
  }
  ~Listener() {
    if (fd >= 0) ::close(fd);
  }
};

struct AzureRun {
  test_support::TempDir dir;
  Listener listener;
  CheckOptions opt;
  AzureRun(bool dmi_azure, CheckOptions::Azure azure, const std::string& imds_base) {
    dir.file("sys_vendor", dmi_azure ? "Microsoft Corporation\n" : "QEMU\n");
    dir.file("chassis_asset_tag", "7783-7084-3265-9085-8269-3286-77\n");
    opt.target = *reports::parse_target("127.0.0.1:" + std::to_string(listener.port));
    opt.timeout = std::chrono::milliseconds(1000);
    opt.tds = false;
    opt.trace = false;
    opt.capture = false;
    opt.azure = azure;
    opt.dmi_dir = dir.path();
    opt.imds_base = imds_base;
  }
};

const reports::CollectorRecord* collector(const reports::Evidence& ev, const std::string& name) {
  auto c = std::find_if(ev.collectors.begin(), ev.collectors.end(),
                        [&](const auto& r) { return r.name == name; });
  return c == ev.collectors.end() ? nullptr : &*c;
}

std::vector<std::string> codes(const reports::Report& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings) out.emplace_back(f.name());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(CheckAzure, ImdsAskedByTheFlagAnswersAndJoinsTheEvidence) {
  ImdsResponder imds(ImdsResponder::Mode::Imds, kInstance);
  AzureRun run(false, CheckOptions::Azure::Always, imds.base());
  ASSERT_GT(run.listener.port, 0);
  const auto out = run_check(run.opt);
  ASSERT_TRUE(out.ok) << out.failure.message;
  const auto& ev = out.report.evidence;
  EXPECT_EQ(imds.requests(), 1);
  EXPECT_TRUE(ev.on_azure);
  ASSERT_TRUE(ev.azure);
  EXPECT_EQ(ev.azure->source, "--imds");
  EXPECT_EQ(ev.azure->imds_status, "answered");
  ASSERT_TRUE(ev.azure->vm);
  EXPECT_EQ(ev.azure->vm->name, "vm-under-test");
  ASSERT_EQ(ev.azure->relations.size(), 1U);
  EXPECT_EQ(ev.azure->relations[0].relation, "not a VNet address");  // 127.0.0.1
  const auto* c = collector(ev, "azure");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, reports::CollectorStatus::Ok);

  const auto doc = nlohmann::json::parse(reports::render_json(out.report));
  const auto& az = doc["azure"];
  EXPECT_EQ(az["on_azure"], true);
  EXPECT_EQ(az["source"], "--imds");
  EXPECT_EQ(az["imds"]["status"], "answered");
  EXPECT_TRUE(az["imds"]["error"].is_null());
  EXPECT_EQ(az["vm"]["location"], "westeurope");
  EXPECT_EQ(az["interfaces"][0]["mac"], "00:0d:3a:5f:00:01");
  EXPECT_EQ(az["interfaces"][0]["private"], nlohmann::json::array({"10.20.1.4"}));
  EXPECT_EQ(az["interfaces"][0]["public"], nlohmann::json::array());
  EXPECT_EQ(az["interfaces"][0]["subnets"], nlohmann::json::array({"10.20.1.0/24"}));
  EXPECT_EQ(az["relation"][0]["address"], "127.0.0.1");

  const auto text = reports::render_text(out.report, reports::TextOptions{true, false});
  EXPECT_NE(text.find("Azure  IMDS answered in"), std::string::npos) << text;
  EXPECT_NE(text.find("VM vm-under-test in westeurope; subnets 10.20.1.0/24; 127.0.0.1: not a "
                      "VNet address"),
            std::string::npos)
      << text;
}

TEST(CheckAzure, OnAnAzureVmByDmiImdsIsAskedWithoutTheFlag) {
  ImdsResponder imds(ImdsResponder::Mode::Imds, kInstance);
  AzureRun run(true, CheckOptions::Azure::Auto, imds.base());
  const auto out = run_check(run.opt);
  ASSERT_TRUE(out.ok) << out.failure.message;
  EXPECT_EQ(imds.requests(), 1);
  ASSERT_TRUE(out.report.evidence.azure);
  EXPECT_EQ(out.report.evidence.azure->source, "dmi");
  EXPECT_EQ(out.report.evidence.azure->imds_status, "answered");
}

TEST(CheckAzure, OffAzureImdsIsNeverAskedAndTheCollectorSaysWhy) {
  ImdsResponder imds(ImdsResponder::Mode::Imds, kInstance);
  for (auto mode : {CheckOptions::Azure::Auto, CheckOptions::Azure::Never}) {
    AzureRun run(mode == CheckOptions::Azure::Never, mode, imds.base());
    const auto out = run_check(run.opt);
    ASSERT_TRUE(out.ok) << out.failure.message;
    const auto& ev = out.report.evidence;
    const auto* c = collector(ev, "azure");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->status, reports::CollectorStatus::Skipped);
    ASSERT_TRUE(ev.azure);
    EXPECT_EQ(ev.azure->imds_status, "not_asked");
    const auto doc = nlohmann::json::parse(reports::render_json(out.report));
    EXPECT_TRUE(doc["azure"]["source"].is_null());
    EXPECT_EQ(doc["azure"]["imds"]["status"], "not_asked");
    if (mode == CheckOptions::Azure::Auto) {
      EXPECT_EQ(c->error, "not an Azure VM (DMI); --imds asks anyway");
      EXPECT_FALSE(ev.on_azure);
      ASSERT_EQ(ev.azure->relations.size(), 1U);
      EXPECT_EQ(ev.azure->relations[0].relation, "not on Azure");
    }
  }
  EXPECT_EQ(imds.requests(), 0);
}

TEST(CheckAzure, SilentImdsCostsItsBoundLeavesALimitationAndNoFinding) {
  ImdsResponder quiet(ImdsResponder::Mode::Silent, "");
  AzureRun silent(false, CheckOptions::Azure::Always, quiet.base());
  silent.opt.imds_timeout = std::chrono::milliseconds(300);
  const auto out = run_check(silent.opt);
  ASSERT_TRUE(out.ok) << out.failure.message;
  const auto& ev = out.report.evidence;
  EXPECT_FALSE(ev.on_azure);
  ASSERT_TRUE(ev.azure);
  EXPECT_EQ(ev.azure->imds_status, "silent");
  EXPECT_EQ(ev.azure->imds_error, "no answer within 300 ms");
  EXPECT_GE(ev.azure->imds_elapsed_ms, 295.0);
  EXPECT_LT(ev.azure->imds_elapsed_ms, 1300.0);
  ASSERT_EQ(ev.azure->relations.size(), 1U);
  EXPECT_EQ(ev.azure->relations[0].relation, "unknown (IMDS silent)");
  const auto* c = collector(ev, "azure");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, reports::CollectorStatus::Failed);
  EXPECT_EQ(c->error, "IMDS silent: no answer within 300 ms");
  EXPECT_FALSE(c->leaves_unknown()) << "IMDS is not on the connection's path";
  const bool said = std::any_of(ev.limitations.begin(), ev.limitations.end(), [](const auto& l) {
    return l.find("did not answer within 300 ms") != std::string::npos &&
           l.find("cannot say whether the target is in this VM's VNet") != std::string::npos;
  });
  EXPECT_TRUE(said);

  // The same target with IMDS not asked: the same findings, the same verdict.
  AzureRun off(false, CheckOptions::Azure::Auto, quiet.base());
  const auto baseline = run_check(off.opt);
  ASSERT_TRUE(baseline.ok);
  EXPECT_EQ(codes(out.report), codes(baseline.report));
  EXPECT_EQ(out.report.verdict, baseline.report.verdict);
  const auto doc = nlohmann::json::parse(reports::render_json(out.report));
  EXPECT_EQ(doc["azure"]["on_azure"], false);
  EXPECT_EQ(doc["azure"]["imds"]["status"], "silent");
  EXPECT_EQ(doc["azure"]["imds"]["error"], "no answer within 300 ms");
}

TEST(CheckAzure, AnAnswerThatIsNotJsonIsAnErrorNotAnAzureClaim) {
  ImdsResponder imds(ImdsResponder::Mode::Imds, "<html>captive portal</html>");
  AzureRun run(false, CheckOptions::Azure::Always, imds.base());
  const auto out = run_check(run.opt);
  ASSERT_TRUE(out.ok) << out.failure.message;
  const auto& ev = out.report.evidence;
  EXPECT_FALSE(ev.on_azure);
  ASSERT_TRUE(ev.azure);
  EXPECT_EQ(ev.azure->imds_status, "error");
  EXPECT_EQ(ev.azure->imds_error, "not JSON");
  EXPECT_EQ(ev.azure->relations[0].relation, "unknown (IMDS error)");
  const auto* c = collector(ev, "azure");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->error, "IMDS answered, but not JSON");
}

}  // namespace
}  // namespace midiag::agent
