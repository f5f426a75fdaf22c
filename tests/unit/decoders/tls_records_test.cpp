#include "decoders/tls/records.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using namespace midiag::tls;

namespace {

using Bytes = std::vector<std::uint8_t>;

// Hand-built TLS 1.2 ClientHello (RFC 5246 7.4.1.2) with SNI, ALPN "tds/8.0" and
// supported_versions {TLS 1.3, TLS 1.2}, in one record.
const Bytes kClientHello = {
    0x16, 0x03, 0x01, 0x00, 0x71,  // 0: record: handshake, legacy 0x0301, length 113
    0x01, 0x00, 0x00, 0x6d,        // 5: ClientHello, body length 109
    0x03, 0x03,                    // 9: legacy_version TLS 1.2
    // 11: random (32 bytes, arbitrary)
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x00,                                // 43: empty session id
    0x00, 0x04, 0xc0, 0x2f, 0xc0, 0x30,  // 44: cipher suites ECDHE-RSA-AES128/256-GCM
    0x01, 0x00,                          // 50: one compression method: null
    0x00, 0x40,                          // 52: extensions length 64
    // 54: server_name (0), ext length 37, list length 35, host_name (0), name length 32
    0x00, 0x00, 0x00, 0x25, 0x00, 0x23, 0x00, 0x00, 0x20, 'm', 'i', '1', '.', 's', 'i', 'm', '0',
    '0', '0', '1', '.', 'd', 'a', 't', 'a', 'b', 'a', 's', 'e', '.', 'w', 'i', 'n', 'd', 'o', 'w',
    's', '.', 'n', 'e', 't',
    // 95: ALPN (16), ext length 10, list length 8, "tds/8.0"
    0x00, 0x10, 0x00, 0x0a, 0x00, 0x08, 0x07, 't', 'd', 's', '/', '8', '.', '0',
    // 109: supported_versions (43), ext length 5, list length 4, TLS 1.3, TLS 1.2
    0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03};

// Hand-built TLS 1.3-style ServerHello (RFC 8446 4.1.3): legacy 0x0303, supported_versions 0x0304.
const Bytes kServerHello13 = {
    0x16, 0x03, 0x03, 0x00, 0x32,  // 0: record: handshake, length 50
    0x02, 0x00, 0x00, 0x2e,        // 5: ServerHello, body length 46
    0x03, 0x03,                    // 9: legacy_version
    // 11: random (32 bytes, arbitrary)
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
    0x00,                                 // 43: empty session id
    0x13, 0x01,                           // 44: TLS_AES_128_GCM_SHA256
    0x00,                                 // 46: null compression
    0x00, 0x06,                           // 47: extensions length 6
    0x00, 0x2b, 0x00, 0x02, 0x03, 0x04};  // 49: supported_versions: selected TLS 1.3

// A TLS 1.2 Certificate (two fake DER blobs) split across two records; the second record also
// carries a ServerHelloDone, so one record holds the end of one message and a whole other one.
const Bytes kCertificateSplit = {
    0x16, 0x03, 0x03, 0x00, 0x0a,  // 0: record 1: handshake, length 10
    0x0b, 0x00, 0x00, 0x12,        // 5: Certificate, body length 18
    0x00, 0x00, 0x0f,              // 9: certificate_list length 15
    0x00, 0x00, 0x05,              // 12: cert 1 length 5 (record 1 ends here)
    0x16, 0x03, 0x03, 0x00, 0x10,  // 15: record 2: handshake, length 16
    0x30, 0x03, 0x02, 0x01, 0x05,  // 20: cert 1 DER: SEQUENCE { INTEGER 5 }
    0x00, 0x00, 0x04,              // 25: cert 2 length 4
    0x30, 0x02, 0x05, 0x00,        // 28: cert 2 DER: SEQUENCE { NULL }
    0x0e, 0x00, 0x00, 0x00};       // 32: ServerHelloDone, empty body

// A cleartext fatal handshake_failure alert (RFC 5246 7.2): level 2, description 40.
const Bytes kAlert = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};

// ChangeCipherSpec (one byte 0x01).
const Bytes kChangeCipherSpec = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};

Bytes concat(std::initializer_list<const Bytes*> parts) {
  Bytes out;
  for (const Bytes* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

std::vector<Record> records_of(const Bytes& stream) {
  auto split = split_records(stream);
  EXPECT_TRUE(split.ok()) << (split.ok() ? "" : split.error().message);
  if (!split.ok()) return {};
  EXPECT_EQ(split->consumed, stream.size());
  return split->records;
}

}  // namespace

TEST(TlsRecords, ParsesClientHelloSniAlpnVersions) {
  const auto records = records_of(kClientHello);
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].content_type, 22);
  EXPECT_EQ(records[0].version, 0x0301);
  auto summary = summarize_handshake(records);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_TRUE(summary->client_hello.has_value());
  const ClientHello& hello = *summary->client_hello;
  EXPECT_EQ(hello.legacy_version, 0x0303);
  EXPECT_EQ(hello.sni, "mi1.sim0001.database.windows.net");
  EXPECT_EQ(hello.alpn, std::vector<std::string>{"tds/8.0"});
  EXPECT_EQ(hello.supported_versions, (std::vector<std::uint16_t>{0x0304, 0x0303}));
  EXPECT_EQ(hello.cipher_suites, (std::vector<std::uint16_t>{0xc02f, 0xc030}));
  EXPECT_EQ(summary->handshake_types, std::vector<std::uint8_t>{1});
  EXPECT_EQ(summary->records, 1U);
}

TEST(TlsRecords, ServerHelloSelectedVersionWins) {
  auto summary = summarize_handshake(records_of(kServerHello13));
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_TRUE(summary->server_hello.has_value());
  EXPECT_EQ(summary->server_hello->legacy_version, 0x0303);
  EXPECT_EQ(summary->server_hello->selected_version, 0x0304);
  EXPECT_EQ(summary->server_hello->negotiated_version(), 0x0304);
  EXPECT_EQ(summary->server_hello->cipher_suite, 0x1301);
  EXPECT_EQ(version_name(summary->server_hello->negotiated_version()), "TLSv1.3");
}

TEST(TlsRecords, CertificateSpanningTwoRecords) {
  const auto records = records_of(kCertificateSplit);
  ASSERT_EQ(records.size(), 2U);
  auto summary = summarize_handshake(records);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->handshake_types, (std::vector<std::uint8_t>{11, 14}));
  ASSERT_EQ(summary->certificates.size(), 2U);
  EXPECT_EQ(summary->certificates[0], (Bytes{0x30, 0x03, 0x02, 0x01, 0x05}));
  EXPECT_EQ(summary->certificates[1], (Bytes{0x30, 0x02, 0x05, 0x00}));
}

TEST(TlsRecords, CleartextAlert) {
  auto summary = summarize_handshake(records_of(kAlert));
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(summary->alerts.size(), 1U);
  EXPECT_EQ(summary->alerts[0].level, 2);
  EXPECT_EQ(summary->alerts[0].description, 40);
}

TEST(TlsRecords, HandshakeAfterChangeCipherSpecIsOnlyCounted) {
  // The ServerHello bytes after CCS stand in for an encrypted Finished: they must not be parsed.
  const Bytes stream = concat({&kClientHello, &kChangeCipherSpec, &kServerHello13});
  auto summary = summarize_handshake(records_of(stream));
  ASSERT_TRUE(summary.ok());
  EXPECT_TRUE(summary->saw_change_cipher_spec);
  EXPECT_FALSE(summary->server_hello.has_value());
  EXPECT_EQ(summary->handshake_types, std::vector<std::uint8_t>{1});
  EXPECT_EQ(summary->records, 3U);
}

TEST(TlsRecords, WalkerKeepsDirectionsApart) {
  HandshakeWalker walker;
  for (const auto& r : records_of(concat({&kClientHello, &kChangeCipherSpec}))) {
    EXPECT_FALSE(walker.feed(r, Direction::ClientToServer).has_value());
  }
  for (const auto& r : records_of(concat({&kServerHello13, &kCertificateSplit}))) {
    EXPECT_FALSE(walker.feed(r, Direction::ServerToClient).has_value());
  }
  EXPECT_TRUE(walker.summary().server_hello.has_value());
  EXPECT_EQ(walker.summary().certificates.size(), 2U);
}

TEST(TlsRecords, ImpossibleHeadersAreErrors) {
  const Bytes unknown_type = {0x63, 0x03, 0x03, 0x00, 0x01, 0x00};  // content type 99
  auto bad_type = split_records(concat({&kAlert, &unknown_type}));
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.error().message.find("offset 7"), std::string::npos);
  auto too_long = split_records(Bytes{0x17, 0x03, 0x03, 0x48, 0x01});
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("offset 0"), std::string::npos);
}

TEST(TlsRecords, MalformedHelloIsAnError) {
  Bytes hello = kClientHello;
  hello[53] = 0x41;  // extensions length one past the end of the body
  auto summary = summarize_handshake(records_of(hello));
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.error().message.find("ClientHello"), std::string::npos);
}

TEST(TlsRecords, EveryTruncationIsSafe) {
  const Bytes stream =
      concat({&kClientHello, &kServerHello13, &kCertificateSplit, &kAlert, &kChangeCipherSpec});
  for (std::size_t n = 0; n <= stream.size(); ++n) {
    const std::span<const std::uint8_t> cut(stream.data(), n);
    auto split = split_records(cut);
    ASSERT_TRUE(split.ok()) << "at " << n;  // a cut never forges an impossible header here
    EXPECT_LE(split->consumed, n);
    const auto summary = summarize_handshake(split->records);
    if (summary.ok()) {
      EXPECT_EQ(summary->records, split->records.size());
    } else {
      EXPECT_EQ(summary.error().kind, midiag::ErrorKind::Malformed) << "at " << n;
      EXPECT_LE(summary.error().offset, n) << summary.error().message;
    }
  }
  // Shorten the ClientHello body inside a consistent record: an Error or a partial hello.
  for (std::size_t body = 0; body < 109; ++body) {
    Bytes cut(kClientHello.begin(), kClientHello.begin() + 9 + static_cast<std::ptrdiff_t>(body));
    cut[3] = static_cast<std::uint8_t>((body + 4) >> 8);
    cut[4] = static_cast<std::uint8_t>(body + 4);
    cut[7] = static_cast<std::uint8_t>(body >> 8);
    cut[8] = static_cast<std::uint8_t>(body);
    auto summary = summarize_handshake(records_of(cut));
    if (summary.ok()) {
      EXPECT_TRUE(summary->client_hello.has_value()) << "at " << body;
    }
  }
}

TEST(TlsRecords, VersionNames) {
  EXPECT_EQ(version_name(0x0300), "SSLv3");
  EXPECT_EQ(version_name(0x0301), "TLSv1.0");
  EXPECT_EQ(version_name(0x0302), "TLSv1.1");
  EXPECT_EQ(version_name(0x0303), "TLSv1.2");
  EXPECT_EQ(version_name(0x0304), "TLSv1.3");
  EXPECT_EQ(version_name(0x7f1c), "0x7f1c");
}
