// What ships with watch, checked by the tools that will read it: the example config loads (and
// passes `watch --check`), promtool accepts and unit-tests the alerting rules, systemd-analyze
// accepts the unit. Also `watch`'s own option checks.
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "agent/cli.h"
#include "agent/watch/config.h"
#include "tests/unit/support/external_tool.h"
#include "tests/unit/support/temp_dir.h"

using midiag::test_support::run_command;
using midiag::test_support::shell_quote;
using midiag::test_support::TempDir;

namespace {

const std::string kWatchDir = std::string(MIDIAG_SOURCE_DIR) + "/agent/watch";

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct Run {
  int code;
  std::string out, err;
};

Run cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = midiag::agent::run_cli(args, out, err);
  return {code, out.str(), err.str()};
}

// The example reads its password from MI_PW: set for the test, restored after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_.c_str(), old_->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST(WatchShipped, ExampleConfigLoads) {
  auto cfg = midiag::agent::watch::load_watch_config(
      kWatchDir + "/watch.example.yaml", [](const std::string& name) -> std::optional<std::string> {
        if (name == "MI_PW") return "example-password";
        return std::nullopt;
      });
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_EQ(cfg->targets.size(), 2U);
  EXPECT_EQ(cfg->targets[0].name, "prod");
  EXPECT_EQ(cfg->targets[0].credentials->user, "app");
  EXPECT_EQ(cfg->targets[1].name, "fog-rw");
  EXPECT_EQ(cfg->targets[1].mode, midiag::reports::Mode::FailoverGroup);
}

TEST(WatchShipped, ExampleConfigShowsEveryKey) {
  const auto text = slurp(kWatchDir + "/watch.example.yaml");
  for (const char* key :
       {"interval:", "timeout:", "state_dir:", "targets:", "name:", "host:", "port:", "mode:",
        "ca_file:", "user:", "password_env:", "password_file:", "fail_after:", "recover_after:",
        "trust_server_certificate:", "strict:", "resolvers:"})
    EXPECT_NE(text.find(key), std::string::npos) << key;
}

TEST(WatchShipped, CheckValidatesTheExampleAndNeverPrintsThePassword) {
  ScopedEnv pw("MI_PW", "example-password-xyz");
  auto r = cli({"watch", "--config", kWatchDir + "/watch.example.yaml", "--check"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      kWatchDir +
          "/watch.example.yaml: ok, 2 targets, state_dir /var/lib/mi-diag\n"
          "  prod  mi1.abc123.database.windows.net:1433  client  every 30s, timeout 5s, down "
          "after 2, up after 1, login app (password from env MI_PW), ca "
          "/etc/ssl/certs/ca-certificates.crt, resolver 168.63.129.16\n"
          "  fog-rw  fog1.abc123.database.windows.net:1433  failover-group  every 1m, timeout "
          "3s, down after 2, up after 1, dummy login\n");
  EXPECT_EQ((r.out + r.err).find("example-password-xyz"), std::string::npos);
}

TEST(WatchShipped, CheckRefusesABadConfigWithExit2) {
  TempDir dir;
  auto path = dir.file("watch.yaml", "targets:\n  - host: a\n    interval: 0s\n");
  auto r = cli({"watch", "--config", path, "--check"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "mi-diag watch: " + path +
                       ":3: targets[0].interval: bad duration '0s' (use e.g. 500ms, 2s, 1m)\n");
  EXPECT_EQ(r.out, "");
}

TEST(WatchShipped, OptionsAreCheckedBeforeTheConfig) {
  TempDir dir;
  auto path = dir.file("watch.yaml", "targets:\n  - host: a.example.com\n");
  EXPECT_EQ(cli({"watch", "--check"}).code, 2);
  auto listen = cli({"watch", "--config", path, "--metrics-listen", "localhost:9797", "--check"});
  EXPECT_EQ(listen.code, 2);
  EXPECT_NE(listen.err.find("bad --metrics-listen 'localhost:9797'"), std::string::npos)
      << listen.err;
  auto textfile =
      cli({"watch", "--config", path, "--textfile", dir.path() + "/no/m.prom", "--check"});
  EXPECT_EQ(textfile.code, 2);
  EXPECT_NE(textfile.err.find("--textfile " + dir.path() + "/no/m.prom: directory " + dir.path() +
                              "/no: No such file or directory"),
            std::string::npos)
      << textfile.err;
  auto events = cli({"watch", "--config", path, "--events", dir.path() + "/no/e.jsonl", "--check"});
  EXPECT_EQ(events.code, 2);
  EXPECT_NE(events.err.find("--events " + dir.path() + "/no/e.jsonl: directory"), std::string::npos)
      << events.err;
  auto good = cli({"watch", "--config", path, "--metrics-listen", "[::1]:9100", "--textfile",
                   dir.path() + "/m.prom", "--events", "-", "--check"});
  EXPECT_EQ(good.code, 0) << good.err;
  EXPECT_EQ(good.out, path +
                          ": ok, 1 target, state_dir /var/lib/mi-diag\n"
                          "  a.example.com  a.example.com:1433  client  every 1m, timeout 3s, "
                          "down after 2, up after 1, dummy login\n");
}

TEST(WatchShipped, PromtoolAcceptsAndUnitTestsTheAlertingRules) {
  REQUIRE_TOOL(promtool, midiag::test_support::promtool_path(),
               "tests/setup.sh unpacks Debian's prometheus package into /opt/mi-diag-tools");
  auto check =
      run_command(shell_quote(promtool) + " check rules " + shell_quote(kWatchDir + "/alerts.yml"));
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("SUCCESS: 4 rules found"), std::string::npos) << check.output;
  // Each alert fires on the series a watch exposes, and not on a healthy target.
  auto test =
      run_command("cd " + shell_quote(std::string(MIDIAG_SOURCE_DIR) + "/tests/unit/agent") +
                  " && " + shell_quote(promtool) + " test rules watch_alerts.promtest.yml");
  EXPECT_EQ(test.exit_code, 0) << test.output;
  // A broken rule file is refused: the check can fail.
  TempDir dir;
  auto broken =
      dir.file("broken.yml", slurp(kWatchDir + "/alerts.yml") +
                                 "      - alert: Broken\n        expr: probe_success ==\n");
  auto bad = run_command(shell_quote(promtool) + " check rules " + shell_quote(broken));
  EXPECT_NE(bad.exit_code, 0) << bad.output;
}

// systemd-analyze verify wants ExecStart's binary to exist: the unit is verified as shipped
// except that ExecStart points at the binary just built. It runs without a systemd instance
// (containers), and prints problems it only warns about, so any output is a failure.
TEST(WatchShipped, SystemdAnalyzeVerifiesTheUnit) {
  REQUIRE_TOOL(analyze, midiag::test_support::find_tool("systemd-analyze", {}),
               "Debian's systemd package");
  const auto unit = slurp(kWatchDir + "/mi-diag-watch.service");
  const std::string shipped = "ExecStart=/usr/local/bin/mi-diag watch ";
  auto at = unit.find(shipped);
  ASSERT_NE(at, std::string::npos);
  TempDir dir;
  std::string built = unit;
  built.replace(at, shipped.size(), "ExecStart=" + std::string(MIDIAG_BINARY) + " watch ");
  auto path = dir.file("mi-diag-watch.service", built);
  auto r = run_command(shell_quote(analyze) + " verify " + shell_quote(path));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "");
  // A unit with a bad value is reported: the check can fail.
  std::string bad_unit = built;
  bad_unit.replace(bad_unit.find("Restart=on-failure"), 18, "Restart=sometimes");
  auto bad_path = dir.file("bad.service", bad_unit);
  auto bad = run_command(shell_quote(analyze) + " verify " + shell_quote(bad_path));
  EXPECT_NE(bad.output.find("sometimes"), std::string::npos) << bad.output;
}
