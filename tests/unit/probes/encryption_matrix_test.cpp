// PRELOGIN ENCRYPTION negotiation, MS-TDS 2.2.6.5: every client/server pair as a table, then the
// probe against the simulated instance for every pair it can send, with a real login -- TLS where
// the table says so, and no password where it does not.
#include <gtest/gtest.h>

#include "agent/simulator/instance.h"
#include "decoders/tds/encryption.h"
#include "probes/tds/tds_probe.h"

namespace midiag {
namespace {

using tds::Encryption;
using tds::Negotiated;

struct Pair {
  Encryption client, server;
  Negotiated want;
};

// The table of MS-TDS 2.2.6.5 (rows: client; columns: server).
constexpr Pair kTable[] = {
    {Encryption::Off, Encryption::Off, Negotiated::LoginOnly},
    {Encryption::Off, Encryption::On, Negotiated::Full},
    {Encryption::Off, Encryption::NotSup, Negotiated::None},
    {Encryption::Off, Encryption::Req, Negotiated::Full},
    {Encryption::On, Encryption::Off, Negotiated::Full},  // client ON wins
    {Encryption::On, Encryption::On, Negotiated::Full},
    {Encryption::On, Encryption::NotSup, Negotiated::Terminate},
    {Encryption::On, Encryption::Req, Negotiated::Full},
    {Encryption::NotSup, Encryption::Off, Negotiated::None},
    {Encryption::NotSup, Encryption::On, Negotiated::Terminate},
    {Encryption::NotSup, Encryption::NotSup, Negotiated::None},
    {Encryption::NotSup, Encryption::Req, Negotiated::Terminate},
};

TEST(EncryptionMatrix, EveryPairAsMsTdsSays) {
  for (const auto& p : kTable)
    EXPECT_EQ(tds::negotiate(p.client, p.server), p.want)
        << "client " << tds::to_string(p.client) << " server " << tds::to_string(p.server);
}

// The probe sends OFF (Encrypt=False/Optional) or ON (Encrypt=True/Mandatory); with a real login
// it sends LOGIN7 only inside TLS, and reads the answer in clear only for LOGIN-only encryption.
TEST(EncryptionMatrix, TheProbeFollowsTheTableWithARealLogin) {
  for (const auto& p : kTable) {
    if (p.client == Encryption::NotSup) continue;  // the probe never offers no encryption
    SCOPED_TRACE(std::string("client ") + std::string(tds::to_string(p.client)) + " server " +
                 std::string(tds::to_string(p.server)));
    sim::InstanceConfig c;
    c.encryption = p.server;
    c.redirect = false;
    auto inst = sim::SimulatedInstance::start(c);
    ASSERT_TRUE(inst) << inst.error().message;
    tdsprobe::Options o;
    o.address = "127.0.0.1";
    o.port = (*inst)->gateway_port();
    o.server_name = (*inst)->fqdn();
    o.timeout = std::chrono::milliseconds(3000);
    o.encrypt = p.client;
    o.trust_server_certificate = true;
    o.credentials = tdsprobe::Credentials{c.user, c.password};
    auto r = tdsprobe::run_tds_probe(o);
    ASSERT_TRUE(r.negotiated);
    EXPECT_EQ(*r.negotiated, p.want);
    auto s = (*inst)->stats();
    const bool tls = p.want == Negotiated::Full || p.want == Negotiated::LoginOnly;
    EXPECT_EQ(s.gateway.tls_handshakes, tls ? 1u : 0u);
    EXPECT_EQ(r.login_only_encrypted, p.want == Negotiated::LoginOnly);
    if (tls) {
      EXPECT_EQ(r.outcome, tdsprobe::LoginOutcome::LoginAck) << r.failure;
      EXPECT_EQ(s.gateway.logins_ok, 1u);
    } else {
      EXPECT_EQ(s.gateway.login7s, 0u) << "a real password went out without TLS";
      EXPECT_FALSE(r.login_withheld.empty());
    }
  }
}

}  // namespace
}  // namespace midiag
