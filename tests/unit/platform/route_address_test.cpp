// Addresses, prefixes and text normalisation shared by the route parsers.
#include <gtest/gtest.h>

#include "platform/routes/route_table.h"

using midiag::platform::routes::Address;
using midiag::platform::routes::normalize_text;
using midiag::platform::routes::Prefix;

TEST(RouteAddress, PrefixesInEveryWayTheSourcesWriteThem) {
  EXPECT_EQ(Prefix::parse("10.1.2.3/8")->text(), "10.0.0.0/8");
  EXPECT_EQ(Prefix::parse("default")->text(), "0.0.0.0/0");
  EXPECT_EQ(Prefix::parse("::/0")->text(), "::/0");
  EXPECT_EQ(Prefix::parse("192.168.1")->text(), "192.168.1.0/24");  // macOS abbreviations
  EXPECT_EQ(Prefix::parse("127")->text(), "127.0.0.0/8");
  EXPECT_EQ(Prefix::parse("169.254")->text(), "169.254.0.0/16");
  EXPECT_EQ(Prefix::parse("10.5/16")->text(), "10.5.0.0/16");
  EXPECT_EQ(Prefix::parse("fe80::1%en0/64")->text(), "fe80::/64");
  EXPECT_EQ(Prefix::parse("10.0.0.1")->length, 32);
  for (const char* bad :
       {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "x/8", "1.2.3.4.5", "::/129"})
    EXPECT_FALSE(Prefix::parse(bad)) << bad;
  auto m = Prefix::from_mask(*Address::parse("10.5.7.9"), *Address::parse("255.255.0.0"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->text(), "10.5.0.0/16");
  EXPECT_FALSE(Prefix::from_mask(*Address::parse("10.0.0.0"), *Address::parse("255.0.255.0")));
}

TEST(RouteAddress, ContainsAndPrivate) {
  auto p = *Prefix::parse("10.5.0.0/24");
  EXPECT_TRUE(p.contains(*Address::parse("10.5.0.200")));
  EXPECT_FALSE(p.contains(*Address::parse("10.5.1.1")));
  EXPECT_FALSE(p.contains(*Address::parse("::ffff:10.5.0.1")));  // another family
  EXPECT_TRUE(Prefix::parse("0.0.0.0/0")->contains(*Address::parse("8.8.8.8")));
  EXPECT_TRUE(Address::parse("172.31.0.1")->is_private());
  EXPECT_FALSE(Address::parse("172.32.0.1")->is_private());
  EXPECT_TRUE(Address::parse("100.64.0.1")->is_private());
  EXPECT_TRUE(Address::parse("fd00::1")->is_private());
  EXPECT_FALSE(Address::parse("20.1.2.3")->is_private());
  EXPECT_EQ(Address::parse("fe80::1%12")->zone, "%12");
}

TEST(RouteAddress, Utf16AndLineEndingsBecomePlainLines) {
  const std::string le(
      "\xFF\xFE"
      "a\0\r\0\n\0\xE9\0b\0\r\0",
      14);
  EXPECT_EQ(normalize_text(le),
            "a\n\xC3\xA9"
            "b\n");
  const std::string be("\xFE\xFF\0x\0\n", 6);
  EXPECT_EQ(normalize_text(be), "x\n");
  EXPECT_EQ(normalize_text("\xEF\xBB\xBFone\r\ntwo\rthree"), "one\ntwo\nthree");
  const std::string odd(
      "\xFF\xFE"
      "a\0\x00\xD8"
      "b",
      7);  // lone surrogate, cut last unit
  EXPECT_EQ(normalize_text(odd), "a\xEF\xBF\xBD\xEF\xBF\xBD");
}
