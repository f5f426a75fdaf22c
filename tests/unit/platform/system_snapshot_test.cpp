// The system/ collectors' bounds: a command that talks too much is cut, one that hangs is killed,
// one that is missing says so; files come from the root prefix; IMDS only on Azure's DMI.
#include "platform/linux/system_snapshot.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace midiag::platform {
namespace {

namespace fs = std::filesystem;

TEST(SystemSnapshot, AChattyCommandIsCutAtTheBound) {
  auto c = run_bounded_command({"yes", "route"}, 4096, std::chrono::milliseconds(5000));
  EXPECT_TRUE(c.cut);
  EXPECT_EQ(c.bytes, 4096u);
  EXPECT_EQ(c.data.size(), 4096u);
  EXPECT_TRUE(c.data.starts_with("route\nroute\n"));
  EXPECT_LT(c.duration_ms, 5000);
}

TEST(SystemSnapshot, AHangingCommandIsKilledAtTheDeadline) {
  auto c = run_bounded_command({"sleep", "30"}, 4096, std::chrono::milliseconds(200));
  EXPECT_FALSE(c.exit_status.has_value());
  EXPECT_NE(c.error.find("killed after 200 ms"), std::string::npos) << c.error;
  EXPECT_GE(c.duration_ms, 200);
  EXPECT_LT(c.duration_ms, 5000);
}

TEST(SystemSnapshot, AMissingCommandAndAFailingOneSaySo) {
  auto missing = run_bounded_command({"midiag-no-such-command"}, 4096, std::chrono::seconds(5));
  ASSERT_TRUE(missing.exit_status);
  EXPECT_EQ(*missing.exit_status, 127);
  EXPECT_NE(missing.error.find("could not be run"), std::string::npos) << missing.error;
  auto failing = run_bounded_command({"sh", "-c", "echo out; echo err >&2; exit 3"}, 4096,
                                     std::chrono::seconds(5));
  ASSERT_TRUE(failing.exit_status);
  EXPECT_EQ(*failing.exit_status, 3);
  EXPECT_EQ(failing.data, "out\nerr\n");
  EXPECT_EQ(failing.source, "sh -c echo out; echo err >&2; exit 3");
}

TEST(SystemSnapshot, FilesComeFromTheRootPrefixAndOffAzureThereIsNoImdsRequest) {
  std::string t = (fs::temp_directory_path() / "midiag-snapshot-XXXXXX").string();
  ASSERT_NE(::mkdtemp(t.data()), nullptr);
  fs::create_directories(t + "/etc");
  fs::create_directories(t + "/dmi");
  std::ofstream(t + "/etc/resolv.conf") << "nameserver 10.250.9.9\n";
  std::ofstream(t + "/etc/hosts") << std::string(3000, 'h');
  std::ofstream(t + "/dmi/sys_vendor") << "Microsoft Corporation\n";
  std::ofstream(t + "/dmi/chassis_asset_tag") << "None\n";  // Hyper-V elsewhere, not Azure
  SnapshotOptions o;
  o.root = t;
  o.dmi_dir = t + "/dmi";
  o.imds_base = "http://127.0.0.1:9";  // never asked: not Azure
  o.max_bytes = 1000;
  o.run_commands = false;
  auto s = collect_system_snapshot(o);
  auto find = [&](const std::string& m) -> const SystemCollector* {
    for (const auto& c : s.collectors)
      if (c.member == m) return &c;
    return nullptr;
  };
  ASSERT_TRUE(find("system/resolv.conf"));
  EXPECT_EQ(find("system/resolv.conf")->data, "nameserver 10.250.9.9\n");
  EXPECT_EQ(find("system/resolv.conf")->source, t + "/etc/resolv.conf");
  ASSERT_TRUE(find("system/hosts"));
  EXPECT_TRUE(find("system/hosts")->cut);
  EXPECT_EQ(find("system/hosts")->bytes, 1000u);
  ASSERT_TRUE(find("system/nsswitch.conf"));
  EXPECT_FALSE(find("system/nsswitch.conf")->error.empty());  // missing, and says so
  ASSERT_TRUE(find("system/azure-imds-network.json"));
  EXPECT_TRUE(find("system/azure-imds-network.json")->skipped);
  EXPECT_FALSE(on_azure(o.dmi_dir));
  fs::remove_all(t);
}

TEST(SystemSnapshot, AProxyUrlsPasswordIsFound) {
  EXPECT_EQ(url_password("http://bob:s3cr3t@proxy.corp:8080"), "s3cr3t");
  EXPECT_EQ(url_password("bob:pw@proxy:3128"), "pw");
  EXPECT_EQ(url_password("http://proxy.corp:8080"), "");
  EXPECT_EQ(url_password("http://proxy.corp:8080/a@b"), "");
  EXPECT_EQ(url_password("http://bob@proxy.corp"), "");
}

}  // namespace
}  // namespace midiag::platform
