// Servers that lie, break protocol or try to steal: each case was found against an earlier
// build (issue 7) and each must now become a finding, a withheld password or an unforgeable
// report -- never a false "ok". Everything runs against the simulated instance on 127.0.0.1.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/check.h"
#include "agent/simulator/instance.h"
#include "reports/report.h"

namespace midiag::agent {
namespace {

using sim::InstanceConfig;
using sim::SimulatedInstance;

struct Run {
  std::unique_ptr<SimulatedInstance> sim;
  CheckOutcome outcome;
  std::set<std::string> codes;
  [[nodiscard]] const reports::Report& report() const { return outcome.report; }
  [[nodiscard]] const reports::Evidence& ev() const { return outcome.report.evidence; }
};

std::string write_temp(const std::string& text) {
  char tmpl[] = "/tmp/mi-diag-hostile-XXXXXX";
  int fd = mkstemp(tmpl);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return tmpl;
}

struct CheckSetup {
  bool real_credentials = true;
  bool with_ca = true;  // verify against the simulator's CA (else the system store)
  std::vector<net::ClassOverride> class_overrides;
  std::chrono::milliseconds timeout{2000};
};

CheckSetup dummy_credentials() {
  CheckSetup s;
  s.real_credentials = false;
  return s;
}
CheckSetup system_store() {
  CheckSetup s;
  s.with_ca = false;
  return s;
}
CheckSetup classify(const std::string& cidr_class) {
  CheckSetup s;
  s.class_overrides = {*net::parse_class_override(cidr_class)};
  return s;
}

// Starts the simulator with `config` and checks its name as a user on this host would.
Run check_against(InstanceConfig config, const CheckSetup& setup = {}) {
  Run run;
  auto inst = SimulatedInstance::start(config);
  EXPECT_TRUE(inst) << (inst ? "" : inst.error().message);
  if (!inst) return run;
  run.sim = std::move(*inst);
  const std::string ca = write_temp(run.sim->ca_pem());
  CheckOptions opt;
  opt.target = *reports::parse_target(run.sim->fqdn());
  opt.connect_port = run.sim->gateway_port();
  opt.system_servers = {"127.0.0.1:" + std::to_string(run.sim->dns_port())};
  opt.timeout = setup.timeout;
  if (setup.with_ca) opt.ca_file = ca;
  opt.class_overrides = setup.class_overrides;
  if (setup.real_credentials) opt.credentials = tdsprobe::Credentials{config.user, config.password};
  run.outcome = run_check(opt);
  std::filesystem::remove(ca);
  EXPECT_TRUE(run.outcome.ok) << run.outcome.failure.message;
  for (const auto& f : run.outcome.report.findings) run.codes.emplace(f.name());
  return run;
}

std::string codes_of(const Run& r) {
  std::string s;
  for (const auto& c : r.codes) s += c + " ";
  return s;
}

// Item 1: no real password to an unverified server, nor in clear.
TEST(HostileServer, UntrustedCertificateGetsNoPassword) {
  auto r = check_against({}, system_store());  // the simulator's CA is in no system store
  EXPECT_EQ(r.sim->stats().gateway.login7s, 0u) << "LOGIN7 reached an untrusted server";
  EXPECT_TRUE(r.codes.count("TLS_CERT_UNTRUSTED")) << codes_of(r);
  ASSERT_TRUE(r.ev().tds);
  EXPECT_NE(r.ev().tds->login_withheld.find("does not verify"), std::string::npos);
  EXPECT_EQ(r.report().verdict, reports::Verdict::Fail);
}

TEST(HostileServer, CertificateForAnotherNameGetsNoPassword) {
  InstanceConfig c;
  c.cert_name = "*.other-zone.database.windows.net";
  auto r = check_against(c);
  EXPECT_EQ(r.sim->stats().gateway.login7s, 0u)
      << "LOGIN7 reached a server with a foreign certificate";
  EXPECT_TRUE(r.codes.count("TLS_CERT_NAME_MISMATCH")) << codes_of(r);
  EXPECT_FALSE(r.codes.count("CONNECTION_PATH")) << codes_of(r);
}

TEST(HostileServer, NoTlsOfferedGetsNoPassword) {
  InstanceConfig c;
  c.encryption = tds::Encryption::NotSup;
  auto r = check_against(c);
  EXPECT_EQ(r.sim->stats().gateway.login7s, 0u) << "the password went out XOR-obfuscated only";
  EXPECT_TRUE(r.codes.count("TLS_NOT_OFFERED")) << codes_of(r);
  EXPECT_EQ(r.report().verdict, reports::Verdict::Fail);
  const auto text = reports::render_text(r.report(), {});
  EXPECT_NE(text.find("withheld"), std::string::npos) << text;
}

TEST(HostileServer, DummyCredentialsStillProbeAServerWithoutTls) {
  InstanceConfig c;
  c.encryption = tds::Encryption::NotSup;
  auto r = check_against(c, dummy_credentials());
  EXPECT_EQ(r.sim->stats().gateway.login7s, 1u)
      << "dummy credentials are worth nothing: they may go";
  EXPECT_TRUE(r.codes.count("TLS_NOT_OFFERED")) << codes_of(r);
}

// A routing token naming an address that is neither private, nor in the zone, nor the target's
// own gets one probe of the routed port, not a 1,000-port sweep.
TEST(HostileServer, RedirectToAForeignAddressIsNotSwept) {
  InstanceConfig c;
  c.routed_host = "127.0.0.2";
  c.routed_port = 11123;
  auto r = check_against(c, classify("127.0.0.2/32=public"));
  ASSERT_TRUE(r.ev().redirect) << codes_of(r);
  EXPECT_EQ(r.ev().redirect->tcp.size(), 1u) << "a foreign host was port-scanned";
  EXPECT_FALSE(r.ev().redirect->sweep_withheld.empty());
}

// Item 2: false "ok" from broken redirects and login answers.
TEST(HostileServer, RoutingToPortZeroIsUnreachable) {
  InstanceConfig c;
  c.routed_port = 0;
  auto r = check_against(c);
  EXPECT_TRUE(r.codes.count("REDIRECT_TARGET_UNREACHABLE")) << codes_of(r);
  EXPECT_NE(r.report().verdict, reports::Verdict::Ok);
  EXPECT_FALSE(r.codes.count("CONNECTION_PATH")) << codes_of(r);
}

TEST(HostileServer, ANodeThatRoutesAgainIsALoop) {
  InstanceConfig c;
  c.node_routes_again = true;
  auto r = check_against(c);
  EXPECT_TRUE(r.codes.count("REDIRECT_LOOP")) << codes_of(r);
  EXPECT_EQ(r.report().verdict, reports::Verdict::Fail);
  EXPECT_EQ(r.sim->stats().gateway.login7s, 1u) << "the loop back to the gateway was followed";
}

TEST(HostileServer, AnEmptyLoginAnswerIsAFinding) {
  for (auto answer : {InstanceConfig::LoginAnswer::Empty, InstanceConfig::LoginAnswer::DoneOnly}) {
    InstanceConfig c;
    c.login_answer = answer;
    auto r = check_against(c);
    EXPECT_TRUE(r.codes.count("LOGIN_FAILED")) << codes_of(r);
    EXPECT_EQ(r.report().verdict, reports::Verdict::Fail) << codes_of(r);
  }
}

// RLIMIT_NOFILE 64: the sweep used to fail silently and the redirect read "ok". The real binary
// runs under `ulimit -n 64` (soft and hard, so it cannot raise it back): fork+exec only, since a
// fork of this threaded test process that went on running code could deadlock in the allocator.
TEST(HostileServer, ASweepUnderAFdLimitOf64StillProbesEveryPort) {
  InstanceConfig c;
  c.routed_port = 11500;  // nothing listens there on this machine's loopback: all RST, fast
  auto inst = SimulatedInstance::start(c);
  ASSERT_TRUE(inst) << inst.error().message;
  const std::string resolv = write_temp("nameserver 127.0.0.1\n");  // never the host's resolver
  setenv("MIDIAG_HOSTILE_PW", c.password.c_str(), 1);
  // The routing token names 127.0.0.1, the target's own address: the sweep is allowed.
  const std::string command = "ulimit -n 64 && exec '" + std::string(MIDIAG_BINARY) +
                              "' check 127.0.0.1:" + std::to_string((*inst)->gateway_port()) +
                              " --json --timeout-ms 2000 --user sim --password-env "
                              "MIDIAG_HOSTILE_PW --trust-server-certificate --resolv-conf '" +
                              resolv + "' 2>/dev/null";
  FILE* child = popen(command.c_str(), "r");
  ASSERT_NE(child, nullptr);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, child)) > 0;) out.append(buf, n);
  const int status = pclose(child);
  unsetenv("MIDIAG_HOSTILE_PW");
  std::filesystem::remove(resolv);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1) << out;  // REDIRECT_PORTS_FILTERED is an error
  const auto doc = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << out;
  ASSERT_TRUE(doc.contains("redirect")) << out;
  const auto& rd = doc["redirect"];
  EXPECT_EQ(rd["state"], "refused") << rd.dump();
  // The routed port is its own row; the other 999 of the range are summarised.
  std::size_t refused = 0, not_probed = 0, probes = 0;
  for (const auto& row : rd["tcp"]) {
    ++probes;
    refused += row["state"] == "refused" ? 1 : 0;
    not_probed += row["state"] == "not_probed" ? 1 : 0;
  }
  for (const auto& s : rd["tcp_sweeps"]) {
    for (const char* k : {"open", "refused", "filtered", "unreachable", "no_route", "not_probed"})
      probes += s[k].get<std::size_t>();
    refused += s["refused"].get<std::size_t>();
    not_probed += s["not_probed"].get<std::size_t>();
  }
  EXPECT_EQ(probes, 1000u) << rd.dump();
  EXPECT_EQ(not_probed, 0u) << rd.dump();
  EXPECT_EQ(refused, 1000u) << rd.dump();
  EXPECT_EQ((*inst)->stats().gateway.login7s, 1u);
}

// Item 3: with dummy credentials only 18456 proves the path.
TEST(HostileServer, DummyLoginAnswered40532IsNotHealthy) {
  InstanceConfig c;
  c.login_error_number = 40532;
  c.login_error_message = "Cannot open server \"mi1\" requested by the login. The login failed.";
  auto r = check_against(c, dummy_credentials());
  EXPECT_TRUE(r.codes.count("LOGIN_FAILED")) << codes_of(r);
  EXPECT_EQ(r.report().verdict, reports::Verdict::Fail) << codes_of(r);
}

// Item 6: ENCRYPT_OFF answered to a client that asked ON means the whole session is encrypted.
TEST(HostileServer, EncryptOffAnswerToEncryptOnIsAFullyEncryptedSession) {
  InstanceConfig c;
  c.encryption = tds::Encryption::Off;
  c.redirect = false;
  auto r = check_against(c);
  EXPECT_EQ(r.codes, std::set<std::string>{"CONNECTION_PATH"}) << codes_of(r);
  ASSERT_TRUE(r.ev().tds);
  EXPECT_EQ(r.ev().tds->negotiated, tds::Negotiated::Full);
  EXPECT_EQ(r.sim->stats().gateway.logins_ok, 1u);
}

// Item 9: the whole range answering RST is not "only this port is blocked".
TEST(HostileServer, AWholeRangeOfResetsIsNotOnlyThisPort) {
  InstanceConfig c;
  c.routed_port = 11500;
  auto r = check_against(c);
  ASSERT_TRUE(r.codes.count("REDIRECT_PORTS_FILTERED")) << codes_of(r);
  for (const auto& f : r.report().findings)
    if (f.code == reports::Code::RedirectPortsFiltered) {
      EXPECT_EQ(f.title.find("only this port"), std::string::npos) << f.title;
      EXPECT_NE(f.title.find("every port of the range"), std::string::npos) << f.title;
    }
}

// Items 4 and 5: what a server sends can neither break nor forge the report.
bool has_raw_control(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\n') || c == 0x7f;
  });
}

void expect_render_safe(const Run& r) {
  const auto& rep = r.report();
  std::string json;
  EXPECT_NO_THROW(json = reports::render_json(rep));
  EXPECT_TRUE(nlohmann::json::accept(json)) << json;
  for (bool verbose : {false, true}) {
    std::string text;
    EXPECT_NO_THROW(text = reports::render_text(rep, {verbose, false}));
    EXPECT_FALSE(has_raw_control(text)) << text;
  }
  std::string md;
  EXPECT_NO_THROW(md = reports::render_markdown(rep));
  // Server text may appear literally only where Markdown shows code: fenced blocks and the
  // evidence code spans; anywhere else "<script" would be live HTML in a ticket.
  bool fenced = false;
  std::size_t start = 0;
  while (start < md.size()) {
    auto end = md.find('\n', start);
    if (end == std::string::npos) end = md.size();
    const std::string line = md.substr(start, end - start);
    if (line.starts_with("```") || line.starts_with("~~~")) {
      fenced = !fenced;
    } else if (!fenced && line.find("<script") != std::string::npos) {
      EXPECT_TRUE(line.starts_with("- `")) << "live HTML outside code: " << line;
    }
    start = end + 1;
  }
  EXPECT_FALSE(has_raw_control(md)) << md;
}

TEST(HostileServer, NonUtf8PreloginInstanceKeepsTheJsonReport) {
  InstanceConfig c;
  c.prelogin_instance = std::string("\xff\xfe\x80 bad", 7);
  auto r = check_against(c);
  expect_render_safe(r);
}

TEST(HostileServer, EscapeSequencesInALoginErrorCannotForgeTheReport) {
  InstanceConfig c;
  c.login_error_message =
      "\x1b[2J\x1b]0;pwned\x07\n\x1b[32mOK    everything is fine\x1b[0m `x` ``` | "
      "</details><script>alert(1)</script>";
  auto r = check_against(c, dummy_credentials());
  EXPECT_TRUE(r.codes.count("LOGIN_FAILED")) << codes_of(r);
  expect_render_safe(r);
}

TEST(HostileServer, EscapeSequencesInARoutingHostCannotForgeTheReport) {
  InstanceConfig c;
  c.routed_host = "node\x1b[2J\n| x | `y` |\x1b]0;t\x07.sim0001.database.windows.net";
  auto r = check_against(c);
  EXPECT_TRUE(r.codes.count("REDIRECT_TARGET_UNREACHABLE")) << codes_of(r);
  expect_render_safe(r);
  // One finding, one line: a newline in the host must not split the findings table.
  const auto md = reports::render_markdown(r.report());
  const auto rows = std::count(md.begin(), md.end(), '\n');
  EXPECT_GT(rows, 0);
  std::size_t table_rows = 0;
  for (std::size_t at = md.find("\n| "); at != std::string::npos; at = md.find("\n| ", at + 1))
    ++table_rows;
  EXPECT_EQ(table_rows, r.report().findings.size() + 1) << md;  // header + one per finding
}

TEST(HostileServer, EscapeSequencesInACertificateNameCannotForgeTheReport) {
  InstanceConfig c;
  c.extra_cert_names = {"x\x1b[2J.sim0001.database.windows.net"};
  auto r = check_against(c, system_store());
  EXPECT_TRUE(r.codes.count("TLS_CERT_UNTRUSTED")) << codes_of(r);
  expect_render_safe(r);
}

}  // namespace
}  // namespace midiag::agent
