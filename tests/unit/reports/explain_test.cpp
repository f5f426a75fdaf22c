// Each explain rule, table-driven: hand-built evidence in, exact codes (in order) and verdict out.
#include "reports/explain.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "reports/report.h"

using namespace midiag;
using namespace midiag::reports;

namespace {

dns::Lookup lookup(std::string resolver, std::string name, std::string type, dns::Status st,
                   std::vector<std::pair<std::string, net::AddressClass>> addrs = {}) {
  dns::Lookup l;
  l.resolver = std::move(resolver);
  l.name = std::move(name);
  l.type = std::move(type);
  l.status = st;
  l.unreachable = st == dns::Status::Timeout;
  for (auto& [a, c] : addrs) l.addresses.push_back({a, 300, c});
  return l;
}

tcp::Result probe(std::string addr, std::uint16_t port, tcp::State st,
                  tcp::Role role = tcp::Role::Gateway) {
  tcp::Result r;
  r.target = {std::move(addr), port, role};
  r.state = st;
  r.rtt_ms = st == tcp::State::Filtered ? 1000 : 0.5;
  if (st == tcp::State::Unreachable) {
    r.icmp = {3, 13, "10.250.1.1"};
    r.detail = "ICMP 3/13 (communication administratively prohibited) from 10.250.1.1";
  }
  return r;
}

const std::string kHost = "mi1.lab0001.database.windows.net";
const auto P = net::AddressClass::Private;
const auto Pub = net::AddressClass::Public;

Evidence base(std::string input = kHost) {
  Evidence ev;
  ev.target = *parse_target(input);
  ev.dns_ran = ev.target.kind != EndpointKind::IpLiteral;
  ev.system_servers = {"10.250.1.1"};
  return ev;
}

Evidence resolved(std::string addr = "10.250.2.10", net::AddressClass c = P,
                  std::string input = kHost) {
  auto ev = base(input);
  ev.lookups.push_back(lookup("system", ev.target.host, "A", dns::Status::Ok, {{addr, c}}));
  ev.lookups.push_back(lookup("system", ev.target.host, "AAAA", dns::Status::Ok));
  ev.addresses = {addr};
  return ev;
}

struct Case {
  const char* name;
  std::function<Evidence()> make;
  std::vector<std::string> codes;  // in report order
  Verdict verdict;
};

std::vector<std::string> codes_of(const std::vector<Finding>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.emplace_back(f.name());
  return out;
}

}  // namespace

TEST(Explain, RuleTable) {
  const std::vector<Case> cases = {
      {"healthy",
       [] {
         auto ev = resolved();
         ev.tcp = {probe("10.250.2.10", 1433, tcp::State::Open)};
         return ev;
       },
       {},
       Verdict::Ok},
      {"filtered",
       [] {
         auto ev = resolved();
         ev.tcp = {probe("10.250.2.10", 1433, tcp::State::Filtered)};
         return ev;
       },
       {"TCP_FILTERED"},
       Verdict::Fail},
      {"refused",
       [] {
         auto ev = resolved();
         ev.tcp = {probe("10.250.2.10", 1433, tcp::State::Refused)};
         return ev;
       },
       {"TCP_REFUSED"},
       Verdict::Fail},
      {"icmp",
       [] {
         auto ev = resolved();
         ev.tcp = {probe("10.250.2.10", 1433, tcp::State::Unreachable)};
         return ev;
       },
       {"ICMP_UNREACHABLE"},
       Verdict::Fail},
      {"no route from connect",
       [] {
         auto ev = resolved();
         ev.tcp = {probe("10.250.2.10", 1433, tcp::State::NoRoute)};
         return ev;
       },
       {"ROUTE_MISSING"},
       Verdict::Fail},
      {"no route from lookup, deduplicated with connect",
       [] {
         auto ev = resolved();
         ev.routes.push_back(
             {"10.250.2.10", "", "", "", 0, -1, 0, "no_route", "Network is unreachable"});
         ev.tcp = {probe("10.250.2.10", 1433, tcp::State::NoRoute)};
         return ev;
       },
       {"ROUTE_MISSING"},
       Verdict::Fail},
      {"nxdomain",
       [] {
         auto ev = base();
         ev.lookups = {lookup("system", kHost, "A", dns::Status::NxDomain),
                       lookup("system", kHost, "AAAA", dns::Status::NxDomain)};
         return ev;
       },
       {"DNS_NAME_NOT_FOUND"},
       Verdict::Fail},
      {"resolver timeout",
       [] {
         auto ev = base();
         ev.lookups = {lookup("system", kHost, "A", dns::Status::Timeout),
                       lookup("system", kHost, "AAAA", dns::Status::Timeout)};
         return ev;
       },
       {"DNS_RESOLVER_UNREACHABLE"},
       Verdict::Fail},
      {"servfail",
       [] {
         auto ev = base();
         ev.lookups = {lookup("system", kHost, "A", dns::Status::ServFail),
                       lookup("system", kHost, "AAAA", dns::Status::ServFail)};
         return ev;
       },
       {"DNS_SERVER_FAILURE"},
       Verdict::Fail},
      {"public address for vnet-local",
       [] {
         auto ev = resolved("20.1.2.3", Pub);
         ev.tcp = {probe("20.1.2.3", 1433, tcp::State::Open)};
         return ev;
       },
       {"DNS_PUBLIC_ADDRESS_FOR_VNET_LOCAL"},
       Verdict::Fail},
      {"private address for public",
       [] {
         auto ev = resolved("10.250.2.10", P, "mi1.public.lab0001.database.windows.net");
         ev.tcp = {probe("10.250.2.10", 3342, tcp::State::Open, tcp::Role::Public)};
         return ev;
       },
       {"DNS_PRIVATE_ADDRESS_FOR_PUBLIC_ENDPOINT"},
       Verdict::Fail},
      {"public endpoint on 1433, dropped: the port explains the drop",
       [] {
         auto ev = resolved("20.1.2.3", Pub, "mi1.public.lab0001.database.windows.net:1433");
         ev.tcp = {probe("20.1.2.3", 1433, tcp::State::Filtered)};
         return ev;
       },
       {"WRONG_PORT_FOR_ENDPOINT", "TCP_FILTERED"},
       Verdict::Fail},
      {"ip literal",
       [] {
         auto ev = base("10.250.2.10");
         ev.addresses = {"10.250.2.10"};
         ev.tcp = {probe("10.250.2.10", 1433, tcp::State::Open)};
         return ev;
       },
       {"TARGET_IS_IP_LITERAL"},
       Verdict::Warn},
      {"resolvers disagree",
       [] {
         auto ev = resolved();
         ev.lookups.push_back(
             lookup("10.250.1.53", kHost, "A", dns::Status::Ok, {{"10.250.2.11", P}}));
         ev.lookups.push_back(lookup("10.250.1.53", kHost, "AAAA", dns::Status::Ok));
         ev.addresses = {"10.250.2.10", "10.250.2.11"};
         ev.tcp = {probe("10.250.2.10", 1433, tcp::State::Open),
                   probe("10.250.2.11", 1433, tcp::State::Open)};
         return ev;
       },
       {"DNS_RESOLVERS_DISAGREE"},
       Verdict::Warn},
      {"extra resolver down while the system one works is a warning",
       [] {
         auto ev = resolved();
         ev.lookups.push_back(lookup("10.9.9.9", kHost, "A", dns::Status::Timeout));
         ev.lookups.push_back(lookup("10.9.9.9", kHost, "AAAA", dns::Status::Timeout));
         ev.tcp = {probe("10.250.2.10", 1433, tcp::State::Open)};
         return ev;
       },
       {"DNS_RESOLVER_UNREACHABLE"},
       Verdict::Warn},
      {"hosts file override",
       [] {
         auto ev = resolved();
         ev.hosts_entries = {{"10.250.2.99", {kHost}, 7}};
         ev.addresses = {"10.250.2.99"};
         ev.tcp = {probe("10.250.2.99", 1433, tcp::State::Filtered)};
         return ev;
       },
       {"DNS_HOSTS_FILE_OVERRIDE", "TCP_FILTERED"},
       Verdict::Fail},
      {"one of two addresses dropped: warning, the other answers",
       [] {
         auto ev = resolved();
         ev.lookups[1] = lookup("system", kHost, "AAAA", dns::Status::Ok,
                                {{"fd00::10", net::AddressClass::Ula}});
         ev.addresses = {"10.250.2.10", "fd00::10"};
         ev.tcp = {probe("10.250.2.10", 1433, tcp::State::Open),
                   probe("fd00::10", 1433, tcp::State::Filtered)};
         return ev;
       },
       {"TCP_FILTERED"},
       Verdict::Warn},
      {"a 1,000-port sweep is one finding",
       [] {
         auto ev = resolved();
         ev.tcp = {probe("10.250.2.10", 1433, tcp::State::Open)};
         for (std::uint16_t p = 11000; p <= 11999; ++p)
           ev.tcp.push_back(probe("10.250.2.10", p, tcp::State::Filtered, tcp::Role::Sweep));
         return ev;
       },
       {"TCP_FILTERED"},
       Verdict::Fail},
  };
  for (const auto& c : cases) {
    auto ev = c.make();
    auto findings = explain(ev);
    EXPECT_EQ(codes_of(findings), c.codes) << c.name;
    EXPECT_EQ(verdict_of(findings), c.verdict) << c.name;
  }
}

TEST(Explain, EffectsNameTheirCause) {
  auto ev = resolved("20.1.2.3", Pub, "mi1.public.lab0001.database.windows.net:1433");
  ev.tcp = {probe("20.1.2.3", 1433, tcp::State::Filtered)};
  auto findings = explain(ev);
  ASSERT_EQ(findings.size(), 2u);
  ASSERT_TRUE(findings[1].caused_by.has_value());
  EXPECT_EQ(*findings[1].caused_by, Code::WrongPortForEndpoint);
}

TEST(Explain, SweepFindingSaysHowManyPorts) {
  auto ev = resolved();
  for (std::uint16_t p = 11000; p <= 11999; ++p)
    ev.tcp.push_back(probe("10.250.2.10", p, tcp::State::Filtered, tcp::Role::Sweep));
  auto findings = explain(ev);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_NE(findings[0].title.find("11000-11999 (1000)"), std::string::npos) << findings[0].title;
  EXPECT_LE(findings[0].evidence.size(), 9u);
}

TEST(Explain, DnsFailureSaysNothingWasProbed) {
  auto ev = base();
  ev.lookups = {lookup("system", kHost, "A", dns::Status::NxDomain),
                lookup("system", kHost, "AAAA", dns::Status::NxDomain)};
  auto findings = explain(ev);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_NE(findings[0].detail.find("Nothing could be probed"), std::string::npos);
}

TEST(Catalogue, EveryCodeHasTextAndAUniqueName) {
  std::set<std::string_view> names;
  for (const auto& e : catalogue_entries()) {
    EXPECT_FALSE(e.title.empty());
    EXPECT_FALSE(e.remediation.empty());
    EXPECT_FALSE(e.reference.empty());
    EXPECT_TRUE(names.insert(e.name).second) << e.name;
    EXPECT_EQ(code_from_name(e.name), e.code);
  }
}

TEST(Report, JsonHasTheSpecFields) {
  auto ev = resolved();
  ev.tcp = {probe("10.250.2.10", 1433, tcp::State::Filtered)};
  for (std::uint16_t p = 11000; p <= 11999; ++p)
    ev.tcp.push_back(probe("10.250.2.10", p, tcp::State::Filtered, tcp::Role::Sweep));
  auto j = to_json(make_report("t", ev));
  EXPECT_EQ(j["schema"], "mi-diag.report/1");
  EXPECT_EQ(j["verdict"], "fail");
  EXPECT_EQ(j["target"]["endpoint_kind"], "vnet_local");
  EXPECT_EQ(j["target"]["zone"], "lab0001");
  EXPECT_EQ(j["dns"]["lookups"][0]["addresses"][0]["class"], "private");
  EXPECT_EQ(j["tcp"].size(), 1u);
  EXPECT_EQ(j["tcp"][0]["state"], "filtered");
  ASSERT_EQ(j["tcp_sweeps"].size(), 1u);
  EXPECT_EQ(j["tcp_sweeps"][0]["filtered"], 1000);
  EXPECT_EQ(j["tcp_sweeps"][0]["from"], 11000);
  EXPECT_EQ(j["findings"][0]["code"], "TCP_FILTERED");
  for (const char* k :
       {"code", "severity", "title", "detail", "evidence", "remediation", "reference"})
    EXPECT_TRUE(j["findings"][0].contains(k)) << k;
}

TEST(Report, TextPutsTheVerdictFirstAndOneLinePerFinding) {
  auto ev = resolved("20.1.2.3", Pub, "mi1.public.lab0001.database.windows.net:1433");
  ev.tcp = {probe("20.1.2.3", 1433, tcp::State::Filtered)};
  auto text = render_text(make_report("t", ev), {false, false});
  EXPECT_EQ(text.rfind("FAIL", 0), 0u) << text;
  EXPECT_NE(text.find("WRONG_PORT_FOR_ENDPOINT"), std::string::npos);
  EXPECT_NE(text.find("follows from WRONG_PORT_FOR_ENDPOINT"), std::string::npos);
  EXPECT_EQ(text.find("evidence:"), std::string::npos);  // only with -v
  auto verbose = render_text(make_report("t", ev), {true, false});
  EXPECT_NE(verbose.find("evidence: tcp 20.1.2.3:1433"), std::string::npos) << verbose;
  EXPECT_EQ(verbose.find("\033["), std::string::npos);  // no colour off a TTY
  auto md = render_markdown(make_report("t", ev));
  EXPECT_NE(md.find("| error | `WRONG_PORT_FOR_ENDPOINT` |"), std::string::npos) << md;
}

TEST(FormatPorts, CompressesRanges) {
  EXPECT_EQ(format_ports({1433}), "1433");
  EXPECT_EQ(format_ports({11001, 11000, 11002, 1433, 5022}), "1433, 5022, 11000-11002");
}

// Issue 7 item 10: findings were linked by title substring, so a ROUTE_MISSING for 10.0.0.1
// swallowed the one for 10.0.0.10. They are linked by the addresses they are about now.
TEST(Explain, FindingsAreLinkedByAddressNotByTitleText) {
  Evidence ev = base();
  ev.addresses = {"10.0.0.1", "10.0.0.10"};
  platform::RouteInfo none;
  none.destination = "10.0.0.10";  // its title "... to 10.0.0.10" contains " 10.0.0.1"
  none.kind = "no_route";
  none.error = "Network is unreachable";
  ev.routes = {none};
  ev.tcp = {probe("10.0.0.1", 1433, tcp::State::NoRoute)};
  auto findings = explain(ev);
  std::set<std::string> about;
  for (const auto& f : findings)
    if (f.code == Code::RouteMissing)
      for (const auto& a : f.addresses) about.insert(a);
  EXPECT_EQ(about, (std::set<std::string>{"10.0.0.1", "10.0.0.10"}));
}

// Issue 10: check's route step runs the routes command's rules on this host's own tables. A VPN
// (wg0) carries 10.1.0.0/16 and 10.4.0.0/16; the instance's 10.250.2.10 leaves by the default
// route and does not answer: ROUTE_UNEXPECTED_PATH, and the filtered probe is caused by it.
namespace {
Evidence vpn_host(tcp::State state, bool on_azure) {
  Evidence ev = resolved();
  auto table = platform::routes::parse_linux(
      "default via 192.168.1.1 dev eth0 proto dhcp metric 100\n"
      "10.1.0.0/16 dev wg0 scope link\n"
      "10.4.0.0/16 dev wg0 scope link\n"
      "192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.20\n");
  EXPECT_TRUE(table);
  ev.route_table = *table;
  auto to = platform::routes::Address::parse("10.250.2.10");
  ev.route_choices.push_back({"10.250.2.10", platform::routes::lookup(*ev.route_table, *to)});
  platform::RouteInfo kernel;
  kernel.destination = "10.250.2.10";
  kernel.interface = "eth0";
  kernel.gateway = "192.168.1.1";
  kernel.kind = "unicast";
  ev.routes = {kernel};
  ev.on_azure = on_azure;
  ev.tcp = {probe("10.250.2.10", 1433, state)};
  return ev;
}
}  // namespace

TEST(Explain, AVpnCarryingOtherPrivateNetworksButNotTheInstancesIsTheCause) {
  auto findings = explain(vpn_host(tcp::State::Filtered, false));
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(findings[0].code, Code::RouteUnexpectedPath) << findings[0].title;
  EXPECT_NE(findings[0].detail.find("10.1.0.0/16, 10.4.0.0/16 go through wg0"), std::string::npos)
      << findings[0].detail;
  auto filtered = std::find_if(findings.begin(), findings.end(),
                               [](const Finding& f) { return f.code == Code::TcpFiltered; });
  ASSERT_NE(filtered, findings.end());
  EXPECT_EQ(filtered->caused_by, Code::RouteUnexpectedPath);
}

TEST(Explain, TheVpnRuleNeedsTheAddressToFailAndTheHostNotToBeAnAzureVm) {
  auto has_route_finding = [](const Evidence& ev) {
    auto findings = explain(ev);
    return std::any_of(findings.begin(), findings.end(),
                       [](const Finding& f) { return f.code == Code::RouteUnexpectedPath; });
  };
  EXPECT_FALSE(has_route_finding(vpn_host(tcp::State::Open, false)));     // it works: no finding
  EXPECT_FALSE(has_route_finding(vpn_host(tcp::State::Filtered, true)));  // Azure VM: normal
  EXPECT_TRUE(has_route_finding(vpn_host(tcp::State::Filtered, false)));
  auto unprobed = vpn_host(tcp::State::Filtered, false);
  unprobed.tcp.clear();  // the TCP step did not run: no evidence the path fails
  EXPECT_FALSE(has_route_finding(unprobed));
}

// Issue 11, MI link: the instance's 5022 and range, the VNet-local endpoint, this host's endpoint.
namespace {
Evidence link_evidence(tcp::State mirror, tcp::State range, std::optional<bool> listening) {
  Evidence ev = resolved();
  ev.mode = Mode::Link;
  ev.tcp = {probe("10.250.2.10", 1433, tcp::State::Open),
            probe("10.250.2.10", 5022, mirror, tcp::Role::Link)};
  for (std::uint16_t p = 11000; p <= 11999; ++p)
    ev.tcp.push_back(probe("10.250.2.10", p, range, tcp::Role::Sweep));
  Evidence::LinkEvidence link;
  link.listening = listening;
  ev.link = link;
  return ev;
}
std::vector<Code> link_codes(const std::vector<Finding>& findings) {
  std::vector<Code> out;
  for (const auto& f : findings) out.push_back(f.code);
  return out;
}
}  // namespace

TEST(ExplainLink, MirroringPortDroppedIsTheCauseOfTheFilteredProbe) {
  auto findings = explain(link_evidence(tcp::State::Filtered, tcp::State::Refused, true));
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(findings[0].code, Code::MiLinkPortUnreachable);
  EXPECT_NE(findings[0].title.find("5022"), std::string::npos) << findings[0].title;
  for (const auto& f : findings) {
    if (f.code == Code::TcpFiltered) {
      EXPECT_EQ(f.caused_by, Code::MiLinkPortUnreachable);
    }
  }
}

TEST(ExplainLink, AClosedLocalEndpointIsSaidAndAHealthyLinkIsNot) {
  auto local = link_codes(explain(link_evidence(tcp::State::Open, tcp::State::Refused, false)));
  EXPECT_EQ(std::count(local.begin(), local.end(), Code::MiLinkPortUnreachable), 1);

  auto healthy = link_codes(explain(link_evidence(tcp::State::Open, tcp::State::Refused, true)));
  EXPECT_EQ(std::count(healthy.begin(), healthy.end(), Code::MiLinkPortUnreachable), 0);
  auto unknown = link_codes(explain(link_evidence(tcp::State::Open, tcp::State::Refused, {})));
  EXPECT_EQ(std::count(unknown.begin(), unknown.end(), Code::MiLinkPortUnreachable), 0);
}

TEST(ExplainLink, ThePublicEndpointOrAPrivateEndpointCannotCarryTheLink) {
  auto pub = resolved("20.1.2.3", Pub, "mi1.public.lab0001.database.windows.net");
  pub.mode = Mode::Link;
  auto codes = link_codes(explain(pub));
  EXPECT_NE(std::find(codes.begin(), codes.end(), Code::MiLinkNeedsVnetLocal), codes.end());

  auto vnet = resolved();
  vnet.mode = Mode::Link;
  codes = link_codes(explain(vnet));
  EXPECT_EQ(std::find(codes.begin(), codes.end(), Code::MiLinkNeedsVnetLocal), codes.end());
}
