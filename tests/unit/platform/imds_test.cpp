// IMDS: the parser on the public fixtures (answer keys in fixtures/realworld/README.md) and on
// hostile documents, the relation of an address to the VM, and the HTTP client against a
// loopback stand-in that answers, stays silent, refuses a request without the header, sends
// too much or is not HTTP.
#include "platform/azure/imds.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "tests/unit/support/imds_responder.h"
#include "tests/unit/support/shared_fixture.h"

using namespace midiag::platform::azure;
using midiag::ErrorKind;
using midiag::test_support::ImdsResponder;

namespace {

const std::string kOther = MIDIAG_SOURCE_DIR "/../shared/fixtures/realworld/other/";

#define LOAD_OR_SKIP(var, name) TEXT_OR_SKIP(var, kOther + (name))

ImdsInfo parse_ok(std::string_view text) {
  auto info = parse_imds(text);
  EXPECT_TRUE(info) << (info ? "" : info.error().message);
  return info ? *info : ImdsInfo{};
}

std::string unread_text(const ImdsInfo& info) {
  std::string s;
  for (const auto& u : info.unread) s += u.where + ": " + u.why + "\n";
  return s;
}

// The cloud-init VM (README: privateIp 10.0.0.4, public 104.46.124.81, mac 000D3A047598).
void expect_cloudinit_network(const ImdsInfo& info) {
  ASSERT_EQ(info.interfaces.size(), 1U);
  const auto& nic = info.interfaces[0];
  EXPECT_EQ(nic.mac, "00:0d:3a:04:75:98");
  EXPECT_EQ(nic.private_addresses, std::vector<std::string>{"10.0.0.4"});
  EXPECT_EQ(nic.public_addresses, std::vector<std::string>{"104.46.124.81"});
  ASSERT_EQ(nic.subnets.size(), 1U);
  EXPECT_EQ(nic.subnets[0].address, "10.0.0.0");
  EXPECT_EQ(nic.subnets[0].prefix, "24");
  EXPECT_EQ(nic.subnets[0].parsed.text(), "10.0.0.0/24");
  EXPECT_TRUE(info.unread.empty()) << unread_text(info);
}

}  // namespace

TEST(ImdsParse, CloudInitInstanceDocumentMatchesItsAnswerKey) {
  LOAD_OR_SKIP(text, "cloudinit_azure_imds_instance_metadata.json");
  auto info = parse_ok(text);
  EXPECT_EQ(info.name, "my-hostname");
  EXPECT_EQ(info.location, "eastus2");
  EXPECT_EQ(info.vm_id, "ff702a6b-cb6a-4fcd-ad68-b4ce38227642");
  expect_cloudinit_network(info);
}

TEST(ImdsParse, CloudInitNetworkDocumentGivesTheSameInterfaceAndNoCompute) {
  LOAD_OR_SKIP(text, "cloudinit_azure_imds_network.json");
  auto info = parse_ok(text);
  EXPECT_EQ(info.name, "");
  EXPECT_EQ(info.vm_id, "");
  expect_cloudinit_network(info);
}

TEST(ImdsParse, DocsSamplePlaceholderPublicAddressIsUnreadNotAnAddress) {
  LOAD_OR_SKIP(text, "msdocs_imds_network_2017-08-01.json");
  auto info = parse_ok(text);
  ASSERT_EQ(info.interfaces.size(), 1U);
  const auto& nic = info.interfaces[0];
  EXPECT_EQ(nic.mac, "00:0d:3a:f8:06:ec");
  EXPECT_EQ(nic.private_addresses, std::vector<std::string>{"10.1.0.4"});
  EXPECT_TRUE(nic.public_addresses.empty());
  ASSERT_EQ(nic.subnets.size(), 1U);
  EXPECT_EQ(nic.subnets[0].parsed.text(), "10.1.0.0/24");
  ASSERT_EQ(info.unread.size(), 1U) << unread_text(info);
  EXPECT_EQ(info.unread[0].where, "interface[0].ipv4.ipAddress[0].publicIpAddress");
  EXPECT_EQ(info.unread[0].why, "'X.X.X.X' is not an IPv4 address");
}

TEST(ImdsParse, EmptyPublicFieldsMeanNoPublicAddress) {
  auto info = parse_ok(R"({"interface":[{"macAddress":"000d3a0a0b0c","ipv4":{"ipAddress":[
      {"privateIpAddress":"10.2.0.5","publicIpAddress":""}],"subnet":[{"address":"10.2.0.0",
      "prefix":"27"}]},"ipv6":{"ipAddress":[{"privateIpAddress":"fd00:db8::5"}],
      "subnet":[{"address":"fd00:db8::","prefix":"64"}]}}]})");
  ASSERT_EQ(info.interfaces.size(), 1U);
  const auto& nic = info.interfaces[0];
  EXPECT_EQ(nic.mac, "00:0d:3a:0a:0b:0c");
  EXPECT_EQ(nic.private_addresses, (std::vector<std::string>{"10.2.0.5", "fd00:db8::5"}));
  EXPECT_TRUE(nic.public_addresses.empty());
  ASSERT_EQ(nic.subnets.size(), 2U);
  EXPECT_EQ(nic.subnets[1].parsed.text(), "fd00:db8::/64");
  EXPECT_TRUE(info.unread.empty()) << unread_text(info);
}

TEST(ImdsParse, NumbersWhereStringsBelongAreUnreadWithWhy) {
  auto info = parse_ok(R"({"compute":{"name":42,"location":"westeurope","vmId":null},
      "network":{"interface":[{"macAddress":13,"ipv4":{"ipAddress":[{"privateIpAddress":
      167772164,"publicIpAddress":""}],"subnet":[{"address":"10.0.0.0","prefix":24}]}}]}})");
  EXPECT_EQ(info.name, "");
  EXPECT_EQ(info.location, "westeurope");
  ASSERT_EQ(info.interfaces.size(), 1U);
  EXPECT_EQ(info.interfaces[0].mac, "");
  EXPECT_TRUE(info.interfaces[0].private_addresses.empty());
  EXPECT_TRUE(info.interfaces[0].subnets.empty());
  const std::string u = unread_text(info);
  EXPECT_NE(u.find("compute.name: a number (42), not a string"), std::string::npos) << u;
  EXPECT_NE(u.find("compute.vmId: null, not a string"), std::string::npos) << u;
  EXPECT_NE(u.find("network.interface[0].macAddress: a number (13), not a string"),
            std::string::npos)
      << u;
  EXPECT_NE(u.find("network.interface[0].ipv4.ipAddress[0].privateIpAddress: a number"),
            std::string::npos)
      << u;
  EXPECT_NE(u.find("network.interface[0].ipv4.subnet[0].prefix: a number (24), not a string"),
            std::string::npos)
      << u;
  EXPECT_EQ(info.unread.size(), 5U) << u;
}

TEST(ImdsParse, WrongShapesAndBadValuesAreUnread) {
  auto info = parse_ok(R"({"interface":[7,{"macAddress":"00-0D-3A-XX-00-01","ipv4":[],
      "ipv6":{"ipAddress":[{"privateIpAddress":"10.0.0.4"}],"subnet":"fd00::/64"}},
      {"ipv4":{"subnet":[{"address":"10.0.0.0","prefix":"33"},{"address":"::1","prefix":"8"},
      {"prefix":"8"},{"address":"10.9.0.0","prefix":"0"}]}}]})");
  ASSERT_EQ(info.interfaces.size(), 2U);
  for (const auto& nic : info.interfaces) {
    EXPECT_TRUE(nic.subnets.empty());
    EXPECT_TRUE(nic.private_addresses.empty());
  }
  const std::string u = unread_text(info);
  for (const char* want :
       {"interface[0]: a number, not an object",
        "interface[1].macAddress: '00-0D-3A-XX-00-01' is not 12 hex digits",
        "interface[1].ipv4: a list, not an object",
        "interface[1].ipv6.ipAddress[0].privateIpAddress: '10.0.0.4' is not an IPv6 address",
        "interface[1].ipv6.subnet: a string, not a list",
        "interface[2].ipv4.subnet[0].prefix: '33' is not a prefix length 1-32",
        "interface[2].ipv4.subnet[1].address: '::1' is not an IPv4 address",
        "interface[2].ipv4.subnet[2]: missing its address",
        "interface[2].ipv4.subnet[3].prefix: '0' is not a prefix length 1-32"})
    EXPECT_NE(u.find(want), std::string::npos) << want << "\n" << u;
}

TEST(ImdsParse, MissingMembersAreSaidNotGuessed) {
  auto no_network = parse_ok(R"({"compute":{"name":"vm1"}})");
  EXPECT_EQ(no_network.name, "vm1");
  EXPECT_TRUE(no_network.interfaces.empty());
  EXPECT_EQ(unread_text(no_network), "network: missing: the document lists no interface\n");

  auto no_interface = parse_ok(R"({"compute":{},"network":{}})");
  EXPECT_EQ(unread_text(no_interface), "network.interface: missing: no interface listed\n");

  auto lone = parse_ok(R"({"interface":{"macAddress":"000D3A000001"}})");
  EXPECT_EQ(unread_text(lone), "interface: an object, not a list\n");

  auto bare = parse_ok(R"({"interface":[{}]})");
  ASSERT_EQ(bare.interfaces.size(), 1U);
  EXPECT_EQ(bare.interfaces[0].mac, "");
  EXPECT_TRUE(bare.unread.empty());
}

TEST(ImdsParse, NotJsonOrNeitherShapeIsAMalformedError) {
  for (std::string_view text : {"", "not json", "{\"interface\":[", "[]", "\"x\"", "{}",
                                "{\"vmId\":\"a\"}", "<html>Service Unavailable</html>"}) {
    auto info = parse_imds(text);
    ASSERT_FALSE(info) << text;
    EXPECT_EQ(info.error().kind, ErrorKind::Malformed) << text;
  }
  EXPECT_EQ(parse_imds("not json").error().message, "not JSON");
  EXPECT_EQ(parse_imds("{}").error().message.rfind("not an IMDS document", 0), 0U);
  // Nested deeper than any IMDS document: refused before nlohmann builds (and recurses) a tree.
  std::string deep = "{\"interface\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
  EXPECT_FALSE(parse_imds(deep));
}

TEST(ImdsParse, HugeListsAreCutAtTheirBoundAndSaySo) {
  std::string nics = "{\"interface\":[";
  for (int i = 0; i < 1000; ++i)
    nics += std::string(i ? "," : "") + "{\"macAddress\":\"000D3A000001\"}";
  nics += "]}";
  auto info = parse_ok(nics);
  EXPECT_EQ(info.interfaces.size(), kMaxInterfaces);
  EXPECT_NE(unread_text(info).find("interface: 936 more interfaces not read (limit 64)"),
            std::string::npos)
      << unread_text(info);

  std::string ips = "{\"interface\":[{\"ipv4\":{\"ipAddress\":[";
  for (int i = 0; i < 5000; ++i)
    ips += std::string(i ? "," : "") + "{\"privateIpAddress\":\"10.0." + std::to_string(i / 250) +
           "." + std::to_string(i % 250 + 1) + "\"}";
  ips += "]}}]}";
  auto many = parse_ok(ips);
  ASSERT_EQ(many.interfaces.size(), 1U);
  EXPECT_EQ(many.interfaces[0].private_addresses.size(), kMaxPerList);

  // Thousands of bad values: the unread list stops at its bound plus one line saying so.
  std::string bad = "{\"interface\":[{\"ipv4\":{\"ipAddress\":[";
  for (int i = 0; i < 200; ++i) bad += std::string(i ? "," : "") + "{\"privateIpAddress\":1}";
  bad += "]}}]}";
  auto b = parse_ok(bad);
  EXPECT_EQ(b.unread.size(), kMaxUnread + 1);
  EXPECT_EQ(b.unread.back().where, "(more)");
}

TEST(ImdsRelation, SameSubnetAnotherNetworkPublicAndOther) {
  LOAD_OR_SKIP(text, "cloudinit_azure_imds_instance_metadata.json");
  auto vm = parse_ok(text);
  auto same = relate(vm, "10.0.0.9", AddressScope::Private);
  EXPECT_EQ(same.relation, "same subnet");
  EXPECT_NE(same.detail.find("subnet 10.0.0.0/24 (interface 00:0d:3a:04:75:98)"), std::string::npos)
      << same.detail;

  auto other = relate(vm, "10.0.1.4", AddressScope::Private);
  EXPECT_EQ(other.relation, "another network");
  EXPECT_NE(other.detail.find("none of this VM's subnets (10.0.0.0/24)"), std::string::npos);
  EXPECT_NE(other.detail.find("not its VNet's address space"), std::string::npos);

  EXPECT_EQ(relate(vm, "20.40.1.1", AddressScope::Public).relation, "public address");
  EXPECT_EQ(relate(vm, "127.0.0.1", AddressScope::Other).relation, "not a VNet address");
  // The caller's class decides outside the subnets (a --classify-as public range stays public).
  EXPECT_EQ(relate(vm, "10.250.200.10", AddressScope::Public).relation, "public address");
  // Inside a subnet wins over the class: the VM's own subnet is the VNet, whatever its range.
  EXPECT_EQ(relate(vm, "10.0.0.200", AddressScope::Public).relation, "same subnet");
}

TEST(ImdsRelation, IPv6SubnetsAndAVmWithoutSubnets) {
  auto vm =
      parse_ok(R"({"interface":[{"ipv6":{"subnet":[{"address":"fd00:1::","prefix":"64"}]}}]})");
  EXPECT_EQ(relate(vm, "fd00:1::44", AddressScope::Private).relation, "same subnet");
  EXPECT_EQ(relate(vm, "fd00:2::44", AddressScope::Private).relation, "another network");
  auto none = parse_ok(R"({"interface":[]})");
  auto r = relate(none, "10.0.0.4", AddressScope::Private);
  EXPECT_EQ(r.relation, "another network");
  EXPECT_NE(r.detail.find("(none listed)"), std::string::npos);
}

TEST(ImdsClient, DurationWords) {
  using std::chrono::milliseconds;
  EXPECT_EQ(duration_words(milliseconds(1000)), "1 s");
  EXPECT_EQ(duration_words(milliseconds(1500)), "1.5 s");
  EXPECT_EQ(duration_words(milliseconds(250)), "250 ms");
}

TEST(ImdsClient, AnswersWithTheMetadataHeaderAndNoProxy) {
  ImdsResponder imds(ImdsResponder::Mode::Imds, R"({"interface":[]})");
  ASSERT_GT(imds.port(), 0);
  // A proxy variable must not be used: IMDS is never reached through a proxy.
  setenv("http_proxy", "http://127.0.0.1:9", 1);
  setenv("HTTP_PROXY", "http://127.0.0.1:9", 1);
  ImdsRequest rq;
  rq.base = imds.base();
  auto a = imds_get(rq);
  unsetenv("http_proxy");
  unsetenv("HTTP_PROXY");
  EXPECT_TRUE(a.ok()) << a.error;
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, R"({"interface":[]})");
  EXPECT_FALSE(a.cut);
  EXPECT_EQ(imds.requests(), 1);
  const std::string req = imds.last_request();
  EXPECT_EQ(req.rfind("GET /metadata/instance?api-version=2021-02-01 HTTP/1.0\r\n", 0), 0U) << req;
  EXPECT_NE(req.find("\r\nMetadata: true\r\n"), std::string::npos) << req;
}

TEST(ImdsClient, WithoutTheHeaderImdsSays400) {
  ImdsResponder imds(ImdsResponder::Mode::Imds, R"({"interface":[]})");
  ImdsRequest rq;
  rq.base = imds.base();
  rq.metadata_header = false;
  auto a = imds_get(rq);
  EXPECT_FALSE(a.ok());
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.error, "HTTP status 400");
  EXPECT_FALSE(a.silent());
}

TEST(ImdsClient, SilenceEndsAtTheTimeout) {
  ImdsResponder imds(ImdsResponder::Mode::Silent, "");
  ImdsRequest rq;
  rq.base = imds.base();
  rq.timeout = std::chrono::milliseconds(300);
  auto a = imds_get(rq);
  EXPECT_TRUE(a.silent());
  EXPECT_EQ(a.error, "no answer within 300 ms");
  EXPECT_GE(a.elapsed_ms, 295.0);
  EXPECT_LT(a.elapsed_ms, 1300.0);  // the bound, with room for a loaded machine
  EXPECT_EQ(imds.requests(), 0);
}

TEST(ImdsClient, ABodyOverTheBoundIsCutAndSaid) {
  ImdsResponder imds(ImdsResponder::Mode::Huge, std::string(200000, 'x'));
  ImdsRequest rq;
  rq.base = imds.base();
  rq.max_body = 4096;
  auto a = imds_get(rq);
  EXPECT_FALSE(a.ok());
  EXPECT_TRUE(a.cut);
  EXPECT_EQ(a.body.size(), 4096U);
  EXPECT_EQ(a.error, "answer larger than 4096 bytes: cut there");
}

TEST(ImdsClient, NotHttpRefusedAndBadAddressesAreErrorsNotSilence) {
  ImdsResponder ssh(ImdsResponder::Mode::NotHttp, "");
  ImdsRequest rq;
  rq.base = ssh.base();
  auto a = imds_get(rq);
  EXPECT_EQ(a.error, "not an HTTP answer");
  EXPECT_EQ(a.kind, ErrorKind::Malformed);

  // A port nothing listens on: refused at once (Io), not the timeout.
  int closed_port = 0;
  {
    ImdsResponder gone(ImdsResponder::Mode::Imds, "");
    closed_port = gone.port();
  }
  rq.base = "http://127.0.0.1:" + std::to_string(closed_port);
  auto refused = imds_get(rq);
  EXPECT_EQ(refused.error, "connect: Connection refused");
  EXPECT_EQ(refused.kind, ErrorKind::Io);

  for (const char* bad : {"https://169.254.169.254", "http://imds.local", "http://127.0.0.1:0",
                          "http://127.0.0.1:99999", "http://127.0.0.1:8x"}) {
    rq.base = bad;
    auto b = imds_get(rq);
    EXPECT_EQ(b.kind, ErrorKind::Usage) << bad;
    EXPECT_FALSE(b.ok()) << bad;
  }
}
