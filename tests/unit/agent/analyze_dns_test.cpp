// DNS in captures (analyze): queries paired with their answers, unanswered ones, CNAME chains,
// and the same DNS rules as check firing for the SQL names; sessions linked to the name whose
// answer held their server address. Captures are built here byte by byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/analyze.h"
#include "decoders/capture/dns_seen.h"
#include "decoders/pcap/flows.h"
#include "reports/report.h"
#include "tests/unit/support/capture_builder.h"

using namespace midiag;
using test_support::Bytes;
using test_support::Ip4;

namespace {

constexpr Ip4 kClient{10, 1, 0, 5}, kResolver{10, 1, 0, 53}, kOtherResolver{10, 1, 0, 54};
constexpr std::uint16_t kA = 1, kAaaa = 28, kCname = 5;
const std::string kMi = "mi1.zone1.database.windows.net";

Bytes wire_name(const std::string& n) {
  Bytes out;
  std::size_t start = 0;
  while (start < n.size()) {
    auto dot = n.find('.', start);
    if (dot == std::string::npos) dot = n.size();
    out.push_back(static_cast<std::uint8_t>(dot - start));
    out.insert(out.end(), n.begin() + static_cast<std::ptrdiff_t>(start),
               n.begin() + static_cast<std::ptrdiff_t>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

struct Rr {
  std::string name;
  std::uint16_t type;
  std::uint32_t ttl;
  Bytes rdata;
};

Rr a_record(const std::string& name, Ip4 ip, std::uint32_t ttl) {
  return {name, kA, ttl, {ip.a, ip.b, ip.c, ip.d}};
}
Rr cname_record(const std::string& name, const std::string& target, std::uint32_t ttl) {
  return {name, kCname, ttl, wire_name(target)};
}

// RFC 1035 §4.1: header (id, flags, counts), one question, the answers (no compression).
Bytes dns_message(std::uint16_t id, bool response, std::uint8_t rcode, const std::string& qname,
                  std::uint16_t qtype, const std::vector<Rr>& answers = {}) {
  Bytes m(12, 0);
  test_support::put16(m, 0, id);
  test_support::put16(m, 2, response ? 0x8180U | rcode : 0x0100U);  // QR RD RA / RD
  test_support::put16(m, 4, 1);
  test_support::put16(m, 6, answers.size());
  const auto q = wire_name(qname);
  m.insert(m.end(), q.begin(), q.end());
  m.insert(m.end(),
           {static_cast<std::uint8_t>(qtype >> 8), static_cast<std::uint8_t>(qtype), 0, 1});
  for (const auto& rr : answers) {
    const auto n = wire_name(rr.name);
    m.insert(m.end(), n.begin(), n.end());
    Bytes fixed(10, 0);
    test_support::put16(fixed, 0, rr.type);
    test_support::put16(fixed, 2, 1);
    test_support::put32(fixed, 4, rr.ttl);
    test_support::put16(fixed, 8, rr.rdata.size());
    m.insert(m.end(), fixed.begin(), fixed.end());
    m.insert(m.end(), rr.rdata.begin(), rr.rdata.end());
  }
  return m;
}

struct Capture {
  test_support::PcapBuilder w;
  std::uint16_t ip_id = 1;
  void query(double t, std::uint16_t id, const std::string& name, std::uint16_t type = kA,
             Ip4 resolver = kResolver) {
    w.add(t, test_support::ipv4(
                 kClient, resolver, 64, 17, ip_id++,
                 test_support::udp_datagram(40000, 53, dns_message(id, false, 0, name, type))));
  }
  void answer(double t, std::uint16_t id, const std::string& name, std::uint8_t rcode,
              const std::vector<Rr>& answers, std::uint16_t type = kA, Ip4 resolver = kResolver) {
    w.add(t, test_support::ipv4(resolver, kClient, 63, 17, ip_id++,
                                test_support::udp_datagram(
                                    53, 40000, dns_message(id, true, rcode, name, type, answers))));
  }
  // A TCP handshake from the client to server:1433.
  void connect(double t, Ip4 server, std::uint16_t cport = 50000) {
    using namespace pcap::tcp_flags;
    w.add(t, test_support::ipv4(kClient, server, 64, 6, ip_id++,
                                test_support::tcp_segment(cport, 1433, 1000, 0, kSyn)));
    w.add(t + 0.01,
          test_support::ipv4(server, kClient, 63, 6, ip_id++,
                             test_support::tcp_segment(1433, cport, 5000, 1001, kSyn | kAck)));
    w.add(t + 0.011, test_support::ipv4(kClient, server, 64, 6, ip_id++,
                                        test_support::tcp_segment(cport, 1433, 1001, 5001, kAck)));
  }
};

reports::Report analyze(const Bytes& b) {
  agent::AnalyzeOptions o;
  o.file = "dns.pcap";
  auto r = agent::analyze_capture(b, o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : reports::Report{};
}

const reports::Finding* finding(const reports::Report& r, std::string_view code) {
  for (const auto& f : r.findings)
    if (f.name() == code) return &f;
  return nullptr;
}

std::string codes(const reports::Report& r) {
  std::string out;
  for (const auto& f : r.findings) out += std::string(f.name()) + " ";
  return out;
}

}  // namespace

TEST(AnalyzeDns, QueryAndAnswerArePairedAndTheSessionNamesItsLookup) {
  Capture c;
  c.query(1.000, 0x1111, kMi);
  c.query(1.001, 0x2222, kMi, kAaaa);
  c.answer(1.020, 0x1111, kMi, 0, {a_record(kMi, {10, 2, 0, 4}, 10)});
  c.answer(1.025, 0x2222, kMi, 0, {}, kAaaa);  // NOERROR, no AAAA
  c.connect(1.030, {10, 2, 0, 4});
  const auto r = analyze(c.w.bytes());
  ASSERT_EQ(r.evidence.lookups.size(), 2U);
  const auto& a = r.evidence.lookups[0];
  EXPECT_EQ(a.resolver, "10.1.0.53");
  EXPECT_EQ(a.name, kMi);
  EXPECT_EQ(a.type, "A");
  EXPECT_EQ(a.status, dns::Status::Ok);
  ASSERT_EQ(a.addresses.size(), 1U);
  EXPECT_EQ(a.addresses[0].address, "10.2.0.4");
  EXPECT_EQ(a.addresses[0].ttl, 10U);
  EXPECT_EQ(a.addresses[0].cls, net::AddressClass::Private);
  EXPECT_NEAR(a.elapsed_ms, 20.0, 0.01);
  EXPECT_EQ(r.evidence.lookups[1].type, "AAAA");
  EXPECT_TRUE(r.evidence.lookups[1].addresses.empty());
  ASSERT_EQ(r.evidence.packets->sessions.size(), 1U);
  EXPECT_EQ(r.evidence.packets->sessions[0].dns_name, kMi);
  EXPECT_EQ(r.evidence.packets->dns_messages, 4U);
  EXPECT_EQ(r.verdict, reports::Verdict::Ok) << codes(r);
  const auto json = nlohmann::json::parse(reports::render_json(r));
  EXPECT_EQ(json["dns"]["lookups"][0]["name"], kMi);
  EXPECT_EQ(json["dns"]["lookups"][0]["status"], "ok");
  EXPECT_EQ(json["dns"]["lookups"][0]["addresses"][0]["class"], "private");
  EXPECT_EQ(json["sessions"][0]["dns"], kMi);
  EXPECT_NE(reports::render_text(r, {}).find(", dns " + kMi), std::string::npos);
}

TEST(AnalyzeDns, NxDomainForTheSqlNameIsDnsNameNotFound) {
  Capture c;
  c.query(1.0, 7, kMi);
  c.answer(1.01, 7, kMi, 3, {});
  c.query(1.1, 8, "printer.corp.example");  // not a SQL name: no finding of its own
  c.answer(1.11, 8, "printer.corp.example", 3, {});
  const auto r = analyze(c.w.bytes());
  ASSERT_EQ(r.evidence.lookups.size(), 2U);
  EXPECT_EQ(r.evidence.lookups[0].status, dns::Status::NxDomain);
  const auto* f = finding(r, "DNS_NAME_NOT_FOUND");
  ASSERT_NE(f, nullptr) << codes(r);
  EXPECT_NE(f->title.find(kMi), std::string::npos);
  EXPECT_NE(f->title.find("10.1.0.53"), std::string::npos);
  EXPECT_EQ(
      std::count_if(r.findings.begin(), r.findings.end(),
                    [](const reports::Finding& x) { return x.name() == "DNS_NAME_NOT_FOUND"; }),
      1);
  EXPECT_EQ(r.verdict, reports::Verdict::Fail);
}

TEST(AnalyzeDns, QueriesNeverAnsweredAreTheResolverUnreachable) {
  Capture c;
  for (double t : {1.0, 2.0, 4.0}) c.query(t, 0x4242, kMi);  // the client's retries
  c.query(4.001, 0x4242, kMi);                               // a capture copy of the last one
  c.query(6.9, 9, "mi2.zone1.database.windows.net");         // cut off by the end of the capture
  c.query(7.0, 10, "other.example");
  c.answer(7.01, 10, "other.example", 0, {a_record("other.example", {192, 0, 2, 1}, 60)});
  const auto r = analyze(c.w.bytes());
  const auto it = std::find_if(r.evidence.lookups.begin(), r.evidence.lookups.end(),
                               [](const dns::Lookup& l) { return l.name == kMi; });
  ASSERT_NE(it, r.evidence.lookups.end());
  EXPECT_EQ(it->status, dns::Status::Timeout);
  EXPECT_TRUE(it->unreachable);
  EXPECT_NE(it->error.find("3 queries over 3.0 s"), std::string::npos) << it->error;
  EXPECT_EQ(std::count_if(r.evidence.lookups.begin(), r.evidence.lookups.end(),
                          [](const dns::Lookup& l) { return l.name.starts_with("mi2."); }),
            0);
  ASSERT_NE(finding(r, "DNS_RESOLVER_UNREACHABLE"), nullptr) << codes(r);
  EXPECT_EQ(finding(r, "DNS_RESOLVER_UNREACHABLE")->severity, reports::Severity::Error);
  EXPECT_TRUE(std::any_of(
      r.evidence.limitations.begin(), r.evidence.limitations.end(),
      [](const std::string& l) { return l.find("1 DNS quer(y/ies) had no answer yet") == 0; }));
  EXPECT_EQ(r.verdict, reports::Verdict::Fail);
}

TEST(AnalyzeDns, AnotherResolverAnsweringMakesTheSilentOneAWarning) {
  Capture c;
  c.query(1.0, 1, kMi);
  c.query(3.0, 2, kMi, kA, kOtherResolver);
  c.answer(3.02, 2, kMi, 0, {a_record(kMi, {10, 2, 0, 4}, 5)}, kA, kOtherResolver);
  c.connect(3.05, {10, 2, 0, 4});
  const auto r = analyze(c.w.bytes());
  const auto* f = finding(r, "DNS_RESOLVER_UNREACHABLE");
  ASSERT_NE(f, nullptr) << codes(r);
  EXPECT_NE(f->title.find("10.1.0.53"), std::string::npos);
  EXPECT_EQ(f->severity, reports::Severity::Warning);
  EXPECT_EQ(r.verdict, reports::Verdict::Warn) << codes(r);
}

TEST(AnalyzeDns, PrivatelinkChainToAPublicAddressIsFlagged) {
  const std::string pl = "mi1.privatelink.zone1.database.windows.net";
  Capture c;
  c.query(1.0, 0x99, kMi);
  c.answer(1.03, 0x99, kMi, 0, {cname_record(kMi, pl, 300), a_record(pl, {52, 1, 2, 3}, 30)});
  c.connect(1.05, {52, 1, 2, 3});
  const auto r = analyze(c.w.bytes());
  ASSERT_EQ(r.evidence.lookups.size(), 1U);
  const auto& l = r.evidence.lookups[0];
  ASSERT_EQ(l.cname_chain.size(), 1U);
  EXPECT_EQ(l.cname_chain[0].target, pl);
  EXPECT_EQ(l.cname_chain[0].ttl, 300U);
  ASSERT_EQ(l.addresses.size(), 1U);
  EXPECT_EQ(l.addresses[0].address, "52.1.2.3");
  EXPECT_EQ(r.evidence.packets->sessions.at(0).dns_name, kMi);
  ASSERT_EQ(r.evidence.packets->dns_targets.size(), 1U);
  EXPECT_EQ(r.evidence.packets->dns_targets[0].kind, reports::EndpointKind::PrivateEndpoint);
  const auto* f = finding(r, "DNS_PUBLIC_ADDRESS_FOR_VNET_LOCAL");
  ASSERT_NE(f, nullptr) << codes(r);
  EXPECT_EQ(f->addresses, std::vector<std::string>{"52.1.2.3"});
}

TEST(AnalyzeDns, PublicEndpointNameGivingAPrivateAddressIsFlagged) {
  const std::string pub = "mi1.public.zone1.database.windows.net";
  Capture c;
  c.query(1.0, 5, pub);
  c.answer(1.01, 5, pub, 0, {a_record(pub, {10, 9, 9, 9}, 30)});
  const auto r = analyze(c.w.bytes());
  EXPECT_NE(finding(r, "DNS_PRIVATE_ADDRESS_FOR_PUBLIC_ENDPOINT"), nullptr) << codes(r);
  EXPECT_EQ(finding(r, "DNS_PUBLIC_ADDRESS_FOR_VNET_LOCAL"), nullptr);
}

TEST(AnalyzeDns, AnswerCopiesAndAnswersWithoutTheirQueryArePairedOnce) {
  Capture c;
  c.answer(0.5, 3, kMi, 0, {a_record(kMi, {10, 2, 0, 4}, 10)});  // its query was not captured
  c.query(1.0, 4, kMi);
  c.answer(1.01, 4, kMi, 0, {a_record(kMi, {10, 2, 0, 4}, 9)});
  c.answer(1.0101, 4, kMi, 0, {a_record(kMi, {10, 2, 0, 4}, 9)});  // tcpdump -i any copy
  const auto r = analyze(c.w.bytes());
  ASSERT_EQ(r.evidence.lookups.size(), 2U);
  EXPECT_EQ(r.evidence.lookups[0].elapsed_ms, 0.0);  // no query: no time
  EXPECT_EQ(r.evidence.lookups[1].status, dns::Status::Ok);
  EXPECT_EQ(r.verdict, reports::Verdict::Ok) << codes(r);
}

TEST(AnalyzeDns, LookupsBeyondTheLimitAreCountedNotKept) {
  Capture c;
  const std::size_t n = capture::kMaxDnsLookups + 6;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string name = "host" + std::to_string(i) + ".example";
    c.query(1.0 + static_cast<double>(i) * 0.001, static_cast<std::uint16_t>(i), name);
    c.answer(1.0005 + static_cast<double>(i) * 0.001, static_cast<std::uint16_t>(i), name, 0,
             {a_record(name, {192, 0, 2, 7}, 1)});
  }
  const auto r = analyze(c.w.bytes());
  EXPECT_EQ(r.evidence.lookups.size(), capture::kMaxDnsLookups);
  EXPECT_EQ(r.evidence.packets->dns_lookups_not_kept, 6U);
  EXPECT_TRUE(std::any_of(r.evidence.limitations.begin(), r.evidence.limitations.end(),
                          [](const std::string& l) { return l.find("6 DNS lookup(s)") == 0; }));
}

TEST(AnalyzeDns, NonDnsUdpAndMalformedPayloadsAreNotLookups) {
  capture::DnsSeen seen;
  pcap::Packet p;
  p.src.bytes = {10, 1, 0, 5};
  p.dst.bytes = {10, 1, 0, 53};
  p.udp = pcap::UdpHeader{40000, 443};  // QUIC, not DNS: not even parsed
  const auto quic = dns_message(1, false, 0, kMi, kA);
  p.payload = quic;  // the packet views these bytes, as decode_packet's packets view their frame
  seen.add(p);
  p.udp = pcap::UdpHeader{40000, 53};
  const std::vector<std::uint8_t> junk = {0xde, 0xad};  // not a DNS message
  p.payload = junk;
  seen.add(p);
  const auto out = seen.finish();
  EXPECT_TRUE(out.lookups.empty());
  EXPECT_EQ(out.messages, 0U);
  EXPECT_EQ(out.malformed, 1U);
}

TEST(AnalyzeDns, ALaterAnswerFromTheSameResolverSpeaksForItAndAnswersMayRotate) {
  Capture c;
  c.query(1.0, 1, kMi);                                           // lost: no answer
  c.query(6.0, 2, kMi);                                           // the application's retry
  c.answer(6.01, 2, kMi, 0, {a_record(kMi, {10, 2, 0, 4}, 5)});   // answered
  c.query(20.0, 3, kMi);                                          // later, after the TTL
  c.answer(20.01, 3, kMi, 0, {a_record(kMi, {10, 2, 0, 5}, 5)});  // another address: rotation
  const auto r = analyze(c.w.bytes());
  ASSERT_EQ(r.evidence.lookups.size(), 3U);
  EXPECT_EQ(r.evidence.lookups[0].status, dns::Status::Timeout);  // kept as evidence
  EXPECT_EQ(finding(r, "DNS_RESOLVER_UNREACHABLE"), nullptr) << codes(r);
  EXPECT_EQ(finding(r, "DNS_RESOLVERS_DISAGREE"), nullptr) << codes(r);
  EXPECT_EQ(r.verdict, reports::Verdict::Ok) << codes(r);
}

// RFC 7766: over TCP each message follows its 2-byte length (what a client does after TC=1).
TEST(AnalyzeDns, LookupsOverTcpArePairedToo) {
  using namespace pcap::tcp_flags;
  auto framed = [](const Bytes& m) {
    Bytes b = {static_cast<std::uint8_t>(m.size() >> 8), static_cast<std::uint8_t>(m.size())};
    b.insert(b.end(), m.begin(), m.end());
    return b;
  };
  const Bytes q = framed(dns_message(0x77, false, 0, kMi, kA));
  const Bytes answer =
      framed(dns_message(0x77, true, 0, kMi, kA, {a_record(kMi, {10, 2, 0, 9}, 7)}));
  test_support::PcapBuilder w;
  auto add = [&](double t, bool up, std::uint32_t seq, std::uint32_t ack, std::uint8_t flags,
                 const Bytes& data = {}) {
    w.add(t, up ? test_support::ipv4(kClient, kResolver, 64, 6, 1,
                                     test_support::tcp_segment(50001, 53, seq, ack, flags, data))
                : test_support::ipv4(kResolver, kClient, 63, 6, 2,
                                     test_support::tcp_segment(53, 50001, seq, ack, flags, data)));
  };
  add(1.000, true, 100, 0, kSyn);
  add(1.001, false, 900, 101, kSyn | kAck);
  add(1.002, true, 101, 901, kAck);
  add(1.003, true, 101, 901, kAck | kPsh, q);
  add(1.050, false, 901, 101 + static_cast<std::uint32_t>(q.size()), kAck | kPsh, answer);
  const auto r = analyze(w.bytes());
  ASSERT_EQ(r.evidence.lookups.size(), 1U) << codes(r);
  const auto& l = r.evidence.lookups[0];
  EXPECT_EQ(l.name, kMi);
  EXPECT_EQ(l.status, dns::Status::Ok);
  ASSERT_EQ(l.addresses.size(), 1U);
  EXPECT_EQ(l.addresses[0].address, "10.2.0.9");
  EXPECT_NEAR(l.elapsed_ms, 47.0, 0.01);
}
