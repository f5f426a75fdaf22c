// --connection-string-env: the check runs as the application's driver would, from the string
// the application has, and the string's password appears nowhere.
#include <cstdlib>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "agent/cli.h"
#include "agent/simulator/instance.h"
#include "tests/unit/support/cli_run.h"

namespace midiag::agent {
namespace {

using test_support::cli;

constexpr const char* kSecret = "Zq9-conn-string-secret";

TEST(CliConnectionString, LogsInWithTheStringsServerUserAndPassword) {
  sim::InstanceConfig config;
  config.redirect = false;
  config.password = kSecret;
  auto inst = sim::SimulatedInstance::start(config);
  ASSERT_TRUE(inst) << inst.error().message;
  const std::string cs = "Server=tcp:127.0.0.1," + std::to_string((*inst)->gateway_port()) +
                         ";User ID=sim;Password=\"" + kSecret +
                         "\";Encrypt=True;TrustServerCertificate=True;Application Name=app";
  setenv("MIDIAG_TEST_CS", cs.c_str(), 1);
  for (const char* format : {"json", "text", "markdown"}) {
    auto r = cli({"check", "--connection-string-env", "MIDIAG_TEST_CS", "--format", format, "-v",
                  "--timeout-ms", "2000", "--log-level", "trace"});
    EXPECT_NE(r.out.find("CONNECTION_PATH"), std::string::npos) << format << r.out << r.err;
    EXPECT_EQ(r.out.find(kSecret), std::string::npos) << format;
    EXPECT_EQ(r.err.find(kSecret), std::string::npos) << format;
  }
  EXPECT_EQ((*inst)->stats().gateway.logins_ok, 3u);
  unsetenv("MIDIAG_TEST_CS");
}

// Without TrustServerCertificate the driver validates: a certificate from no trusted CA gets no
// password, exactly as the application would fail.
TEST(CliConnectionString, WithoutTrustTheUntrustedServerGetsNoPassword) {
  sim::InstanceConfig config;
  config.redirect = false;
  auto inst = sim::SimulatedInstance::start(config);
  ASSERT_TRUE(inst);
  const std::string cs = "Data Source=127.0.0.1," + std::to_string((*inst)->gateway_port()) +
                         ";User ID=sim;Password=sim-password;Encrypt=Mandatory";
  setenv("MIDIAG_TEST_CS", cs.c_str(), 1);
  auto r =
      cli({"check", "--connection-string-env", "MIDIAG_TEST_CS", "--json", "--timeout-ms", "2000"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("TLS_CERT_UNTRUSTED"), std::string::npos) << r.out;
  EXPECT_EQ((*inst)->stats().gateway.login7s, 0u);
  unsetenv("MIDIAG_TEST_CS");
}

TEST(CliConnectionString, AMalformedStringIsExit2NamingThePositionNotThePassword) {
  setenv("MIDIAG_TEST_CS", "Server=tcp:x.example.com,1433;Password='Hunter2;User ID=sim", 1);
  auto r = cli({"check", "--connection-string-env", "MIDIAG_TEST_CS"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("position"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Hunter2"), std::string::npos) << r.err;
  unsetenv("MIDIAG_TEST_CS");
}

TEST(CliConnectionString, AnUnsetVariableIsExit2) {
  unsetenv("MIDIAG_TEST_CS_UNSET");
  auto r = cli({"check", "--connection-string-env", "MIDIAG_TEST_CS_UNSET"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("MIDIAG_TEST_CS_UNSET"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace midiag::agent
