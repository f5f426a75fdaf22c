// ENTRA_ENDPOINT_UNREACHABLE over hand-built authority results (one per failing step), the JSON
// entra block's shape, and a hostile certificate's strings made safe in every renderer.
#include <gtest/gtest.h>

#include <algorithm>

#include "reports/explain.h"
#include "reports/render_entra.h"
#include "reports/report.h"

using namespace midiag;
using namespace midiag::reports;

namespace {

const std::string kAuthority = "login.microsoftonline.com";

Evidence with_entra(entra::Result r) {
  Evidence ev;
  ev.target.host = "mi1.lab0001.database.windows.net";
  ev.target.port = 1433;
  ev.target.kind = EndpointKind::VnetLocal;
  ev.entra = std::move(r);
  return ev;
}

entra::Result base() {
  entra::Result r;
  r.authority = {kAuthority, 443};
  dns::Lookup a;
  a.resolver = "system";
  a.name = kAuthority;
  a.type = "A";
  a.status = dns::Status::Ok;
  a.addresses.push_back({"10.250.2.30", 300, net::AddressClass::Private});
  dns::Lookup aaaa = a;
  aaaa.type = "AAAA";
  aaaa.addresses.clear();
  r.lookups = {a, aaaa};
  r.addresses = {"10.250.2.30"};
  r.addresses_from = "system";
  return r;
}

tcp::Result tcp_result(tcp::State state, double rtt) {
  tcp::Result t;
  t.target = {"10.250.2.30", 443, tcp::Role::Custom};
  t.state = state;
  t.rtt_ms = rtt;
  if (state == tcp::State::Filtered) t.detail = "no answer within 1000 ms";
  return t;
}

tdsprobe::TlsFacts facts(bool trusted, bool name_matches) {
  tdsprobe::TlsFacts t;
  t.version = "TLSv1.3";
  t.version_number = 0x0304;
  t.cipher = "TLS_AES_256_GCM_SHA384";
  t.trusted = trusted;
  t.name_matches = name_matches;
  if (!trusted) t.verify_error = "unable to get local issuer certificate";
  t.chain.push_back({"CN = login.microsoftonline.com",
                     "CN = Corp Inspection CA",
                     {"login.microsoftonline.com", "*.login.microsoftonline.com"},
                     "2026-01-01T00:00:00Z",
                     "2027-01-01T00:00:00Z",
                     0,
                     {}});
  return t;
}

std::vector<Finding> entra_findings(const Evidence& ev) {
  std::vector<Finding> out;
  for (auto& f : explain(ev))
    if (f.code == Code::EntraEndpointUnreachable) out.push_back(f);
  return out;
}

bool any_line(const std::vector<std::string>& lines, const std::string& part) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

TEST(ExplainEntra, ReachedAuthorityIsNoFinding) {
  auto r = base();
  r.tcp = {tcp_result(tcp::State::Open, 1.5)};
  r.tls_address = "10.250.2.30";
  r.tls = facts(true, true);
  auto ev = with_entra(r);
  EXPECT_TRUE(entra_findings(ev).empty());
  auto report = make_report("test", ev);
  EXPECT_EQ(report.verdict, Verdict::Ok);
}

TEST(RenderEntra, SummarySaysWhenSomeAddressesDidNotAccept) {
  auto r = base();
  r.addresses = {"10.250.2.30", "10.250.2.31"};
  auto closed = tcp_result(tcp::State::Filtered, 1000.0);
  closed.target.address = "10.250.2.31";
  r.tcp = {tcp_result(tcp::State::Open, 1.5), closed};
  r.tls_address = "10.250.2.30";
  r.tls = facts(true, true);
  auto ev = with_entra(r);
  EXPECT_TRUE(entra_findings(ev).empty());
  const auto line = entra_summary(ev);
  EXPECT_NE(line.find("login.microsoftonline.com:443 reached in "), std::string::npos) << line;
  EXPECT_NE(line.find("but 1 of 2 addresses did not accept (10.250.2.31 filtered)"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("PRELOGIN: no PRELOGIN was sent"), std::string::npos) << line;
}

TEST(ExplainEntra, FilteredTcpNamesTheAddressStateAndResolvers) {
  auto r = base();
  r.tcp = {tcp_result(tcp::State::Filtered, 1000.2)};
  r.failed = entra::Step::Tcp;
  r.failure = "no address of login.microsoftonline.com accepted a connection on port 443";
  auto f = entra_findings(with_entra(r));
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].severity, Severity::Error);
  EXPECT_EQ(f[0].title,
            "No connection to the Entra ID authority login.microsoftonline.com:443 "
            "(filtered)");
  EXPECT_NE(f[0].detail.find(r.failure), std::string::npos);
  EXPECT_TRUE(
      any_line(f[0].evidence,
               "entra dns[system] A login.microsoftonline.com -> 10.250.2.30 [private, ttl 300]"));
  EXPECT_TRUE(any_line(f[0].evidence,
                       "entra dns[system] AAAA login.microsoftonline.com -> no "
                       "records"));
  EXPECT_TRUE(any_line(f[0].evidence, "entra tcp 10.250.2.30:443 -> filtered in 1000.2 ms"));
  EXPECT_EQ(f[0].addresses, std::vector<std::string>{"10.250.2.30"});
  EXPECT_FALSE(f[0].remediation.empty());
}

TEST(ExplainEntra, UntrustedCertificateShowsSubjectIssuerAndNames) {
  auto r = base();
  r.tcp = {tcp_result(tcp::State::Open, 2.0)};
  r.tls_address = "10.250.2.30";
  r.tls = facts(false, true);
  r.failed = entra::Step::Certificate;
  r.failure = "the certificate login.microsoftonline.com presented would be refused";
  auto f = entra_findings(with_entra(r));
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].title,
            "The certificate of the Entra ID authority login.microsoftonline.com:443 would be "
            "refused");
  EXPECT_NE(f[0].detail.find("inspects TLS"), std::string::npos);
  EXPECT_TRUE(any_line(f[0].evidence,
                       "chain untrusted (unable to get local issuer certificate), name matches"));
  EXPECT_TRUE(any_line(f[0].evidence,
                       "entra certificate: subject CN = login.microsoftonline.com; issuer CN = "
                       "Corp Inspection CA; names login.microsoftonline.com, "
                       "*.login.microsoftonline.com"));
}

TEST(ExplainEntra, SilentHandshakeShowsTheTlsError) {
  auto r = base();
  r.tcp = {tcp_result(tcp::State::Open, 2.0)};
  r.tls_address = "10.250.2.30";
  r.tls_error = "no TLS answer within 1000 ms (the connection was accepted, then nothing came)";
  r.tls_timed_out = true;
  r.tls_ms = 1000.4;
  r.failed = entra::Step::Tls;
  r.failure = "the TLS handshake did not complete";
  auto f = entra_findings(with_entra(r));
  ASSERT_EQ(f.size(), 1U);
  EXPECT_TRUE(any_line(f[0].evidence,
                       "entra tls 10.250.2.30:443 (SNI login.microsoftonline.com) "
                       "-> no TLS answer within 1000 ms"));
}

TEST(ExplainEntra, NameNotResolvingFollowsFromUnreachableResolvers) {
  auto r = base();
  r.lookups[0].status = dns::Status::Timeout;
  r.lookups[0].unreachable = true;
  r.lookups[0].addresses.clear();
  r.lookups[1].status = dns::Status::Timeout;
  r.lookups[1].unreachable = true;
  r.addresses.clear();
  r.addresses_from.clear();
  r.failed = entra::Step::Dns;
  r.failure = "login.microsoftonline.com did not resolve to any address: system A timeout";
  auto ev = with_entra(r);
  auto alone = entra_findings(ev);
  ASSERT_EQ(alone.size(), 1U);
  EXPECT_EQ(alone[0].title, "login.microsoftonline.com (the Entra ID authority) does not resolve");
  EXPECT_FALSE(alone[0].caused_by);
  std::vector<Finding> earlier = {make_finding(Code::DnsResolverUnreachable, "t", "d")};
  auto linked = explain_entra(ev, earlier);
  ASSERT_EQ(linked.size(), 1U);
  EXPECT_EQ(linked[0].caused_by, Code::DnsResolverUnreachable);
}

TEST(ExplainEntra, DummyLoginHintDoesNotAskForAPasswordUnderEntra) {
  for (bool entra : {false, true}) {
    Evidence ev;
    ev.target.host = "mi1.lab0001.database.windows.net";
    ev.target.port = 1433;
    tdsprobe::Result t;
    t.options.address = "10.250.2.10";
    t.options.port = 1433;
    t.options.fedauth_required = entra;
    t.dummy_credentials = true;
    t.reached = tdsprobe::Stage::Complete;
    t.outcome = tdsprobe::LoginOutcome::Error;
    tds::ServerMessage e;
    e.number = 18456;
    e.state = 1;
    e.severity = 14;
    e.message = "Login failed for user 'mi-diag-probe'.";
    t.error = e;
    ev.tds = t;
    auto all = explain(ev);
    auto f = std::find_if(all.begin(), all.end(),
                          [](const Finding& x) { return x.code == Code::LoginFailed; });
    ASSERT_NE(f, all.end());
    EXPECT_EQ(f->severity, Severity::Info);
    EXPECT_NE(f->detail.find("mi-diag capture"), std::string::npos) << f->detail;
    EXPECT_EQ(f->detail.find("--password-env") != std::string::npos, !entra) << f->detail;
  }
}

TEST(ExplainEntra, ToolFailureIsIncompleteNotUnreachable) {
  auto r = base();
  r.tool_error = "the TCP probes could not run: epoll_create1: Too many open files";
  auto ev = with_entra(r);
  CollectorRecord c;
  c.name = "entra";
  c.status = CollectorStatus::Failed;
  c.error = r.tool_error;
  c.shortfall = Shortfall::ToolFailure;
  ev.collectors.push_back(c);
  auto all = explain(ev);
  EXPECT_TRUE(entra_findings(ev).empty());
  ASSERT_EQ(all.size(), 1U);
  EXPECT_EQ(all[0].code, Code::CheckIncomplete);
  EXPECT_NE(all[0].detail.find("whether the Entra ID authority is reachable"), std::string::npos);
}

TEST(RenderEntra, JsonBlockShape) {
  auto r = base();
  r.tcp = {tcp_result(tcp::State::Open, 1.5)};
  r.tls_address = "10.250.2.30";
  r.tls = facts(true, true);
  r.elapsed_ms = 12.5;
  auto ev = with_entra(r);
  tdsprobe::Result tds;
  tds.options.fedauth_required = true;
  tds::Prelogin p;
  p.fedauth_required = true;
  tds.prelogin = p;
  ev.tds = tds;
  auto j = to_json(make_report("test", ev))["entra"];
  EXPECT_EQ(j["authority"], kAuthority);
  EXPECT_EQ(j["port"], 443);
  EXPECT_EQ(j["addresses"], nlohmann::json::array({"10.250.2.30"}));
  EXPECT_EQ(j["dns_status"], "ok");
  EXPECT_EQ(j["tcp"], nlohmann::json({{"address", "10.250.2.30"},
                                      {"port", 443},
                                      {"state", "open"},
                                      {"rtt_ms", 1.5},
                                      {"detail", nullptr}}));
  EXPECT_EQ(j["tls"]["version"], "TLSv1.3");
  EXPECT_EQ(j["tls"]["certificate"]["subject"], "CN = login.microsoftonline.com");
  EXPECT_EQ(j["tls"]["certificate"]["issuer"], "CN = Corp Inspection CA");
  EXPECT_EQ(j["tls"]["certificate"]["subject_alt_names"].size(), 2U);
  EXPECT_EQ(j["tls"]["trusted"], true);
  EXPECT_EQ(j["tls"]["name_matches"], true);
  EXPECT_TRUE(j["tls"]["verify_error"].is_null());
  EXPECT_EQ(j["reached"], true);
  EXPECT_TRUE(j["failed_step"].is_null());
  EXPECT_EQ(j["prelogin"]["fedauth_required_sent"], true);
  EXPECT_EQ(j["prelogin"]["fedauth_required_answer"], true);

  // Not asked for: no block at all.
  EXPECT_FALSE(to_json(make_report("test", Evidence{})).contains("entra"));
  EXPECT_TRUE(entra_summary(Evidence{}).empty());
}

TEST(RenderEntra, AbsentFedauthAnswerAndFailedStepInJson) {
  auto r = base();
  r.tcp = {tcp_result(tcp::State::Filtered, 1000.0)};
  r.failed = entra::Step::Tcp;
  r.failure = "no address answered";
  auto ev = with_entra(r);
  tdsprobe::Result tds;
  tds.options.fedauth_required = true;
  tds.prelogin = tds::Prelogin{};  // a PRELOGIN answer without the option
  ev.tds = tds;
  auto j = to_json(make_report("test", ev))["entra"];
  EXPECT_EQ(j["reached"], false);
  EXPECT_EQ(j["failed_step"], "tcp");
  EXPECT_EQ(j["tcp"]["state"], "filtered");
  EXPECT_TRUE(j["tls"].is_null());
  EXPECT_TRUE(j["prelogin"]["fedauth_required_answer"].is_null());
  EXPECT_NE(j["prelogin"]["summary"].get<std::string>().find("holds no FEDAUTHREQUIRED"),
            std::string::npos);
}

TEST(RenderEntra, HostileCertificateStringsAreEscaped) {
  auto r = base();
  r.tcp = {tcp_result(tcp::State::Open, 1.0)};
  r.tls_address = "10.250.2.30";
  r.tls = facts(false, false);
  r.tls->chain[0].subject = "CN = evil\x1b[2J\nFAKE OK\xff";
  r.failed = entra::Step::Certificate;
  r.failure = "refused";
  const auto report = make_report("test", with_entra(r));
  const auto text = render_text(report, {true, false});
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find("\nFAKE OK"), std::string::npos);
  EXPECT_NE(text.find("evil\\x1b[2J\\nFAKE OK"), std::string::npos) << text;
  const auto json_text = render_json(report);
  auto parsed = nlohmann::json::parse(json_text);  // valid UTF-8, valid JSON
  EXPECT_NE(parsed["entra"]["tls"]["certificate"]["subject"].get<std::string>().find("FAKE OK"),
            std::string::npos);
  const auto md = render_markdown(report);
  EXPECT_EQ(md.find('\x1b'), std::string::npos);
}

}  // namespace
