// mi-diag analyze: the real captures in ../shared/fixtures give their answer key's outcome, and
// synthetic captures (Ethernet/IPv4/TCP frames written into a pcap buffer here) exercise each
// packet rule: middlebox resets, SYN retransmissions, filtering, ICMP, path-MTU holes, copies.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>

#include <nlohmann/json.hpp>

#include "agent/analyze.h"
#include "decoders/pcap/pcap_file.h"
#include "decoders/tds/login7.h"
#include "decoders/tds/packet.h"
#include "decoders/tds/prelogin.h"
#include "decoders/tds/tokens.h"
#include "reports/explain.h"
#include "tests/unit/support/capture_builder.h"

using namespace midiag;
using Bytes = std::vector<std::uint8_t>;

namespace {

reports::Report analyze(const Bytes& b, std::vector<std::uint16_t> ports = {}) {
  agent::AnalyzeOptions o;
  o.file = "test.pcap";
  o.ports = std::move(ports);
  auto r = agent::analyze_capture(b, o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : reports::Report{};
}

const reports::PacketEvidence& cap(const reports::Report& r) {
  static const reports::PacketEvidence empty;
  return r.evidence.packets ? *r.evidence.packets : empty;
}

std::vector<std::string> codes(const reports::Report& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings) out.emplace_back(f.name());
  return out;
}

bool has(const reports::Report& r, std::string_view code) {
  const auto c = codes(r);
  return std::find(c.begin(), c.end(), code) != c.end();
}

const reports::Finding* finding(const reports::Report& r, std::string_view code) {
  for (const auto& f : r.findings)
    if (f.name() == code) return &f;
  return nullptr;
}

// ---- synthetic captures ----------------------------------------------------------------------

using namespace pcap::tcp_flags;

using test_support::Ip4;
using test_support::ipv4;
using PcapWriter = test_support::PcapBuilder;
using test_support::tcp_segment;

constexpr Ip4 kClient{10, 1, 0, 5}, kServer{10, 2, 0, 4}, kRouter{10, 1, 0, 1};

// One client connection to kServer:1433 from port 50000, written packet by packet.
struct Conn {
  PcapWriter& w;
  std::uint16_t cport = 50000, sport = 1433;
  std::uint8_t client_ttl = 64, server_ttl = 63;
  std::uint16_t cid = 100, sid = 900;
  std::uint32_t cseq = 1000, sseq = 5000;
  void c(double t, std::uint8_t flags, const Bytes& data = {},
         std::optional<std::uint32_t> seq = {}) {
    w.add(t, ipv4(kClient, kServer, client_ttl, 6, cid++,
                  tcp_segment(cport, sport, seq.value_or(cseq), sseq, flags, data)));
    if (!seq) cseq += static_cast<std::uint32_t>(data.size()) + ((flags & (kSyn | kFin)) ? 1U : 0U);
  }
  void s(double t, std::uint8_t flags, const Bytes& data = {}, std::optional<std::uint8_t> ttl = {},
         std::optional<std::uint32_t> seq = {}) {
    w.add(t, ipv4(kServer, kClient, ttl.value_or(server_ttl), 6, sid++,
                  tcp_segment(sport, cport, seq.value_or(sseq), cseq, flags, data)));
    if (!seq) sseq += static_cast<std::uint32_t>(data.size()) + ((flags & (kSyn | kFin)) ? 1U : 0U);
  }
  void handshake(double t) {
    c(t, kSyn);
    s(t + 0.010, kSyn | kAck);
    c(t + 0.011, kAck);
  }
};

Bytes prelogin_packet(bool from_server) {
  tds::Prelogin p;
  p.version = tds::Version{16, 0, 4105, 0, {}};
  p.encryption = tds::Encryption::NotSup;
  p.instance = "";
  p.thread_id = 7;
  p.mars = false;
  return tds::frame(from_server ? tds::PacketType::TabularResult : tds::PacketType::Prelogin,
                    tds::build_prelogin(p));
}

Bytes login7_packet() {
  tds::Login7 l;
  l.user_name = "appuser";
  l.password = "NotInTheReport!1";
  l.server_name = "mi1.zone1.database.windows.net";
  l.database = "sales";
  l.app_name = "billing";
  return tds::frame(tds::PacketType::Login7, tds::build_login7(l));
}

Bytes login_answer(bool routed) {
  Bytes payload = tds::build_loginack({1, tds::kTds74, "Microsoft SQL Server", 16, 0, 16, 9});
  if (routed) {
    tds::Routing r;
    r.port = 11042;
    r.server = "10.2.0.4";  // the node shares the test server's address, on its own port
    r.host = "10.2.0.4";
    auto env = tds::build_envchange_routing(r);
    payload.insert(payload.end(), env.begin(), env.end());
  }
  auto done = tds::build_done({});
  payload.insert(payload.end(), done.begin(), done.end());
  return tds::frame(tds::PacketType::TabularResult, payload);
}

}  // namespace

// ---- real captures: the answer keys ----------------------------------------------------------

TEST(AnalyzeFixtures, TediousPlainShowsTheLoginTheRoutingAndTheFollowedRedirect) {
  FIXTURE_OR_SKIP(b, "pcap/tedious-redirect-plain.pcap");
  const auto r = analyze(b);
  const auto& c = cap(r);
  ASSERT_EQ(c.sessions.size(), 2U);
  const auto& gw = c.sessions[0];
  EXPECT_EQ(gw.server_port, 21433);
  EXPECT_TRUE(gw.speaks_tds);
  EXPECT_EQ(gw.state, "established");
  EXPECT_EQ(gw.server_encryption.value_or(""), "NOT_SUP");
  EXPECT_EQ(gw.server_version.value_or(""), "16.0.4105.0");
  ASSERT_TRUE(gw.login);
  EXPECT_EQ(gw.login->server_name, "127.0.0.1");
  EXPECT_EQ(gw.login->outcome, "routing");
  EXPECT_EQ(gw.login->routing_host.value_or(""), "127.0.0.1");
  EXPECT_EQ(gw.login->routing_port, 21042);
  EXPECT_EQ(gw.redirect_to.value_or(0), 2U);
  EXPECT_FALSE(gw.redirect_inferred);
  ASSERT_TRUE(c.sessions[1].login);
  EXPECT_EQ(c.sessions[1].login->outcome, "loginack");
  EXPECT_EQ(c.sessions[1].login->user, "u");  // LOGIN7 names no database (master by default)
  EXPECT_EQ(c.sessions[1].login->server_name, "127.0.0.1");
  EXPECT_EQ(r.verdict, reports::Verdict::Ok) << testing::PrintToString(codes(r));
}

TEST(AnalyzeFixtures, TediousTlsRedirectIsLinkedByTimingWhenTheRoutingIsEncrypted) {
  FIXTURE_OR_SKIP(b, "pcap/tedious-redirect-tls.pcap");
  const auto r = analyze(b);
  const auto& c = cap(r);
  ASSERT_EQ(c.sessions.size(), 2U);
  EXPECT_TRUE(c.sessions[0].tls);
  EXPECT_EQ(c.sessions[0].tls_version, "TLSv1.2");
  ASSERT_TRUE(c.sessions[0].login);
  EXPECT_EQ(c.sessions[0].login->outcome, "encrypted");
  EXPECT_EQ(c.sessions[0].redirect_to.value_or(0), 2U);
  EXPECT_TRUE(c.sessions[0].redirect_inferred);
  EXPECT_EQ(c.sessions[1].server_port, 21042);
}

TEST(AnalyzeFixtures, TsqlRedirectRoutingInClearAfterAnEncryptedLogin7) {
  FIXTURE_OR_SKIP(b, "pcap/tsql-redirect.pcap");
  const auto r = analyze(b);
  const auto& c = cap(r);
  ASSERT_EQ(c.sessions.size(), 2U);
  EXPECT_EQ(c.sessions[0].client_encryption.value_or(""), "OFF");
  EXPECT_EQ(c.sessions[0].server_encryption.value_or(""), "OFF");
  ASSERT_TRUE(c.sessions[0].login);
  EXPECT_TRUE(c.sessions[0].login->encrypted);
  EXPECT_EQ(c.sessions[0].login->routing_port, 21042);
  EXPECT_EQ(c.sessions[0].redirect_to.value_or(0), 2U);
  ASSERT_TRUE(c.sessions[1].login);
  EXPECT_EQ(c.sessions[1].login->outcome, "loginack");
}

TEST(AnalyzeFixtures, TsqlLoginFailedIs18456AndAFailVerdict) {
  FIXTURE_OR_SKIP(b, "pcap/tsql-login-failed.pcap");
  const auto r = analyze(b);
  const auto& c = cap(r);
  ASSERT_EQ(c.sessions.size(), 1U);
  ASSERT_TRUE(c.sessions[0].login);
  EXPECT_EQ(c.sessions[0].login->error_number.value_or(0), 18456);
  EXPECT_EQ(c.sessions[0].login->error_state.value_or(0), 1);
  EXPECT_EQ(c.sessions[0].login->error_message, "Login failed for user 'u'.");
  EXPECT_TRUE(has(r, "LOGIN_FAILED"));
  EXPECT_FALSE(has(r, "TCP_RESET_BY_MIDDLEBOX"));
  EXPECT_EQ(r.verdict, reports::Verdict::Fail);
}

TEST(AnalyzeFixtures, RealWorldLoginsMatchTheAnswerKey) {
  FIXTURE_OR_SKIP(pb, "realworld/pcap/packetbeat_mssql_login.pcap");
  auto r = analyze(pb);
  ASSERT_EQ(cap(r).sessions.size(), 1U);
  const auto& s = cap(r).sessions[0];
  EXPECT_EQ(s.client, "10.128.0.3:55015");
  EXPECT_EQ(s.server, "172.17.0.2:1433");
  // The capture holds every packet twice (tcpdump -i any): copies are not retransmissions.
  EXPECT_EQ(s.syn_retransmits, 0U);
  EXPECT_GT(cap(r).duplicates, 0U);
  EXPECT_EQ(s.tls_version, "TLSv1.2");
  EXPECT_EQ(s.tls_sni, "localhost");
  ASSERT_TRUE(s.login);
  EXPECT_EQ(s.login->outcome, "loginack");
  EXPECT_FALSE(has(r, "TCP_SYN_RETRANSMITTED"));
  EXPECT_EQ(r.verdict, reports::Verdict::Ok);

  FIXTURE_OR_SKIP(ipv6, "realworld/pcap/arkime_ntlm_synthetic_tds-ipv6-sspi.pcap");
  r = analyze(ipv6);
  ASSERT_EQ(cap(r).sessions.size(), 1U);
  EXPECT_EQ(cap(r).sessions[0].server, "[2001:db8:140::1]:1433");

  FIXTURE_OR_SKIP(mssql, "realworld/pcap/ndpi_mssql_tds.pcap");
  r = analyze(mssql);
  ASSERT_EQ(cap(r).sessions.size(), 12U);
  for (const auto& m : cap(r).sessions) EXPECT_EQ(m.state, "midstream") << m.client;

  FIXTURE_OR_SKIP(sybase, "realworld/pcap/arkime_tds5_sybase.pcap");
  r = analyze(sybase);  // TDS 5 on port 3106: not a SQL Server connection
  EXPECT_TRUE(cap(r).sessions.empty());
  EXPECT_EQ(cap(r).tcp_connections, 1U);
  EXPECT_EQ(r.verdict, reports::Verdict::Ok);
  EXPECT_NE(reports::render_text(r, {}).find("no SQL connection"), std::string::npos);
}

// SUMMARY.txt, arkime_tds7.pcap: frame 6 a TDS 7.1 LOGIN7 (0x71000001, user testuser, server
// 217.77.3.25; an 86-byte fixed part), frame 7 SQL Server 2000's answer: LOGINACK 0x71000001
// "Microsoft SQL Server" 134219767 (8.0.2039), INFO 5701/5703, ENVCHANGE 1/7/2/4, 8-byte DONE.
TEST(AnalyzeFixtures, Tds71LoginMatchesTheAnswerKey) {
  FIXTURE_OR_SKIP(b, "realworld/pcap/arkime_tds7.pcap");
  const auto r = analyze(b);
  ASSERT_EQ(cap(r).sessions.size(), 1U);
  const auto& s = cap(r).sessions[0];
  EXPECT_EQ(s.client, "217.77.3.70:1040");
  EXPECT_EQ(s.server, "217.77.3.25:1433");
  EXPECT_TRUE(s.speaks_tds);
  ASSERT_TRUE(s.login);
  EXPECT_EQ(s.login->user, "testuser");
  EXPECT_EQ(s.login->server_name, "217.77.3.25");
  EXPECT_EQ(s.login->app_name, "Microsoft Data Access Components");
  EXPECT_EQ(s.login->library, "ODBC");
  EXPECT_FALSE(s.login->encrypted);
  EXPECT_EQ(s.login->outcome, "loginack");
  EXPECT_EQ(s.login->server_program, "Microsoft SQL Server 8.0.2039 (TDS 7.1 rev 1)");
  EXPECT_FALSE(s.login->error_number);
  EXPECT_TRUE(s.requests_after_login);  // frame 8: SQL batch
  EXPECT_FALSE(has(r, "LOGIN_FAILED"));
  const auto json = nlohmann::json::parse(reports::render_json(r));
  EXPECT_NE(json.dump().find("testuser"), std::string::npos);
}

TEST(AnalyzeFixtures, EveryRealCaptureAnalysesWithoutError) {
  for (const char* name : {"pcap/tedious-redirect-plain.pcap", "pcap/tedious-redirect-tls.pcap",
                           "pcap/tsql-redirect.pcap", "pcap/tsql-login-failed.pcap",
                           "realworld/pcap/arkime_tds7.pcap", "realworld/pcap/ndpi_synscan.pcap",
                           "realworld/pcap/ndpi_syslog.pcap", "realworld/pcap/ndpi_tcp_scan.pcapng",
                           "realworld/pcap/ndpi_custom_rules_same-ip_multiple_ports.pcapng",
                           "realworld/pcap/packetbeat_mssql_15x_login_and_select.pcap",
                           "realworld/pcap/packetbeat_mssql_login_and_insert.pcap",
                           "realworld/pcap/packetbeat_mssql_login_and_select.pcap",
                           "realworld/pcap/suricata-verify_bug-3616-smtp.pcap",
                           "realworld/pcap/suricata-verify_filestore-5408.pcap"}) {
    FIXTURE_OR_SKIP(b, name);
    const auto r = analyze(b);
    ASSERT_TRUE(r.evidence.packets) << name;
    EXPECT_GT(cap(r).packets, 0U) << name;
    EXPECT_FALSE(reports::render_json(r).empty());
    EXPECT_FALSE(reports::render_markdown(r).empty());
  }
  FIXTURE_OR_SKIP(scan, "realworld/pcap/ndpi_synscan.pcap");
  const auto r = analyze(scan);  // nmap's SYNs to 1433 got nothing back
  ASSERT_FALSE(cap(r).sessions.empty());
  EXPECT_EQ(cap(r).sessions[0].server, "64.13.134.52:1433");
  EXPECT_EQ(cap(r).sessions[0].state, "filtered");
  EXPECT_TRUE(has(r, "TCP_FILTERED"));
  FIXTURE_OR_SKIP(select, "realworld/pcap/packetbeat_mssql_login_and_select.pcap");
  EXPECT_TRUE(cap(analyze(select)).sessions.at(0).requests_after_login);
}

// ---- synthetic captures ------------------------------------------------------------------------

TEST(AnalyzeSynthetic, ZeroHopResetAgainstOneHopServerIsAMiddlebox) {
  PcapWriter w;
  Conn k{w};
  k.handshake(1.0);
  k.c(1.1, kAck | kPsh, prelogin_packet(false));
  k.s(1.2, kAck | kRst, {}, 64);  // TTL 64 exactly: sent from zero hops, the server is 1 hop off
  const auto r = analyze(w.bytes());
  ASSERT_EQ(cap(r).sessions.size(), 1U);
  const auto& s = cap(r).sessions[0];
  EXPECT_EQ(s.state, "reset_by_middlebox");
  ASSERT_TRUE(s.rst);
  EXPECT_EQ(s.rst->ttl, 64);
  EXPECT_EQ(s.rst->expected_ttl.value_or(0), 63);
  const auto* f = finding(r, "TCP_RESET_BY_MIDDLEBOX");
  ASSERT_NE(f, nullptr) << testing::PrintToString(codes(r));
  EXPECT_EQ(f->severity, reports::Severity::Error);
  EXPECT_NE(f->evidence.at(0).find("TTL 64 (0 hops)"), std::string::npos) << f->evidence.at(0);
  EXPECT_NE(f->evidence.at(0).find("TTL 63 (1 hops"), std::string::npos) << f->evidence.at(0);
  EXPECT_EQ(r.verdict, reports::Verdict::Fail);
}

TEST(AnalyzeSynthetic, OneHopDifferenceAloneIsHedged) {
  PcapWriter w;
  Conn k{w};
  k.server_ttl = 118;  // 10 hops from a 128 stack
  k.handshake(1.0);
  k.s(1.2, kAck | kRst, {}, 117);
  const auto r = analyze(w.bytes());
  const auto* f = finding(r, "TCP_RESET_BY_MIDDLEBOX");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, reports::Severity::Warning);
  EXPECT_EQ(f->title.rfind("Likely", 0), 0U) << f->title;
}

TEST(AnalyzeSynthetic, ClosedPortResetIsGenuine) {
  {  // the RST is the only packet from the server: nothing to compare, no claim
    PcapWriter w;
    Conn k{w};
    k.c(1.0, kSyn);
    k.s(1.01, kRst | kAck, {}, 64);
    const auto r = analyze(w.bytes());
    ASSERT_EQ(cap(r).sessions.size(), 1U);
    EXPECT_EQ(cap(r).sessions[0].state, "refused");
    EXPECT_FALSE(has(r, "TCP_RESET_BY_MIDDLEBOX"));
    EXPECT_TRUE(has(r, "TCP_REFUSED"));
  }
  {  // another session shows the host at the RST's own distance: the host reset it
    PcapWriter w;
    Conn ok{w};
    ok.handshake(1.0);
    Conn closed{w};
    closed.cport = 50001;
    closed.sport = 1434;
    closed.c(2.0, kSyn);
    closed.s(2.01, kRst | kAck, {}, 63);
    const auto r = analyze(w.bytes(), {1433, 1434});
    ASSERT_EQ(cap(r).sessions.size(), 2U);
    ASSERT_TRUE(cap(r).sessions[1].rst);
    EXPECT_EQ(cap(r).sessions[1].rst->expected_ttl.value_or(0), 63);
    EXPECT_EQ(cap(r).sessions[1].state, "refused");
    EXPECT_FALSE(has(r, "TCP_RESET_BY_MIDDLEBOX"));
  }
}

TEST(AnalyzeSynthetic, SynRetransmittedThenEstablishedIsAWarning) {
  PcapWriter w;
  Conn k{w};
  for (int i = 0; i < 4; ++i) k.c(1.0 + i, kSyn, {}, k.cseq);  // same ISN, new IP ID each time
  k.cseq += 1;
  k.s(4.05, kSyn | kAck);
  k.c(4.06, kAck);
  const auto r = analyze(w.bytes());
  ASSERT_EQ(cap(r).sessions.size(), 1U);
  EXPECT_EQ(cap(r).sessions[0].syn_attempts, 4U);
  EXPECT_EQ(cap(r).sessions[0].syn_retransmits, 3U);
  EXPECT_DOUBLE_EQ(cap(r).sessions[0].syn_seconds, 3.0);
  EXPECT_EQ(cap(r).sessions[0].state, "established");
  EXPECT_TRUE(has(r, "TCP_SYN_RETRANSMITTED"));
  EXPECT_FALSE(has(r, "TCP_FILTERED"));
  EXPECT_EQ(r.verdict, reports::Verdict::Warn);
}

TEST(AnalyzeSynthetic, UnansweredSynsAreFiltered) {
  PcapWriter w;
  Conn k{w};
  for (int i = 0; i < 3; ++i) k.c(1.0 + i * 2, kSyn, {}, k.cseq);
  const auto r = analyze(w.bytes());
  ASSERT_EQ(cap(r).sessions.size(), 1U);
  EXPECT_EQ(cap(r).sessions[0].state, "filtered");
  EXPECT_TRUE(has(r, "TCP_FILTERED"));
  EXPECT_EQ(r.verdict, reports::Verdict::Fail);
}

TEST(AnalyzeSynthetic, IcmpUnreachableNamesTheReporterAndTheQuotedPacket) {
  PcapWriter w;
  Conn k{w};
  k.c(1.0, kSyn);
  const Bytes syn = ipv4(kClient, kServer, 64, 6, 100, tcp_segment(50000, 1433, 1000, 0, kSyn));
  Bytes icmp = {3, 13, 0, 0, 0, 0, 0, 0};
  icmp.insert(icmp.end(), syn.begin(), syn.begin() + 28);
  w.add(1.002, ipv4(kRouter, kClient, 255, 1, 7, icmp));
  const auto r = analyze(w.bytes());
  ASSERT_EQ(cap(r).sessions.size(), 1U);
  const auto& s = cap(r).sessions[0];
  EXPECT_EQ(s.state, "unreachable");
  ASSERT_TRUE(s.icmp);
  EXPECT_EQ(s.icmp->reporter, "10.1.0.1");
  EXPECT_EQ(s.icmp->code, 13);
  EXPECT_EQ(s.icmp->quoted, "tcp 10.1.0.5:50000 -> 10.2.0.4:1433");
  EXPECT_TRUE(has(r, "ICMP_UNREACHABLE"));
  EXPECT_FALSE(has(r, "TCP_FILTERED"));
}

namespace {
Bytes filler(std::size_t n, std::uint8_t v) {
  return Bytes(n, v);
}

// Handshake, a client request, then the server's first full-size segment never arrives; a smaller
// one after it does and the client asks twice for the missing bytes.
Bytes pmtu_capture(bool with_frag_needed) {
  PcapWriter w;
  Conn k{w};
  k.handshake(1.0);
  k.c(1.02, kAck | kPsh, prelogin_packet(false));
  const std::uint32_t hole_start = k.sseq;
  k.s(1.05, kAck, filler(400, 0x17), std::nullopt, hole_start + 1400);  // past 1400 lost bytes
  k.c(1.051, kAck, {}, k.cseq);
  k.c(1.052, kAck, {}, k.cseq);
  if (with_frag_needed) {
    const Bytes big =
        ipv4(kServer, kClient, 63, 6, 901, tcp_segment(1433, 50000, hole_start, 0, kAck));
    Bytes icmp = {3, 4, 0, 0, 0, 0, 0x05, 0x78};
    icmp.insert(icmp.end(), big.begin(), big.begin() + 28);
    w.add(1.049, ipv4(kRouter, kServer, 255, 1, 8, icmp));
  }
  return w.bytes();
}
}  // namespace

TEST(AnalyzeSynthetic, MissingFullSizeSegmentsWithDupAcksAreAPathMtuBlackHole) {
  auto r = analyze(pmtu_capture(false));
  ASSERT_EQ(cap(r).sessions.size(), 1U);
  ASSERT_TRUE(cap(r).sessions[0].hole);
  EXPECT_EQ(cap(r).sessions[0].hole->missing, 1400U);
  EXPECT_EQ(cap(r).sessions[0].hole->dup_acks, 2U);
  EXPECT_TRUE(has(r, "PATH_MTU_BLACKHOLE")) << testing::PrintToString(codes(r));
  r = analyze(pmtu_capture(true));
  EXPECT_FALSE(has(r, "PATH_MTU_BLACKHOLE")) << "ICMP frag-needed came back: not a black hole";
}

TEST(AnalyzeSynthetic, ExactCopiesAreNotRetransmissions) {
  PcapWriter w;
  const Bytes syn = ipv4(kClient, kServer, 64, 6, 100, tcp_segment(50000, 1433, 1000, 0, kSyn));
  w.add(1.0, syn);
  w.add(1.000010, syn);  // the same bytes (IP ID 100) seen twice: tcpdump -i any
  const Bytes synack =
      ipv4(kServer, kClient, 63, 6, 0, tcp_segment(1433, 50000, 5000, 1001, kSyn | kAck));
  w.add(1.01, synack);
  w.add(1.010010, synack);
  const auto r = analyze(w.bytes());
  ASSERT_EQ(cap(r).sessions.size(), 1U);
  EXPECT_EQ(cap(r).sessions[0].syn_attempts, 1U);
  EXPECT_EQ(cap(r).sessions[0].syn_retransmits, 0U);
  EXPECT_EQ(cap(r).duplicates, 2U);
  EXPECT_FALSE(has(r, "TCP_SYN_RETRANSMITTED"));
}

TEST(AnalyzeSynthetic, CaptureStartedMidSession) {
  PcapWriter w;
  Conn k{w};
  k.c(1.0, kAck | kPsh, Bytes{1, 1, 0, 12, 0, 0, 1, 0, 'h', 'i', 0, 0});
  k.s(1.1, kAck | kPsh, Bytes{4, 1, 0, 9, 0, 0, 1, 0, 0});
  const auto r = analyze(w.bytes());
  ASSERT_EQ(cap(r).sessions.size(), 1U);
  EXPECT_EQ(cap(r).sessions[0].state, "midstream");
  EXPECT_TRUE(r.findings.empty()) << testing::PrintToString(codes(r));
}

TEST(AnalyzeSynthetic, SlowCleartextLoginIsLoginSlowWithStepTimesAndNoPassword) {
  PcapWriter w;
  Conn k{w};
  k.handshake(1.0);
  k.c(1.02, kAck | kPsh, prelogin_packet(false));
  k.s(1.03, kAck | kPsh, prelogin_packet(true));
  k.c(1.04, kAck | kPsh, login7_packet());
  k.s(4.5, kAck | kPsh, login_answer(true));  // the instance took 3.5 s to answer LOGIN7
  Conn node{w};
  node.cport = 50002;
  node.sport = 11042;
  node.c(4.6, kSyn);  // to the routed node port: unanswered
  node.c(5.6, kSyn, {}, node.cseq - 1);
  const auto r = analyze(w.bytes());
  ASSERT_EQ(cap(r).sessions.size(), 1U + 0U + 1U);
  const auto& s = cap(r).sessions[0];
  ASSERT_TRUE(s.login);
  EXPECT_EQ(s.login->user, "appuser");
  EXPECT_EQ(s.login->database, "sales");
  EXPECT_EQ(s.login->app_name, "billing");
  EXPECT_EQ(s.login->outcome, "routing");
  EXPECT_EQ(s.login->routing_port, 11042);
  ASSERT_TRUE(s.login_ms);
  EXPECT_NEAR(*s.login_ms, 3460.0, 1.0);
  EXPECT_NEAR(s.connect_ms.value_or(0), 10.0, 0.01);
  EXPECT_TRUE(has(r, "LOGIN_SLOW"));
  // The application's own SYNs to the routed node went unanswered.
  EXPECT_EQ(s.redirect_to.value_or(0), 2U);
  EXPECT_TRUE(has(r, "REDIRECT_PORTS_FILTERED"));
  EXPECT_FALSE(has(r, "TCP_FILTERED"));
  for (const auto& out : {reports::render_json(r), reports::render_text(r, {true, false}),
                          reports::render_markdown(r)})
    EXPECT_EQ(out.find("NotInTheReport"), std::string::npos);
}

TEST(AnalyzeSynthetic, ServerStringsAreEscapedInText) {
  PcapWriter w;
  Conn k{w};
  k.handshake(1.0);
  tds::Login7 l;
  l.user_name = "evil\x1b[31m\nFAKE";
  l.server_name = "x";
  k.c(1.04, kAck | kPsh, tds::frame(tds::PacketType::Login7, tds::build_login7(l)));
  const auto r = analyze(w.bytes());
  const auto text = reports::render_text(r, {true, false});
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find("\nFAKE"), std::string::npos);
  EXPECT_TRUE(nlohmann::json::accept(reports::render_json(r)));
}

// ---- check: its own capture confirms or overturns the socket-level findings ------------------

namespace {

// A check's evidence as run_check leaves it: socket results (with their local ports) and the
// sessions of its live capture, here written as a synthetic pcap.
reports::Evidence check_evidence(
    const Bytes& pcap_bytes, std::vector<tcp::Result> tcp,
    const std::set<std::pair<std::uint16_t, std::uint16_t>>& skip = {}) {
  auto file = pcap::read_capture(pcap_bytes);
  EXPECT_TRUE(file.ok());
  std::vector<pcap::FrameView> views;
  for (const auto& f : file->frames) {
    pcap::FrameView v;
    v.timestamp_ns = static_cast<std::int64_t>(f.timestamp * 1e9);
    v.link_type = f.link_type;
    v.data = f.data;
    v.original_length = f.original_length;
    views.push_back(v);
  }
  agent::AnalyzeOptions o;
  o.ports = {1433, 3342, 1444};
  reports::Evidence ev;
  ev.target.host = "10.2.0.4";
  ev.addresses = {"10.2.0.4"};
  ev.capture.status = "on";
  ev.capture.interface = "any";
  ev.packets = agent::analyze_frames(views, o, skip).packets;
  ev.tcp = std::move(tcp);
  return ev;
}

tcp::Result probe(std::uint16_t port, tcp::State state, std::uint16_t local_port) {
  tcp::Result r;
  r.target = {"10.2.0.4", port, port == 1433 ? tcp::Role::Gateway : tcp::Role::Custom};
  r.state = state;
  r.local_port = local_port;
  r.detail = state == tcp::State::Refused ? "connection refused (RST)" : "";
  return r;
}

std::vector<std::string> names(const std::vector<reports::Finding>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.emplace_back(f.name());
  return out;
}

const reports::Finding* find_code(const std::vector<reports::Finding>& fs, std::string_view code) {
  for (const auto& f : fs)
    if (f.name() == code) return &f;
  return nullptr;
}

// The gateway port refused with a TTL-64 reset while the host's SYN-ACK on 3342 came with 63.
Bytes refused_beside_open(std::uint8_t rst_ttl) {
  PcapWriter w;
  Conn open{w};
  open.cport = 40001;
  open.sport = 3342;
  open.handshake(1.0);
  Conn refused{w};
  refused.cport = 40002;
  refused.c(1.0, kSyn);
  refused.s(1.001, kRst | kAck, {}, rst_ttl);
  return w.bytes();
}

}  // namespace

TEST(CheckPackets, ZeroHopResetBesideAOneHopHostOverturnsRefusedIntoMiddlebox) {
  const auto ev = check_evidence(refused_beside_open(64), {probe(1433, tcp::State::Refused, 40002),
                                                           probe(3342, tcp::State::Open, 40001)});
  const auto fs = reports::explain(ev);
  const auto* f = find_code(fs, "TCP_RESET_BY_MIDDLEBOX");
  ASSERT_NE(f, nullptr) << testing::PrintToString(names(fs));
  EXPECT_EQ(f->severity, reports::Severity::Error);
  EXPECT_EQ(f->title.find("Likely"), std::string::npos) << f->title;
  EXPECT_EQ(find_code(fs, "TCP_REFUSED"), nullptr) << testing::PrintToString(names(fs));
  const bool compared = std::any_of(f->evidence.begin(), f->evidence.end(), [](const auto& e) {
    return e.find("RST TTL 64 (0 hops) vs the sender's other packets TTL 63 (1 hops") !=
           std::string::npos;
  });
  EXPECT_TRUE(compared) << testing::PrintToString(f->evidence);
  EXPECT_EQ(fs.front().name(), "TCP_RESET_BY_MIDDLEBOX");
}

TEST(CheckPackets, OneHopOffIsHedgedButStaysTheErrorItIs) {
  const auto ev = check_evidence(refused_beside_open(62), {probe(1433, tcp::State::Refused, 40002),
                                                           probe(3342, tcp::State::Open, 40001)});
  const auto fs = reports::explain(ev);
  const auto* f = find_code(fs, "TCP_RESET_BY_MIDDLEBOX");
  ASSERT_NE(f, nullptr) << testing::PrintToString(names(fs));
  EXPECT_EQ(f->title.rfind("Likely", 0), 0U) << f->title;
  EXPECT_EQ(f->severity, reports::Severity::Error);
}

TEST(CheckPackets, AResetAtTheHostsOwnDistanceStaysRefused) {
  const auto ev = check_evidence(refused_beside_open(63), {probe(1433, tcp::State::Refused, 40002),
                                                           probe(3342, tcp::State::Open, 40001)});
  const auto fs = reports::explain(ev);
  EXPECT_EQ(find_code(fs, "TCP_RESET_BY_MIDDLEBOX"), nullptr) << testing::PrintToString(names(fs));
  const auto* f = find_code(fs, "TCP_REFUSED");
  ASSERT_NE(f, nullptr);
  const bool genuine = std::any_of(f->evidence.begin(), f->evidence.end(), [](const auto& e) {
    return e.find("the target's own reset") != std::string::npos;
  });
  EXPECT_TRUE(genuine) << testing::PrintToString(f->evidence);
}

TEST(CheckPackets, TheOnlyPacketFromTheAddressCannotTellWhoReset) {
  PcapWriter w;
  Conn refused{w};
  refused.cport = 40002;
  refused.c(1.0, kSyn);
  refused.s(1.001, kRst | kAck, {}, 64);
  const auto ev = check_evidence(w.bytes(), {probe(1433, tcp::State::Refused, 40002)});
  const auto fs = reports::explain(ev);
  EXPECT_EQ(find_code(fs, "TCP_RESET_BY_MIDDLEBOX"), nullptr);
  const auto* f = find_code(fs, "TCP_REFUSED");
  ASSERT_NE(f, nullptr) << testing::PrintToString(names(fs));
  EXPECT_NE(f->detail.find("cannot say who sent"), std::string::npos) << f->detail;
}

TEST(CheckPackets, AProbeIsLinkedByItsLocalPortNotByTheAddressAlone) {
  // Another client's connection to the same port was reset from zero hops; the probe's own
  // refusal (a different local port) is not in the capture: no claim about it.
  const auto ev = check_evidence(refused_beside_open(64), {probe(1433, tcp::State::Refused, 40999),
                                                           probe(3342, tcp::State::Open, 40001)});
  const auto fs = reports::explain(ev);
  EXPECT_EQ(find_code(fs, "TCP_RESET_BY_MIDDLEBOX"), nullptr) << testing::PrintToString(names(fs));
  EXPECT_NE(find_code(fs, "TCP_REFUSED"), nullptr);
}

TEST(CheckPackets, TheTracesTtlLimitedSynsAreNotSessions) {
  PcapWriter w;
  Conn ok{w};
  ok.cport = 40001;
  ok.handshake(1.0);
  for (std::uint16_t ttl = 1; ttl <= 3; ++ttl) {
    Conn t{w};
    t.cport = static_cast<std::uint16_t>(41000 + ttl);
    t.client_ttl = static_cast<std::uint8_t>(ttl);
    t.c(1.0, kSyn);
  }
  const std::vector<tcp::Result> tcp = {probe(1433, tcp::State::Open, 40001)};
  const auto all = check_evidence(w.bytes(), tcp);
  ASSERT_EQ(all.packets->sessions.size(), 4U);  // without the trace's ports: filtered "sessions"
  const auto ev = check_evidence(w.bytes(), tcp, {{41001, 1433}, {41002, 1433}, {41003, 1433}});
  ASSERT_EQ(ev.packets->sessions.size(), 1U);
  EXPECT_EQ(ev.packets->sessions[0].client_port, 40001);
  EXPECT_EQ(ev.packets->sessions[0].state, "established");
  const auto fs = reports::explain(ev);
  EXPECT_TRUE(fs.empty()) << testing::PrintToString(names(fs));
}

TEST(CheckPackets, AVisibleHoleConfirmsTheBlackHoleFromPackets) {
  const auto ev = check_evidence(pmtu_capture(false), {probe(1433, tcp::State::Open, 50000)});
  ASSERT_EQ(ev.packets->sessions.size(), 1U);
  ASSERT_TRUE(ev.packets->sessions[0].hole) << "no hole decoded";
  const auto fs = reports::explain(ev);
  const auto* f = find_code(fs, "PATH_MTU_BLACKHOLE");
  ASSERT_NE(f, nullptr) << testing::PrintToString(names(fs));
  EXPECT_EQ(f->severity, reports::Severity::Error);
}

TEST(AnalyzeInput, NotACaptureIsAnErrorAndTruncatedIsSaid) {
  agent::AnalyzeOptions o;
  const Bytes junk = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!'};
  EXPECT_FALSE(agent::analyze_capture(junk, o).ok());
  PcapWriter w;
  Conn k{w};
  k.handshake(1.0);
  Bytes cut = w.bytes();
  cut.resize(cut.size() - 10);
  const auto r = analyze(cut);
  EXPECT_TRUE(cap(r).truncated);
  ASSERT_FALSE(r.evidence.limitations.empty());
  EXPECT_NE(r.evidence.limitations[0].find("truncated"), std::string::npos);
}

// ---- the real binary -------------------------------------------------------------------------

namespace {
std::pair<int, std::string> run(const std::string& args) {
  const std::string command = std::string("'") + MIDIAG_BINARY + "' " + args + " 2>&1";
  std::string out;
  FILE* child = popen(command.c_str(), "r");
  if (child == nullptr) return {-1, ""};
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, child)) > 0;) out.append(buf, n);
  const int status = pclose(child);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}
}  // namespace

TEST(AnalyzeCli, JsonSessionsAndExitCodes) {
  const std::string path =
      std::string(MIDIAG_SOURCE_DIR) + "/../shared/fixtures/pcap/tsql-login-failed.pcap";
  FIXTURE_OR_SKIP(b, "pcap/tsql-login-failed.pcap");
  ASSERT_FALSE(b.empty());
  auto [code, out] = run("analyze '" + path + "' --json");
  EXPECT_EQ(code, 1) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["schema"], "mi-diag.report/1");
  EXPECT_EQ(j["input"]["format"], "pcap");
  EXPECT_EQ(j["input"]["packets"], 16);
  EXPECT_EQ(j["input"]["truncated"], false);
  ASSERT_EQ(j["sessions"].size(), 1U);
  EXPECT_EQ(j["sessions"][0]["server_port"], 21433);
  EXPECT_EQ(j["sessions"][0]["state"], "established");
  EXPECT_EQ(j["sessions"][0]["tds"]["login"]["error_number"], 18456);
  EXPECT_EQ(j["findings"][0]["code"], "LOGIN_FAILED");

  const std::string plain =
      std::string(MIDIAG_SOURCE_DIR) + "/../shared/fixtures/pcap/tedious-redirect-plain.pcap";
  std::tie(code, out) = run("analyze '" + plain + "' --json");
  EXPECT_EQ(code, 0) << out;
  j = nlohmann::json::parse(out);
  EXPECT_EQ(j["sessions"][0]["tds"]["login"]["routing"]["port"], 21042);
  EXPECT_EQ(j["sessions"][0]["redirect_to"], 2);

  std::tie(code, out) = run("analyze '" + std::string(MIDIAG_SOURCE_DIR) + "/CMakeLists.txt'");
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("not a capture file"), std::string::npos) << out;
  std::tie(code, out) = run("analyze /nonexistent/file.pcap");
  EXPECT_EQ(code, 2) << out;
}

// ---- redirect linking --------------------------------------------------------------------------

namespace {

reports::CaptureSession linked_session(std::size_t index, const std::string& client_address,
                                       const std::string& server_address, std::uint16_t port,
                                       double start, bool speaks_tds) {
  reports::CaptureSession s;
  s.index = index;
  s.client_address = client_address;
  s.server_address = server_address;
  s.server_port = port;
  s.server = server_address + ":" + std::to_string(port);
  s.start = start;
  s.duration_ms = 100;
  s.speaks_tds = speaks_tds;
  return s;
}

}  // namespace

// An encrypted login hides the routing: the client's next connection is taken for the redirect,
// but a neighbouring application's TDS session that starts first (another port, not listed) must
// not be; the connection to a listed port is.
TEST(AnalyzeRedirectLink, HiddenRedirectPrefersAListedPortOverANeighboursTdsSession) {
  std::vector<reports::CaptureSession> s;
  s.push_back(linked_session(1, "127.0.0.1", "127.0.0.1", 40000, 10.0, true));
  s[0].login.emplace();
  s[0].login->outcome = "encrypted";
  s.push_back(linked_session(2, "127.0.0.1", "127.0.0.1", 39385, 10.15, true));  // neighbour
  s.push_back(linked_session(3, "127.0.0.1", "127.0.0.1", 45687, 10.2, true));   // the node
  const std::vector<std::uint16_t> ports = {40000, 45687};
  agent::link_redirects(s, 2.0, ports);
  EXPECT_EQ(s[0].redirect_to.value_or(0), 3U);
  EXPECT_TRUE(s[0].redirect_inferred);
  EXPECT_EQ(s[2].redirected_from.value_or(0), 1U);
  EXPECT_FALSE(s[1].redirected_from);

  // With no listed candidate, the client's next TDS session is still the best guess.
  s.pop_back();
  s[0].redirect_to.reset();
  agent::link_redirects(s, 2.0, ports);
  EXPECT_EQ(s[0].redirect_to.value_or(0), 2U);

  // A routing read in clear names the port: only that connection is linked.
  s.push_back(linked_session(3, "127.0.0.1", "127.0.0.1", 45687, 10.2, true));
  for (auto& x : s) x.redirected_from.reset();
  s[0].redirect_to.reset();
  s[0].redirect_inferred = false;
  s[0].login->outcome = "routing";
  s[0].login->routing_host = "127.0.0.1";
  s[0].login->routing_port = 45687;
  agent::link_redirects(s, 2.0, ports);
  EXPECT_EQ(s[0].redirect_to.value_or(0), 3U);
  EXPECT_FALSE(s[0].redirect_inferred);
}

// ---- a server that accepts and never answers ----------------------------------------------------

// tsql sent TLS to a node that waited for a PRELOGIN: the node accepted, never sent a byte and
// closed 10 s later. That connection is not healthy, whatever its TCP state says.
TEST(AnalyzeSynthetic, AnAcceptedConnectionTheServerNeverAnswersIsNotHealthy) {
  PcapWriter w;
  Conn k{w};
  k.handshake(1.0);
  k.c(1.1, kAck | kPsh, prelogin_packet(false));
  k.s(1.11, kAck);  // the server's ACK: no payload
  k.s(11.1, kAck | kFin);
  k.c(11.2, kAck | kFin);
  const auto r = analyze(w.bytes());
  ASSERT_EQ(cap(r).sessions.size(), 1U);
  const auto& s = cap(r).sessions[0];
  EXPECT_EQ(s.state, "established");
  EXPECT_GT(s.bytes_to_server, 0U);
  EXPECT_EQ(s.bytes_to_client, 0U);
  ASSERT_TRUE(s.server_silent_s);
  EXPECT_NEAR(*s.server_silent_s, 10.1, 0.01);
  const auto* f = finding(r, "TDS_NOT_SPOKEN");
  ASSERT_NE(f, nullptr) << testing::PrintToString(codes(r));
  EXPECT_EQ(f->severity, reports::Severity::Error);
  EXPECT_EQ(r.verdict, reports::Verdict::Fail);
  EXPECT_NE(reports::render_text(r, {}).find("server silent 10.1 s"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(reports::render_json(r))["sessions"][0]["bytes_to_client"], 0);

  // The same connection with the server's PRELOGIN answer is not silent.
  PcapWriter w2;
  Conn a{w2};
  a.handshake(1.0);
  a.c(1.1, kAck | kPsh, prelogin_packet(false));
  a.s(1.11, kAck | kPsh, prelogin_packet(true));
  a.s(11.1, kAck | kFin);
  const auto ok = analyze(w2.bytes());
  ASSERT_EQ(cap(ok).sessions.size(), 1U);
  EXPECT_FALSE(cap(ok).sessions[0].server_silent_s);
  EXPECT_FALSE(has(ok, "TDS_NOT_SPOKEN"));

  // Still open and only 1 s of waiting when the capture ends: too early to call.
  PcapWriter w3;
  Conn b{w3};
  b.handshake(1.0);
  b.c(1.1, kAck | kPsh, prelogin_packet(false));
  b.s(2.1, kAck);
  const auto early = analyze(w3.bytes());
  EXPECT_FALSE(cap(early).sessions.at(0).server_silent_s);
  EXPECT_FALSE(has(early, "TDS_NOT_SPOKEN"));
}
