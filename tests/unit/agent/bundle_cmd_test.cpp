// `mi-diag bundle` / `check --bundle` against the simulated instance on 127.0.0.1, with secrets
// planted in the password, a connection string, collected files and the proxy environment: the
// archive opens with tar, sha256sum, jq and tshark, and no secret is in any member in any
// encoding.
#include "agent/bundle_cmd.h"

#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/cli.h"
#include "agent/simulator/instance.h"
#include "platform/routes/route_table.h"
#include "reports/redact.h"
#include "tests/unit/support/cli_run.h"
#include "tests/unit/support/shell.h"
#include "tests/unit/support/temp_dir.h"

namespace midiag::agent {
namespace {

namespace fs = std::filesystem;
using test_support::sh;
using test_support::TempDir;

using test_support::cli;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

constexpr const char* kPassword = "Pw-planted-7Qx9!";    // --password-env
constexpr const char* kConnSecret = "Cs-planted-Kd83";   // the connection string's
constexpr const char* kProxySecret = "Px-planted-Mz51";  // a proxy URL's userinfo
constexpr const char* kImdsJson = "{\"interface\":[{\"macAddress\":\"000D3A000001\"}]}";

// A fake IMDS on loopback: answers only with the Metadata header, as the real one does.
struct FakeImds {
  httplib::Server server;
  int port = 0;
  std::thread thread;
  int requests = 0;
  FakeImds() {
    server.Get("/metadata/instance/network",
               [this](const httplib::Request& req, httplib::Response& res) {
                 ++requests;
                 if (req.get_header_value("Metadata") != "true" ||
                     req.get_param_value("api-version") != "2021-02-01") {
                   res.status = 400;
                   return;
                 }
                 res.set_content(kImdsJson, "application/json");
               });
    port = server.bind_to_any_port("127.0.0.1");
    // Bound and listening already: a request queues until the accept loop runs.
    thread = std::thread([this] { server.listen_after_bind(); });
  }
  ~FakeImds() {
    // stop() only stops a running loop: wait (bounded) for the thread to have entered it.
    for (int i = 0; i < 5000 && !server.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server.stop();
    thread.join();
  }
};

// Test files under a root prefix, DMI saying Azure or not, and the fake IMDS.
struct Planted {
  TempDir dir;
  explicit Planted(bool azure, int imds_port) {
    write(
        dir.path() + "/root/etc/resolv.conf",
        "# set by the VPN client, token " + std::string(kConnSecret) + "\nnameserver 127.0.0.53\n");
    write(dir.path() + "/root/etc/hosts",
          "127.0.0.1 localhost\n# admin note: sa password " + std::string(kPassword) + "\n");
    write(dir.path() + "/root/etc/nsswitch.conf", "hosts: files dns\n");
    write(dir.path() + "/dmi/sys_vendor", azure ? "Microsoft Corporation\n" : "QEMU\n");
    write(dir.path() + "/dmi/chassis_asset_tag", "7783-7084-3265-9085-8269-3286-77\n");
    auto& h = bundle_hooks();
    h = {};
    h.snapshot.root = dir.path() + "/root";
    h.snapshot.dmi_dir = dir.path() + "/dmi";
    h.snapshot.imds_base = "http://127.0.0.1:" + std::to_string(imds_port);
    setenv("HTTPS_PROXY", ("http://alice:" + std::string(kProxySecret) + "@127.0.0.1:3128").c_str(),
           1);
  }
  ~Planted() {
    bundle_hooks() = {};
    unsetenv("HTTPS_PROXY");
  }
};

std::vector<std::string> members_of(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path().string());
  return out;
}

TEST(BundleCommand, APlantedSecretIsInNoMemberAndTheToolsReadTheArchive) {
  FakeImds imds;
  ASSERT_GT(imds.port, 0);
  Planted planted(true, imds.port);
  sim::InstanceConfig config;
  config.redirect = false;
  config.password = kPassword;
  auto inst = sim::SimulatedInstance::start(config);
  ASSERT_TRUE(inst) << inst.error().message;
  const std::string cs = "Server=tcp:127.0.0.1," + std::to_string((*inst)->gateway_port()) +
                         ";User ID=other;Password=\"" + kConnSecret +
                         "\";Encrypt=True;TrustServerCertificate=True";
  setenv("MIDIAG_BUNDLE_CS", cs.c_str(), 1);
  setenv("MIDIAG_BUNDLE_PW", kPassword, 1);
  const std::string out = planted.dir.path() + "/ticket.tar.gz";
  const auto sinks_before = spdlog::default_logger()->sinks().size();
  auto r = cli({"bundle", "--out", out, "--connection-string-env", "MIDIAG_BUNDLE_CS", "--user",
                "sim", "--password-env", "MIDIAG_BUNDLE_PW", "--timeout-ms", "2000", "--json"});
  unsetenv("MIDIAG_BUNDLE_CS");
  unsetenv("MIDIAG_BUNDLE_PW");
  // The check's own exit code (the simulator's certificate is from no trusted CA: 1).
  EXPECT_EQ(r.code, 1) << r.err << r.out;
  EXPECT_EQ((*inst)->stats().gateway.logins_ok, 1u);       // the password was really used
  EXPECT_NE(r.out.find("\"schema\""), std::string::npos);  // the report is printed as usual
  // The loggers as the user's --log-level (default warn) left them: no recording sink left.
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
  EXPECT_EQ(spdlog::default_logger()->sinks().size(), sinks_before);
  EXPECT_EQ(imds.requests, 1);
  ASSERT_TRUE(fs::exists(out)) << r.err;

  // tar: one top folder holding every member.
  auto list = sh("tar -tzf " + out);
  ASSERT_EQ(list.code, 0) << list.out;
  std::istringstream lines(list.out);
  std::string top;
  for (std::string line; std::getline(lines, line);) {
    auto folder = line.substr(0, line.find('/'));
    if (top.empty()) top = folder;
    EXPECT_EQ(folder, top) << line;
  }
  EXPECT_TRUE(top.starts_with("mi-diag-bundle-")) << top;
  for (const char* m :
       {"manifest.json", "report.json", "report.md", "report.txt", "log.txt", "redactions.json",
        "SHA256SUMS", "system/routes-ipv4.txt", "system/routes-ipv6.txt", "system/rules-ipv4.txt",
        "system/interfaces.txt", "system/resolv.conf", "system/hosts", "system/nsswitch.conf",
        "system/sysctl.txt", "system/proxy-env.txt", "system/azure-imds-network.json"})
    EXPECT_NE(list.out.find(top + "/" + std::string(m) + "\n"), std::string::npos) << m;

  // sha256sum inside and beside.
  ASSERT_EQ(sh("cd " + planted.dir.path() + " && tar -xzf ticket.tar.gz").code, 0);
  const std::string root = planted.dir.path() + "/" + top;
  auto sums = sh("cd " + root + " && sha256sum -c SHA256SUMS");
  EXPECT_EQ(sums.code, 0) << sums.out;
  auto beside = sh("cd " + planted.dir.path() + " && sha256sum -c ticket.tar.gz.sha256");
  EXPECT_EQ(beside.code, 0) << beside.out;

  // No planted secret in any member, in any encoding.
  const auto files = members_of(root);
  EXPECT_GE(files.size(), 17u);
  for (const char* secret : {kPassword, kConnSecret, kProxySecret}) {
    for (const auto& enc : reports::secret_encodings(secret)) {
      const std::string needle(enc.begin(), enc.end());
      for (const auto& f : files)
        EXPECT_EQ(slurp(f).find(needle), std::string::npos) << secret << " in " << f;
    }
  }
  // ...because it was removed, not because it was never collected.
  EXPECT_NE(slurp(root + "/system/hosts").find("[REDACTED]"), std::string::npos);
  EXPECT_NE(slurp(root + "/system/resolv.conf").find("[REDACTED]"), std::string::npos);
  EXPECT_NE(slurp(root + "/system/proxy-env.txt").find("alice:[REDACTED]@127.0.0.1:3128"),
            std::string::npos)
      << slurp(root + "/system/proxy-env.txt");
  EXPECT_EQ(slurp(root + "/system/azure-imds-network.json"), kImdsJson);

  // jq on the JSON members.
  auto jq = [&](const std::string& filter, const std::string& file) {
    return sh("jq -e '" + filter + "' " + root + "/" + file);
  };
  EXPECT_EQ(jq(".tool_version == \"" MIDIAG_VERSION "\"", "manifest.json").code, 0);
  EXPECT_EQ(jq(".exit_code == 1", "manifest.json").code, 0);
  EXPECT_EQ(jq(".collectors | map(.name) | index(\"tcp\") != null", "manifest.json").code, 0)
      << slurp(root + "/manifest.json");
  EXPECT_EQ(jq(".system[] | select(.member == \"system/routes-ipv4.txt\") | .error == null "
               "and .bytes > 0 and .cut == false",
               "manifest.json")
                .code,
            0);
  // A support engineer reads the ticket's bundle in place: `routes --from-file ticket.tar.gz`
  // answers for the loopback address as this host's kernel does (rule 0, table local).
  auto routes = cli({"routes", "--from-file", out, "--to", "127.0.0.1", "--json"});
  ASSERT_EQ(routes.code, 0) << routes.err;
  auto rj = nlohmann::json::parse(routes.out);
  EXPECT_EQ(rj["lookup"]["route"]["table"], "local") << routes.out;
  EXPECT_EQ(rj["lookup"]["rule"]["priority"], 0) << routes.out;
  EXPECT_NE(rj["source"]["note"].get<std::string>().find("system/routes-ipv4.txt"),
            std::string::npos);
  EXPECT_TRUE(rj["unread"].empty()) << routes.out;

  // The routes member is written by the same netlink reader `routes` and `check` use, as
  // iproute2 prints it: `routes --from-file` reads every line of it back.
  auto routes_back = platform::routes::parse_linux(slurp(root + "/system/routes-ipv4.txt"));
  ASSERT_TRUE(routes_back);
  EXPECT_FALSE(routes_back->routes.empty());
  EXPECT_TRUE(routes_back->unread.empty()) << slurp(root + "/system/routes-ipv4.txt");
  EXPECT_EQ(jq(".command_line | startswith(\"mi-diag bundle --out\")", "manifest.json").code, 0);
  EXPECT_EQ(jq(".schema == \"mi-diag.report/1\"", "report.json").code, 0);
  EXPECT_EQ(jq("[.redactions[] | select(.member == \"system/hosts\" and .count >= 1)] | length "
               "== 1",
               "redactions.json")
                .code,
            0)
      << slurp(root + "/redactions.json");
  EXPECT_EQ(jq("[.redactions[] | select(.member == \"system/proxy-env.txt\")] | length == 1",
               "redactions.json")
                .code,
            0);

  // The log is the run's own, at debug level although stderr stayed at warn.
  const auto log = slurp(root + "/log.txt");
  EXPECT_NE(log.find("[debug]"), std::string::npos) << log.substr(0, 2000);
  EXPECT_EQ(r.err.find("[debug]"), std::string::npos);

  // The capture: tshark reads it when capture was permitted; else the manifest says why.
  auto included = jq(".capture.included", "manifest.json");
  if (included.code == 0) {
    auto t = sh("tshark -r " + root + "/capture.pcap -T fields -e tcp.dstport");
    EXPECT_EQ(t.code, 0) << t.out;
    EXPECT_NE(t.out.find(std::to_string((*inst)->gateway_port())), std::string::npos) << t.out;
  } else {
    EXPECT_FALSE(fs::exists(root + "/capture.pcap"));
    EXPECT_EQ(jq(".capture.reason | length > 0", "manifest.json").code, 0);
  }
}

TEST(BundleCommand, CheckBundleWritesTheSameBundleAndOffAzureNoImdsRequest) {
  FakeImds imds;
  Planted planted(false, imds.port);
  sim::InstanceConfig config;
  config.redirect = false;
  auto inst = sim::SimulatedInstance::start(config);
  ASSERT_TRUE(inst);
  const std::string out = planted.dir.path() + "/c.tar.gz";
  auto r = cli({"check", "127.0.0.1:" + std::to_string((*inst)->gateway_port()), "--no-login",
                "--no-capture", "--timeout-ms", "2000", "--bundle", out});
  EXPECT_TRUE(r.code == 0 || r.code == 1) << r.err;
  ASSERT_TRUE(fs::exists(out)) << r.err;
  EXPECT_TRUE(fs::exists(out + ".sha256"));
  EXPECT_EQ(imds.requests, 0);
  ASSERT_EQ(sh("cd " + planted.dir.path() + " && tar -xzf c.tar.gz").code, 0);
  std::string top;
  for (const auto& e : fs::directory_iterator(planted.dir.path()))
    if (e.is_directory() && e.path().filename().string().starts_with("mi-diag-bundle-"))
      top = e.path().string();
  ASSERT_FALSE(top.empty());
  EXPECT_FALSE(fs::exists(top + "/system/azure-imds-network.json"));
  EXPECT_FALSE(fs::exists(top + "/capture.pcap"));
  EXPECT_EQ(sh("jq -e '.capture.included == false and (.capture.reason | test(\"no-capture\")) "
               "and (.system[] | select(.member == \"system/azure-imds-network.json\") | "
               ".skipped)' " +
               top + "/manifest.json")
                .code,
            0)
      << slurp(top + "/manifest.json");
}

// --mask: addresses and names in every member masked the same way, the capture left out, the map
// beside the archive (owner-only) and never inside it.
TEST(BundleCommand, MaskHidesAddressesAndNamesAndKeepsTheMapOutside) {
  FakeImds imds;
  Planted planted(false, imds.port);
  write(planted.dir.path() + "/root/etc/hosts",
        "10.20.30.40 sqlmi-prod.contoso-internal.com\n10.20.30.41 other.contoso-internal.com\n");
  sim::InstanceConfig config;
  config.redirect = false;
  auto inst = sim::SimulatedInstance::start(config);
  ASSERT_TRUE(inst);
  const std::string out = planted.dir.path() + "/m.tar.gz";
  auto r = cli({"bundle", "--out", out, "--mask", "--no-login", "--timeout-ms", "2000",
                "127.0.0.1:" + std::to_string((*inst)->gateway_port())});
  EXPECT_TRUE(r.code == 0 || r.code == 1) << r.err;
  ASSERT_TRUE(fs::exists(out)) << r.err;
  const std::string map_path = out + ".mask-map.json";
  ASSERT_TRUE(fs::exists(map_path));
  EXPECT_EQ(fs::status(map_path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const auto map = nlohmann::json::parse(slurp(map_path));
  std::string masked_host;
  for (const auto& e : map["map"])
    if (e["original"] == "10.20.30.40") masked_host = e["masked"];
  ASSERT_FALSE(masked_host.empty()) << map.dump();
  ASSERT_EQ(sh("cd " + planted.dir.path() + " && tar -xzf m.tar.gz").code, 0);
  auto list = sh("tar -tzf " + out);
  EXPECT_EQ(list.out.find("capture.pcap"), std::string::npos);
  EXPECT_EQ(list.out.find("mask-map"), std::string::npos);
  bool saw_hosts = false;
  for (const auto& f : members_of(planted.dir.path())) {
    if (f.find("mi-diag-bundle-") == std::string::npos) continue;
    const auto text = slurp(f);
    EXPECT_EQ(text.find("10.20.30.40"), std::string::npos) << f;
    EXPECT_EQ(text.find("contoso-internal"), std::string::npos) << f;
    if (f.ends_with("system/hosts")) {
      saw_hosts = true;
      EXPECT_NE(text.find(masked_host), std::string::npos) << text;
    }
    if (f.ends_with("manifest.json")) {
      auto m = nlohmann::json::parse(text);
      EXPECT_EQ(m["masked"], true);
      EXPECT_EQ(m["capture"]["included"], false);
    }
  }
  EXPECT_TRUE(saw_hosts);
}

TEST(BundleCommand, OutIsRequired) {
  auto r = cli({"bundle", "127.0.0.1:1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
}

TEST(BundleCommand, AnUnusableOutDirectoryIsExit2BeforeAnyTraffic) {
  sim::InstanceConfig config;
  config.redirect = false;
  auto inst = sim::SimulatedInstance::start(config);
  ASSERT_TRUE(inst);
  TempDir d;
  const std::string target = "127.0.0.1:" + std::to_string((*inst)->gateway_port());
  auto r = cli({"bundle", "--out", d.path() + "/missing/b.tar.gz", target, "--no-capture"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("cannot write the bundle"), std::string::npos) << r.err;
  auto c = cli({"check", target, "--bundle", d.path() + "/missing/b.tar.gz"});
  EXPECT_EQ(c.code, 2) << c.err;
  // A directory whose permission bits allow root but where no file can be made.
  auto p = cli({"bundle", "--out", "/proc/b.tar.gz", target, "--no-capture"});
  EXPECT_EQ(p.code, 2) << p.err;
  EXPECT_NE(p.err.find("cannot create a file in /proc"), std::string::npos) << p.err;
  EXPECT_EQ((*inst)->stats().gateway.connections, 0u);
  EXPECT_TRUE(fs::is_empty(d.path()));
}

TEST(BundleCommand, AWriteFailureMidArchiveIsExit3WithTheReportPrintedAndNoFile) {
  FakeImds imds;
  Planted planted(false, imds.port);
  bundle_hooks().fail_after_bytes = 1500;
  sim::InstanceConfig config;
  config.redirect = false;
  auto inst = sim::SimulatedInstance::start(config);
  ASSERT_TRUE(inst);
  TempDir d;
  const std::string out = d.path() + "/b.tar.gz";
  auto r = cli({"bundle", "--out", out, "127.0.0.1:" + std::to_string((*inst)->gateway_port()),
                "--no-login", "--timeout-ms", "2000"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("the bundle was not written"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("127.0.0.1"), std::string::npos);  // the report itself
  EXPECT_TRUE(fs::is_empty(d.path()));
}

}  // namespace
}  // namespace midiag::agent
