// Known secrets are removed from text members and overwritten in binary ones in every encoding a
// capture can carry them in: UTF-8, UTF-16LE and LOGIN7's obfuscation.
#include "reports/redact.h"

#include <gtest/gtest.h>

namespace midiag::reports {
namespace {

std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

bool contains(const std::vector<std::uint8_t>& hay, const std::vector<std::uint8_t>& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

TEST(Redactor, AKnownSecretLeavesTextAndIsCounted) {
  Redactor r;
  r.add_known_secret("S3cret!pw");
  const auto out = r.redact_text("user=app sent S3cret!pw; again S3cret!pw", "log.txt");
  EXPECT_EQ(out.find("S3cret!pw"), std::string::npos);
  EXPECT_NE(out.find(kRedacted), std::string::npos);
  ASSERT_EQ(r.counts().size(), 1u);
  EXPECT_EQ(r.counts()[0].member, "log.txt");
  EXPECT_EQ(r.counts()[0].count, 2u);
}

TEST(Redactor, ObfuscatedLogin7PasswordMatchesTheTdsRule) {
  // MS-TDS LOGIN7: each byte of the UTF-16LE password has its nibbles swapped, then XOR 0xA5.
  // 'a' = 0x61 0x00 -> 0x16 ^ 0xA5 = 0xB3, 0x00 -> 0x00 ^ 0xA5 = 0xA5.
  const auto enc = secret_encodings("a");
  ASSERT_EQ(enc.size(), 3u);
  EXPECT_EQ(enc[1], (std::vector<std::uint8_t>{0x61, 0x00}));
  EXPECT_EQ(enc[2], (std::vector<std::uint8_t>{0xB3, 0xA5}));
}

TEST(Redactor, EveryEncodingIsOverwrittenInPlaceKeepingTheLength) {
  const std::string pw = "Pässwörd-42";
  const auto enc = secret_encodings(pw);
  std::vector<std::uint8_t> blob = bytes_of("head:");
  for (const auto& e : enc) {
    blob.insert(blob.end(), e.begin(), e.end());
    blob.push_back('|');
  }
  const auto size = blob.size();
  Redactor r;
  r.add_known_secret(pw);
  r.scrub_bytes(blob, "capture.pcap");
  EXPECT_EQ(blob.size(), size);
  for (const auto& e : enc) EXPECT_FALSE(contains(blob, e));
  ASSERT_EQ(r.counts().size(), 1u);
  EXPECT_EQ(r.counts()[0].count, 3u);
}

TEST(Redactor, NothingKnownNothingCounted) {
  Redactor r;
  r.add_known_secret("");
  EXPECT_EQ(r.redact_text("version 1.2.3", "report.txt"), "version 1.2.3");
  EXPECT_TRUE(r.counts().empty());
}

}  // namespace
}  // namespace midiag::reports
