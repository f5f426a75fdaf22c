// --mask: the same input always masks the same way within one bundle, subnets stay subnets, and
// the addresses and names whose meaning a reader needs (loopback, IMDS, Azure suffixes, the
// public/privatelink labels, versions) keep it.
#include "reports/mask.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

namespace midiag::reports {
namespace {

std::string masked_of(const Masker& m, std::string_view original) {
  for (const auto& [o, k] : m.map())
    if (o == original) return k;
  return {};
}

TEST(Masker, SameInputSameOutputAcrossMembersAndSeeds) {
  Masker a(42);
  const std::string one = a.mask_text("route 10.1.2.3 via 10.1.2.1 dev eth0");
  const std::string two = a.mask_text("source 10.1.2.3");
  EXPECT_EQ(one.find("10.1.2.3"), std::string::npos);
  const std::string m = masked_of(a, "10.1.2.3");
  ASSERT_FALSE(m.empty());
  EXPECT_NE(one.find(m), std::string::npos);
  EXPECT_EQ(two, "source " + m);
  Masker b(42);
  EXPECT_EQ(b.mask_text("route 10.1.2.3 via 10.1.2.1 dev eth0"), one);  // deterministic per seed
  Masker c(43);
  EXPECT_NE(c.mask_text("route 10.1.2.3 via 10.1.2.1 dev eth0"), one);  // keyed by the seed
}

TEST(Masker, Ipv4SubnetsArePreservedOneToOne) {
  Masker m(7);
  m.mask_text("10.1.2.3 10.1.2.200 10.1.3.3 192.168.5.9 172.20.1.1 100.64.9.9 52.1.2.3 52.1.2.4");
  auto prefix = [](const std::string& ip) { return ip.substr(0, ip.rfind('.')); };
  const auto a = masked_of(m, "10.1.2.3");
  const auto b = masked_of(m, "10.1.2.200");
  const auto c = masked_of(m, "10.1.3.3");
  EXPECT_EQ(prefix(a), prefix(b));  // same /24 -> same masked /24
  EXPECT_NE(prefix(a), prefix(c));  // another /24 -> another masked /24
  EXPECT_TRUE(a.ends_with(".3"));   // the host octet is kept
  EXPECT_TRUE(b.ends_with(".200"));
  EXPECT_TRUE(a.starts_with("10."));  // RFC 1918 stays RFC 1918, of the same kind
  EXPECT_TRUE(masked_of(m, "192.168.5.9").starts_with("192.168."));
  const auto p172 = masked_of(m, "172.20.1.1");
  ASSERT_TRUE(p172.starts_with("172."));
  const int second = std::stoi(p172.substr(4));
  EXPECT_TRUE(second >= 16 && second < 32) << p172;
  EXPECT_TRUE(masked_of(m, "100.64.9.9").starts_with("100."));
  const auto pub = masked_of(m, "52.1.2.3");
  const int first = std::stoi(pub);
  EXPECT_TRUE(first >= 11 && first <= 99) << pub;
  EXPECT_EQ(prefix(pub), prefix(masked_of(m, "52.1.2.4")));
  EXPECT_NE(pub, "52.1.2.3");
}

TEST(Masker, AllOf192168MapsWithoutCollisions) {
  Masker m(1);
  std::string text;
  for (int k = 0; k < 256; ++k) text += "192.168." + std::to_string(k) + ".1 ";
  m.mask_text(text);
  std::set<std::string> outs;
  for (const auto& [o, k] : m.map()) outs.insert(k);
  EXPECT_EQ(outs.size(), 256u);
}

TEST(Masker, WellKnownAddressesAndVersionsKeepTheirMeaning) {
  Masker m(9);
  const std::string keep =
      "127.0.0.1 0.0.0.0 169.254.169.254 168.63.129.16 255.255.255.0 224.0.0.1 ::1 :: ff02::1 "
      "mi-diag 0.1.0 OpenSSL 3.0.11 1.2.3.4.5 version 1.2.3.4 Version: 10.0.0.1 v1.2.3.4 "
      "15.0.4316.3 report.json resolv.conf run.sh 12:30:45 aa:bb:cc:dd:ee:ff std::string";
  EXPECT_EQ(m.mask_text(keep), keep);
  EXPECT_TRUE(m.map().empty());
}

TEST(Masker, Ipv6PrefixMappedInterfaceIdsHandled) {
  Masker m(3);
  const std::string out = m.mask_text(
      "2001:db8:1:2::1 [2001:db8:1:2:a00:27ff:fe4e:66a1]:1433 2001:db8:1:3::1 "
      "fe80::a00:27ff:fe4e:66a1%eth0 "
      "::ffff:10.1.2.3");
  const auto a = masked_of(m, "2001:db8:1:2::1");
  const auto b = masked_of(m, "2001:db8:1:2:a00:27ff:fe4e:66a1");
  const auto c = masked_of(m, "2001:db8:1:3::1");
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  ASSERT_FALSE(c.empty());
  EXPECT_TRUE(a.starts_with("2001:")) << a;  // the first 16 bits stay
  EXPECT_TRUE(a.ends_with("::1")) << a;      // small interface ids stay
  auto prefix64 = [](const std::string& s) {
    in6_addr x{};
    EXPECT_EQ(inet_pton(AF_INET6, s.c_str(), &x), 1) << s;
    return std::string(reinterpret_cast<const char*>(&x), 8);
  };
  EXPECT_EQ(prefix64(a), prefix64(b));  // same /64
  EXPECT_NE(prefix64(a), prefix64(c));
  EXPECT_NE(prefix64(a), prefix64("2001:db8:1:2::"));
  EXPECT_EQ(out.find("a00:27ff:fe4e:66a1"), std::string::npos);  // the EUI-64 id is gone
  EXPECT_NE(out.find("fe80::"), std::string::npos);              // link-local stays link-local
  EXPECT_NE(out.find("%eth0"), std::string::npos);
  EXPECT_NE(out.find("]:1433"), std::string::npos);
  const auto v4 = masked_of(m, "10.1.2.3");
  ASSERT_FALSE(v4.empty());
  EXPECT_NE(out.find("::ffff:" + v4), std::string::npos);
}

TEST(Masker, AzureNamesKeepTheirEndpointKind) {
  Masker m(5);
  const std::string out = m.mask_text(
      "vnet mi1.abc123.database.windows.net public mi1.public.abc123.database.windows.net:3342 "
      "pl mi1.abc123.privatelink.database.windows.net other MI2.abc123.database.windows.net "
      "login.microsoftonline.com host.contoso.com db.contoso.com.");
  const auto vnet = masked_of(m, "mi1.abc123.database.windows.net");
  const auto pub = masked_of(m, "mi1.public.abc123.database.windows.net");
  const auto pl = masked_of(m, "mi1.abc123.privatelink.database.windows.net");
  const auto other = masked_of(m, "mi2.abc123.database.windows.net");
  ASSERT_FALSE(vnet.empty());
  EXPECT_EQ(out.find("mi1"), std::string::npos);
  EXPECT_EQ(out.find("abc123"), std::string::npos);
  EXPECT_EQ(out.find("contoso"), std::string::npos);
  // <x>.<y>.database.windows.net, <x>.public.<y>..., the same labels mapped the same way.
  const auto x = vnet.substr(0, vnet.find('.'));
  const auto y = vnet.substr(x.size() + 1, vnet.find(".database") - x.size() - 1);
  EXPECT_EQ(vnet, x + "." + y + ".database.windows.net");
  EXPECT_EQ(pub, x + ".public." + y + ".database.windows.net");
  EXPECT_EQ(pl, x + "." + y + ".privatelink.database.windows.net");
  EXPECT_TRUE(other.ends_with("." + y + ".database.windows.net"));
  EXPECT_NE(other.substr(0, other.find('.')), x);
  EXPECT_NE(out.find(pub + ":3342"), std::string::npos);
  EXPECT_NE(out.find("login.microsoftonline.com"), std::string::npos);
  const auto h = masked_of(m, "host.contoso.com");
  const auto d = masked_of(m, "db.contoso.com");
  ASSERT_FALSE(h.empty());
  EXPECT_TRUE(h.ends_with(".com"));
  EXPECT_EQ(h.substr(h.find('.')), d.substr(d.find('.')));  // same parent domain
  EXPECT_TRUE(out.ends_with(d + "."));
}

TEST(Masker, HostileInputIsLinear) {
  Masker m(11);
  const std::string colons(1 << 20, ':');
  EXPECT_EQ(m.mask_text(colons), colons);
  std::string hexes;
  for (int k = 0; k < 200000; ++k) hexes += "a:1:";
  EXPECT_EQ(m.mask_text(hexes), hexes);
  std::string dots;
  for (int k = 0; k < 200000; ++k) dots += "1.2.";
  EXPECT_EQ(m.mask_text(dots), dots);
  const std::string label(1 << 20, 'a');
  EXPECT_EQ(m.mask_text(label + ".com"), label + ".com");  // too long to be a host name
}

}  // namespace
}  // namespace midiag::reports
