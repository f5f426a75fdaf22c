// Every decoder reports bad bytes the same way: ErrorKind::Malformed and the offset where
// decoding failed, which always lies inside the input it was given.
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "decoders/common/expected.h"
#include "decoders/dns/message.h"
#include "decoders/pcap/flows.h"
#include "decoders/pcap/pcap_file.h"
#include "decoders/tds/login7.h"
#include "decoders/tds/packet.h"
#include "decoders/tds/prelogin.h"
#include "decoders/tds/tokens.h"
#include "decoders/tls/records.h"

namespace midiag {
namespace {

using Bytes = std::vector<std::uint8_t>;

// The kind and offset every decoder error for bad bytes must carry.
void expect_malformed_at(const Error& e, std::size_t offset, std::size_t size) {
  EXPECT_EQ(e.kind, ErrorKind::Malformed) << e.message;
  EXPECT_EQ(e.offset, offset) << e.message;
  EXPECT_LE(e.offset, size) << e.message;
}

// Feeds every proper prefix of `whole` to `parse`; each error must be Malformed and point
// inside the prefix. Returns how many prefixes were errors, so a test can insist on some.
template <typename Parse>
std::size_t every_cut_is_malformed(const Bytes& whole, Parse parse) {
  std::size_t errors = 0;
  for (std::size_t n = 0; n < whole.size(); ++n) {
    const auto result = parse(std::span<const std::uint8_t>(whole.data(), n));
    if (result) continue;
    ++errors;
    EXPECT_EQ(result.error().kind, ErrorKind::Malformed) << "cut at " << n;
    EXPECT_LE(result.error().offset, n) << "cut at " << n << ": " << result.error().message;
  }
  return errors;
}

// --- TDS -------------------------------------------------------------------------------------

// A PRELOGIN option table cut after the VERSION token: the entry's offset field is missing.
const Bytes kPreloginCutEntry = {
    0x00,        // 0: VERSION token
    0x00, 0x1A,  // 1: offset 26 (big-endian), then the length field is missing
};

// VERSION claims 6 bytes at offset 6 of a 10-byte payload.
const Bytes kPreloginDataPastEnd = {
    0x00, 0x00, 0x06, 0x00, 0x06,  // 0: VERSION at 6, 6 bytes
    0xFF,                          // 5: terminator
    0x10, 0x00, 0x10, 0x09,        // 6: only 4 of the 6 version bytes
};

TEST(MalformedErrors, PreloginCutInsideTheTable) {
  const auto p = tds::parse_prelogin(kPreloginCutEntry);
  ASSERT_FALSE(p);
  expect_malformed_at(p.error(), 3, kPreloginCutEntry.size());  // the length field would start
}

TEST(MalformedErrors, PreloginOptionPastThePayloadNamesItsEntry) {
  const auto p = tds::parse_prelogin(kPreloginDataPastEnd);
  ASSERT_FALSE(p);
  expect_malformed_at(p.error(), 0, kPreloginDataPastEnd.size());
}

TEST(MalformedErrors, PreloginEveryCut) {
  tds::Prelogin p;
  p.version = tds::Version{16, 0, 4105, 0, {}};
  p.encryption = tds::Encryption::On;
  p.mars = false;
  p.nonce = Bytes(32, 0xAB);
  const Bytes whole = tds::build_prelogin(p);
  ASSERT_TRUE(tds::parse_prelogin(whole));
  EXPECT_EQ(every_cut_is_malformed(whole, tds::parse_prelogin), whole.size());
}

// A DONE token with 3 of its 12 body bytes.
const Bytes kDoneCut = {
    0xFD,              // 0: DONE
    0x10, 0x00, 0xC1,  // 1: status, then half of curcmd; row count missing
};

// An INFO token whose length (u16 LE 0x0010) is more than the payload holds.
const Bytes kInfoLengthTooLong = {
    0xAB,        // 0: INFO
    0x10, 0x00,  // 1: length 16
    0x00, 0x00,  // 3: two bytes of body
};

// COLMETADATA cannot be skipped: decoding stops at the token itself.
const Bytes kUnskippable = {0x81, 0x00, 0x00};

TEST(MalformedErrors, TruncatedTokens) {
  auto done = tds::parse_tokens(kDoneCut);
  ASSERT_FALSE(done);
  expect_malformed_at(done.error(), 1, kDoneCut.size());

  auto info = tds::parse_tokens(kInfoLengthTooLong);
  ASSERT_FALSE(info);
  expect_malformed_at(info.error(), 3, kInfoLengthTooLong.size());

  auto meta = tds::parse_tokens(kUnskippable);
  ASSERT_FALSE(meta);
  expect_malformed_at(meta.error(), 0, kUnskippable.size());
}

TEST(MalformedErrors, TokensEveryCut) {
  tds::ServerMessage m;
  m.is_error = true;
  m.number = 18456;
  m.state = 1;
  m.severity = 14;
  m.message = "Login failed for user 'x'.";
  m.server_name = "node";
  m.line = 1;
  Bytes whole = tds::build_server_message(m);
  const Bytes done = tds::build_done(tds::Done{});
  whole.insert(whole.end(), done.begin(), done.end());
  ASSERT_TRUE(tds::parse_tokens(whole));
  // Only the empty payload and the cut between the two tokens are whole token streams.
  EXPECT_EQ(every_cut_is_malformed(whole, tds::parse_tokens), whole.size() - 2);
}

TEST(MalformedErrors, Login7AndPacketHeader) {
  const Bytes short_login(40, 0);
  auto login = tds::parse_login7(short_login);
  ASSERT_FALSE(login);
  expect_malformed_at(login.error(), 0, short_login.size());

  const Bytes header = {0x04, 0x01, 0x00, 0x07, 0x00, 0x00, 0x01, 0x00};  // length 7 < 8
  auto h = tds::parse_header(header);
  ASSERT_FALSE(h);
  expect_malformed_at(h.error(), 2, header.size());
}

// --- TLS -------------------------------------------------------------------------------------

// A whole alert record, then a record header with content type 0x63 (not TLS) at offset 7.
const Bytes kAlertThenJunk = {
    0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28,  // 0: alert record: fatal handshake_failure
    0x63, 0x03, 0x03, 0x00, 0x00,              // 7: unknown content type
};

// A handshake record holding a Certificate message whose one certificate claims 5 bytes while
// the list has room for only 1.
const Bytes kCertificateOverrun = {
    0x16, 0x03, 0x03, 0x00, 0x0B,  // 0: record: handshake, 11 bytes
    0x0B, 0x00, 0x00, 0x07,        // 5: Certificate, body 7 bytes (handshake byte 0)
    0x00, 0x00, 0x04,              // 9: certificate_list length 4 (body byte 0)
    0x00, 0x00, 0x05,              // 12: certificate length 5 (body byte 3)
    0x30,                          // 15: the only byte there is (body byte 6)
};

TEST(MalformedErrors, TlsRecordHeaderNamesItsStreamOffset) {
  auto split = tls::split_records(kAlertThenJunk);
  ASSERT_FALSE(split);
  expect_malformed_at(split.error(), 7, kAlertThenJunk.size());
}

TEST(MalformedErrors, TlsTruncatedCertificateList) {
  auto split = tls::split_records(kCertificateOverrun);
  ASSERT_TRUE(split) << split.error().message;
  auto summary = tls::summarize_handshake(split->records);
  ASSERT_FALSE(summary);
  // Handshake stream: 4-byte message header, then the body; the failed read is body byte 6.
  expect_malformed_at(summary.error(), 4 + 6, kCertificateOverrun.size() - 5);
  EXPECT_NE(summary.error().message.find("message byte 6"), std::string::npos)
      << summary.error().message;
}

// --- pcap ------------------------------------------------------------------------------------

TEST(MalformedErrors, PcapNotACapture) {
  const Bytes three = {0xD4, 0xC3, 0xB2};
  auto short_file = pcap::read_capture(three);
  ASSERT_FALSE(short_file);
  expect_malformed_at(short_file.error(), 0, three.size());

  const Bytes text = {'G', 'E', 'T', ' ', '/'};
  auto not_pcap = pcap::read_capture(text);
  ASSERT_FALSE(not_pcap);
  expect_malformed_at(not_pcap.error(), 0, text.size());
}

// An Ethernet frame cut inside its type field.
const Bytes kEthernetCut = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55,  // 0: destination MAC
    0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB,  // 6: source MAC
    0x08,                                // 12: half of the ethertype
};

// Ethernet + IPv4 + a TCP header cut after its sequence number.
const Bytes kTcpCut = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB,  // 0: MACs
    0x08, 0x00,                                                              // 12: IPv4
    0x45, 0x00, 0x00, 0x1C,  // 14: version 4, IHL 5, total length 28
    0x00, 0x00, 0x40, 0x00,  // 18: id, don't fragment
    0x40, 0x06, 0x00, 0x00,  // 22: TTL 64, TCP, checksum
    10,   0,    0,    1,     // 26: source
    10,   0,    0,    2,     // 30: destination
    0xC0, 0x00, 0x05, 0x99,  // 34: ports 49152 -> 1433
    0x00, 0x00, 0x00, 0x01,  // 38: sequence number; the rest of the header is missing
};

TEST(MalformedErrors, PcapTruncatedHeaders) {
  pcap::Frame ethernet{0, pcap::kLinkEthernet, kEthernetCut, 13};
  auto link = pcap::decode_packet(ethernet);
  ASSERT_FALSE(link);
  expect_malformed_at(link.error(), 12, kEthernetCut.size());

  pcap::Frame tcp{0, pcap::kLinkEthernet, kTcpCut, 42};
  auto packet = pcap::decode_packet(tcp);
  ASSERT_FALSE(packet);
  expect_malformed_at(packet.error(), 42, kTcpCut.size());  // the ack number would start here
}

TEST(MalformedErrors, PcapIpv4HeaderCut) {
  // Raw IP: a 20-byte header announced, 12 bytes captured.
  const Bytes cut = {0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00};
  pcap::Frame frame{0, pcap::kLinkRaw, cut, 40};
  auto packet = pcap::decode_packet(frame);
  ASSERT_FALSE(packet);
  expect_malformed_at(packet.error(), 12, cut.size());  // the source address would start here
}

// --- DNS -------------------------------------------------------------------------------------

// A response to "a." A IN with one answer through a compression pointer.
const Bytes kDnsAnswer = {
    0x12, 0x34, 0x81, 0x80,  // 0: id, flags: response, RD, RA, NOERROR
    0x00, 0x01, 0x00, 0x01,  // 4: one question, one answer
    0x00, 0x00, 0x00, 0x00,  // 8: no authority, no additional
    0x01, 'a',  0x00,        // 12: "a."
    0x00, 0x01, 0x00, 0x01,  // 15: A IN
    0xC0, 0x0C,              // 19: pointer to offset 12
    0x00, 0x01, 0x00, 0x01,  // 21: A IN
    0x00, 0x00, 0x00, 0x3C,  // 25: TTL 60
    0x00, 0x04,              // 29: rdlength 4
    10,   0,    0,    7,     // 31: 10.0.0.7
};

TEST(MalformedErrors, DnsEveryCut) {
  ASSERT_TRUE(dns::parse_message(kDnsAnswer));
  EXPECT_EQ(every_cut_is_malformed(kDnsAnswer, dns::parse_message), kDnsAnswer.size());
  auto header = dns::parse_message(std::span(kDnsAnswer).first(5));
  ASSERT_FALSE(header);
  expect_malformed_at(header.error(), 0, 5);
  auto rdata = dns::parse_message(std::span(kDnsAnswer).first(33));
  ASSERT_FALSE(rdata);
  expect_malformed_at(rdata.error(), 31, 33);  // where the record data starts
}

}  // namespace
}  // namespace midiag
