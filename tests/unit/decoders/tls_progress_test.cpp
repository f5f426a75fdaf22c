// Where a TLS handshake stream stops: whole messages, the one cut off, and garbage. Vectors are
// built here byte by byte from RFC 5246 §6.2 / §7.4 framing (record: type, version, u16
// length; handshake: type, u24 length) so each cut point is exact.
#include "decoders/tls/progress.h"

#include <gtest/gtest.h>

namespace {

using midiag::tls::handshake_progress;
using midiag::tls::handshake_type_name;
using Bytes = std::vector<std::uint8_t>;

// Built by resize-and-index: g++ 12 warns falsely (-Warray-bounds) on insert after a braced init.
Bytes record(std::uint8_t type, const Bytes& fragment) {
  Bytes r(5 + fragment.size());
  r[0] = type;
  r[1] = 0x03;
  r[2] = 0x03;
  r[3] = static_cast<std::uint8_t>(fragment.size() >> 8);
  r[4] = static_cast<std::uint8_t>(fragment.size() & 0xFF);
  std::copy(fragment.begin(), fragment.end(), r.begin() + 5);
  return r;
}

Bytes handshake(std::uint8_t type, std::size_t body_len, std::uint8_t fill = 0xAB) {
  Bytes h(4 + body_len, fill);
  h[0] = type;
  h[1] = static_cast<std::uint8_t>(body_len >> 16);
  h[2] = static_cast<std::uint8_t>(body_len >> 8);
  h[3] = static_cast<std::uint8_t>(body_len);
  return h;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes prefix(const Bytes& b, std::size_t n) {
  return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
}

// A TLS 1.2 server flight as SQL Server sends it inside TDS: one record holding ServerHello
// (38-byte body), Certificate (1830), ServerKeyExchange (147) and ServerHelloDone (0).
const Bytes kFlight12 =
    record(22, cat({handshake(2, 38), handshake(11, 1830), handshake(12, 147), handshake(14, 0)}));

TEST(TlsProgress, WholeFlightIsCompleteWithEveryMessageInOrder) {
  auto p = handshake_progress(kFlight12);
  EXPECT_TRUE(p.complete());
  EXPECT_EQ(p.messages, (std::vector<std::uint8_t>{2, 11, 12, 14}));
  EXPECT_TRUE(p.saw(14));
  EXPECT_FALSE(p.encrypted);
  EXPECT_EQ(p.describe(), "ServerHello, Certificate, ServerKeyExchange, ServerHelloDone");
}

TEST(TlsProgress, FlightCutInsideTheCertificateSaysHowMuchCame) {
  // 5 record header + 42 ServerHello + 4 Certificate header + 608 of its 1830 body bytes.
  auto p = handshake_progress(prefix(kFlight12, 5 + 42 + 4 + 608));
  EXPECT_FALSE(p.complete());
  EXPECT_EQ(p.messages, (std::vector<std::uint8_t>{2}));
  ASSERT_TRUE(p.cut_type);
  EXPECT_EQ(*p.cut_type, 11);
  EXPECT_EQ(p.cut_expected, 1830u);
  EXPECT_EQ(p.cut_received, 608u);
  EXPECT_TRUE(p.record_cut);
  EXPECT_EQ(p.record_expected, kFlight12.size() - 5);
  EXPECT_EQ(p.record_received, 42u + 4 + 608);
  EXPECT_EQ(p.describe(), "ServerHello, then Certificate cut off (608 of 1830 bytes)");
}

TEST(TlsProgress, MessagesSplitAcrossRecordsAreJoined) {
  // The same messages, the Certificate split over two records: nothing is cut.
  const Bytes cert = handshake(11, 100);
  const Bytes stream =
      cat({record(22, handshake(2, 38)), record(22, prefix(cert, 30)),
           record(22, Bytes(cert.begin() + 30, cert.end())), record(22, handshake(14, 0))});
  auto p = handshake_progress(stream);
  EXPECT_TRUE(p.complete()) << p.describe();
  EXPECT_EQ(p.messages, (std::vector<std::uint8_t>{2, 11, 14}));
  // Cut after the first half of the Certificate: the message, not the record, is cut.
  auto q = handshake_progress(prefix(stream, 5 + 42 + 5 + 30));
  ASSERT_TRUE(q.cut_type);
  EXPECT_EQ(q.cut_received, 26u);
  EXPECT_FALSE(q.record_cut);
}

TEST(TlsProgress, EveryPrefixIsDescribedWithoutReadingPastTheEnd) {
  for (std::size_t n = 0; n <= kFlight12.size(); ++n) {
    auto p = handshake_progress(prefix(kFlight12, n));
    EXPECT_EQ(p.bytes, n);
    EXPECT_FALSE(p.describe().empty());
    EXPECT_EQ(p.complete(), n == 0 || n == kFlight12.size()) << n;
    EXPECT_FALSE(p.not_tls) << n;
  }
  EXPECT_EQ(handshake_progress({}).describe(), "nothing");
}

TEST(TlsProgress, AfterChangeCipherSpecTheRestIsEncrypted) {
  // TLS 1.3 shape: ServerHello, ChangeCipherSpec, then application-data records.
  const Bytes stream =
      cat({record(22, handshake(2, 38)), record(20, {0x01}), record(23, Bytes(200, 0x5A))});
  auto p = handshake_progress(stream);
  EXPECT_TRUE(p.encrypted);
  EXPECT_EQ(p.messages, (std::vector<std::uint8_t>{2}));
  auto cut = handshake_progress(prefix(stream, stream.size() - 100));
  EXPECT_TRUE(cut.record_cut);
  EXPECT_EQ(cut.record_received, 100u);
  EXPECT_EQ(cut.describe(),
            "ServerHello, then encrypted records, then a record cut off (100 of 200 bytes)");
  // Cut inside the next record's header: said as such, not as "0 of 0 bytes".
  auto in_header = handshake_progress(prefix(kFlight12, 0));
  const Bytes two_records = cat({record(22, handshake(2, 38)), record(22, handshake(14, 0))});
  auto h = handshake_progress(prefix(two_records, 47 + 3));
  EXPECT_TRUE(h.record_cut);
  EXPECT_EQ(h.describe(), "ServerHello, then a record header cut off (3 of 5 bytes)");
  EXPECT_EQ(in_header.describe(), "nothing");
}

TEST(TlsProgress, GarbageEndsTheWalkAndIsNamed) {
  const Bytes http = {'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ', '4', '0', '0'};
  auto p = handshake_progress(http);
  ASSERT_TRUE(p.not_tls);
  EXPECT_EQ(p.describe(), "not TLS: TLS record with unknown content type 72 at byte 0");
  // Valid records, then garbage: what came before is kept.
  auto q = handshake_progress(cat({record(22, handshake(2, 38)), http}));
  EXPECT_EQ(q.messages, (std::vector<std::uint8_t>{2}));
  EXPECT_NE(q.describe().find(
                "ServerHello; then not TLS: TLS record with unknown content type 72 at byte 47"),
            std::string::npos)
      << q.describe();
  // A record length past the protocol's limit is not TLS either.
  EXPECT_TRUE(handshake_progress(Bytes{0x16, 0x03, 0x03, 0xFF, 0xFF}).not_tls);
}

TEST(TlsProgress, TypeNames) {
  EXPECT_EQ(handshake_type_name(1), "ClientHello");
  EXPECT_EQ(handshake_type_name(11), "Certificate");
  EXPECT_EQ(handshake_type_name(99), "handshake type 99");
}

}  // namespace
