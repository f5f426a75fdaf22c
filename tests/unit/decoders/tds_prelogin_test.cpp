#include "decoders/tds/prelogin.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using namespace midiag::tds;

namespace {

// MS-TDS 4.1 "Pre-Login Request", packet data after the 8-byte header.
const std::vector<std::uint8_t> kMsTdsPreloginRequest = {
    0x00, 0x00, 0x1A, 0x00, 0x06,        // 0: VERSION at 26, 6 bytes
    0x01, 0x00, 0x20, 0x00, 0x01,        // 5: ENCRYPTION at 32, 1 byte
    0x02, 0x00, 0x21, 0x00, 0x01,        // 10: INSTOPT at 33, 1 byte
    0x03, 0x00, 0x22, 0x00, 0x04,        // 15: THREADID at 34, 4 bytes
    0x04, 0x00, 0x26, 0x00, 0x01,        // 20: MARS at 38, 1 byte
    0xFF,                                // 25: terminator
    0x09, 0x00, 0x00, 0x00, 0x00, 0x00,  // 26: version 9.0.0.0
    0x01,                                // 32: ENCRYPT_ON
    0x00,                                // 33: instance "" (just the NUL)
    0xB8, 0x0D, 0x00, 0x00,              // 34: thread id 3512, little-endian
    0x01};                               // 38: MARS on

// Gateway answer, frame 6 of fixtures/pcap/tedious-redirect-plain.pcap (server 16.0.4105).
const std::vector<std::uint8_t> kCapturedServerResponse = {
    0x00, 0x00, 0x1F, 0x00, 0x06,        // 0: VERSION at 31, 6 bytes
    0x01, 0x00, 0x25, 0x00, 0x01,        // 5: ENCRYPTION at 37
    0x02, 0x00, 0x26, 0x00, 0x01,        // 10: INSTOPT at 38
    0x03, 0x00, 0x27, 0x00, 0x00,        // 15: THREADID at 39, length 0 (servers send none)
    0x04, 0x00, 0x27, 0x00, 0x01,        // 20: MARS at 39 (same offset as the empty THREADID)
    0x06, 0x00, 0x28, 0x00, 0x01,        // 25: FEDAUTHREQUIRED at 40
    0xFF,                                // 30: terminator
    0x10, 0x00, 0x10, 0x09, 0x00, 0x00,  // 31: major 16, minor 0, build 0x1009 BE = 4105, sub 0
    0x02,                                // 37: ENCRYPT_NOT_SUP
    0x00,                                // 38: instance ""
    0x00,                                // 39: MARS off
    0x00};                               // 40: FEDAUTHREQUIRED 0

// Built by hand: same server version but sub-build 4105 (0x1009 little-endian: 09 10), and
// ENCRYPTION 0x83 = REQ with the client-certificate bit.
const std::vector<std::uint8_t> kSubBuildAndClientCert = {
    0x00, 0x00, 0x0B, 0x00, 0x06,        // 0: VERSION at 11
    0x01, 0x00, 0x11, 0x00, 0x01,        // 5: ENCRYPTION at 17
    0xFF,                                // 10: terminator
    0x10, 0x00, 0x10, 0x09, 0x09, 0x10,  // 11: 16.0.4105.4105
    0x83};                               // 17: REQ | 0x80

// tedious 20.3.9's request, frame 4 of fixtures/pcap/tedious-redirect-plain.pcap.
const std::vector<std::uint8_t> kCapturedTediousRequest = {
    0x00, 0x00, 0x24, 0x00, 0x06,        // 0: VERSION at 36
    0x01, 0x00, 0x2A, 0x00, 0x01,        // 5: ENCRYPTION at 42
    0x02, 0x00, 0x2B, 0x00, 0x01,        // 10: INSTOPT at 43
    0x03, 0x00, 0x2C, 0x00, 0x04,        // 15: THREADID at 44
    0x04, 0x00, 0x30, 0x00, 0x01,        // 20: MARS at 48
    0x05, 0x00, 0x31, 0x00, 0x24,        // 25: TRACEID at 49, 36 bytes
    0x06, 0x00, 0x55, 0x00, 0x01,        // 30: FEDAUTHREQUIRED at 85
    0xFF,                                // 35: terminator
    0x14, 0x03, 0x00, 0x09, 0x00, 0x00,  // 36: driver version 20.3.9.0
    0x02, 0x00,                          // 42: ENCRYPT_NOT_SUP, instance ""
    0x00, 0x00, 0x00, 0x00,              // 44: thread id 0
    0x00,                                // 48: MARS off
    0x18, 0x5F, 0x22, 0xB0, 0x26, 0x24, 0xB4, 0x10, 0xE8, 0xCC, 0x0D, 0x0C,  // 49: connection id
    0x73, 0xE6, 0x2E, 0xFD, 0x81, 0x61, 0x13, 0xC9, 0xBF, 0x85, 0x71, 0x87,  //     and activity
    0xB5, 0x4C, 0x01, 0x69, 0x79, 0x82, 0x3C, 0x21, 0x9D, 0xA4, 0x8D, 0xA7,  //     id + sequence
    0x01};                                                                   // 85: fedauth 1

// Hand-made malformations, each a small table over a small payload.
const std::vector<std::uint8_t> kNoTerminator = {0x00, 0x00, 0x05, 0x00, 0x00};
const std::vector<std::uint8_t> kTruncatedEntry = {0x00, 0x00, 0x06, 0xFF};  // 3 of 5 bytes
const std::vector<std::uint8_t> kDataPastEnd = {
    0x00, 0x00, 0x06, 0x00, 0x06,  // 0: VERSION at 6, 6 bytes: needs 12, payload has 9
    0xFF,                          // 5
    0x10, 0x00, 0x10};             // 6: only 3 bytes of version
const std::vector<std::uint8_t> kDataOverlapsTable = {
    0x01, 0x00, 0x02, 0x00, 0x01,  // 0: ENCRYPTION at 2: inside the option table
    0xFF, 0x00};                   // 5
const std::vector<std::uint8_t> kOptionsOverlap = {
    0x01, 0x00, 0x0B, 0x00, 0x01,  // 0: ENCRYPTION at 11
    0x04, 0x00, 0x0B, 0x00, 0x01,  // 5: MARS at 11 too
    0xFF, 0x00};                   // 10
const std::vector<std::uint8_t> kShortVersion = {
    0x00, 0x00, 0x06, 0x00, 0x05,  // 0: VERSION with 5 bytes
    0xFF, 0x10, 0x00, 0x10, 0x09, 0x00};
const std::vector<std::uint8_t> kUnknownOption = {
    0x42, 0x00, 0x0B, 0x00, 0x02,  // 0: option 0x42 (not in MS-TDS), 2 bytes at 11
    0x04, 0x00, 0x0D, 0x00, 0x01,  // 5: MARS at 13
    0xFF,                          // 10
    0xDE, 0xAD,                    // 11: opaque
    0x01};                         // 13: MARS on
const std::vector<std::uint8_t> kBadEncryption = {0x01, 0x00, 0x06, 0x00, 0x01, 0xFF, 0x05};
const std::vector<std::uint8_t> kDuplicate = {0x04, 0x00, 0x0B, 0x00, 0x01,  // 0: MARS at 11
                                              0x04, 0x00, 0x0C, 0x00, 0x01,  // 5: MARS again at 12
                                              0xFF, 0x00, 0x01};

std::string error_of(const std::vector<std::uint8_t>& bytes) {
  auto p = parse_prelogin(bytes);
  return p ? "" : p.error().message;
}

}  // namespace

TEST(TdsPrelogin, ParsesMsTdsExample) {
  auto p = parse_prelogin(kMsTdsPreloginRequest);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_TRUE(p->version);
  EXPECT_EQ(p->version->str(), "9.0.0.0");
  EXPECT_EQ(p->encryption, Encryption::On);
  EXPECT_FALSE(p->client_cert);
  EXPECT_EQ(p->instance, "");
  EXPECT_TRUE(p->thread_id_present);
  EXPECT_EQ(p->thread_id, 3512u);
  EXPECT_EQ(p->mars, true);
  EXPECT_FALSE(p->fedauth_required);
  EXPECT_TRUE(p->unknown_options.empty());
}

TEST(TdsPrelogin, ParsesCapturedServerResponse) {
  auto p = parse_prelogin(kCapturedServerResponse);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_TRUE(p->version);
  EXPECT_EQ(p->version->major, 16);
  EXPECT_EQ(p->version->minor, 0);
  EXPECT_EQ(p->version->build, 4105);
  EXPECT_EQ(p->version->sub_build, 0);
  EXPECT_EQ(p->version->str(), "16.0.4105.0");
  const std::vector<std::uint8_t> raw = {0x10, 0x00, 0x10, 0x09, 0x00, 0x00};
  EXPECT_EQ(p->version->raw, raw);
  EXPECT_EQ(p->encryption, Encryption::NotSup);
  EXPECT_EQ(to_string(*p->encryption), "NOT_SUP");
  EXPECT_TRUE(p->thread_id_present);  // THREADID with length 0
  EXPECT_FALSE(p->thread_id);
  EXPECT_EQ(p->mars, false);
  EXPECT_EQ(p->fedauth_required, false);
}

TEST(TdsPrelogin, SubBuildIsLittleEndianAndClientCertBitIsSplit) {
  auto p = parse_prelogin(kSubBuildAndClientCert);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->version->build, 4105);
  EXPECT_EQ(p->version->sub_build, 4105);
  EXPECT_EQ(p->version->str(), "16.0.4105.4105");
  EXPECT_EQ(p->encryption, Encryption::Req);
  EXPECT_TRUE(p->client_cert);
}

TEST(TdsPrelogin, ParsesCapturedTediousRequest) {
  auto p = parse_prelogin(kCapturedTediousRequest);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->version->str(), "20.3.9.0");
  EXPECT_EQ(p->thread_id, 0u);
  ASSERT_TRUE(p->trace_id);
  EXPECT_EQ(p->trace_id->size(), 36u);
  EXPECT_EQ(p->trace_id->front(), 0x18);
  EXPECT_EQ(p->fedauth_required, true);
}

TEST(TdsPrelogin, EveryTruncationIsAnError) {
  for (std::size_t n = 0; n < kCapturedServerResponse.size(); ++n) {
    auto p = parse_prelogin(std::span(kCapturedServerResponse).first(n));
    EXPECT_FALSE(p) << "prefix of " << n << " bytes";
  }
}

TEST(TdsPrelogin, MalformedTablesNameTheProblemAndOffset) {
  EXPECT_NE(error_of(kNoTerminator).find("terminator"), std::string::npos);
  EXPECT_NE(error_of(kTruncatedEntry).find("at offset 0"), std::string::npos)
      << error_of(kTruncatedEntry);
  EXPECT_NE(error_of(kDataPastEnd).find("runs past the 9-byte payload"), std::string::npos)
      << error_of(kDataPastEnd);
  EXPECT_NE(error_of(kDataOverlapsTable).find("overlaps the option table"), std::string::npos)
      << error_of(kDataOverlapsTable);
  EXPECT_NE(error_of(kOptionsOverlap).find("overlaps option 0x01"), std::string::npos)
      << error_of(kOptionsOverlap);
  EXPECT_NE(error_of(kShortVersion).find("expected 6"), std::string::npos);
  EXPECT_NE(error_of(kBadEncryption).find("0x05"), std::string::npos);
  EXPECT_NE(error_of(kDuplicate).find("twice"), std::string::npos);
}

TEST(TdsPrelogin, UnknownOptionIsRecordedAndSkipped) {
  auto p = parse_prelogin(kUnknownOption);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->unknown_options, std::vector<std::uint8_t>{0x42});
  EXPECT_EQ(p->mars, true);
}

TEST(TdsPrelogin, BuildRoundTrips) {
  Prelogin in;
  Version v;
  v.major = 16;
  v.minor = 0;
  v.build = 4105;
  v.sub_build = 7;
  in.version = v;
  in.encryption = Encryption::Off;
  in.client_cert = true;
  in.instance = "MSSQLServer";
  in.thread_id = 0x01020304;
  in.thread_id_present = true;
  in.mars = false;
  in.fedauth_required = true;
  in.nonce = std::vector<std::uint8_t>(32, 0x5A);
  auto out = parse_prelogin(build_prelogin(in));
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->version->str(), "16.0.4105.7");
  EXPECT_EQ(out->encryption, Encryption::Off);
  EXPECT_TRUE(out->client_cert);
  EXPECT_EQ(out->instance, "MSSQLServer");
  EXPECT_EQ(out->thread_id, 0x01020304u);
  EXPECT_EQ(out->mars, false);
  EXPECT_EQ(out->fedauth_required, true);
  EXPECT_EQ(out->nonce, in.nonce);
  EXPECT_FALSE(out->trace_id);
}

TEST(TdsPrelogin, BuildReproducesCapturedServerResponse) {
  Prelogin in;
  Version v;
  v.major = 16;
  v.build = 4105;
  in.version = v;
  in.encryption = Encryption::NotSup;
  in.instance = "";
  in.thread_id_present = true;  // empty THREADID, as the captured server sends
  in.mars = false;
  in.fedauth_required = false;
  EXPECT_EQ(build_prelogin(in), kCapturedServerResponse);
}
