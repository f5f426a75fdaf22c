// --auth entra end to end, in-process: bad values are exit 2 before any traffic, a connection
// string's Authentication=Active Directory ... means entra, and a check against a simulated
// gateway plus a simulated authority (plain TLS, named through a hosts file: no resolver is
// asked) reports the authority, the PRELOGIN FEDAUTHREQUIRED answer and the dummy login.
#include <cstdlib>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/cli.h"
#include "agent/simulator/instance.h"
#include "tests/unit/support/cli_run.h"
#include "tests/unit/support/temp_dir.h"

namespace midiag::agent {
namespace {

using test_support::cli;

std::set<std::string> codes_of(const nlohmann::json& j) {
  std::set<std::string> codes;
  for (const auto& f : j["findings"]) codes.insert(f["code"].get<std::string>());
  return codes;
}

TEST(CliEntra, BadValuesAreExit2BeforeAnyTraffic) {
  setenv("MIDIAG_TEST_ENTRA_PW", "not-sent", 1);
  setenv("MIDIAG_TEST_CS_AD",
         "Server=tcp:10.0.0.1,1433;Authentication=Active Directory Default;Encrypt=True", 1);
  setenv("MIDIAG_TEST_CS_SQL",
         "Server=tcp:10.0.0.1,1433;User ID=app;Password=x;Authentication=SqlPassword", 1);
  struct Case {
    std::vector<std::string> args;
    const char* says;
  } cases[] = {
      {{"check", "10.0.0.1", "--auth", "kerberos"}, "bad --auth 'kerberos' (sql|entra)"},
      {{"check", "10.0.0.1", "--entra-authority", "login.microsoftonline.com"},
       "--entra-authority is for --auth entra"},
      {{"check", "10.0.0.1", "--auth", "sql", "--entra-authority", "login.microsoftonline.com"},
       "--entra-authority is for --auth entra"},
      {{"check", "10.0.0.1", "--auth", "entra", "--entra-authority",
        "https://login.microsoftonline.com/common"},
       "not a URL"},
      {{"check", "10.0.0.1", "--auth", "entra", "--entra-authority", "login.microsoftonline.com:0"},
       "1-65535"},
      {{"check", "10.0.0.1", "--auth", "entra", "--entra-authority", "login..microsoftonline.com"},
       "neither a host name"},
      {{"check", "10.0.0.1", "--auth", "entra", "--user", "app", "--password-env",
        "MIDIAG_TEST_ENTRA_PW"},
       "never sends a password"},
      {{"check", "10.0.0.1", "--auth", "entra", "--user", "app"}, "never sends a password"},
      // The connection string's Authentication means entra: the authority is validated...
      {{"check", "--connection-string-env", "MIDIAG_TEST_CS_AD", "--entra-authority", "bad_name"},
       "bad --entra-authority 'bad_name'"},
      // ...unless --auth sql says otherwise; a SQL-login string is not entra.
      {{"check", "--connection-string-env", "MIDIAG_TEST_CS_AD", "--auth", "sql",
        "--entra-authority", "127.0.0.1"},
       "--entra-authority is for --auth entra"},
      {{"check", "--connection-string-env", "MIDIAG_TEST_CS_SQL", "--entra-authority", "127.0.0.1"},
       "--entra-authority is for --auth entra"},
  };
  for (const auto& c : cases) {
    auto r = cli(c.args);
    EXPECT_EQ(r.code, 2) << c.args.back() << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args.back() << " -> " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  unsetenv("MIDIAG_TEST_ENTRA_PW");
  unsetenv("MIDIAG_TEST_CS_AD");
  unsetenv("MIDIAG_TEST_CS_SQL");
}

TEST(CliEntra, HelpShowsTheOptionsAndAnExample) {
  auto h = cli({"check", "--help"});
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("--auth sql|entra"), std::string::npos);
  EXPECT_NE(h.out.find("--entra-authority HOST[:PORT]"), std::string::npos);
  EXPECT_NE(h.out.find("--auth entra -v"), std::string::npos);
}

// A simulated gateway (proxy: LOGINACK or 18456 on the gateway itself) and a simulated authority
// (TLS only) named login.entra0001.database.windows.net through a hosts file.
struct EntraLab {
  bool authority_refuses_port;  // --entra-authority names a port that refuses (RST)
  std::unique_ptr<sim::SimulatedInstance> gateway, authority;
  test_support::TempDir dir;
  std::string ca, hosts, resolv;
  explicit EntraLab(bool authority_refuses = false) : authority_refuses_port(authority_refuses) {
    sim::InstanceConfig g;
    g.redirect = false;
    auto gw = sim::SimulatedInstance::start(g);
    sim::InstanceConfig a;
    a.gateway_behaviour = sim::Behaviour::PlainTls;
    a.instance = "login";
    a.zone = "entra0001";
    a.cert_name = "login.entra0001.database.windows.net";
    a.node_refuses = authority_refuses;
    auto au = sim::SimulatedInstance::start(a);
    if (!gw || !au) {
      ADD_FAILURE() << "simulators did not start";
      return;
    }
    gateway = std::move(*gw);
    authority = std::move(*au);
    ca = dir.file("ca.pem", gateway->ca_pem() + authority->ca_pem());
    hosts =
        dir.file("hosts", "127.0.0.1 localhost\n127.0.0.1 login.entra0001.database.windows.net\n");
    // Never asked (the target is an address, the authority is in the hosts file); a closed port
    // on loopback if it were.
    resolv = dir.file("resolv.conf", "nameserver 127.0.0.1\n");
  }
  [[nodiscard]] std::string authority_arg() const {
    return "login.entra0001.database.windows.net:" +
           std::to_string(authority_refuses_port ? authority->node_port()
                                                 : authority->gateway_port());
  }
  [[nodiscard]] std::vector<std::string> args(std::vector<std::string> more) const {
    std::vector<std::string> a = {
        "--entra-authority", authority_arg(), "--ca-file",    ca,     "--hosts-file", hosts,
        "--resolv-conf",     resolv,          "--timeout-ms", "2000", "--no-capture", "--no-imds"};
    a.insert(a.begin(), more.begin(), more.end());
    return a;
  }
};

TEST(CliEntra, ReachedAuthorityFedauthAnsweredAndDummyLogin) {
  EntraLab lab;
  ASSERT_TRUE(lab.gateway && lab.authority);
  const std::string target = "127.0.0.1:" + std::to_string(lab.gateway->gateway_port());
  auto r = cli(lab.args({"check", target, "--auth", "entra", "--json"}));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(codes_of(j), (std::set<std::string>{"TARGET_IS_IP_LITERAL", "LOGIN_FAILED"})) << r.out;
  const auto& e = j["entra"];
  EXPECT_EQ(e["authority"], "login.entra0001.database.windows.net");
  EXPECT_EQ(e["port"], lab.authority->gateway_port());
  EXPECT_EQ(e["reached"], true) << e.dump(2);
  EXPECT_TRUE(e["failed_step"].is_null());
  EXPECT_EQ(e["addresses"], nlohmann::json::array({"127.0.0.1"}));
  EXPECT_EQ(e["addresses_from"], "hosts-file");
  EXPECT_EQ(e["dns_status"], "hosts_file");
  EXPECT_EQ(e["lookups"], nlohmann::json::array());
  EXPECT_EQ(e["tcp"]["state"], "open");
  EXPECT_EQ(e["tcp"]["address"], "127.0.0.1");
  EXPECT_EQ(e["tls"]["version"], "TLSv1.3");
  EXPECT_EQ(e["tls"]["trusted"], true);
  EXPECT_EQ(e["tls"]["name_matches"], true);
  EXPECT_TRUE(e["tls"]["verify_error"].is_null());
  EXPECT_EQ(e["tls"]["certificate"]["subject_alt_names"],
            nlohmann::json::array({"login.entra0001.database.windows.net"}));
  // PRELOGIN carried FEDAUTHREQUIRED: the simulator answers 0x01 only to a client that sent it.
  EXPECT_EQ(j["tds"]["prelogin"]["fedauth_required"], true);
  EXPECT_EQ(e["prelogin"]["fedauth_required_sent"], true);
  EXPECT_EQ(e["prelogin"]["fedauth_required_answer"], true);
  EXPECT_EQ(j["tds"]["login"]["dummy_credentials"], true);
  bool collector_ok = false;
  for (const auto& c : j["collectors"])
    if (c["name"] == "entra") collector_ok = c["status"] == "ok";
  EXPECT_TRUE(collector_ok) << j["collectors"].dump();
  const std::string limits = j["limitations"].dump();
  EXPECT_NE(limits.find("no token was requested"), std::string::npos) << limits;
  EXPECT_NE(limits.find("LOGIN7 carried dummy SQL credentials"), std::string::npos) << limits;
  EXPECT_EQ(lab.authority->stats().gateway.connections, 2U);  // the TCP probe and the handshake

  // Without --auth entra: no entra block, and PRELOGIN does not offer federated authentication.
  auto plain = cli({"check", target, "--json", "--ca-file", lab.ca, "--timeout-ms", "2000",
                    "--no-capture", "--no-imds"});
  auto pj = nlohmann::json::parse(plain.out);
  EXPECT_FALSE(pj.contains("entra"));
  EXPECT_EQ(pj["tds"]["prelogin"]["fedauth_required"], false);

  // The text report's one line under -v.
  auto text = cli(lab.args({"check", target, "--auth", "entra", "-v"}));
  EXPECT_NE(text.out.find("Entra ID  login.entra0001.database.windows.net:" +
                          std::to_string(lab.authority->gateway_port()) + " reached in "),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("answered FEDAUTHREQUIRED 0x01"), std::string::npos) << text.out;
}

TEST(CliEntra, ConnectionStringActiveDirectoryMeansEntraAndItsPasswordIsNotSent) {
  EntraLab lab;
  ASSERT_TRUE(lab.gateway && lab.authority);
  const std::string cs = "Server=tcp:127.0.0.1," + std::to_string(lab.gateway->gateway_port()) +
                         ";User ID=sim;Password=sim-password;Authentication=Active Directory "
                         "Password;Encrypt=True";
  setenv("MIDIAG_TEST_CS_ENTRA", cs.c_str(), 1);
  auto r = cli(lab.args({"check", "--connection-string-env", "MIDIAG_TEST_CS_ENTRA", "--json"}));
  unsetenv("MIDIAG_TEST_CS_ENTRA");
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["entra"]["reached"], true) << r.out;
  EXPECT_EQ(j["tds"]["prelogin"]["fedauth_required"], true);
  EXPECT_EQ(j["tds"]["login"]["dummy_credentials"], true);
  // The Entra password matched the simulator's SQL login, yet no login succeeded: not sent.
  EXPECT_EQ(lab.gateway->stats().gateway.logins_ok, 0U);
  EXPECT_EQ(r.out.find("sim-password"), std::string::npos);
}

TEST(CliEntra, UnreachableAuthorityIsAnErrorWithTheTcpEvidence) {
  EntraLab lab(/*authority_refuses=*/true);
  ASSERT_TRUE(lab.gateway && lab.authority);
  const std::string target = "127.0.0.1:" + std::to_string(lab.gateway->gateway_port());
  auto r = cli(lab.args({"check", target, "--auth", "entra", "--json"}));
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(codes_of(j), (std::set<std::string>{"ENTRA_ENDPOINT_UNREACHABLE",
                                                "TARGET_IS_IP_LITERAL", "LOGIN_FAILED"}))
      << r.out;
  EXPECT_EQ(j["verdict"], "fail");
  const auto& f = j["findings"][0];
  EXPECT_EQ(f["code"], "ENTRA_ENDPOINT_UNREACHABLE");
  EXPECT_EQ(f["severity"], "error");
  const std::string port = std::to_string(lab.authority->node_port());
  EXPECT_NE(f["title"].get<std::string>().find("login.entra0001.database.windows.net:" + port),
            std::string::npos)
      << f["title"];
  EXPECT_NE(f["evidence"].dump().find("entra tcp 127.0.0.1:" + port + " -> refused"),
            std::string::npos)
      << f["evidence"];
  EXPECT_EQ(j["entra"]["reached"], false);
  EXPECT_EQ(j["entra"]["failed_step"], "tcp");
  EXPECT_EQ(j["entra"]["tcp"]["state"], "refused");
  EXPECT_TRUE(j["entra"]["tls"].is_null());
  for (const auto& c : j["collectors"])
    if (c["name"] == "entra") {
      EXPECT_EQ(c["status"], "failed");
    }

  auto text = cli(lab.args({"check", target, "--auth", "entra", "-v"}));
  EXPECT_NE(text.out.find("ENTRA_ENDPOINT_UNREACHABLE"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("NOT reached (tcp)"), std::string::npos) << text.out;
}

}  // namespace
}  // namespace midiag::agent
