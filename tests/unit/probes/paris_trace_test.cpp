#include "probes/trace/paris_trace.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace midiag;
using namespace midiag::trace;
using namespace midiag::trace::paris;
using namespace std::chrono_literals;

namespace {

// client 10.250.1.2:40000 -> 10.250.4.10:1433, the lab's far host.
ProbeKey lab_key() {
  ProbeKey k;
  k.source = 0x0afa0102;       // 10.250.1.2
  k.destination = 0x0afa040a;  // 10.250.4.10
  k.source_port = 40000;
  k.destination_port = 1433;
  k.seq_base = 0xfffffff0;  // wraps past 2^32 within the TTLs: the match must wrap too
  k.id_base = 5000;
  k.max_ttl = 16;
  return k;
}

std::uint16_t be16(const std::vector<std::uint8_t>& b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}
std::uint32_t be32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return static_cast<std::uint32_t>(be16(b, at)) << 16 | be16(b, at + 2);
}
void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  put16(b, at, static_cast<std::uint16_t>(v >> 16));
  put16(b, at + 2, static_cast<std::uint16_t>(v));
}

// A 20-byte IPv4 header (no options): version 4 / IHL 5, TTL 64, protocol, source, destination.
std::vector<std::uint8_t> ipv4(std::uint8_t protocol, std::uint32_t from, std::uint32_t to) {
  std::vector<std::uint8_t> h(20, 0);
  h[0] = 0x45;  // version 4, 5 words
  h[8] = 64;    // TTL
  h[9] = protocol;
  put32(h, 12, from);
  put32(h, 16, to);
  return h;
}

// ICMP type/code from `router`, quoting the probe's IPv4 header and first 8 TCP bytes (RFC 792).
std::vector<std::uint8_t> icmp_quoting(std::uint32_t router, std::uint8_t type, std::uint8_t code,
                                       const std::vector<std::uint8_t>& probe) {
  auto p = ipv4(1, router, lab_key().source);
  const std::vector<std::uint8_t> icmp = {type, code, 0, 0, 0, 0, 0, 0};  // checksum, unused
  p.insert(p.end(), icmp.begin(), icmp.end());
  p.insert(p.end(), probe.begin(), probe.begin() + 28);
  put16(p, 2, static_cast<std::uint16_t>(p.size()));
  return p;
}

// The target's TCP answer: from its port to ours, flags, acknowledging `ack`.
std::vector<std::uint8_t> tcp_answer(std::uint8_t flags, std::uint32_t ack) {
  const auto k = lab_key();
  auto p = ipv4(6, k.destination, k.source);
  std::vector<std::uint8_t> tcp(20, 0);
  put16(tcp, 0, k.destination_port);
  put16(tcp, 2, k.source_port);
  put32(tcp, 4, 0x12345678);  // the target's own sequence number
  put32(tcp, 8, ack);
  tcp[12] = 0x50;  // data offset 5 words
  tcp[13] = flags;
  p.insert(p.end(), tcp.begin(), tcp.end());
  put16(p, 2, static_cast<std::uint16_t>(p.size()));
  return p;
}

constexpr std::uint8_t kSynAck = 0x12, kRstAck = 0x14, kSyn = 0x02;

}  // namespace

TEST(ParisProbe, EveryTtlHasTheSameFiveTupleAndItsOwnIdentity) {
  const auto k = lab_key();
  const auto a = craft_syn(k, 3);
  const auto b = craft_syn(k, 9);
  ASSERT_GE(a.size(), 40u);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a[0] >> 4, 4);
  EXPECT_EQ(a[8], 3) << "IP TTL";
  EXPECT_EQ(b[8], 9);
  EXPECT_EQ(a[9], 6) << "TCP";
  EXPECT_EQ(be16(a, 4), k.id_base + 3) << "IP ID carries the TTL";
  EXPECT_EQ(be16(b, 4), k.id_base + 9);
  const std::size_t ihl = (a[0] & 0x0f) * 4u;
  // The flow: addresses and ports identical across TTLs (what a per-flow balancer hashes).
  for (std::size_t at : {12u, 16u}) EXPECT_EQ(be32(a, at), be32(b, at));
  EXPECT_EQ(be32(a, 12), k.source);
  EXPECT_EQ(be32(a, 16), k.destination);
  EXPECT_EQ(be16(a, ihl), k.source_port);
  EXPECT_EQ(be16(b, ihl), k.source_port);
  EXPECT_EQ(be16(a, ihl + 2), k.destination_port);
  EXPECT_EQ(be32(a, ihl + 4), k.seq_base + 3) << "sequence number carries the TTL";
  EXPECT_EQ(a[ihl + 13], kSyn);
}

TEST(ParisMatch, TimeExceededQuotingTheProbeNamesTheRouterAndTtl) {
  const auto k = lab_key();
  const auto reply = match_reply(icmp_quoting(0x0afa0101, 11, 0, craft_syn(k, 1)), k);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->ttl, 1);
  EXPECT_EQ(reply->kind, HopKind::TimeExceeded);
  EXPECT_EQ(reply->address, "10.250.1.1");
  EXPECT_EQ(reply->icmp_type, 11);

  const auto unreachable = match_reply(icmp_quoting(0x0afa0302, 3, 13, craft_syn(k, 2)), k);
  ASSERT_TRUE(unreachable);
  EXPECT_EQ(unreachable->ttl, 2);
  EXPECT_EQ(unreachable->kind, HopKind::Unreachable);
  EXPECT_EQ(unreachable->address, "10.250.3.2");
  EXPECT_EQ(unreachable->icmp_code, 13);
}

TEST(ParisMatch, RewrittenSequenceNumberFallsBackToTheIpId) {
  const auto k = lab_key();
  auto probe = craft_syn(k, 5);
  const std::size_t ihl = (probe[0] & 0x0f) * 4u;
  put32(probe, ihl + 4, 0x01020304);  // a firewall randomised the sequence number
  const auto reply = match_reply(icmp_quoting(0x0afa0302, 11, 0, probe), k);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->ttl, 5);
  put16(probe, 4, 1);  // ... and the ID: nothing says which probe it was
  EXPECT_FALSE(match_reply(icmp_quoting(0x0afa0302, 11, 0, probe), k));
}

TEST(ParisMatch, OtherFlowsIcmpIsIgnored) {
  const auto k = lab_key();
  auto other = k;
  other.source_port = 40001;
  EXPECT_FALSE(match_reply(icmp_quoting(0x0afa0101, 11, 0, craft_syn(other, 1)), k));
  other = k;
  other.destination = 0x0afa020a;
  EXPECT_FALSE(match_reply(icmp_quoting(0x0afa0101, 11, 0, craft_syn(other, 1)), k));
  // An echo reply or redirect is not about a probe, whatever it quotes.
  EXPECT_FALSE(match_reply(icmp_quoting(0x0afa0101, 5, 0, craft_syn(k, 1)), k));
}

TEST(ParisMatch, SynAckAndResetAcknowledgingAProbe) {
  const auto k = lab_key();
  auto r = match_reply(tcp_answer(kSynAck, k.seq_base + 3 + 1), k);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ttl, 3);
  EXPECT_EQ(r->kind, HopKind::SynAck);
  EXPECT_EQ(r->address, "10.250.4.10");
  r = match_reply(tcp_answer(kRstAck, k.seq_base + 2 + 1), k);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ttl, 2);
  EXPECT_EQ(r->kind, HopKind::Reset);
  EXPECT_FALSE(match_reply(tcp_answer(kSynAck, k.seq_base + 40), k)) << "not one of ours";
  EXPECT_FALSE(match_reply(tcp_answer(kSyn, k.seq_base + 4), k)) << "no ACK, no answer";
}

TEST(ParisMatch, TruncatedOrMalformedPacketsAreNotMatches) {
  const auto k = lab_key();
  const auto good = icmp_quoting(0x0afa0101, 11, 0, craft_syn(k, 1));
  ASSERT_TRUE(match_reply(good, k));
  for (std::size_t cut = 0; cut < good.size(); ++cut)
    EXPECT_FALSE(match_reply(std::span(good.data(), cut), k)) << "cut at " << cut;
  auto bad = good;
  bad[0] = 0x44;  // IHL 4 words: shorter than any IPv4 header
  EXPECT_FALSE(match_reply(bad, k));
  bad = good;
  bad[0] = 0x65;  // version 6
  EXPECT_FALSE(match_reply(bad, k));
}

namespace {

// A loopback port: listening or only bound (SYNs get a RST).
struct LoopbackPort {
  int fd = -1;
  std::uint16_t port = 0;
  explicit LoopbackPort(bool listening) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&sin), len) == 0 &&
        (!listening || listen(fd, 64) == 0) &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) == 0)
      port = ntohs(sin.sin_port);
  }
  ~LoopbackPort() {
    if (fd >= 0) ::close(fd);
  }
  LoopbackPort(const LoopbackPort&) = delete;
  LoopbackPort& operator=(const LoopbackPort&) = delete;
};

Options paris_only() {
  Options o;
  o.max_ttl = 8;
  o.timeout = 2000ms;
  o.method = MethodChoice::Paris;
  return o;
}

}  // namespace

TEST(ParisTrace, LoopbackListenerAnswersTtlOneWithSynAckFromOneSourcePort) {
  if (geteuid() != 0) GTEST_SKIP() << "raw sockets need root or CAP_NET_RAW";
  LoopbackPort open_port(true), closed_port(false);
  ASSERT_NE(open_port.port, 0);
  ASSERT_NE(closed_port.port, 0);
  const auto start = std::chrono::steady_clock::now();
  auto r =
      trace_all({{"127.0.0.1", open_port.port}, {"127.0.0.1", closed_port.port}}, paris_only());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  const auto& open = (*r)[0];
  EXPECT_TRUE(open.error.empty()) << open.error;
  EXPECT_EQ(open.method, Method::Paris);
  ASSERT_EQ(open.path.size(), 1u);
  EXPECT_EQ(open.path[0].kind, HopKind::SynAck);
  EXPECT_EQ(open.path[0].address, "127.0.0.1");
  EXPECT_EQ(open.local_ports.size(), 1u) << "one source port for every TTL";
  const auto& closed = (*r)[1];
  ASSERT_EQ(closed.path.size(), 1u);
  EXPECT_EQ(closed.path[0].kind, HopKind::Reset);
  // Every TTL answered at once: the trace ends on the answers, not at the 2 s deadline.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

// Without CAP_NET_RAW: demanded Paris is a permission error, Auto falls back to sockets. The
// child drops to nobody (no capabilities left); fork is safe: no other thread runs here.
TEST(ParisTrace, WithoutPrivilegeAutoFallsBackToTheSocketMethod) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop to nobody";
  LoopbackPort open_port(true);
  ASSERT_NE(open_port.port, 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    auto demanded = trace_all({{"127.0.0.1", open_port.port}}, paris_only());
    if (demanded) _exit(11);
    if (demanded.error().kind != ErrorKind::Permission) _exit(12);
    Options o = paris_only();
    o.method = MethodChoice::Auto;
    auto r = trace_all({{"127.0.0.1", open_port.port}}, o);
    if (!r || r->size() != 1) _exit(13);
    if ((*r)[0].method != Method::Socket) _exit(14);
    if ((*r)[0].path.empty() || (*r)[0].path.back().kind != HopKind::SynAck) _exit(15);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 setuid, 11 raw socket anyway, 12 wrong kind, 13 no "
                                       "result, 14 not the socket method, 15 no SYN-ACK";
}
