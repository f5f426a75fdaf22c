// The TDS client probe against the embedded simulated instance on loopback, for what the
// simulator tests do not already cover from the server's side: TDS 8 strict (TLS first,
// ALPN tds/8.0, PRELOGIN inside TLS) and a TDS 7.x-only server's answer to it.
#include "probes/tds/tds_probe.h"

#include <openssl/ssl.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>

#include "agent/simulator/instance.h"

namespace {

using midiag::sim::InstanceConfig;
using midiag::sim::SimulatedInstance;
namespace tdsprobe = midiag::tdsprobe;
using namespace std::chrono_literals;

struct Sim {
  std::unique_ptr<SimulatedInstance> inst;
  std::string ca_path;
  explicit Sim(const InstanceConfig& config) {
    auto s = SimulatedInstance::start(config);
    if (!s) {
      ADD_FAILURE() << s.error().message;
      return;
    }
    inst = std::move(*s);
    char tmpl[] = "/tmp/midiag-probe-ca-XXXXXX";
    int fd = mkstemp(tmpl);
    close(fd);
    ca_path = tmpl;
    std::ofstream(ca_path) << inst->ca_pem();
  }
  ~Sim() {
    if (!ca_path.empty()) std::remove(ca_path.c_str());
  }
  [[nodiscard]] tdsprobe::Options options(std::uint16_t port, bool strict) const {
    tdsprobe::Options o;
    o.address = "127.0.0.1";
    o.port = port;
    o.server_name = inst->fqdn();
    o.timeout = 3000ms;
    o.strict = strict;
    o.ca_file = ca_path;
    o.credentials = tdsprobe::Credentials{"sim", "sim-password"};
    return o;
  }
};

TEST(TdsProbeStrict, TlsFirstWithAlpnThenPreloginAndLoginInsideTls) {
  Sim sim(InstanceConfig{});
  ASSERT_TRUE(sim.inst);
  auto r = tdsprobe::run_tds_probe(sim.options(sim.inst->gateway_port(), /*strict=*/true));
  ASSERT_EQ(r.failed_at, tdsprobe::Stage::Complete) << r.failure;
  ASSERT_TRUE(r.tls_used);
  ASSERT_TRUE(r.tls);
  EXPECT_EQ(r.tls->alpn, "tds/8.0");
  EXPECT_EQ(r.tls->version, "TLSv1.3");  // TDS 8 is not held to TDS 7.x's TLS 1.2
  EXPECT_TRUE(r.tls->name_matches);
  EXPECT_TRUE(r.tls->trusted) << r.tls->verify_error;
  EXPECT_FALSE(r.login_only_encrypted);
  ASSERT_TRUE(r.prelogin);  // PRELOGIN still happens, inside the TLS session
  EXPECT_EQ(r.prelogin->version->str(), "16.0.4105.0");
  EXPECT_EQ(r.outcome, tdsprobe::LoginOutcome::Routing);
  ASSERT_TRUE(r.routing);
  EXPECT_EQ(r.routing->port, sim.inst->node_port());

  // The node accepts the second login in strict mode too.
  auto node = tdsprobe::run_tds_probe(sim.options(sim.inst->node_port(), /*strict=*/true));
  ASSERT_EQ(node.failed_at, tdsprobe::Stage::Complete) << node.failure;
  EXPECT_EQ(node.outcome, tdsprobe::LoginOutcome::LoginAck);
  EXPECT_EQ(node.tls->alpn, "tds/8.0");

  // The server saw one TLS handshake per connection and no second one inside TDS.
  auto st = sim.inst->stats();
  EXPECT_EQ(st.gateway.tls_handshakes, 1u);
  EXPECT_EQ(st.gateway.prelogins, 1u);
  EXPECT_EQ(st.gateway.logins_ok, 1u);
  EXPECT_EQ(st.node.tls_handshakes, 1u);
  EXPECT_EQ(st.node.logins_ok, 1u);
}

TEST(TdsProbeStrict, Tds7ModeIsUnchangedOnTheSameServer) {
  Sim sim(InstanceConfig{});
  ASSERT_TRUE(sim.inst);
  auto r = tdsprobe::run_tds_probe(sim.options(sim.inst->gateway_port(), /*strict=*/false));
  ASSERT_EQ(r.failed_at, tdsprobe::Stage::Complete) << r.failure;
  ASSERT_TRUE(r.tls);
  EXPECT_EQ(r.tls->version, "TLSv1.2");
  EXPECT_EQ(r.tls->alpn, "");
  EXPECT_EQ(r.outcome, tdsprobe::LoginOutcome::Routing);
}

TEST(TdsProbeStrict, Tds7OnlyServerClosesOnTheClientHello) {
  InstanceConfig config;
  config.accepts_strict = false;
  Sim sim(config);
  ASSERT_TRUE(sim.inst);
  auto r = tdsprobe::run_tds_probe(sim.options(sim.inst->gateway_port(), /*strict=*/true));
  EXPECT_EQ(r.failed_at, tdsprobe::Stage::Tls);
  EXPECT_EQ(r.reached, tdsprobe::Stage::Connect);
  EXPECT_FALSE(r.stalled);  // closed at once, not left waiting for the timeout
  EXPECT_LT(r.elapsed_ms, 1000.0);
  EXPECT_NE(r.failure.find("closed"), std::string::npos) << r.failure;
  EXPECT_EQ(sim.inst->stats().gateway.tls_handshakes, 0u);
  EXPECT_EQ(sim.inst->stats().gateway.prelogins, 0u);
}

}  // namespace
