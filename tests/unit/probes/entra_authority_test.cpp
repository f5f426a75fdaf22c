// The Entra ID authority probe (probes/entra) against the embedded simulator serving plain TLS
// on loopback (Behaviour::PlainTls), its DNS responder standing in for the system resolver: a
// reached authority, and each way it can fail (DNS, TCP, TLS, certificate), all bounded.
#include "probes/entra/authority.h"

#include <openssl/ssl.h>

#include <memory>

#include <gtest/gtest.h>

#include "agent/simulator/instance.h"
#include "tests/unit/support/temp_dir.h"

namespace {

using midiag::sim::Behaviour;
using midiag::sim::InstanceConfig;
using midiag::sim::SimulatedInstance;
namespace entra = midiag::entra;
using namespace std::chrono_literals;

InstanceConfig authority_config() {
  InstanceConfig c;
  c.gateway_behaviour = Behaviour::PlainTls;
  c.instance = "login";
  c.zone = "entra0001";  // login.entra0001.database.windows.net, served by the sim's DNS
  c.cert_name = "login.entra0001.database.windows.net";
  return c;
}

struct Authority {
  std::unique_ptr<SimulatedInstance> inst;
  midiag::test_support::TempDir dir;
  std::string ca;
  explicit Authority(const InstanceConfig& c) {
    auto s = SimulatedInstance::start(c);
    if (!s) {
      ADD_FAILURE() << s.error().message;
      return;
    }
    inst = std::move(*s);
    ca = dir.file("ca.pem", inst->ca_pem());
  }
  // The check's view: the system resolver is the simulator's DNS responder.
  [[nodiscard]] entra::Options options() const {
    entra::Options o;
    o.authority = {inst->fqdn(), inst->gateway_port()};
    o.resolvers = {{"system", {"127.0.0.1:" + std::to_string(inst->dns_port())}}};
    o.ca_file = ca;
    o.timeout = 2000ms;
    return o;
  }
};

TEST(EntraAuthority, ParsesHostPortAndLiterals) {
  struct Case {
    const char* text;
    const char* host;
    std::uint16_t port;
  };
  for (const auto& c :
       {Case{"login.microsoftonline.com", "login.microsoftonline.com", 443},
        Case{"LOGIN.microsoftonline.com.:8443", "login.microsoftonline.com", 8443},
        Case{"login.partner.microsoftonline.cn", "login.partner.microsoftonline.cn", 443},
        Case{"10.250.2.30", "10.250.2.30", 443}, Case{"127.0.0.1:65535", "127.0.0.1", 65535},
        Case{"[::1]:4443", "::1", 4443}, Case{"2001:db8::1", "2001:db8::1", 443}}) {
    auto a = entra::parse_authority(c.text);
    ASSERT_TRUE(a) << c.text << ": " << a.error().message;
    EXPECT_EQ(a->host, c.host) << c.text;
    EXPECT_EQ(a->port, c.port) << c.text;
  }
  EXPECT_EQ(entra::parse_authority("[::1]:4443")->str(), "[::1]:4443");
}

TEST(EntraAuthority, RefusesGarbageWithUsageErrors) {
  struct Case {
    const char* text;
    const char* says;
  };
  for (const auto& c :
       {Case{"", "empty"}, Case{"https://login.microsoftonline.com/", "not a URL"},
        Case{"login.microsoftonline.com/common", "not a URL"},
        Case{"login.microsoftonline.com:0", "1-65535"},
        Case{"login.microsoftonline.com:65536", "1-65535"},
        Case{"login.microsoftonline.com:https", "1-65535"},
        Case{"login.microsoftonline.com:", "without a port"},
        Case{"login..microsoftonline.com", "neither a host name"},
        Case{"-login.microsoftonline.com", "neither a host name"},
        Case{"login_x.microsoftonline.com", "neither a host name"},
        Case{"999.1.1.1", "neither a host name"}, Case{"[10.0.0.1]:443", "not an IPv6"},
        Case{"[::1", "without ']'"}, Case{"a b", "neither a host name"}}) {
    auto a = entra::parse_authority(c.text);
    ASSERT_FALSE(a) << c.text;
    EXPECT_EQ(a.error().kind, midiag::ErrorKind::Usage) << c.text;
    EXPECT_NE(a.error().message.find(c.says), std::string::npos)
        << c.text << ": " << a.error().message;
  }
  const std::string long_label(64, 'a');
  EXPECT_FALSE(entra::parse_authority(long_label + ".com"));
}

TEST(EntraAuthority, ReachedThroughDnsTcpAndAVerifiedHandshake) {
  Authority auth(authority_config());
  ASSERT_TRUE(auth.inst);
  auto r = entra::probe_authority(auth.options());
  EXPECT_TRUE(r.reached()) << r.failure;
  EXPECT_EQ(r.failed, entra::Step::None);
  EXPECT_EQ(r.addresses, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(r.addresses_from, "system");
  ASSERT_FALSE(r.lookups.empty());
  EXPECT_EQ(r.lookups.front().status, midiag::dns::Status::Ok);
  ASSERT_EQ(r.tcp.size(), 1U);
  EXPECT_EQ(r.tcp.front().state, midiag::tcp::State::Open);
  EXPECT_EQ(r.tls_address, "127.0.0.1");
  ASSERT_TRUE(r.tls);
  EXPECT_EQ(r.tls->version, "TLSv1.3");
  EXPECT_TRUE(r.tls->trusted) << r.tls->verify_error;
  EXPECT_TRUE(r.tls->name_matches);
  EXPECT_FALSE(r.tls->expired);
  ASSERT_FALSE(r.tls->chain.empty());
  EXPECT_EQ(r.tls->chain.front().subject_alt_names,
            std::vector<std::string>{"login.entra0001.database.windows.net"});
  // The simulator served exactly one TLS connection (the TCP probe's connect is another).
  EXPECT_EQ(auth.inst->stats().gateway.connections, 2U);
}

TEST(EntraAuthority, HostsFileAddressesWinOverDns) {
  Authority auth(authority_config());
  ASSERT_TRUE(auth.inst);
  auto o = auth.options();
  o.resolvers = {{"system", {"127.0.0.1:1"}}};  // never asked: the hosts file answers first
  o.hosts_addresses = {"127.0.0.1"};
  auto r = entra::probe_authority(o);
  EXPECT_TRUE(r.reached()) << r.failure;
  EXPECT_EQ(r.addresses_from, "hosts-file");
  EXPECT_TRUE(r.lookups.empty());
}

TEST(EntraAuthority, UntrustedIssuerIsACertificateFailure) {
  Authority auth(authority_config());
  Authority other(authority_config());  // another CA: the proxy-that-inspects-TLS case
  ASSERT_TRUE(auth.inst && other.inst);
  auto o = auth.options();
  o.ca_file = other.ca;
  auto r = entra::probe_authority(o);
  EXPECT_FALSE(r.reached());
  EXPECT_EQ(r.failed, entra::Step::Certificate);
  ASSERT_TRUE(r.tls);
  EXPECT_FALSE(r.tls->trusted);
  EXPECT_TRUE(r.tls->name_matches);
  EXPECT_NE(r.failure.find("does not verify against --ca-file " + other.ca), std::string::npos)
      << r.failure;
}

TEST(EntraAuthority, CertificateForAnotherNameIsACertificateFailure) {
  auto c = authority_config();
  c.cert_name = "*.other0002.database.windows.net";
  Authority auth(c);
  ASSERT_TRUE(auth.inst);
  auto r = entra::probe_authority(auth.options());
  EXPECT_EQ(r.failed, entra::Step::Certificate) << r.failure;
  ASSERT_TRUE(r.tls);
  EXPECT_TRUE(r.tls->trusted) << r.tls->verify_error;
  EXPECT_FALSE(r.tls->name_matches);
  EXPECT_NE(r.failure.find("does not cover login.entra0001.database.windows.net"),
            std::string::npos)
      << r.failure;
  EXPECT_NE(r.failure.find("*.other0002.database.windows.net"), std::string::npos) << r.failure;
}

TEST(EntraAuthority, ExpiredCertificateIsACertificateFailure) {
  auto c = authority_config();
  c.cert_expired = true;
  Authority auth(c);
  ASSERT_TRUE(auth.inst);
  auto r = entra::probe_authority(auth.options());
  EXPECT_EQ(r.failed, entra::Step::Certificate) << r.failure;
  ASSERT_TRUE(r.tls);
  EXPECT_TRUE(r.tls->expired);
  EXPECT_NE(r.failure.find("outside its validity"), std::string::npos) << r.failure;
}

TEST(EntraAuthority, TlsBelowOneTwoIsATlsFailure) {
  auto c = authority_config();
  c.max_tls_version = TLS1_1_VERSION;
  Authority auth(c);
  ASSERT_TRUE(auth.inst);
  auto r = entra::probe_authority(auth.options());
  EXPECT_EQ(r.failed, entra::Step::Tls) << r.failure;
  ASSERT_TRUE(r.tls);
  EXPECT_EQ(r.tls->version, "TLSv1.1");
  EXPECT_NE(r.failure.find("below the TLS 1.2"), std::string::npos) << r.failure;
}

TEST(EntraAuthority, SilentPeerEndsWithinTheTimeout) {
  auto c = authority_config();
  c.gateway_behaviour = Behaviour::SilentAfterAccept;
  Authority auth(c);
  ASSERT_TRUE(auth.inst);
  auto o = auth.options();
  o.timeout = 300ms;
  auto r = entra::probe_authority(o);
  EXPECT_EQ(r.failed, entra::Step::Tls) << r.failure;
  EXPECT_TRUE(r.tls_timed_out);
  EXPECT_FALSE(r.tls);
  EXPECT_GE(r.tls_ms, 290.0);
  EXPECT_LT(r.tls_ms, 600.0);
  EXPECT_LT(r.elapsed_ms, 900.0);  // DNS and TCP answered at once; the handshake took its 300 ms
  EXPECT_NE(r.failure.find("no TLS answer within 300 ms"), std::string::npos) << r.failure;
}

TEST(EntraAuthority, TricklingPeerEndsWithinTheTimeout) {
  auto c = authority_config();
  c.gateway_behaviour = Behaviour::Slowloris;  // one byte a second, never a whole TLS record
  Authority auth(c);
  ASSERT_TRUE(auth.inst);
  auto o = auth.options();
  o.timeout = 400ms;
  auto r = entra::probe_authority(o);
  EXPECT_EQ(r.failed, entra::Step::Tls) << r.failure;
  EXPECT_TRUE(r.tls_timed_out);
  EXPECT_LT(r.tls_ms, 700.0);
  EXPECT_NE(r.failure.find("stopped after 1 bytes"), std::string::npos) << r.failure;
}

TEST(EntraAuthority, ServerThatIsNotTlsFailsTheHandshake) {
  auto c = authority_config();
  c.gateway_behaviour = Behaviour::NotTds;  // an HTTP 400 to the ClientHello
  Authority auth(c);
  ASSERT_TRUE(auth.inst);
  auto r = entra::probe_authority(auth.options());
  EXPECT_EQ(r.failed, entra::Step::Tls) << r.failure;
  EXPECT_FALSE(r.tls_timed_out);
  EXPECT_FALSE(r.tls_error.empty());
}

TEST(EntraAuthority, RefusedPortIsATcpFailure) {
  auto c = authority_config();
  c.node_refuses = true;  // the node port is bound, not listening: connects get a RST
  Authority auth(c);
  ASSERT_TRUE(auth.inst);
  auto o = auth.options();
  o.authority.port = auth.inst->node_port();
  auto r = entra::probe_authority(o);
  EXPECT_EQ(r.failed, entra::Step::Tcp) << r.failure;
  ASSERT_EQ(r.tcp.size(), 1U);
  EXPECT_EQ(r.tcp.front().state, midiag::tcp::State::Refused);
  EXPECT_TRUE(r.tls_address.empty());  // no handshake without a connection
  EXPECT_NE(r.failure.find("accepted a connection on port " + std::to_string(o.authority.port)),
            std::string::npos)
      << r.failure;
}

TEST(EntraAuthority, NameTheResolverDoesNotKnowIsADnsFailure) {
  Authority auth(authority_config());
  ASSERT_TRUE(auth.inst);
  auto o = auth.options();
  o.authority.host = "nope.entra0001.database.windows.net";
  auto r = entra::probe_authority(o);
  EXPECT_EQ(r.failed, entra::Step::Dns) << r.failure;
  EXPECT_TRUE(r.addresses.empty());
  EXPECT_TRUE(r.tcp.empty());
  EXPECT_NE(r.failure.find("system A nxdomain"), std::string::npos) << r.failure;
}

TEST(EntraAuthority, AnAddressLiteralSkipsDnsAndMustBeInTheCertificate) {
  Authority auth(authority_config());
  ASSERT_TRUE(auth.inst);
  auto o = auth.options();
  o.authority.host = "127.0.0.1";
  auto r = entra::probe_authority(o);
  EXPECT_TRUE(r.lookups.empty());
  EXPECT_EQ(r.addresses_from, "literal");
  EXPECT_EQ(r.failed, entra::Step::Certificate) << r.failure;
  ASSERT_TRUE(r.tls);
  EXPECT_FALSE(r.tls->name_matches);
}

}  // namespace
