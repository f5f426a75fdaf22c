#include "probes/net/address.h"

#include <gtest/gtest.h>

using namespace midiag::net;

namespace {
AddressClass cls(const char* s, const std::vector<ClassOverride>& o = {}) {
  auto a = parse_ip(s);
  EXPECT_TRUE(a) << s;
  return a ? classify(*a, o) : AddressClass::Reserved;
}
}  // namespace

TEST(AddressClass, TableOfKnownRanges) {
  struct Case {
    const char* addr;
    AddressClass want;
  } cases[] = {
      {"10.0.0.1", AddressClass::Private},
      {"172.16.0.1", AddressClass::Private},
      {"172.31.255.255", AddressClass::Private},
      {"172.32.0.1", AddressClass::Public},
      {"192.168.1.1", AddressClass::Private},
      {"127.0.0.1", AddressClass::Loopback},
      {"169.254.169.254", AddressClass::LinkLocal},
      {"100.64.0.1", AddressClass::Cgnat},
      {"100.127.255.255", AddressClass::Cgnat},
      {"100.128.0.1", AddressClass::Public},
      {"20.38.1.2", AddressClass::Public},
      {"168.63.129.16", AddressClass::Public},
      {"0.0.0.0", AddressClass::Reserved},
      {"224.0.0.1", AddressClass::Reserved},
      {"::1", AddressClass::Loopback},
      {"fe80::1", AddressClass::LinkLocal},
      {"fd00::1", AddressClass::Ula},
      {"2001:db8::1", AddressClass::Public},
      {"::ffff:10.1.2.3", AddressClass::Private},
      {"ff02::1", AddressClass::Reserved},
  };
  for (const auto& c : cases) EXPECT_EQ(cls(c.addr), c.want) << c.addr;
}

TEST(AddressClass, OverrideWins) {
  auto o = parse_class_override("10.250.200.0/24=public");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(cls("10.250.200.10", {*o}), AddressClass::Public);
  EXPECT_EQ(cls("10.250.201.10", {*o}), AddressClass::Private);
}

TEST(AddressClass, BadOverridesAreErrors) {
  EXPECT_FALSE(parse_class_override("10.0.0.0/8"));
  EXPECT_FALSE(parse_class_override("10.0.0.0/33=public"));
  EXPECT_FALSE(parse_class_override("10.0.0.0/8=moon"));
  EXPECT_FALSE(parse_class_override("nope/8=public"));
}

TEST(ParseIp, RejectsNamesAndGarbage) {
  EXPECT_FALSE(parse_ip("example.com"));
  EXPECT_FALSE(parse_ip(""));
  EXPECT_FALSE(parse_ip("1.2.3.4:80"));
  EXPECT_FALSE(parse_ip("[::1]"));
  EXPECT_EQ(parse_ip("10.250.2.10")->str(), "10.250.2.10");
}
