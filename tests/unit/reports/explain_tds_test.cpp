// The TDS/TLS/login/redirect rules, table-driven over hand-built probe results.
#include <gtest/gtest.h>

#include <functional>

#include "reports/explain.h"
#include "reports/report.h"

using namespace midiag;
using namespace midiag::reports;

namespace {

const std::string kHost = "mi1.lab0001.database.windows.net";

tdsprobe::Result gateway_ok() {
  tdsprobe::Result r;
  r.options.address = "10.250.2.10";
  r.options.port = 1433;
  r.options.server_name = kHost;
  r.reached = tdsprobe::Stage::Complete;
  tds::Prelogin p;
  p.encryption = tds::Encryption::On;
  r.prelogin = p;
  r.tls_used = true;
  tdsprobe::TlsFacts t;
  t.version = "TLSv1.2";
  t.version_number = 0x0303;
  t.name_matches = true;
  t.trusted = true;
  t.chain.push_back({"CN = *.lab0001.database.windows.net", "CN = sim CA", {"*.lab0001.database.windows.net"},
                     "2026-11-23T00:00:00Z", "2026-12-23T00:00:00Z", 0});
  r.tls = t;
  return r;
}

tdsprobe::Result with_error(tdsprobe::Result r, bool dummy) {
  r.outcome = tdsprobe::LoginOutcome::Error;
  r.dummy_credentials = dummy;
  tds::ServerMessage m;
  m.is_error = true;
  m.number = 18456;
  m.state = 1;
  m.severity = 14;
  m.message = "Login failed for user 'u'.";
  r.error = m;
  return r;
}

tdsprobe::Result routed(std::uint16_t port) {
  auto r = gateway_ok();
  r.outcome = tdsprobe::LoginOutcome::Routing;
  tds::Routing rt;
  rt.host = "10.250.2.20";
  rt.server = rt.host;
  rt.port = port;
  r.routing = rt;
  return r;
}

tcp::Result probe(std::uint16_t port, tcp::State st, tcp::Role role) {
  tcp::Result r;
  r.target = {"10.250.2.20", port, role};
  r.state = st;
  return r;
}

RedirectEvidence redirect(tcp::State routed_state, int blocked_in_sweep, bool node_ok = true) {
  RedirectEvidence rd;
  rd.host = "10.250.2.20";
  rd.port = 11042;
  rd.addresses = {"10.250.2.20"};
  rd.sweep_from = 11000;
  rd.sweep_to = 11999;
  rd.tcp.push_back(probe(11042, routed_state, tcp::Role::Redirect));
  int blocked = 0;
  for (std::uint16_t p = 11000; p <= 11999; ++p) {
    if (p == 11042) continue;
    bool block = blocked < blocked_in_sweep;
    blocked += block;
    rd.tcp.push_back(probe(p, block ? tcp::State::Filtered : tcp::State::Refused, tcp::Role::Sweep));
  }
  if (routed_state == tcp::State::Open) {
    auto node = gateway_ok();
    node.options.address = "10.250.2.20";
    node.options.port = 11042;
    node.outcome = tdsprobe::LoginOutcome::LoginAck;
    rd.node_login = node_ok ? node : with_error(node, false);
  }
  return rd;
}

Evidence base(tdsprobe::Result g) {
  Evidence ev;
  ev.target = *parse_target(kHost);
  ev.tds = std::move(g);
  return ev;
}

struct Case {
  const char* name;
  std::function<Evidence()> make;
  std::vector<std::string> codes;
  Verdict verdict;
};

}  // namespace

TEST(ExplainTds, RuleTable) {
  const std::vector<Case> cases = {
      {"proxy login ok", [] { auto g = gateway_ok(); g.outcome = tdsprobe::LoginOutcome::LoginAck; return base(g); },
       {"CONNECTION_PATH"}, Verdict::Ok},
      {"dummy credentials rejected: info, path proven", [] { return base(with_error(gateway_ok(), true)); },
       {"LOGIN_FAILED"}, Verdict::Ok},
      {"real credentials rejected: error", [] { return base(with_error(gateway_ok(), false)); },
       {"LOGIN_FAILED"}, Verdict::Fail},
      {"not TDS", [] {
         auto g = gateway_ok();
         g.tls.reset();
         g.prelogin.reset();
         g.failed_at = tdsprobe::Stage::Prelogin;
         g.failure = "not TDS: bad header";
         g.first_bytes_hex = "48 54 54 50";
         return base(g); },
       {"TDS_NOT_SPOKEN"}, Verdict::Fail},
      {"TLS failed", [] {
         auto g = gateway_ok();
         g.tls.reset();
         g.failed_at = tdsprobe::Stage::Tls;
         g.failure = "alert handshake failure";
         return base(g); },
       {"TLS_HANDSHAKE_FAILED"}, Verdict::Fail},
      {"name mismatch", [] { auto g = with_error(gateway_ok(), true); g.tls->name_matches = false; return base(g); },
       {"TLS_CERT_NAME_MISMATCH", "LOGIN_FAILED"}, Verdict::Fail},
      {"expired (not also untrusted for the same reason)", [] {
         auto g = with_error(gateway_ok(), true);
         g.tls->expired = true;
         g.tls->trusted = false;
         g.tls->verify_error = "certificate has expired";
         return base(g); },
       {"TLS_CERT_EXPIRED", "LOGIN_FAILED"}, Verdict::Fail},
      {"untrusted", [] {
         auto g = with_error(gateway_ok(), true);
         g.tls->trusted = false;
         g.tls->verify_error = "self-signed certificate in certificate chain";
         return base(g); },
       {"TLS_CERT_UNTRUSTED", "LOGIN_FAILED"}, Verdict::Fail},
      {"TLS 1.1", [] {
         auto g = with_error(gateway_ok(), true);
         g.tls->version = "TLSv1.1";
         g.tls->version_number = 0x0302;
         return base(g); },
       {"TLS_PROTOCOL_OBSOLETE", "LOGIN_FAILED"}, Verdict::Fail},
      {"healthy redirect", [] { auto ev = base(routed(11042)); ev.redirect = redirect(tcp::State::Open, 0); return ev; },
       {"CONNECTION_PATH"}, Verdict::Ok},
      {"redirect range dropped", [] { auto ev = base(routed(11042)); ev.redirect = redirect(tcp::State::Filtered, 999); return ev; },
       {"REDIRECT_PORTS_FILTERED"}, Verdict::Fail},
      {"redirect: node refuses the login", [] { auto ev = base(routed(11042)); ev.redirect = redirect(tcp::State::Open, 0, false); return ev; },
       {"LOGIN_FAILED"}, Verdict::Fail},
      {"redirect target does not resolve", [] {
         auto ev = base(routed(11042));
         RedirectEvidence rd;
         rd.host = "node7.internal";
         rd.port = 11042;
         rd.resolve_error = "A nxdomain";
         ev.redirect = rd;
         return ev; },
       {"REDIRECT_TARGET_UNREACHABLE"}, Verdict::Fail},
  };
  for (const auto& c : cases) {
    auto findings = explain(c.make());
    std::vector<std::string> codes;
    for (const auto& f : findings) codes.emplace_back(f.name());
    EXPECT_EQ(codes, c.codes) << c.name;
    EXPECT_EQ(verdict_of(findings), c.verdict) << c.name;
  }
}

TEST(ExplainTds, RedirectSaysWholeRangeOrOnePort) {
  auto whole = base(routed(11042));
  whole.redirect = redirect(tcp::State::Filtered, 999);
  auto f = explain(whole);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].title.find("whole range 11000-11999"), std::string::npos) << f[0].title;

  auto one = base(routed(11042));
  one.redirect = redirect(tcp::State::Filtered, 0);
  f = explain(one);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].title.find("only this port"), std::string::npos) << f[0].title;
}

TEST(ExplainTds, DummyLoginSaysHowToSeeTheRedirect) {
  auto f = explain(base(with_error(gateway_ok(), true)));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].severity, Severity::Info);
  EXPECT_NE(f[0].detail.find("--password-env"), std::string::npos);
  EXPECT_NE(f[0].detail.find("mi-diag capture"), std::string::npos);
}

TEST(ExplainTds, JsonCarriesTdsTlsAndRedirect) {
  auto ev = base(routed(11042));
  ev.redirect = redirect(tcp::State::Open, 0);
  auto j = to_json(make_report("t", ev));
  EXPECT_EQ(j["tds"]["prelogin"]["encryption"], "ON");
  EXPECT_EQ(j["tds"]["login"]["outcome"], "routing");
  EXPECT_EQ(j["tls"]["version"], "TLSv1.2");
  EXPECT_EQ(j["tls"]["certificate"]["subject_alt_names"][0], "*.lab0001.database.windows.net");
  EXPECT_EQ(j["redirect"]["host"], "10.250.2.20");
  EXPECT_EQ(j["redirect"]["port"], 11042);
  EXPECT_EQ(j["redirect"]["state"], "ok");
  EXPECT_EQ(j["redirect"]["tcp_sweeps"][0]["refused"], 999);
  EXPECT_EQ(j["redirect"]["node_login"]["login"]["outcome"], "loginack");
}
