// watch's YAML config (spec §8): good configs load into the struct; every bad input of issue 9
// is refused with "<file>:<line>: <key>: <why>" before anything runs.
#include "agent/watch/config.h"

#include <sys/stat.h>

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/support/temp_dir.h"

using midiag::agent::watch::Duration;
using midiag::agent::watch::EnvLookup;
using midiag::agent::watch::format_duration;
using midiag::agent::watch::load_watch_config;
using midiag::agent::watch::parse_duration;
using midiag::agent::watch::parse_listen_address;
using midiag::agent::watch::WatchConfig;
using midiag::test_support::TempDir;

namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

struct Loaded {
  midiag::Expected<WatchConfig> result;
  std::string path;
};

// Writes `yaml` as watch.yaml in `dir` and loads it.
Loaded load(TempDir& dir, const std::string& yaml, const EnvLookup& env = env_of({})) {
  auto path = dir.file("watch.yaml", yaml);
  return {load_watch_config(path, env), path};
}

// The error message, or a failure when the config loaded.
std::string error_of(TempDir& dir, const std::string& yaml, const EnvLookup& env = env_of({})) {
  auto l = load(dir, yaml, env);
  if (l.result.ok()) {
    ADD_FAILURE() << "loaded, expected an error:\n" << yaml;
    return {};
  }
  EXPECT_EQ(l.result.error().kind, midiag::ErrorKind::Usage);
  return l.result.error().message;
}

}  // namespace

TEST(WatchDuration, AcceptsWholeNumbersWithOneUnit) {
  EXPECT_EQ(*parse_duration("500ms"), Duration(500));
  EXPECT_EQ(*parse_duration("2s"), Duration(2000));
  EXPECT_EQ(*parse_duration("1m"), Duration(60000));
  EXPECT_EQ(*parse_duration("1h"), Duration(3600000));
  EXPECT_EQ(*parse_duration("24h"), Duration(86400000));
  EXPECT_EQ(*parse_duration("90s"), Duration(90000));
}

TEST(WatchDuration, RefusesZeroNegativeUnitlessAndUnknownUnits) {
  for (const char* bad : {"0s", "0ms", "-1s", "5", "1x", "", "s", "1.5s", " 2s", "2s ", "2S",
                          "1m30s", "+1s", "2 s"}) {
    auto d = parse_duration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.error().message, "bad duration '" + std::string(bad) + "' (use e.g. 500ms, 2s, 1m)")
        << bad;
  }
  for (const char* big : {"25h", "1441m", "9999999999s"}) {
    auto d = parse_duration(big);
    ASSERT_FALSE(d.ok()) << big;
    EXPECT_EQ(d.error().message, "bad duration '" + std::string(big) + "' (at most 24h)");
  }
}

TEST(WatchDuration, FormatsTheShortestExactSpelling) {
  EXPECT_EQ(format_duration(Duration(500)), "500ms");
  EXPECT_EQ(format_duration(Duration(2000)), "2s");
  EXPECT_EQ(format_duration(Duration(90000)), "90s");
  EXPECT_EQ(format_duration(Duration(60000)), "1m");
  EXPECT_EQ(format_duration(Duration(7200000)), "2h");
  EXPECT_EQ(format_duration(Duration(1500)), "1500ms");
}

TEST(WatchConfig, LoadsTheSpecExample) {
  TempDir dir;
  auto l = load(dir, R"(interval: 60s            # durations: 500ms, 2s, 1m
timeout: 3s              # per phase, as --timeout-ms
state_dir: /var/lib/mi-diag
targets:
  - name: prod
    host: mi1.abc123.database.windows.net
    port: 1433
    mode: client
    interval: 30s
    user: app
    password_env: MI_PW
    fail_after: 2
    recover_after: 1
  - host: Mi2.abc123.database.windows.net.
    mode: failover-group
    timeout: 500ms
    trust_server_certificate: true
    strict: true
    resolvers: [168.63.129.16, "10.0.0.2:5353"]
)",
                env_of({{"MI_PW", "s3cret!"}}));
  ASSERT_TRUE(l.result.ok()) << l.result.error().message;
  const auto& cfg = *l.result;
  EXPECT_EQ(cfg.interval, Duration(60000));
  EXPECT_EQ(cfg.timeout, Duration(3000));
  EXPECT_EQ(cfg.state_dir, "/var/lib/mi-diag");
  ASSERT_EQ(cfg.targets.size(), 2U);
  const auto& prod = cfg.targets[0];
  EXPECT_EQ(prod.name, "prod");
  EXPECT_EQ(prod.endpoint.host, "mi1.abc123.database.windows.net");
  EXPECT_EQ(prod.endpoint.port, 1433);
  EXPECT_EQ(prod.endpoint.kind, midiag::reports::EndpointKind::VnetLocal);
  EXPECT_EQ(prod.mode, midiag::reports::Mode::Client);
  EXPECT_EQ(prod.interval, Duration(30000));
  EXPECT_EQ(prod.timeout, Duration(3000));  // the top-level one
  ASSERT_TRUE(prod.credentials.has_value());
  EXPECT_EQ(prod.credentials->user, "app");
  EXPECT_EQ(prod.credentials->password, "s3cret!");
  EXPECT_EQ(prod.password_source, "env MI_PW");
  EXPECT_EQ(prod.fail_after, 2);
  EXPECT_EQ(prod.recover_after, 1);
  EXPECT_EQ(prod.line, 5);
  const auto& second = cfg.targets[1];
  EXPECT_EQ(second.name, "mi2.abc123.database.windows.net");  // the host, canonical
  EXPECT_EQ(second.mode, midiag::reports::Mode::FailoverGroup);
  EXPECT_EQ(second.interval, Duration(60000));
  EXPECT_EQ(second.timeout, Duration(500));
  EXPECT_TRUE(second.trust_server_certificate);
  EXPECT_TRUE(second.strict);
  EXPECT_EQ(second.resolvers, (std::vector<std::string>{"168.63.129.16", "10.0.0.2:5353"}));
  EXPECT_FALSE(second.credentials.has_value());
  // Defaults where the file says nothing.
  EXPECT_EQ(second.fail_after, 2);
  EXPECT_EQ(second.recover_after, 1);
  EXPECT_EQ(second.endpoint.port, 1433);
  // The summary line names the password's source, never the password.
  auto line = midiag::agent::watch::describe_target(prod);
  EXPECT_NE(line.find("prod  mi1.abc123.database.windows.net:1433  client  every 30s"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("password from env MI_PW"), std::string::npos) << line;
  EXPECT_EQ(line.find("s3cret"), std::string::npos) << line;
}

TEST(WatchConfig, PublicEndpointGetsItsDefaultPortAndDefaultsApplyWithoutTopLevelKeys) {
  TempDir dir;
  auto l = load(dir, "targets:\n  - host: mi1.public.abc123.database.windows.net\n");
  ASSERT_TRUE(l.result.ok()) << l.result.error().message;
  EXPECT_EQ(l.result->targets[0].endpoint.port, 3342);
  EXPECT_EQ(l.result->interval, Duration(60000));
  EXPECT_EQ(l.result->timeout, Duration(3000));
  EXPECT_EQ(l.result->targets[0].interval, Duration(60000));
}

TEST(WatchConfig, ReadsThePasswordFileOfMode0600RelativeToTheConfig) {
  TempDir dir;
  auto pw = dir.file("prod.password", "from-file\n");
  ASSERT_EQ(::chmod(pw.c_str(), 0600), 0);
  auto l = load(dir,
                "targets:\n  - name: p\n    host: 10.0.0.5\n    user: app\n"
                "    password_file: prod.password\n");
  ASSERT_TRUE(l.result.ok()) << l.result.error().message;
  ASSERT_TRUE(l.result->targets[0].credentials.has_value());
  EXPECT_EQ(l.result->targets[0].credentials->password, "from-file");  // the newline is not in it
  EXPECT_EQ(l.result->targets[0].password_source, "file " + pw);
}

TEST(WatchConfig, RefusesAPasswordFileOthersOrTheGroupCanRead) {
  TempDir dir;
  auto pw = dir.file("prod.password", "secret\n");
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0610}) {
    ASSERT_EQ(::chmod(pw.c_str(), mode), 0);
    char m[8];
    std::snprintf(m, sizeof m, "%04o", static_cast<unsigned>(mode));
    auto msg = error_of(dir,
                        "targets:\n  - host: 10.0.0.5\n    user: app\n"
                        "    password_file: " +
                            pw + "\n");
    EXPECT_EQ(msg, dir.path() + "/watch.yaml:4: targets[0].password_file: " + pw + ": mode " + m +
                       " lets group or others at the password: refused (chmod 600 " + pw + ")");
  }
}

TEST(WatchConfig, RefusesAMissingEmptyOrNonRegularPasswordFile) {
  TempDir dir;
  auto empty = dir.file("empty.password", "\n");
  ASSERT_EQ(::chmod(empty.c_str(), 0600), 0);
  const std::string head = "targets:\n  - host: 10.0.0.5\n    user: app\n    password_file: ";
  EXPECT_EQ(error_of(dir, head + "nope.password\n"),
            dir.path() + "/watch.yaml:4: targets[0].password_file: " + dir.path() +
                "/nope.password: cannot be read: No such file or directory");
  EXPECT_EQ(error_of(dir, head + empty + "\n"),
            dir.path() + "/watch.yaml:4: targets[0].password_file: " + empty + ": is empty");
  EXPECT_NE(error_of(dir, head + "/dev/null\n").find("/dev/null: not a regular file"),
            std::string::npos);
}

TEST(WatchConfig, NamesTheLineAndKeyOfABadDuration) {
  TempDir dir;
  const std::string yaml =
      "interval: 60s\n"
      "timeout: 3s\n"
      "targets:\n"
      "  - name: a\n"
      "    host: a.example.com\n"
      "  - name: b\n"
      "    interval: 0s\n"
      "    host: b.example.com\n";
  auto path = dir.path() + "/watch.yaml";
  EXPECT_EQ(error_of(dir, yaml),
            path + ":7: targets[1].interval: bad duration '0s' (use e.g. 500ms, 2s, 1m)");
  EXPECT_EQ(error_of(dir, "interval: -1s\ntargets:\n  - host: a\n"),
            path + ":1: interval: bad duration '-1s' (use e.g. 500ms, 2s, 1m)");
  EXPECT_EQ(error_of(dir, "timeout: 5\ntargets:\n  - host: a\n"),
            path + ":1: timeout: bad duration '5' (use e.g. 500ms, 2s, 1m)");
  EXPECT_EQ(error_of(dir, "targets:\n  - host: a\n    timeout: 1x\n"),
            path + ":3: targets[0].timeout: bad duration '1x' (use e.g. 500ms, 2s, 1m)");
  EXPECT_EQ(error_of(dir, "interval: 2s\ntimeout: 5s\ntargets:\n  - host: a\n"),
            path +
                ":2: timeout: timeout 5s is not shorter than interval 2s (a round would "
                "outlast its interval)");
  EXPECT_EQ(
      error_of(dir, "interval: 10s\ntargets:\n  - host: a\n    interval: 2s\n    timeout: 2s\n"),
      path +
          ":5: targets[0].timeout: timeout 2s is not shorter than interval 2s (a round "
          "would outlast its interval)");
}

TEST(WatchConfig, RefusesWhatIsNotAConfig) {
  TempDir dir;
  auto path = dir.path() + "/watch.yaml";
  auto not_yaml = error_of(dir, "targets:\n  - host: a\n    port: [1433\n");
  EXPECT_TRUE(not_yaml.starts_with(path + ":")) << not_yaml;
  EXPECT_NE(not_yaml.find(": not YAML: "), std::string::npos) << not_yaml;
  auto tabs = error_of(dir, "targets: {host: a\n");
  EXPECT_NE(tabs.find(": not YAML: "), std::string::npos) << tabs;
  EXPECT_EQ(error_of(dir, ""), path + ": empty: expected interval, timeout, state_dir and targets");
  EXPECT_EQ(error_of(dir, "# only a comment\n"),
            path + ": empty: expected interval, timeout, state_dir and targets");
  EXPECT_EQ(error_of(dir, "just a string\n"),
            path +
                ":1: expected a mapping of interval, timeout, state_dir and targets at the "
                "top level");
  EXPECT_EQ(error_of(dir, "- host: a\n"),
            path +
                ":1: expected a mapping of interval, timeout, state_dir and targets at the "
                "top level");
  EXPECT_EQ(error_of(dir, "interval: 1m\n"),
            path + ":1: targets: missing: nothing to watch (a list of targets with host:)");
  EXPECT_EQ(error_of(dir, "targets: []\n"), path + ":1: targets: empty: nothing to watch");
  EXPECT_EQ(error_of(dir, "targets:\n  host: a\n"),
            path + ":2: targets: expected a list of targets");
  EXPECT_EQ(error_of(dir, "targets:\n  - host: a\n---\ntargets:\n  - host: b\n"),
            path + ":4: more than one YAML document ('---'): write one");
  // The file itself.
  auto missing = load_watch_config(dir.path() + "/none.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message,
            dir.path() + "/none.yaml: cannot be read: No such file or directory");
  auto directory = load_watch_config(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().message, dir.path() + ": is a directory");
}

// A config's bytes quoted in an error reach a terminal: escape sequences are shown, not run.
TEST(WatchConfig, AnErrorQuotingTheFileCannotDriveTheTerminal) {
  TempDir dir;
  const auto e = error_of(dir, "targets:\n  - host: a\n    \"k\x1b[31m\": 1\n");
  EXPECT_EQ(e.find('\x1b'), std::string::npos) << e;
  EXPECT_NE(e.find("k\\x1b[31m"), std::string::npos) << e;
}

TEST(WatchConfig, UnknownKeysAreNamedWithTheClosestKnownOne) {
  TempDir dir;
  auto path = dir.path() + "/watch.yaml";
  EXPECT_EQ(error_of(dir, "intervall: 1m\ntargets:\n  - host: a\n"),
            path + ":1: intervall: unknown key 'intervall' (did you mean 'interval'?)");
  EXPECT_EQ(error_of(dir, "targets:\n  - host: a\n    recover-after: 2\n"),
            path +
                ":3: targets[0].recover-after: unknown key 'recover-after' (did you mean "
                "'recover_after'?)");
  EXPECT_EQ(error_of(dir, "targets:\n  - host: a\n    pasword_env: X\n"),
            path +
                ":3: targets[0].pasword_env: unknown key 'pasword_env' (did you mean "
                "'password_env'?)");
  EXPECT_EQ(error_of(dir, "targets:\n  - host: a\n    colour: blue\n"),
            path +
                ":3: targets[0].colour: unknown key 'colour' (known: name, host, port, mode, "
                "interval, timeout, ca_file, user, password_env, password_file, fail_after, "
                "recover_after, trust_server_certificate, strict, resolvers)");
  // A key in the wrong place says where it belongs.
  EXPECT_EQ(error_of(dir, "host: a\ntargets:\n  - host: a\n"),
            path + ":1: host: 'host' belongs under a target in targets:");
  EXPECT_EQ(
      error_of(dir, "targets:\n  - host: a\n    state_dir: /tmp\n"),
      path + ":3: targets[0].state_dir: 'state_dir' belongs at the top level, not in a target");
  EXPECT_EQ(error_of(dir, "targets:\n  - host: a\n    port: 1\n    port: 2\n"),
            path + ":4: targets[0].port: given twice");
}

TEST(WatchConfig, APasswordInTheYamlIsRefusedSayingWhy) {
  TempDir dir;
  auto msg = error_of(dir, "targets:\n  - host: a\n    user: app\n    password: hunter2\n");
  EXPECT_EQ(msg, dir.path() +
                     "/watch.yaml:4: targets[0].password: a password does not go in the config "
                     "(whoever can read the file, its backups or a ticket it is pasted into would "
                     "have it): use password_env: VAR or password_file: FILE (mode 0600)");
  EXPECT_EQ(msg.find("hunter2"), std::string::npos);
}

TEST(WatchConfig, UserAndPasswordSourceGoTogether) {
  TempDir dir;
  auto path = dir.path() + "/watch.yaml";
  EXPECT_EQ(error_of(dir, "targets:\n  - host: a\n    user: app\n"),
            path +
                ":3: targets[0].user: a user needs password_env: VAR or password_file: FILE "
                "(the password's source)");
  EXPECT_EQ(
      error_of(dir, "targets:\n  - host: a\n    password_env: MI_PW\n", env_of({{"MI_PW", "x"}})),
      path + ":3: targets[0].password_env: a password needs user: (the SQL login it belongs to)");
  EXPECT_EQ(
      error_of(dir,
               "targets:\n  - host: a\n    user: u\n    password_env: A\n    password_file: f\n"),
      path + ":5: targets[0].password_file: give password_env or password_file, not both");
  EXPECT_EQ(error_of(dir, "targets:\n  - host: a\n    user: u\n    password_env: MI_PW\n"),
            path + ":4: targets[0].password_env: environment variable MI_PW is not set");
  EXPECT_EQ(error_of(dir, "targets:\n  - host: a\n    user: u\n    password_env: MI_PW\n",
                     env_of({{"MI_PW", ""}})),
            path + ":4: targets[0].password_env: environment variable MI_PW is empty");
}

TEST(WatchConfig, TargetsNeedAHostAndUniqueNames) {
  TempDir dir;
  auto path = dir.path() + "/watch.yaml";
  EXPECT_EQ(error_of(dir, "targets:\n  - host: a\n  - name: b\n    port: 1433\n"),
            path + ":3: targets[1]: no host: (the name or address to check)");
  EXPECT_EQ(error_of(dir, "targets:\n  - host:\n"), path + ":2: targets[0].host: has no value");
  EXPECT_EQ(error_of(dir, "targets:\n  - name: x\n    host: a\n  - name: x\n    host: b\n"),
            path +
                ":4: targets[1].name: 'x' is also the name of the target at line 2 (names are "
                "the target label: unique)");
  // Without names, the same host twice collides on the default name.
  EXPECT_EQ(error_of(dir, "targets:\n  - host: a.example.com\n  - host: A.example.com\n"),
            path +
                ":3: targets[1].name: 'a.example.com' is also the name of the target at line 2 "
                "(names are the target label: unique)");
  EXPECT_EQ(error_of(dir, "targets:\n  - just-a-host\n"),
            path + ":2: targets[0]: a target is a mapping with at least host: (see the example)");
}

TEST(WatchConfig, ChecksEachValue) {
  TempDir dir;
  auto path = dir.path() + "/watch.yaml";
  const std::string t = "targets:\n  - host: a\n    ";
  EXPECT_EQ(error_of(dir, t + "port: 0\n"),
            path + ":3: targets[0].port: bad value '0' (a whole number 1-65535)");
  EXPECT_EQ(error_of(dir, t + "port: 70000\n"),
            path + ":3: targets[0].port: bad value '70000' (a whole number 1-65535)");
  EXPECT_EQ(error_of(dir, t + "port: [1433]\n"),
            path + ":3: targets[0].port: expected a single value, not a list");
  EXPECT_EQ(error_of(dir, t + "mode: proxy\n"),
            path + ":3: targets[0].mode: bad mode 'proxy' (client|link|failover-group)");
  EXPECT_EQ(error_of(dir, t + "fail_after: 0\n"),
            path + ":3: targets[0].fail_after: bad value '0' (a whole number 1-1000)");
  EXPECT_EQ(error_of(dir, t + "recover_after: two\n"),
            path + ":3: targets[0].recover_after: bad value 'two' (a whole number 1-1000)");
  EXPECT_EQ(error_of(dir, t + "strict: yes\n"),
            path + ":3: targets[0].strict: bad value 'yes' (true or false)");
  EXPECT_EQ(
      error_of(dir, t + "name: 'a b'\n"),
      path + ":3: targets[0].name: bad name 'a b' (up to 64 letters, digits, '.', '_', '-', ':')");
  EXPECT_EQ(error_of(dir, t + "resolvers: 1.1.1.1\n"),
            path + ":3: targets[0].resolvers: expected a list of IP[:port], e.g. [168.63.129.16]");
  auto resolver = error_of(dir, t + "resolvers: [1.1.1.1, not-an-ip]\n");
  EXPECT_TRUE(resolver.starts_with(path + ":3: targets[0].resolvers[1]: ")) << resolver;
  auto host = error_of(dir, "targets:\n  - host: 'bad host!'\n");
  EXPECT_TRUE(host.starts_with(path + ":2: targets[0].host: ")) << host;
  EXPECT_EQ(
      error_of(dir, "targets:\n  - host: a.example.com:1433\n"),
      path + ":2: targets[0].host: 'a.example.com:1433' carries a port: write it as port: 1433");
  auto ca = error_of(dir, t + "ca_file: missing.pem\n");
  EXPECT_EQ(ca.rfind(path + ":3: targets[0].ca_file: " + dir.path() + "/missing.pem: ", 0), 0U)
      << ca;
}

TEST(WatchListen, ParsesAddressAndPort) {
  auto v4 = parse_listen_address("127.0.0.1:9797");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->address, "127.0.0.1");
  EXPECT_EQ(v4->port, 9797);
  auto v6 = parse_listen_address("[::1]:9100");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->address, "::1");
  EXPECT_EQ(v6->port, 9100);
  for (const char* bad : {"9797", "localhost:9797", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                          "::1:9797", "[127.0.0.1]:9797", "[::1]", "1.2.3.4:97x"}) {
    auto r = parse_listen_address(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_TRUE(
          r.error().message.starts_with("bad --metrics-listen '" + std::string(bad) + "': "));
    }
  }
}
