#include "decoders/dns/message.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using namespace midiag::dns;

namespace {

// sql.mi.test A → CNAME node.mi.test (TTL 3600) → CNAME cr.mi.test (TTL 60) → A 10.250.1.4 (TTL
// 10).
const std::vector<std::uint8_t> kChainResponse = {
    0x12, 0x34,                                      // 0: id 0x1234
    0x81, 0x80,                                      // 2: flags QR RD RA, rcode NOERROR
    0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,  // 4: qd=1 an=3 ns=0 ar=0
    // 12: question "sql.mi.test" (label "mi" at offset 16 is a pointer target below)
    0x03, 's', 'q', 'l', 0x02, 'm', 'i', 0x04, 't', 'e', 's', 't', 0x00, 0x00, 0x01, 0x00,
    0x01,  // 25: type A, class IN
    // 29: answer 1: name → offset 12 (sql.mi.test), CNAME IN, TTL 3600, rdlength 7
    0xC0, 0x0C, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x0E, 0x10, 0x00, 0x07, 0x04, 'n', 'o', 'd',
    'e', 0xC0, 0x10,  // 41: "node" + pointer to "mi.test" at 16
    // 48: answer 2: name → offset 41 (node.mi.test), CNAME IN, TTL 60, rdlength 5
    0xC0, 0x29, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x05, 0x02, 'c', 'r', 0xC0,
    0x10,  // 60: "cr" + pointer to "mi.test"
    // 65: answer 3: name → offset 60 (cr.mi.test), A IN, TTL 10, rdlength 4, 10.250.1.4
    0xC0, 0x3C, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x04, 0x0A, 0xFA, 0x01, 0x04};

// nx.test A → NXDOMAIN with no records at all.
const std::vector<std::uint8_t> kNxDomainResponse = {
    0xBE, 0xEF,                                            // 0: id
    0x81, 0x83,                                            // 2: flags QR RD RA, rcode 3 (NXDOMAIN)
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,        // 4: qd=1, nothing else
    0x02, 'n',  'x',  0x04, 't',  'e',  's',  't',  0x00,  // 12: "nx.test"
    0x00, 0x01, 0x00, 0x01};                               // 21: type A, class IN

// The question name is a pointer to itself: decoding must stop, not spin.
const std::vector<std::uint8_t> kPointerLoop = {0x00, 0x01, 0x81, 0x80,  // 0: id, flags
                                                0x00, 0x01, 0x00, 0x00,
                                                0x00, 0x00, 0x00, 0x00,   // 4: qd=1
                                                0xC0, 0x0C,               // 12: pointer → 12
                                                0x00, 0x01, 0x00, 0x01};  // 14: type A, class IN

// Five bytes: not even a header.
const std::vector<std::uint8_t> kTruncatedHeader = {0x12, 0x34, 0x81, 0x80, 0x00};

// The answer's owner name points at offset 255 of a 24-byte message.
const std::vector<std::uint8_t> kPointerOutOfBounds = {
    0x00, 0x02, 0x81, 0x80,                                       // 0: id, flags
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,               // 4: qd=0 an=1
    0xC0, 0xFF,                                                   // 12: pointer → 255
    0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x04};  // 14: A IN TTL 10, rdlen 4

// An AAAA answer (2001:db8::53, TTL 30) next to a TXT record (TTL 5) kept only by type and TTL.
const std::vector<std::uint8_t> kAaaaAndTxt = {
    0x00, 0x03, 0x84, 0x00,                                      // 0: id, flags QR AA
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,              // 4: qd=0 an=2
    0x01, 'h',  0x00,                                            // 12: "h"
    0x00, 0x1C, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1E, 0x00, 0x10,  // 15: AAAA IN TTL 30, rdlen 16
    0x20, 0x01, 0x0D, 0xB8, 0,    0,    0,    0,    0,    0,
    0,    0,    0,    0,    0x00, 0x53,                          // 25: 2001:db8::53
    0xC0, 0x0C,                                                  // 41: owner → "h"
    0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x03,  // 43: TXT IN TTL 5, rdlen 3
    0x02, 'o',  'k'};                                            // 53: one character-string "ok"

}  // namespace

TEST(DnsMessage, DecodesHeaderAndCnameChain) {
  auto m = parse_message(kChainResponse);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->header.id, 0x1234);
  EXPECT_TRUE(m->header.is_response());
  EXPECT_EQ(m->header.rcode(), kRcodeNoError);
  EXPECT_EQ(m->header.ancount, 3);
  ASSERT_EQ(m->answers.size(), 3u);
  EXPECT_EQ(m->answers[0].name, "sql.mi.test");
  EXPECT_EQ(m->answers[0].target, "node.mi.test");
  EXPECT_EQ(m->answers[1].name, "node.mi.test");
  EXPECT_EQ(m->answers[2].name, "cr.mi.test");

  auto r = follow_cname_chain(*m, "SQL.Mi.Test.");  // case and trailing dot do not matter
  ASSERT_EQ(r.chain.size(), 2u);
  EXPECT_EQ(r.chain[0].name, "sql.mi.test");
  EXPECT_EQ(r.chain[0].target, "node.mi.test");
  EXPECT_EQ(r.chain[0].ttl, 3600u);
  EXPECT_EQ(r.chain[1].target, "cr.mi.test");
  EXPECT_EQ(r.chain[1].ttl, 60u);
  ASSERT_EQ(r.addresses.size(), 1u);
  EXPECT_EQ(r.addresses[0].type, kTypeA);
  EXPECT_EQ(r.addresses[0].ttl, 10u);
  const std::array<std::uint8_t, 4> want{10, 250, 1, 4};
  EXPECT_TRUE(std::equal(want.begin(), want.end(), r.addresses[0].address.begin()));
}

TEST(DnsMessage, ChainFromAnotherNameFindsNothing) {
  auto m = parse_message(kChainResponse);
  ASSERT_TRUE(m);
  auto r = follow_cname_chain(*m, "other.mi.test");
  EXPECT_TRUE(r.chain.empty());
  EXPECT_TRUE(r.addresses.empty());
}

TEST(DnsMessage, NxDomain) {
  auto m = parse_message(kNxDomainResponse);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->header.id, 0xBEEF);
  EXPECT_EQ(m->header.rcode(), kRcodeNxDomain);
  EXPECT_TRUE(m->answers.empty());
}

TEST(DnsMessage, PointerLoopIsAnErrorAtItsOffset) {
  auto m = parse_message(kPointerLoop);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("byte 12"), std::string::npos) << m.error().message;
  EXPECT_NE(m.error().message.find("loop"), std::string::npos) << m.error().message;
}

TEST(DnsMessage, TruncatedHeader) {
  auto m = parse_message(kTruncatedHeader);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("byte 0"), std::string::npos) << m.error().message;
}

TEST(DnsMessage, PointerOutOfBounds) {
  auto m = parse_message(kPointerOutOfBounds);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("byte 12"), std::string::npos) << m.error().message;
  EXPECT_NE(m.error().message.find("out of bounds"), std::string::npos) << m.error().message;
}

TEST(DnsMessage, EveryTruncationOfAGoodMessageFailsCleanly) {
  for (std::size_t n = 0; n < kChainResponse.size(); ++n) {
    std::span<const std::uint8_t> cut(kChainResponse.data(), n);
    auto m = parse_message(cut);
    ASSERT_FALSE(m) << "accepted " << n << " bytes";
    EXPECT_NE(m.error().message.find("malformed DNS message at byte"), std::string::npos);
  }
}

TEST(DnsMessage, AaaaAndOtherTypes) {
  auto m = parse_message(kAaaaAndTxt);
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_EQ(m->answers.size(), 2u);
  EXPECT_EQ(m->answers[0].type, kTypeAaaa);
  EXPECT_EQ(m->answers[0].address[1], 0x01);
  EXPECT_EQ(m->answers[0].address[15], 0x53);
  EXPECT_EQ(m->answers[1].name, "h");
  EXPECT_EQ(m->answers[1].type, 16);
  EXPECT_EQ(m->answers[1].ttl, 5u);
  auto r = follow_cname_chain(*m, "h");
  ASSERT_EQ(r.addresses.size(), 1u);
  EXPECT_EQ(r.addresses[0].ttl, 30u);
}
