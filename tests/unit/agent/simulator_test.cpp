// The simulated instance on loopback: raw-socket exchanges checked with the project's own
// decoders, then the misbehaviours, the DNS responder, and real drivers (FreeTDS tsql, tedious)
// logging in through the redirect.
#include "agent/simulator/instance.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <nlohmann/json.hpp>

#include "agent/simulator/dns_responder.h"
#include "decoders/dns/message.h"
#include "decoders/tds/encryption.h"
#include "decoders/tds/login7.h"
#include "decoders/tds/packet.h"
#include "decoders/tds/prelogin.h"
#include "decoders/tds/tokens.h"
#include "probes/tds/tls_client.h"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using midiag::sim::Behaviour;
using midiag::sim::InstanceConfig;
using midiag::sim::SimulatedInstance;
namespace tds = midiag::tds;
using Bytes = std::vector<std::uint8_t>;

std::unique_ptr<SimulatedInstance> start(const InstanceConfig& config) {
  auto sim = SimulatedInstance::start(config);
  if (!sim) ADD_FAILURE() << sim.error().message;
  return sim ? std::move(*sim) : nullptr;
}

InstanceConfig config_with(tds::Encryption encryption, bool redirect = true) {
  InstanceConfig c;
  c.encryption = encryption;
  c.redirect = redirect;
  return c;
}

// A blocking client socket on 127.0.0.1 with receive deadlines enforced by poll().
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    connect_errno_ = connected_ ? 0 : errno;
  }
  ~Client() { close(fd_); }
  [[nodiscard]] bool connected() const { return connected_; }
  [[nodiscard]] int connect_errno() const { return connect_errno_; }

  void send(const Bytes& bytes) const {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  void send_message(tds::PacketType type, const Bytes& payload) const {
    send(tds::frame(type, payload));
  }

  // Bytes until `count` arrived, the peer closed, or the deadline passed.
  Bytes receive(std::size_t count, std::chrono::milliseconds within, bool* eof = nullptr) const {
    Bytes out;
    auto deadline = std::chrono::steady_clock::now() + within;
    while (out.size() < count) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      std::uint8_t buf[4096];
      ssize_t n = recv(fd_, buf, std::min(sizeof buf, count - out.size()), 0);
      if (n <= 0) {
        if (eof != nullptr) *eof = true;
        break;
      }
      out.insert(out.end(), buf, buf + n);
    }
    return out;
  }

  // Whatever arrives first (up to 4 KiB), or nothing by the deadline.
  Bytes some(std::chrono::milliseconds within) const {
    pollfd p{fd_, POLLIN, 0};
    Bytes out(4096);
    ssize_t n = poll(&p, 1, static_cast<int>(within.count())) == 1
                    ? recv(fd_, out.data(), out.size(), 0)
                    : -1;
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return out;
  }

  // One whole TDS message (all packets to EOM), or nothing by the deadline.
  std::optional<tds::Message> message(std::chrono::milliseconds within = 3000ms) const {
    tds::MessageReader reader;
    for (int packets = 0; packets < 64; ++packets) {
      Bytes header = receive(tds::kHeaderSize, within);
      if (header.size() < tds::kHeaderSize) return std::nullopt;
      auto h = tds::parse_header(header);
      if (!h) return std::nullopt;
      Bytes body = receive(h->length - tds::kHeaderSize, within);
      reader.feed(header);
      reader.feed(body);
      if (reader.failed()) return std::nullopt;
      if (reader.has_message()) return reader.take();
    }
    return std::nullopt;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  int connect_errno_ = 0;
};

std::string temp_path(const std::string& content) {
  char path[] = "/tmp/midiag-sim-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << content;
  return path;
}

Bytes client_prelogin(tds::Encryption encryption) {
  tds::Prelogin p;
  tds::Version v;
  v.major = 11;
  p.version = v;
  p.encryption = encryption;
  p.instance = std::string();
  p.thread_id = 4242;
  p.mars = false;
  return tds::build_prelogin(p);
}

Bytes client_login7(const std::string& user, const std::string& password) {
  tds::Login7 login;
  login.host_name = "unit-test";
  login.user_name = user;
  login.password = password;
  login.app_name = "simulator_test";
  login.server_name = "mi1.sim0001.database.windows.net";
  login.library_name = "raw";
  return tds::build_login7(login);
}

// PRELOGIN without TLS, then LOGIN7 in clear; the decoded login response.
std::optional<tds::TokenStream> cleartext_login(const Client& c, const std::string& user,
                                                const std::string& password) {
  c.send_message(tds::PacketType::Prelogin, client_prelogin(tds::Encryption::NotSup));
  auto pre = c.message();
  if (!pre) return std::nullopt;
  c.send_message(tds::PacketType::Login7, client_login7(user, password));
  auto answer = c.message();
  if (!answer || answer->type != 0x04) return std::nullopt;
  auto tokens = tds::parse_tokens(answer->payload);
  if (!tokens) ADD_FAILURE() << tokens.error().message;
  return tokens ? std::optional(*tokens) : std::nullopt;
}

}  // namespace

TEST(SimInstance, StartsAndStopsQuicklyAndRepeatedly) {
  for (int i = 0; i < 5; ++i) {
    auto sim = start({});
    ASSERT_TRUE(sim);
    EXPECT_NE(sim->gateway_port(), 0);
    EXPECT_NE(sim->node_port(), 0);
    EXPECT_NE(sim->dns_port(), 0);
    EXPECT_NE(sim->gateway_port(), sim->node_port());
    EXPECT_NE(sim->ca_pem().find("BEGIN CERTIFICATE"), std::string::npos);
    // A connected, silent client must not hold stop() up.
    Client idle(sim->gateway_port());
    EXPECT_TRUE(idle.connected());
    auto t0 = std::chrono::steady_clock::now();
    sim->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 250ms);
    sim->stop();  // idempotent
  }
}

TEST(SimInstance, RejectsANonIpv4BindAddress) {
  InstanceConfig c;
  c.bind_address = "localhost";
  EXPECT_FALSE(SimulatedInstance::start(c).ok());
}

TEST(SimGateway, AnswersPreloginWithVersionAndConfiguredEncryption) {
  for (auto enc :
       {tds::Encryption::On, tds::Encryption::Off, tds::Encryption::Req, tds::Encryption::NotSup}) {
    auto sim = start(config_with(enc));
    ASSERT_TRUE(sim);
    Client c(sim->gateway_port());
    c.send_message(tds::PacketType::Prelogin, client_prelogin(tds::Encryption::On));
    auto answer = c.message();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->type, 0x04);
    auto p = tds::parse_prelogin(answer->payload);
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_TRUE(p->version);
    EXPECT_EQ(p->version->str(), "16.0.4105.0");
    EXPECT_EQ(p->encryption, enc) << tds::to_string(enc);
    EXPECT_EQ(p->mars, false);
    EXPECT_FALSE(p->fedauth_required);
    EXPECT_EQ(sim->stats().gateway.prelogins, 1U);
  }
}

TEST(SimGateway, CleartextLoginIsRoutedToTheNodeWhichAnswersABatch) {
  auto sim = start(config_with(tds::Encryption::NotSup));
  ASSERT_TRUE(sim);
  {
    Client gw(sim->gateway_port());
    auto tokens = cleartext_login(gw, "sim", "sim-password");
    ASSERT_TRUE(tokens);
    EXPECT_TRUE(tokens->login_ack);
    ASSERT_TRUE(tokens->routing);
    EXPECT_EQ(tokens->routing->port, sim->node_port());
    EXPECT_EQ(tokens->routing->host, "127.0.0.1");
    EXPECT_EQ(tokens->routing->protocol, 0);
  }
  Client node(sim->node_port());
  auto tokens = cleartext_login(node, "sim", "sim-password");
  ASSERT_TRUE(tokens);
  EXPECT_TRUE(tokens->login_ack);
  EXPECT_FALSE(tokens->routing);
  ASSERT_FALSE(tokens->env_changes.empty());
  EXPECT_EQ(tokens->env_changes[0].new_value, "master");

  // SQL batch: ALL_HEADERS (total length 22: transaction descriptor header) + UTF-16LE text.
  Bytes batch = {22, 0, 0, 0, 18, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
  auto text = tds::to_utf16le("select 1");
  batch.insert(batch.end(), text.begin(), text.end());
  node.send_message(tds::PacketType::SqlBatch, batch);
  auto result = node.message();
  ASSERT_TRUE(result);
  ASSERT_FALSE(result->payload.empty());
  EXPECT_EQ(result->payload[0], 0x81);  // COLMETADATA
  tds::Done done;
  done.status = 0x0010;
  done.cur_cmd = 0x00C1;
  done.row_count = 1;
  auto want = tds::build_done(done);
  ASSERT_GE(result->payload.size(), want.size());
  EXPECT_TRUE(std::equal(want.begin(), want.end(), result->payload.end() - want.size()));

  auto s = sim->stats();
  EXPECT_EQ(s.redirects, 1U);
  EXPECT_EQ(s.gateway.logins_ok, 1U);
  EXPECT_EQ(s.node.logins_ok, 1U);
  EXPECT_EQ(s.node.batches, 1U);
  EXPECT_EQ(s.gateway.tls_handshakes + s.node.tls_handshakes, 0U);
}

TEST(SimGateway, WrongPasswordIsLoginFailed18456) {
  auto sim = start(config_with(tds::Encryption::NotSup));
  ASSERT_TRUE(sim);
  Client c(sim->gateway_port());
  auto tokens = cleartext_login(c, "sim", "wrong");
  ASSERT_TRUE(tokens);
  const auto* err = tokens->first_error();
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->number, 18456);
  EXPECT_EQ(err->state, 1);
  EXPECT_EQ(err->severity, 14);
  EXPECT_EQ(err->message, "Login failed for user 'sim'.");
  ASSERT_FALSE(tokens->dones.empty());
  EXPECT_TRUE(tokens->dones.back().error());
  EXPECT_FALSE(tokens->login_ack);
  EXPECT_EQ(sim->stats().gateway.logins_failed, 1U);
  EXPECT_EQ(sim->stats().redirects, 0U);
}

TEST(SimGateway, ProxyModeAcceptsTheLoginOnTheGateway) {
  auto sim = start(config_with(tds::Encryption::NotSup, /*redirect=*/false));
  ASSERT_TRUE(sim);
  Client c(sim->gateway_port());
  auto tokens = cleartext_login(c, "sim", "sim-password");
  ASSERT_TRUE(tokens);
  ASSERT_TRUE(tokens->login_ack);
  EXPECT_EQ(tokens->login_ack->tds_version, tds::kTds74);
  EXPECT_EQ(tokens->login_ack->major, 16);
  EXPECT_FALSE(tokens->routing);
  EXPECT_EQ(sim->stats().gateway.logins_ok, 1U);
  EXPECT_EQ(sim->stats().node.connections, 0U);
}

TEST(SimGateway, EncryptionRequiredRefusesACleartextLogin) {
  auto sim = start(config_with(tds::Encryption::Req));
  ASSERT_TRUE(sim);
  Client c(sim->gateway_port());
  c.send_message(tds::PacketType::Prelogin, client_prelogin(tds::Encryption::NotSup));
  ASSERT_TRUE(c.message());
  c.send_message(tds::PacketType::Login7, client_login7("sim", "sim-password"));
  bool eof = false;
  EXPECT_TRUE(c.receive(1, 2000ms, &eof).empty());
  EXPECT_TRUE(eof);
  EXPECT_EQ(sim->stats().logins_ok(), 0U);
}

TEST(SimMisbehaviour, EachBehaviourLooksAsDescribed) {
  auto with = [](Behaviour b) {
    InstanceConfig c;
    c.gateway_behaviour = b;
    return c;
  };
  auto prelogin = tds::frame(tds::PacketType::Prelogin, client_prelogin(tds::Encryption::On));
  {
    auto sim = start(with(Behaviour::SilentAfterAccept));
    Client c(sim->gateway_port());
    c.send(prelogin);
    bool eof = false;
    EXPECT_TRUE(c.receive(1, 300ms, &eof).empty());
    EXPECT_FALSE(eof);
  }
  {
    auto sim = start(with(Behaviour::Garbage));
    Client c(sim->gateway_port());
    c.send(prelogin);
    bool eof = false;
    auto bytes = c.receive(1000, 2000ms, &eof);
    EXPECT_EQ(bytes.size(), 64U);
    EXPECT_TRUE(eof);
    ASSERT_FALSE(bytes.empty());
    EXPECT_GE(bytes[0], 0xC0);  // neither a TDS packet type nor a TLS record
  }
  {
    auto sim = start(with(Behaviour::HugeLengthThenStall));
    Client c(sim->gateway_port());
    c.send(prelogin);
    auto bytes = c.receive(100, 500ms);
    ASSERT_EQ(bytes.size(), 8U);
    auto h = tds::parse_header(bytes);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->length, 65535);
  }
  {
    auto sim = start(with(Behaviour::Slowloris));
    Client c(sim->gateway_port());
    c.send(prelogin);
    auto bytes = c.receive(100, 1500ms);
    EXPECT_GE(bytes.size(), 1U);
    EXPECT_LE(bytes.size(), 2U);
    EXPECT_EQ(bytes[0], 0x04);  // the start of a genuine PRELOGIN answer
  }
  {
    auto sim = start(with(Behaviour::NotTds));
    Client c(sim->gateway_port());
    c.send(prelogin);
    auto bytes = c.receive(1000, 2000ms);
    EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 12), "HTTP/1.1 400");
  }
}

TEST(SimNode, RefusingNodeKeepsItsPortInTheRoutingToken) {
  InstanceConfig cfg = config_with(tds::Encryption::NotSup);
  cfg.node_refuses = true;
  auto sim = start(cfg);
  ASSERT_TRUE(sim);
  Client gw(sim->gateway_port());
  auto tokens = cleartext_login(gw, "sim", "sim-password");
  ASSERT_TRUE(tokens && tokens->routing);
  EXPECT_EQ(tokens->routing->port, sim->node_port());
  Client node(sim->node_port());
  EXPECT_FALSE(node.connected());
  EXPECT_EQ(node.connect_errno(), ECONNREFUSED);
}

namespace {

Bytes dns_query(const std::string& name, std::uint16_t type) {
  Bytes q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  std::istringstream labels(name);
  for (std::string label; std::getline(labels, label, '.');) {
    q.push_back(static_cast<std::uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
  }
  q.insert(q.end(),
           {0, static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type), 0, 1});
  return q;
}

Bytes ask(std::uint16_t port, const Bytes& query) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLIN, 0};
  Bytes out(1500);
  ssize_t n = poll(&p, 1, 2000) == 1 ? recv(fd, out.data(), out.size(), 0) : -1;
  close(fd);
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

}  // namespace

TEST(SimDns, AnswersTheInstanceNamesAndNothingElse) {
  auto sim = start({});
  ASSERT_TRUE(sim);
  for (const std::string name :
       {"mi1.sim0001.database.windows.net", "MI1.public.sim0001.database.windows.net"}) {
    auto r = ask(sim->dns_port(), dns_query(name, 1));
    ASSERT_GE(r.size(), 16U) << name;
    EXPECT_EQ(r[0], 0x12);
    EXPECT_EQ(r[3] & 0x0F, 0) << name;  // NOERROR
    EXPECT_EQ(r[7], 1) << name;         // one answer
    Bytes tail(r.end() - 4, r.end());
    EXPECT_EQ(tail, (Bytes{127, 0, 0, 1})) << name;
  }
  auto nx = ask(sim->dns_port(), dns_query("other.sim0001.database.windows.net", 1));
  ASSERT_GE(nx.size(), 12U);
  EXPECT_EQ(nx[3] & 0x0F, 3);  // NXDOMAIN
  EXPECT_NE(nx[2] & 0x04, 0);  // authoritative
  auto refused = ask(sim->dns_port(), dns_query("example.com", 1));
  ASSERT_GE(refused.size(), 12U);
  EXPECT_EQ(refused[3] & 0x0F, 5);  // REFUSED
  auto aaaa = ask(sim->dns_port(), dns_query("mi1.sim0001.database.windows.net", 28));
  ASSERT_GE(aaaa.size(), 12U);
  EXPECT_EQ(aaaa[3] & 0x0F, 0);  // the name exists, no IPv6 address
  EXPECT_EQ(aaaa[7], 0);
  EXPECT_EQ(sim->stats().dns_queries, 5U);
}

// A failover-group listener: the CNAME, then the target's A record (a partner in another zone,
// answered although outside the responder's zone), read back with the product's own decoder.
TEST(SimDns, AnAliasIsAnsweredWithItsCnameAndTheTargetsAddress) {
  midiag::sim::DnsZone zone;
  zone.zone = "z.database.windows.net";
  zone.names = {"mi1.z.database.windows.net"};
  inet_pton(AF_INET, "127.0.0.1", &zone.address);
  midiag::sim::DnsRecord partner;
  partner.name = "mi2.y.database.windows.net";
  inet_pton(AF_INET, "127.0.0.2", &partner.address);
  zone.records = {partner};
  zone.aliases = {{"fog.secondary.z.database.windows.net", "mi2.y.database.windows.net", 45},
                  {"dangling.z.database.windows.net", "nowhere.y.database.windows.net", 7}};
  auto reply = midiag::sim::dns_reply(dns_query("FOG.secondary.z.database.windows.net", 1), zone);
  ASSERT_TRUE(reply);
  auto m = midiag::dns::parse_message(*reply);
  ASSERT_TRUE(m) << m.error().message;
  auto chain = midiag::dns::follow_cname_chain(*m, "fog.secondary.z.database.windows.net");
  ASSERT_EQ(chain.chain.size(), 1U);
  EXPECT_EQ(midiag::dns::canonical_name(chain.chain[0].target), "mi2.y.database.windows.net");
  EXPECT_EQ(chain.chain[0].ttl, 45U);
  ASSERT_EQ(chain.addresses.size(), 1U);
  auto direct = midiag::sim::dns_reply(dns_query("mi2.y.database.windows.net", 1), zone);
  ASSERT_TRUE(direct);
  EXPECT_EQ((*direct)[3] & 0x0F, 0);
  EXPECT_EQ((*direct)[7], 1);
  // A CNAME whose target is not known here: the CNAME alone (the client follows it elsewhere).
  auto dangling = midiag::sim::dns_reply(dns_query("dangling.z.database.windows.net", 1), zone);
  ASSERT_TRUE(dangling);
  EXPECT_EQ((*dangling)[3] & 0x0F, 0);
  EXPECT_EQ((*dangling)[7], 1);
  auto aaaa = midiag::sim::dns_reply(dns_query("fog.secondary.z.database.windows.net", 28), zone);
  ASSERT_TRUE(aaaa);
  EXPECT_EQ((*aaaa)[7], 1) << "the CNAME answers AAAA too, with no address after it";
}

TEST(SimDns, MalformedQueriesAreNotAnswered) {
  midiag::sim::DnsZone zone{"z.database.windows.net", {"a.z.database.windows.net"}, {}, 5, {}, {}};
  EXPECT_FALSE(midiag::sim::dns_reply(Bytes{1, 2, 3}, zone));
  auto reply = dns_query("a.z.database.windows.net", 1);
  reply[2] |= 0x80;  // a response, not a query
  EXPECT_FALSE(midiag::sim::dns_reply(reply, zone));
  auto truncated = dns_query("a.z.database.windows.net", 1);
  truncated.resize(truncated.size() - 3);
  auto formerr = midiag::sim::dns_reply(truncated, zone);
  ASSERT_TRUE(formerr);
  EXPECT_EQ((*formerr)[3] & 0x0F, 1);
}

namespace {

using midiag::tdsprobe::TlsClient;

// TLS inside TDS from the client side, with the product's own TLS client: PRELOGIN asking for
// encryption, then the handshake records wrapped in PRELOGIN packets both ways.
std::unique_ptr<TlsClient> tls_handshake_with(const Client& c, const std::string& ca_file,
                                              const std::string& server_name) {
  c.send_message(tds::PacketType::Prelogin, client_prelogin(tds::Encryption::On));
  if (!c.message()) return nullptr;
  auto tls = TlsClient::create({server_name, ca_file, {}, {}});
  if (!tls) return nullptr;
  for (int round = 0; round < 8; ++round) {
    auto done = (*tls)->handshake_step();
    if (!done) {
      ADD_FAILURE() << done.error().message;
      return nullptr;
    }
    if (auto out = (*tls)->take_output(); !out.empty()) {
      c.send_message(tds::PacketType::Prelogin, out);
    }
    if (*done) return std::move(*tls);
    auto in = c.message();
    if (!in) return nullptr;
    EXPECT_EQ(in->type, 0x12);  // the server wraps its records as real servers do
    (*tls)->feed(in->payload);
  }
  return nullptr;
}

std::unique_ptr<TlsClient> tls_handshake(const Client& c, const SimulatedInstance& sim,
                                         const std::string& server_name) {
  std::string ca = temp_path(sim.ca_pem());
  auto tls = tls_handshake_with(c, ca, server_name);
  std::filesystem::remove(ca);
  return tls;
}

}  // namespace

// The TLS context is shared by every client of the process (the CA store loads once), but a CA
// file rewritten in place is read again: a long-running watch sees a CA update.
TEST(SimTls, ACaFileRewrittenInPlaceIsReadAgain) {
  auto sim = start(config_with(tds::Encryption::On));
  auto other = start(config_with(tds::Encryption::On));
  ASSERT_TRUE(sim && other);
  ASSERT_NE(sim->ca_pem(), other->ca_pem());
  const std::string ca = temp_path(other->ca_pem());
  const std::string name = "mi1.sim0001.database.windows.net";
  for (const bool rewritten : {false, true}) {
    if (rewritten) std::ofstream(ca, std::ios::trunc) << sim->ca_pem();
    for (int again = 0; again < 2; ++again) {  // the second client reuses the cached context
      Client c(sim->gateway_port());
      auto tls = tls_handshake_with(c, ca, name);
      ASSERT_TRUE(tls);
      const auto facts = tls->facts();
      EXPECT_EQ(facts.trusted, rewritten) << facts.verify_error;
    }
  }
  std::filesystem::remove(ca);
  auto missing = TlsClient::create({name, ca, {}, {}});  // gone now: said, not served from cache
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot load --ca-file"), std::string::npos);
}

TEST(SimTls, CertificateChainsToTheCaAndCoversTheInstanceNames) {
  auto sim = start(config_with(tds::Encryption::On));
  ASSERT_TRUE(sim);
  std::string fingerprint;  // the same certificate behind both names
  for (const std::string name :
       {"mi1.sim0001.database.windows.net", "mi1.public.sim0001.database.windows.net"}) {
    Client c(sim->gateway_port());
    auto tls = tls_handshake(c, *sim, name);
    ASSERT_TRUE(tls);
    auto facts = tls->facts();
    EXPECT_EQ(facts.version, "TLSv1.2");
    EXPECT_TRUE(facts.trusted) << facts.verify_error;
    EXPECT_TRUE(facts.name_matches) << name;
    EXPECT_FALSE(facts.expired);
    ASSERT_FALSE(facts.chain.empty());
    EXPECT_NE(facts.chain[0].subject.find("*.sim0001.database.windows.net"), std::string::npos);
    const auto& sha = facts.chain[0].sha256;
    EXPECT_EQ(sha.size(), 64U);
    EXPECT_EQ(sha.find_first_not_of("0123456789abcdef"), std::string::npos) << sha;
    if (!fingerprint.empty()) {
      EXPECT_EQ(sha, fingerprint);
    }
    fingerprint = sha;
  }
  EXPECT_EQ(sim->stats().gateway.tls_handshakes, 2U);
}

TEST(SimTls, LoginInsideTlsIsRouted) {
  auto sim = start(config_with(tds::Encryption::On));
  ASSERT_TRUE(sim);
  Client c(sim->gateway_port());
  auto tls = tls_handshake(c, *sim, sim->fqdn());
  ASSERT_TRUE(tls);
  ASSERT_TRUE(
      tls->write(tds::frame(tds::PacketType::Login7, client_login7("sim", "sim-password"))));
  c.send(tls->take_output());
  tds::MessageReader reader;
  for (int i = 0; i < 20 && !reader.has_message(); ++i) {
    auto raw = c.some(2000ms);  // raw TLS records now, no TDS wrapping
    if (raw.empty()) break;
    tls->feed(raw);
    auto plain = tls->read();
    ASSERT_TRUE(plain);
    reader.feed(*plain);
  }
  ASSERT_TRUE(reader.has_message());
  auto tokens = tds::parse_tokens(reader.take().payload);
  ASSERT_TRUE(tokens);
  ASSERT_TRUE(tokens->routing);
  EXPECT_EQ(tokens->routing->port, sim->node_port());
}

TEST(SimTls, MismatchedNameExpiryAndObsoleteVersionAreVisible) {
  InstanceConfig mismatch = config_with(tds::Encryption::On);
  mismatch.cert_name = "*.elsewhere.database.windows.net";
  auto sim = start(mismatch);
  ASSERT_TRUE(sim);
  {
    Client c(sim->gateway_port());
    auto tls = tls_handshake(c, *sim, sim->fqdn());
    ASSERT_TRUE(tls);
    EXPECT_FALSE(tls->facts().name_matches);
    EXPECT_TRUE(tls->facts().trusted);
  }
  InstanceConfig expired = config_with(tds::Encryption::On);
  expired.cert_expired = true;
  sim = start(expired);
  ASSERT_TRUE(sim);
  {
    Client c(sim->gateway_port());
    auto tls = tls_handshake(c, *sim, sim->fqdn());
    ASSERT_TRUE(tls);
    EXPECT_TRUE(tls->facts().expired);
    EXPECT_TRUE(tls->facts().name_matches);
    EXPECT_FALSE(tls->facts().trusted);
  }
  InstanceConfig old = config_with(tds::Encryption::On);
  old.max_tls_version = TLS1_1_VERSION;
  sim = start(old);
  ASSERT_TRUE(sim);
  {
    Client c(sim->gateway_port());
    auto tls = tls_handshake(c, *sim, sim->fqdn());
    ASSERT_TRUE(tls);
    EXPECT_EQ(tls->facts().version, "TLSv1.1");
  }
}

// ---- real drivers -------------------------------------------------------------------------------

namespace {

std::string which(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    auto candidate = dir + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

struct ChildResult {
  bool timed_out = false;
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// posix_spawn with stdin from `input`, output to a file; killed by PID at the deadline.
ChildResult run_child(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      const std::string& input, std::chrono::milliseconds timeout) {
  std::string in_path = temp_path(input), out_path = temp_path("");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> env_strings = env;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  args.push_back(nullptr);
  envp.push_back(nullptr);
  pid_t pid = -1;
  ChildResult r;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc == 0) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    for (;;) {
      if (waitpid(pid, &status, WNOHANG) == pid) {
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        r.timed_out = true;
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  std::ifstream out(out_path);
  r.output.assign(std::istreambuf_iterator<char>(out), {});
  std::filesystem::remove(in_path);
  std::filesystem::remove(out_path);
  return r;
}

// encryption: FreeTDS's freetds.conf setting (off = sends NOT_SUP, request = OFF, require = ON);
// empty: an empty freetds.conf. Either way the machine's settings do not change what is tested.
ChildResult run_tsql(const SimulatedInstance& sim, const std::string& encryption = "") {
  std::string conf =
      temp_path(encryption.empty() ? "" : "[global]\n\tencryption = " + encryption + "\n");
  auto r = run_child({which("tsql"), "-H", "127.0.0.1", "-p", std::to_string(sim.gateway_port()),
                      "-U", "sim", "-P", "sim-password"},
                     {"TDSVER=7.4", "FREETDSCONF=" + conf}, "select 1\ngo\nexit\n", 20s);
  std::filesystem::remove(conf);
  return r;
}

std::string tedious_script() {
  return std::string(MIDIAG_SOURCE_DIR) + "/tests/clients/tedious_login.js";
}

bool tedious_installed() {
  return std::filesystem::exists(std::string(MIDIAG_SOURCE_DIR) +
                                 "/tests/clients/node_modules/tedious/package.json");
}

// encrypt: "true", "false" or "strict" (TDS 8); env: TEDIOUS_CA / TEDIOUS_SERVER_NAME to validate.
nlohmann::json run_tedious(const SimulatedInstance& sim, const std::string& encrypt,
                           ChildResult* raw, const std::vector<std::string>& env = {}) {
  *raw = run_child({which("node"), tedious_script(), std::to_string(sim.gateway_port()), encrypt},
                   env, "", 20s);
  auto line = raw->output.substr(
      raw->output.rfind('{') == std::string::npos ? raw->output.size() : raw->output.rfind('{'));
  return nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
}

}  // namespace

// FreeTDS 1.3.17 loses the TLS session across a redirect, so the redirect case runs with
// encryption Off: TLS around LOGIN7 only, as in fixtures/pcap/tsql-redirect.pcap.
TEST(SimRealClients, TsqlLogsInThroughTheRedirect) {
  if (which("tsql").empty()) GTEST_SKIP() << "tsql missing (freetds-bin; tests/setup.sh)";
  auto sim = start(config_with(tds::Encryption::Off));
  ASSERT_TRUE(sim);
  auto r = run_tsql(*sim);
  RecordProperty("client_output", r.output);
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto s = sim->stats();
  EXPECT_EQ(s.redirects, 1U) << r.output;
  EXPECT_EQ(s.gateway.tls_handshakes, 1U) << r.output;
  EXPECT_EQ(s.node.tls_handshakes, 1U) << r.output;
  EXPECT_EQ(s.node.logins_ok, 1U) << r.output;
  EXPECT_GE(s.node.batches, 1U) << r.output;
  EXPECT_NE(r.output.find("(1 row affected)"), std::string::npos) << r.output;
}

TEST(SimRealClients, TsqlLogsInFullyEncryptedThroughTheProxy) {
  if (which("tsql").empty()) GTEST_SKIP() << "tsql missing (freetds-bin; tests/setup.sh)";
  auto sim = start(config_with(tds::Encryption::On, /*redirect=*/false));
  ASSERT_TRUE(sim);
  auto r = run_tsql(*sim);
  RecordProperty("client_output", r.output);
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto s = sim->stats();
  EXPECT_EQ(s.gateway.tls_handshakes, 1U) << r.output;
  EXPECT_EQ(s.gateway.logins_ok, 1U) << r.output;
  EXPECT_GE(s.gateway.batches, 1U) << r.output;
  EXPECT_NE(r.output.find("(1 row affected)"), std::string::npos) << r.output;
}

// The ENCRYPTION negotiation of MS-TDS 2.2.6.5 as FreeTDS (tsql 1.3.17) plays it, every
// client/server pair, against the simulator, which follows the table (tds::negotiate). Where
// the table says "terminate", tsql hangs up before LOGIN7; otherwise it logs in and runs a batch
// -- except client ON with server OFF: FreeTDS then drops TLS after LOGIN7 (it reads the
// server's OFF as "login only"), where the table and the Microsoft drivers keep the whole session
// encrypted; against a server that does, tsql reads TLS records as TDS and fails. tedious 18
// does the same (TediousEncryptTrueAgainstServerOffStartsNoTls). mi-diag's probe follows the
// table (EncryptionMatrix.*, HostileServer.EncryptOffAnswerToEncryptOnIsAFullyEncryptedSession).
TEST(SimRealClients, TsqlNegotiatesEncryptionAsTheTableSaysButOneDeviation) {
  if (which("tsql").empty()) GTEST_SKIP() << "tsql missing (freetds-bin; tests/setup.sh)";
  using tds::Encryption;
  const std::pair<const char*, Encryption> clients[] = {
      {"off", Encryption::NotSup}, {"request", Encryption::Off}, {"require", Encryption::On}};
  const Encryption servers[] = {Encryption::Off, Encryption::On, Encryption::NotSup,
                                Encryption::Req};
  for (const auto& [setting, client] : clients) {
    for (auto server : servers) {
      const auto table = tds::negotiate(client, server);
      const bool deviation = client == Encryption::On && server == Encryption::Off;
      const bool logs_in = table != tds::Negotiated::Terminate && !deviation;
      auto sim = start(config_with(server, /*redirect=*/false));
      ASSERT_TRUE(sim);
      auto r = run_tsql(*sim, setting);
      const auto s = sim->stats();
      const std::string pair = std::string("tsql encryption=") + setting + ", server " +
                               std::string(tds::to_string(server)) + ", table " +
                               std::string(tds::to_string(table)) + "\n" + r.output;
      ASSERT_FALSE(r.timed_out) << pair;
      EXPECT_EQ(r.exit_code == 0, logs_in) << pair;
      EXPECT_EQ(r.output.find("(1 row affected)") != std::string::npos, logs_in) << pair;
      if (table == tds::Negotiated::Terminate) {
        EXPECT_EQ(s.gateway.login7s, 0U) << pair;
      } else {
        EXPECT_EQ(s.gateway.login7s, 1U) << pair;
        EXPECT_EQ(s.gateway.logins_ok, 1U) << pair;  // the deviation fails after the LOGINACK
        EXPECT_EQ(s.gateway.tls_handshakes, table == tds::Negotiated::None ? 0U : 1U) << pair;
      }
    }
  }
}

// tedious logs in at the gateway, is routed, logs in again at the node and runs `select 1`
// there. encrypt: "true" (TLS inside TDS), "false" (TLS around LOGIN7 only) or "strict" (TDS 8,
// with real certificate validation: TDS 8 drivers validate, so tedious gets the CA and name).
void expect_tedious_through_redirect(const std::string& encrypt) {
  const bool tls_all_along = encrypt != "false";
  auto sim = start(config_with(tls_all_along ? tds::Encryption::On : tds::Encryption::Off));
  ASSERT_TRUE(sim);
  std::string ca = temp_path(sim->ca_pem());
  std::vector<std::string> env;
  if (encrypt == "strict") env = {"TEDIOUS_CA=" + ca, "TEDIOUS_SERVER_NAME=" + sim->fqdn()};
  ChildResult raw;
  auto j = run_tedious(*sim, encrypt, &raw, env);
  std::filesystem::remove(ca);
  ::testing::Test::RecordProperty("client_output", raw.output);
  ASSERT_FALSE(raw.timed_out) << raw.output;
  ASSERT_TRUE(j.is_object()) << raw.output;
  EXPECT_EQ(j["ok"], true) << raw.output;
  EXPECT_EQ(j["rerouted"], true) << raw.output;
  EXPECT_EQ(j["value"], 1) << raw.output;
  auto s = sim->stats();
  EXPECT_EQ(s.redirects, 1U);
  // With encryption off tedious (like the server) skips TLS entirely.
  EXPECT_EQ(s.gateway.tls_handshakes, tls_all_along ? 1U : 0U);
  EXPECT_EQ(s.node.tls_handshakes, tls_all_along ? 1U : 0U);
  EXPECT_EQ(s.node.logins_ok, 1U);
  EXPECT_GE(s.node.batches, 1U);
}

bool tedious_missing() {
  return which("node").empty() || !tedious_installed();
}

TEST(SimRealClients, TediousFollowsTheRedirectInsideTls) {
  if (tedious_missing()) GTEST_SKIP() << "node or tedious missing (cd tests/clients && npm ci)";
  expect_tedious_through_redirect("true");
}

TEST(SimRealClients, TediousFollowsTheRedirectInCleartext) {
  if (tedious_missing()) GTEST_SKIP() << "node or tedious missing (cd tests/clients && npm ci)";
  expect_tedious_through_redirect("false");
}

// TDS 8 strict as a real driver speaks it: TLS on the bare socket, PRELOGIN and LOGIN7 inside,
// at the gateway and again at the node after the redirect.
TEST(SimRealClients, TediousStrictFollowsTheRedirect) {
  if (tedious_missing()) GTEST_SKIP() << "node or tedious missing (cd tests/clients && npm ci)";
  expect_tedious_through_redirect("strict");
}

// What a real driver does with the pairs mi-diag refuses, measured (tedious 18): it does NOT
// apply "client ON wins". Against a server answering ENCRYPT_OFF it starts no TLS and sends
// LOGIN7 outside TLS -- which our simulator, honouring the MS-TDS table (client ON + server OFF
// = full encryption), rejects; against ENCRYPT_NOT_SUP it logs in with the password merely
// XOR-obfuscated. mi-diag's probe withholds a real password in both cases
// (EncryptionMatrix.TheProbeFollowsTheTableWithARealLogin,
// HostileServer.NoTlsOfferedGetsNoPassword).
TEST(SimRealClients, TediousEncryptTrueAgainstServerOffStartsNoTls) {
  if (tedious_missing()) GTEST_SKIP() << "node or tedious missing (cd tests/clients && npm ci)";
  auto sim = start(config_with(tds::Encryption::Off, /*redirect=*/false));
  ASSERT_TRUE(sim);
  ChildResult raw;
  auto j = run_tedious(*sim, "true", &raw);
  ASSERT_FALSE(raw.timed_out) << raw.output;
  ASSERT_TRUE(j.is_object()) << raw.output;
  EXPECT_EQ(j["ok"], false) << raw.output;
  auto s = sim->stats();
  EXPECT_EQ(s.gateway.prelogins, 1U);
  EXPECT_EQ(s.gateway.tls_handshakes, 0U) << "tedious started TLS after ENCRYPT_OFF";
  EXPECT_EQ(s.gateway.logins_ok, 0U);
}

TEST(SimRealClients, TediousEncryptTrueSendsItsLoginToAServerWithoutTls) {
  if (tedious_missing()) GTEST_SKIP() << "node or tedious missing (cd tests/clients && npm ci)";
  auto sim = start(config_with(tds::Encryption::NotSup, /*redirect=*/false));
  ASSERT_TRUE(sim);
  ChildResult raw;
  auto j = run_tedious(*sim, "true", &raw);
  ASSERT_FALSE(raw.timed_out) << raw.output;
  ASSERT_TRUE(j.is_object()) << raw.output;
  auto s = sim->stats();
  EXPECT_EQ(s.gateway.tls_handshakes, 0U);
  EXPECT_EQ(s.gateway.login7s, 1U) << "tedious now refuses NOT_SUP: update the comment above";
  EXPECT_EQ(j["ok"], true) << raw.output;
}
