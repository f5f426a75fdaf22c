#include "decoders/pcap/pcap_file.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "decoders/pcap/flows.h"
#include "decoders/tls/records.h"
#include "tests/unit/support/capture_builder.h"

using namespace midiag::pcap;

namespace {

using Bytes = std::vector<std::uint8_t>;

// The test reads the file; the decoder only ever sees bytes.
#define LOAD_OR_SKIP(var, name) FIXTURE_OR_SKIP(var, "pcap/" + std::string(name))

// What any reassembly must satisfy, whatever the frames held: every frame is accounted for at
// most once, malformed frames name an offset inside themselves, no stream holds bytes it did
// not deliver.
void expect_consistent(const std::vector<Frame>& frames, const FlowReport& report) {
  std::size_t undecoded = 0;
  for (const Frame& frame : frames) {
    const auto packet = decode_packet(frame);
    if (packet) continue;
    ++undecoded;
    if (packet.error().kind == midiag::ErrorKind::Malformed) {
      EXPECT_LE(packet.error().offset, frame.data.size()) << packet.error().message;
    }
  }
  EXPECT_EQ(report.undecoded_frames, undecoded);
  std::size_t packets = 0;
  for (const Session& s : report.sessions) {
    EXPECT_FALSE(s.packets.empty());
    packets += s.packets.size();
    for (const StreamBytes* d : {&s.to_server, &s.to_client}) {
      EXPECT_LE(d->bytes.size(), d->delivered);
    }
  }
  EXPECT_LE(undecoded + report.unreachable.size() + packets, frames.size());
}

FlowReport sessions_of(const Bytes& file) {
  auto capture = read_capture(file);
  EXPECT_TRUE(capture.ok()) << capture.error().message;
  if (!capture.ok()) return {};
  EXPECT_FALSE(capture->truncated) << capture->message;
  return reassemble(capture->frames);
}

// TLS-in-TDS: during the handshake TLS records ride in TDS PRELOGIN (0x12) packets. Skips the
// first (plain PRELOGIN) message, then strips the 8-byte headers of the packets that follow;
// stops at raw TLS (tedious) or at a cleartext 0x04 login response (FreeTDS, ENCRYPT_OFF).
Bytes tls_from_tds(const Bytes& stream) {
  Bytes tls;
  std::size_t pos = 0;
  bool first = true;
  // The first message is PRELOGIN (0x12) or its response (0x04); TLS then rides only in 0x12.
  while (pos + 8 <= stream.size() && (stream[pos] == 0x12 || (first && stream[pos] == 0x04))) {
    const std::size_t length = (std::size_t{stream[pos + 2]} << 8) | stream[pos + 3];
    if (length < 8 || pos + length > stream.size()) break;
    if (!first) tls.insert(tls.end(), stream.begin() + pos + 8, stream.begin() + pos + length);
    first = first && (stream[pos + 1] & 0x01) == 0;  // the plain PRELOGIN ends at its EOM
    pos += length;
  }
  return tls;
}

midiag::tls::HandshakeSummary handshake_of(const Bytes& tls) {
  auto split = midiag::tls::split_records(tls);
  EXPECT_TRUE(split.ok()) << split.error().message;
  if (!split.ok()) return {};
  auto summary = midiag::tls::summarize_handshake(split->records);
  EXPECT_TRUE(summary.ok()) << summary.error().message;
  return summary.ok() ? *summary : midiag::tls::HandshakeSummary{};
}

void expect_session(const Session& s, const std::string& client, const std::string& server) {
  EXPECT_EQ(s.client.str(), client);
  EXPECT_EQ(s.server.str(), server);
  EXPECT_TRUE(s.client_from_syn);
  ASSERT_TRUE(s.syn_time && s.syn_ack_time && s.first_data_time && s.fin_time);
  EXPECT_LE(*s.syn_time, *s.syn_ack_time);
  EXPECT_LE(*s.syn_ack_time, *s.first_data_time);
  EXPECT_FALSE(s.rst_time.has_value());
  EXPECT_EQ(s.to_server.mss, 65495);  // loopback MTU 65535 - 40
  EXPECT_FALSE(s.to_server.gap || s.to_client.gap || s.to_server.capped);
  ASSERT_FALSE(s.to_server.bytes.empty());
  ASSERT_FALSE(s.to_client.bytes.empty());
  EXPECT_EQ(s.to_server.bytes[0], 0x12);  // client opens with TDS PRELOGIN
  EXPECT_EQ(s.to_client.bytes[0], 0x04);  // server answers with a tabular result
}

bool contains(const Bytes& haystack, const Bytes& needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

}  // namespace

TEST(PcapFixtures, TediousRedirectPlain) {
  LOAD_OR_SKIP(file, "tedious-redirect-plain.pcap");
  const auto capture = read_capture(file);
  ASSERT_TRUE(capture.ok());
  EXPECT_EQ(capture->format, FileFormat::Pcap);
  EXPECT_EQ(capture->frames.size(), 26U);  // tshark: 26 packets
  EXPECT_EQ(capture->frames[0].link_type, kLinkEthernet);
  const FlowReport flows = sessions_of(file);
  ASSERT_EQ(flows.sessions.size(), 2U);
  expect_session(flows.sessions[0], "127.0.0.1:50418", "127.0.0.1:21433");
  expect_session(flows.sessions[1], "127.0.0.1:38622", "127.0.0.1:21042");
  EXPECT_EQ(flows.sessions[0].packets.size(), 12U);  // tshark conv,tcp: 12 and 14 frames
  EXPECT_EQ(flows.sessions[1].packets.size(), 14U);
  // The LOGIN7 (0x10) is in clear, and the node session carries one SQL batch (0x01).
  EXPECT_TRUE(contains(flows.sessions[0].to_server.bytes, {0x10, 0x01}));
  EXPECT_TRUE(contains(flows.sessions[1].to_server.bytes, {0x01, 0x01}));
}

TEST(PcapFixtures, TediousRedirectTls) {
  LOAD_OR_SKIP(file, "tedious-redirect-tls.pcap");
  const FlowReport flows = sessions_of(file);
  ASSERT_EQ(flows.sessions.size(), 2U);
  expect_session(flows.sessions[0], "127.0.0.1:50434", "127.0.0.1:21433");
  expect_session(flows.sessions[1], "127.0.0.1:38638", "127.0.0.1:21042");
  for (const Session& s : flows.sessions) {
    const auto server = handshake_of(tls_from_tds(s.to_client.bytes));
    ASSERT_TRUE(server.server_hello.has_value());
    EXPECT_EQ(midiag::tls::version_name(server.server_hello->negotiated_version()), "TLSv1.2");
    EXPECT_EQ(server.server_hello->cipher_suite, 0xc030);  // tshark: ECDHE-RSA-AES256-GCM
    EXPECT_EQ(server.handshake_types, (std::vector<std::uint8_t>{2, 11, 12, 14}));
    ASSERT_EQ(server.certificates.size(), 2U);  // tshark: certificate lengths 997, 791
    EXPECT_EQ(server.certificates[0].size(), 997U);
    EXPECT_EQ(server.certificates[0][0], 0x30);  // DER SEQUENCE
    EXPECT_TRUE(server.saw_change_cipher_spec);
    const auto client = handshake_of(tls_from_tds(s.to_server.bytes));
    ASSERT_TRUE(client.client_hello.has_value());
    EXPECT_EQ(client.client_hello->legacy_version, 0x0303);
    EXPECT_EQ(client.client_hello->cipher_suites.size(), 56U);  // tshark lists 56 suites
  }
}

TEST(PcapFixtures, TsqlRedirect) {
  LOAD_OR_SKIP(file, "tsql-redirect.pcap");
  const FlowReport flows = sessions_of(file);
  ASSERT_EQ(flows.sessions.size(), 2U);
  expect_session(flows.sessions[0], "127.0.0.1:50450", "127.0.0.1:21433");
  expect_session(flows.sessions[1], "127.0.0.1:38642", "127.0.0.1:21042");
  for (const Session& s : flows.sessions) {
    const auto server = handshake_of(tls_from_tds(s.to_client.bytes));
    ASSERT_TRUE(server.server_hello.has_value());
    EXPECT_EQ(server.server_hello->negotiated_version(), 0x0303);
    EXPECT_FALSE(server.certificates.empty());
    // FreeTDS offers TLS 1.3 down to 1.0; the server picks 1.2 anyway.
    const auto client = handshake_of(tls_from_tds(s.to_server.bytes));
    ASSERT_TRUE(client.client_hello.has_value());
    EXPECT_EQ(client.client_hello->supported_versions,
              (std::vector<std::uint16_t>{0x0304, 0x0303, 0x0302, 0x0301}));
  }
}

TEST(PcapFixtures, TsqlLoginFailed) {
  LOAD_OR_SKIP(file, "tsql-login-failed.pcap");
  const FlowReport flows = sessions_of(file);
  ASSERT_EQ(flows.sessions.size(), 1U);
  expect_session(flows.sessions[0], "127.0.0.1:50460", "127.0.0.1:21433");
  // The ERROR token (0xAA) carries number 18456 (0x4818, little-endian) in clear.
  EXPECT_TRUE(contains(flows.sessions[0].to_client.bytes, {0x18, 0x48, 0x00, 0x00}));
}

TEST(PcapFixtures, EveryTruncationReturns) {
  LOAD_OR_SKIP(file, "tsql-login-failed.pcap");
  std::size_t previous_frames = 0;
  for (std::size_t n = 0; n <= file.size(); n += 7) {
    const Bytes cut(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(n));
    auto capture = read_capture(cut);
    if (n < 4) {
      EXPECT_FALSE(capture.ok());
      continue;
    }
    ASSERT_TRUE(capture.ok()) << "at " << n;
    EXPECT_LE(capture->frames.size(), 16U);  // a cut on a record boundary is not "truncated"
    if (capture->truncated) {
      EXPECT_NE(capture->message.find("offset"), std::string::npos);
    }
    EXPECT_GE(capture->frames.size(), previous_frames);
    previous_frames = capture->frames.size();
    expect_consistent(capture->frames, reassemble(capture->frames));
  }
}

namespace {

// Hand-built little-endian pcapng: SHB, IDB (raw IP, nanosecond resolution), an unknown block,
// an EPB (SYN), an SPB (SYN-ACK), then a block header whose body the file lacks.
const Bytes kPcapng = {
    // 0: SHB, length 28, byte-order magic, version 1.0, section length -1 (unknown)
    0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0x00, 0x00, 0x00, 0x4d, 0x3c, 0x2b, 0x1a, 0x01, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1c, 0x00, 0x00, 0x00,
    // 28: IDB, length 32, link type 101 (raw IP), snaplen 262144, if_tsresol=9 (ns), end of opts
    0x01, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
    0x09, 0x00, 0x01, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00,
    // 60: unknown block type 0x0bad, length 16: skipped by its length
    0xad, 0x0b, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x10, 0x00, 0x00, 0x00,
    // 76: EPB, length 76, interface 0, timestamp 1,500,000,000 ns, captured 44, original 44
    0x06, 0x00, 0x00, 0x00, 0x4c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x2f, 0x68, 0x59, 0x2c, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00,
    // 104: IPv4, total 44, TTL 64, TCP, 10.0.0.1 -> 10.0.0.2
    0x45, 0x00, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01,
    0x0a, 0x00, 0x00, 0x02,
    // 124: TCP 50000 -> 1433, seq 1000, data offset 6, SYN, window 65535, MSS 1460
    0xc3, 0x50, 0x05, 0x99, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x4c, 0x00, 0x00,
    0x00,  // 148: EPB trailing length
    // 152: SPB, length 60, original length 44
    0x03, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00,
    // 164: IPv4, total 44, TTL 128, TCP, 10.0.0.2 -> 10.0.0.1
    0x45, 0x00, 0x00, 0x2c, 0x00, 0x02, 0x00, 0x00, 0x80, 0x06, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,
    0x0a, 0x00, 0x00, 0x01,
    // 184: TCP 1433 -> 50000, seq 5000, ack 1001, SYN+ACK, window 65535, MSS 1400
    0x05, 0x99, 0xc3, 0x50, 0x00, 0x00, 0x13, 0x88, 0x00, 0x00, 0x03, 0xe9, 0x60, 0x12, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x05, 0x78, 0x3c, 0x00, 0x00,
    0x00,  // 208: SPB trailing length
    // 212: EPB header claiming 76 bytes; the file ends here
    0x06, 0x00, 0x00, 0x00, 0x4c, 0x00, 0x00, 0x00};

using Ip4 = std::array<std::uint8_t, 4>;
constexpr Ip4 kClientIp{10, 0, 0, 1}, kServerIp{10, 0, 0, 2}, kRouterIp{10, 9, 9, 9};

void put16(Bytes& b, std::size_t at, std::size_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

void put32(Bytes& b, std::size_t at, std::uint32_t v) {
  put16(b, at, v >> 16);
  put16(b, at + 2, v & 0xFFFFU);
}

struct Seg {
  Ip4 src = kClientIp, dst = kServerIp;
  std::uint16_t sport = 50000, dport = 1433;
  std::uint32_t seq = 0, ack = 0;
  std::uint8_t flags = tcp_flags::kAck;
  std::string data;
  std::uint8_t ttl = 64;
};

// A client segment (10.0.0.1:50000 -> 10.0.0.2:1433).
Seg client(std::uint32_t seq, std::uint8_t flags, std::string data = "") {
  Seg s;
  s.seq = seq;
  s.flags = flags;
  s.data = std::move(data);
  return s;
}

// A server segment (10.0.0.2:1433 -> 10.0.0.1:50000).
Seg server(std::uint32_t seq, std::uint32_t ack, std::uint8_t flags, std::uint8_t ttl = 64) {
  Seg s = client(seq, flags);
  std::swap(s.src, s.dst);
  std::swap(s.sport, s.dport);
  s.ack = ack;
  s.ttl = ttl;
  return s;
}

Seg with_ports(Seg s, std::uint16_t sport, std::uint16_t dport) {
  s.sport = sport;
  s.dport = dport;
  return s;
}

Seg with_ttl(Seg s, std::uint8_t ttl) {
  s.ttl = ttl;
  return s;
}

// IPv4 header (no options) + 20-byte TCP header + payload; checksums left zero (not checked).
Bytes ipv4_tcp(const Seg& s) {
  Bytes b(40 + s.data.size(), 0);  // sized up front: GCC 12 misreads insert() here
  b[0] = 0x45;
  put16(b, 2, 40 + s.data.size());
  b[8] = s.ttl;
  b[9] = kProtoTcp;
  std::copy(s.src.begin(), s.src.end(), b.begin() + 12);
  std::copy(s.dst.begin(), s.dst.end(), b.begin() + 16);
  put16(b, 20, s.sport);
  put16(b, 22, s.dport);
  put32(b, 24, s.seq);
  put32(b, 28, s.ack);
  b[32] = 0x50;
  b[33] = s.flags;
  put16(b, 34, 65535);
  std::copy(s.data.begin(), s.data.end(), b.begin() + 40);
  return b;
}

Frame raw(const Bytes& ip, double when = 0) {
  return Frame{when, kLinkRaw, ip, static_cast<std::uint32_t>(ip.size())};
}

std::string text(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

Session only_session(const std::vector<Frame>& frames, const FlowOptions& options = {}) {
  const FlowReport report = reassemble(frames, options);
  EXPECT_EQ(report.sessions.size(), 1U);
  return report.sessions.empty() ? Session{} : report.sessions[0];
}

}  // namespace

TEST(PcapFile, HandBuiltPcapng) {
  const auto capture = read_capture(kPcapng);
  ASSERT_TRUE(capture.ok()) << capture.error().message;
  EXPECT_EQ(capture->format, FileFormat::Pcapng);
  ASSERT_EQ(capture->frames.size(), 2U);
  EXPECT_TRUE(capture->truncated);
  EXPECT_NE(capture->message.find("offset 212"), std::string::npos) << capture->message;
  EXPECT_DOUBLE_EQ(capture->frames[0].timestamp, 1.5);
  EXPECT_DOUBLE_EQ(capture->frames[1].timestamp, 1.5);  // SPB: previous frame's time
  EXPECT_EQ(capture->frames[0].link_type, kLinkRaw);
  EXPECT_EQ(capture->frames[1].original_length, 44U);
  const Session s = only_session(capture->frames);
  EXPECT_EQ(s.client.str(), "10.0.0.1:50000");
  EXPECT_EQ(s.server.str(), "10.0.0.2:1433");
  EXPECT_TRUE(s.client_from_syn);
  EXPECT_EQ(s.to_server.mss, 1460);
  EXPECT_EQ(s.to_client.mss, 1400);
  ASSERT_EQ(s.packets.size(), 2U);
  EXPECT_EQ(s.packets[1].ttl, 128);
  EXPECT_FALSE(s.packets[1].from_client);
}

TEST(PcapFile, ClassicByteOrdersAndResolutions) {
  const Bytes ip = ipv4_tcp(Seg{});
  for (const bool big : {false, true}) {
    for (const bool nano : {false, true}) {
      // Global header then one record header, each field in the file's byte order.
      const std::pair<std::size_t, std::uint32_t> fields[] = {
          {4, nano ? 0xA1B23C4D : 0xA1B2C3D4},  // magic
          {2, 2},
          {2, 4},
          {4, 0},
          {4, 0},  // version 2.4, thiszone, sigfigs
          {4, 65535},
          {4, kLinkRaw},  // snaplen, link type
          {4, 7},
          {4, nano ? 5000U : 5U},  // ts 7 s + 5 us
          {4, 40},
          {4, 40}};  // captured, original length
      Bytes file;
      for (const auto& [width, value] : fields) {
        for (std::size_t i = 0; i < width; ++i) {
          const std::size_t shift = 8 * (big ? width - 1 - i : i);
          file.push_back(static_cast<std::uint8_t>(value >> shift));
        }
      }
      file.insert(file.end(), ip.begin(), ip.end());
      const auto capture = read_capture(file);
      ASSERT_TRUE(capture.ok()) << capture.error().message;
      EXPECT_FALSE(capture->truncated) << capture->message;
      ASSERT_EQ(capture->frames.size(), 1U);
      EXPECT_DOUBLE_EQ(capture->frames[0].timestamp, 7.000005);
      EXPECT_EQ(capture->frames[0].link_type, kLinkRaw);
      EXPECT_EQ(capture->frames[0].data, ip);
    }
  }
  EXPECT_FALSE(read_capture(Bytes{'G', 'I', 'F', '8', '9', 'a'}).ok());
}

TEST(FlowDecode, LinkTypes) {
  const Bytes ip = ipv4_tcp(with_ttl(client(0, tcp_flags::kSyn), 61));
  Bytes ether(12, 0xEE);                                            // MACs
  ether.insert(ether.end(), {0x81, 0x00, 0x00, 0x05, 0x08, 0x00});  // VLAN 5, then IPv4
  Bytes null_lo = {0x02, 0x00, 0x00, 0x00};  // AF_INET in little-endian host order
  Bytes sll(16, 0);
  sll[14] = 0x08;  // protocol 0x0800
  for (auto [link, header] : {std::pair{kLinkEthernet, ether}, std::pair{kLinkNull, null_lo},
                              std::pair{kLinkLinuxSll, sll}, std::pair{kLinkIpv4, Bytes{}}}) {
    Bytes data = header;
    data.insert(data.end(), ip.begin(), ip.end());
    auto p = decode_packet(Frame{0, link, data, 0});
    ASSERT_TRUE(p.ok()) << link << ": " << p.error().message;
    EXPECT_EQ(p->src.str(), "10.0.0.1");
    EXPECT_EQ(p->ttl, 61);
    ASSERT_TRUE(p->tcp);
    EXPECT_EQ(p->tcp->flags, tcp_flags::kSyn);
  }
  EXPECT_FALSE(decode_packet(Frame{0, 147, ip, 0}).ok());  // a user link type
  Bytes arp(12, 0);
  arp.insert(arp.end(), {0x08, 0x06, 0x00, 0x01});
  EXPECT_FALSE(decode_packet(Frame{0, kLinkEthernet, arp, 0}).ok());
}

TEST(FlowDecode, Ipv6OverSll2WithHopLimit) {
  // SLL2: protocol 0x86DD, reserved, ifindex 1, ARPHRD_ETHER, outgoing, address length 6.
  Bytes f = {0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0, 1, 4, 6, 0, 0, 0, 0, 0, 0, 0, 0};
  // IPv6: payload 28 (hop-by-hop 8 + TCP 20), next header hop-by-hop (0), hop limit 57.
  Bytes ip6 = {0x60, 0, 0, 0, 0x00, 0x1c, 0x00, 0x39};
  const Bytes src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  // fe80:0:0:0:0:12:0:34 - the lone zero group must stay, the run of four becomes "::".
  const Bytes dst = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0, 0, 0, 0x34};
  ip6.insert(ip6.end(), src.begin(), src.end());
  ip6.insert(ip6.end(), dst.begin(), dst.end());
  ip6.insert(ip6.end(), {6, 0, 1, 4, 0, 0, 0, 0});  // hop-by-hop: next TCP, length 8, PadN
  Bytes tcp = ipv4_tcp(with_ports(client(0, tcp_flags::kRst), 40000, 11001));
  ip6.insert(ip6.end(), tcp.begin() + 20, tcp.end());
  f.insert(f.end(), ip6.begin(), ip6.end());
  auto p = decode_packet(Frame{0, kLinkLinuxSll2, f, 0});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->src.str(), "2001:db8::1");
  EXPECT_EQ(p->dst.str(), "fe80::12:0:34");
  EXPECT_EQ(p->ttl, 57);
  EXPECT_EQ(p->protocol, kProtoTcp);
  ASSERT_TRUE(p->tcp);
  EXPECT_EQ(p->tcp->dst_port, 11001);
  EXPECT_EQ((Endpoint{p->src, 1433}).str(), "[2001:db8::1]:1433");
}

TEST(FlowDecode, IcmpUnreachableQuotesTheTuple) {
  // A router says "host unreachable" (type 3 code 1) about our SYN to 10.0.0.2:1433.
  const Bytes syn = ipv4_tcp(client(7, tcp_flags::kSyn));
  Bytes icmp(20, 0);
  icmp[0] = 0x45;
  icmp[8] = 250;
  icmp[9] = kProtoIcmp;
  std::copy(kRouterIp.begin(), kRouterIp.end(), icmp.begin() + 12);
  std::copy(kClientIp.begin(), kClientIp.end(), icmp.begin() + 16);
  icmp.insert(icmp.end(), {3, 1, 0, 0, 0, 0, 0, 0});
  icmp.insert(icmp.end(), syn.begin(), syn.begin() + 28);  // IP header + 8 transport bytes
  put16(icmp, 2, icmp.size());
  const FlowReport report = reassemble({raw(syn, 1.0), raw(icmp, 1.1)});
  ASSERT_EQ(report.unreachable.size(), 1U);
  const IcmpUnreachable& u = report.unreachable[0];
  EXPECT_EQ(u.reporter.str(), "10.9.9.9");
  EXPECT_EQ(u.type, 3);
  EXPECT_EQ(u.code, 1);
  EXPECT_EQ(u.protocol, kProtoTcp);
  EXPECT_EQ(u.original_src.str(), "10.0.0.1:50000");
  EXPECT_EQ(u.original_dst.str(), "10.0.0.2:1433");
  EXPECT_DOUBLE_EQ(u.timestamp, 1.1);
  EXPECT_EQ(report.sessions.size(), 1U);
}

TEST(FlowReassembly, OutOfOrderAndRetransmittedBytes) {
  using namespace tcp_flags;
  auto c = [](std::uint32_t seq, std::string data) {
    return raw(ipv4_tcp(client(seq, kAck, std::move(data))));
  };
  const std::vector<Frame> frames = {raw(ipv4_tcp(client(1000, kSyn)), 1.0),
                                     raw(ipv4_tcp(server(5000, 1001, kSyn | kAck)), 1.1),
                                     c(1001, "ab"),
                                     c(1005, "ef"),
                                     c(1003, "cd"),
                                     c(1001, "ab"),
                                     c(1002, "bcdefg")};
  const Session s = only_session(frames);
  EXPECT_EQ(text(s.to_server.bytes), "abcdefg");
  EXPECT_EQ(s.to_server.retransmitted, 2U + 5U);
  EXPECT_FALSE(s.to_server.gap);
  EXPECT_TRUE(s.packets[5].retransmission);
  EXPECT_FALSE(s.packets[6].retransmission);
  EXPECT_DOUBLE_EQ(*s.syn_time, 1.0);
  EXPECT_DOUBLE_EQ(*s.syn_ack_time, 1.1);
}

TEST(FlowReassembly, MissingSynPrefersTheSqlPort) {
  // Mid-stream capture; the client's port (1000) is lower than the redirect port 11005.
  Seg from_server = with_ports(server(77, 88, tcp_flags::kAck), 11005, 1000);
  from_server.data = "hi";
  const Seg from_client = with_ports(client(88, tcp_flags::kAck, "yo"), 1000, 11005);
  const Session s = only_session({raw(ipv4_tcp(from_server)), raw(ipv4_tcp(from_client))});
  EXPECT_FALSE(s.client_from_syn);
  EXPECT_EQ(s.server.str(), "10.0.0.2:11005");
  EXPECT_EQ(text(s.to_client.bytes), "hi");
  EXPECT_EQ(text(s.to_server.bytes), "yo");
  EXPECT_FALSE(s.packets[0].from_client);
  // Without a SQL port the lower port is the server.
  Seg a = with_ports(server(1, 1, tcp_flags::kAck), 5000, 40000);
  a.data = "x";
  EXPECT_EQ(only_session({raw(ipv4_tcp(a))}).server.str(), "10.0.0.2:5000");
}

TEST(FlowReassembly, CapAndRstFromAMiddlebox) {
  using namespace tcp_flags;
  const std::vector<Frame> frames = {
      raw(ipv4_tcp(client(0xFFFFFFFD, kSyn))),  // data wraps past 2^32
      raw(ipv4_tcp(client(0xFFFFFFFE, kAck, "0123456789"))),
      raw(ipv4_tcp(server(9, 8, kRst | kAck, 250)), 2.0)};
  const Session s = only_session(frames, FlowOptions{.max_bytes_per_direction = 4});
  EXPECT_EQ(text(s.to_server.bytes), "0123");
  EXPECT_TRUE(s.to_server.capped);
  EXPECT_EQ(s.to_server.delivered, 10U);
  ASSERT_TRUE(s.rst_time && s.rst_from_client && s.rst_ttl);
  EXPECT_FALSE(*s.rst_from_client);
  EXPECT_EQ(*s.rst_ttl, 250);
  EXPECT_DOUBLE_EQ(*s.rst_time, 2.0);
}

TEST(FlowReassembly, GapAndPortReuse) {
  using namespace tcp_flags;
  const std::vector<Frame> frames = {
      raw(ipv4_tcp(client(100, kSyn))),
      raw(ipv4_tcp(client(101, kAck, "ab"))),
      raw(ipv4_tcp(client(110, kAck, "zz"))),  // bytes 103..109 never captured
      raw(ipv4_tcp(client(100, kSyn))),        // a retransmitted SYN: same session
      raw(ipv4_tcp(client(112, kFin | kAck))),
      raw(ipv4_tcp(client(9000, kSyn))),  // a new ISN on the same tuple
      raw(ipv4_tcp(client(9001, kAck, "new")))};
  const FlowReport report = reassemble(frames);
  ASSERT_EQ(report.sessions.size(), 2U);
  EXPECT_EQ(text(report.sessions[0].to_server.bytes), "ab");
  EXPECT_TRUE(report.sessions[0].to_server.gap);
  EXPECT_TRUE(report.sessions[0].fin_from_client.value_or(false));
  EXPECT_EQ(report.sessions[0].packets.size(), 5U);
  EXPECT_EQ(text(report.sessions[1].to_server.bytes), "new");
}

TEST(PcapFile, MutatedInputsNeverCrash) {
  // A cheap deterministic stand-in for the fuzzer: flip bytes of the hand-built pcapng.
  std::uint32_t rng = 12345;
  for (int round = 0; round < 3000; ++round) {
    Bytes mutated = kPcapng;
    for (int flips = 0; flips < 1 + round % 4; ++flips) {
      rng = rng * 1103515245U + 12345U;
      mutated[(rng >> 8) % mutated.size()] = static_cast<std::uint8_t>(rng >> 24);
    }
    auto capture = read_capture(mutated);
    if (!capture.ok()) {
      // Only the magic can be wrong: everything after it is a truncation, not an Error.
      EXPECT_EQ(capture.error().kind, midiag::ErrorKind::Malformed);
      EXPECT_EQ(capture.error().offset, 0U);
      continue;
    }
    if (capture->truncated) {
      EXPECT_NE(capture->message.find("offset"), std::string::npos);
    }
    for (const Frame& frame : capture->frames) {
      EXPECT_LE(frame.data.size(), mutated.size());
    }
    expect_consistent(capture->frames, reassemble(capture->frames));
  }
}

// The decoded payload is a view into the frame's own bytes, not a copy.
TEST(FlowDecode, PayloadIsAViewIntoTheFrame) {
  const Frame f = raw(ipv4_tcp(client(1, tcp_flags::kAck, "hello")));
  const auto p = decode_packet(f);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->payload.size(), 5U);
  EXPECT_EQ(p->payload.data(), f.data.data() + 40);
  EXPECT_EQ(p->payload_length, 5U);
}

// The header shapes around the one-pass TCP decode (IPv4 options, TCP options, a length that is
// 0 or longer than the capture, fragments, IPv6 without extension headers, broken offsets): each
// decodes to what the header says, or to the general path's error.
TEST(FlowDecode, TcpHeaderShapesDecodeAsTheHeadersSay) {
  // IPv4 with 4 bytes of options (IHL 6) and a TCP MSS option (data offset 6): payload after both.
  Bytes opt = ipv4_tcp(client(9, tcp_flags::kSyn, "ab"));
  opt.insert(opt.begin() + 20, {1, 1, 1, 0});  // NOP NOP NOP EOL
  opt[0] = 0x46;
  opt.insert(opt.begin() + 44, {2, 4, 0x05, 0xB4});  // MSS 1460
  opt[36] = 0x60;
  put16(opt, 2, opt.size());
  // The decoded payload views the frame's bytes: the frame outlives every read of it.
  Frame f = raw(opt);
  auto p = decode_packet(f);
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_TRUE(p->tcp && p->tcp->mss);
  EXPECT_EQ(*p->tcp->mss, 1460);
  EXPECT_EQ(p->tcp->seq, 9U);
  EXPECT_EQ(p->tcp->dst_port, 1433);
  EXPECT_EQ(text(Bytes(p->payload.begin(), p->payload.end())), "ab");

  // Total length 0 (segmentation offload): the captured size counts; longer than captured: the
  // missing bytes count on the wire.
  Bytes tso = ipv4_tcp(client(1, tcp_flags::kAck, "hello"));
  put16(tso, 2, 0);
  f = raw(tso);
  p = decode_packet(f);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->payload.size(), 5U);
  EXPECT_EQ(p->payload_length, 5U);
  Bytes cut = ipv4_tcp(client(1, tcp_flags::kAck, "hello"));
  put16(cut, 2, 1500);
  f = raw(cut);
  p = decode_packet(f);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->payload.size(), 5U);
  EXPECT_EQ(p->payload_length, 1460U);
  EXPECT_FALSE(p->icmp_unreachable || p->udp);

  // A later fragment carries no TCP header; a data offset past the segment is malformed.
  Bytes frag = ipv4_tcp(client(1, tcp_flags::kAck, "hello"));
  put16(frag, 6, 0x0010);
  EXPECT_FALSE(decode_packet(raw(frag)).ok());
  Bytes bad = ipv4_tcp(client(1, tcp_flags::kAck));
  bad[32] = 0xF0;  // 60 bytes of TCP header in a 20-byte segment
  f = raw(bad);
  p = decode_packet(f);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().kind, midiag::ErrorKind::Malformed);
  EXPECT_EQ(p.error().offset, 32U);

  // IPv6, TCP right after the fixed header; the addresses fill all 16 bytes.
  const Bytes tcp = ipv4_tcp(with_ports(client(5, tcp_flags::kAck, "xyz"), 40000, 1433));
  Bytes ip6 = {0x60, 0, 0, 0, 0, static_cast<std::uint8_t>(tcp.size() - 20), kProtoTcp, 52};
  for (std::uint8_t i = 0; i < 32; ++i) ip6.push_back(static_cast<std::uint8_t>(0x20 + i));
  ip6.insert(ip6.end(), tcp.begin() + 20, tcp.end());
  f = raw(ip6);
  p = decode_packet(f);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->src.family, 6);
  EXPECT_EQ(p->src.str(), "2021:2223:2425:2627:2829:2a2b:2c2d:2e2f");
  EXPECT_EQ(p->dst.str(), "3031:3233:3435:3637:3839:3a3b:3c3d:3e3f");
  EXPECT_EQ(p->ttl, 52);
  ASSERT_TRUE(p->tcp);
  EXPECT_EQ(p->tcp->src_port, 40000);
  EXPECT_EQ(p->payload_length, 3U);
  // An IPv4 address leaves the other 12 bytes zero (connections are keyed on all 16).
  f = raw(ipv4_tcp(client(1, tcp_flags::kAck)));
  p = decode_packet(f);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->src, (Address{4, {10, 0, 0, 1}}));
}

// Past max_sessions each further connection is counted once however many packets it sends, and
// the kept ones still get their packets through the hashed index.
TEST(FlowReassembly, ConnectionsOverTheLimitAreCounted) {
  using namespace tcp_flags;
  std::vector<Frame> frames;
  for (std::uint16_t port = 40000; port < 40010; ++port)
    for (std::uint32_t i = 0; i < 3; ++i)
      frames.push_back(
          raw(ipv4_tcp(with_ports(client(100 + i, i == 0 ? kSyn : kAck), port, 1433))));
  const FlowReport r = reassemble(frames, FlowOptions{.max_sessions = 4});
  ASSERT_EQ(r.sessions.size(), 4U);
  for (const Session& s : r.sessions) EXPECT_EQ(s.packet_count, 3U);
  EXPECT_EQ(r.sessions_over_limit, 18U);  // packets of the 6 not kept
  EXPECT_EQ(r.connections_over_limit, 6U);
  EXPECT_FALSE(r.connections_over_limit_estimated);
}

// The total budget stops keeping bytes once spent, says so, and never lets the kept bytes of all
// connections pass it; waiting out-of-order segments count against the per-direction cap with
// their overhead.
TEST(FlowReassembly, TotalBudgetBoundsKeptBytes) {
  using namespace tcp_flags;
  const std::string block(1000, 'x');
  std::vector<Frame> frames;
  for (std::uint16_t port = 40000; port < 40004; ++port) {
    frames.push_back(raw(ipv4_tcp(with_ports(client(0, kSyn), port, 1433))));
    for (std::uint32_t k = 0; k < 3; ++k)
      frames.push_back(raw(ipv4_tcp(with_ports(client(1 + k * 1000, kAck, block), port, 1433))));
  }
  FlowOptions o;
  o.max_bytes_per_direction = 4096;
  o.max_bytes_total = 6000;
  const FlowReport r = reassemble(frames, o);
  ASSERT_EQ(r.sessions.size(), 4U);
  std::size_t kept = 0;
  for (const Session& s : r.sessions) {
    kept += s.to_server.bytes.capacity();
    EXPECT_EQ(s.to_server.delivered, 3000U);
  }
  EXPECT_LE(kept, 6000U);
  EXPECT_EQ(r.sessions[0].to_server.bytes.size(), 3000U);
  EXPECT_FALSE(r.sessions[0].to_server.capped);
  EXPECT_TRUE(r.sessions[3].to_server.capped);
  EXPECT_GE(r.directions_cut_by_budget, 1U);

  // Out of order: 40 waiting segments of 100 bytes cost 40 x (100 + kPendingOverhead), more than
  // a 4 KiB cap, so some are dropped and the stream reports the gap.
  std::vector<Frame> waiting = {raw(ipv4_tcp(client(0, kSyn)))};
  for (std::uint32_t k = 0; k < 40; ++k)
    waiting.push_back(raw(ipv4_tcp(client(1001 + k * 100, kAck, std::string(100, 'y')))));
  const Session s = only_session(waiting, FlowOptions{.max_bytes_per_direction = 4096});
  EXPECT_TRUE(s.to_server.gap);
  EXPECT_TRUE(s.to_server.bytes.empty());
}
