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
  t.chain.push_back({"CN = *.lab0001.database.windows.net",
                     "CN = sim CA",
                     {"*.lab0001.database.windows.net"},
                     "2026-11-23T00:00:00Z",
                     "2026-12-23T00:00:00Z",
                     0,
                     {}});
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
    rd.tcp.push_back(
        probe(p, block ? tcp::State::Filtered : tcp::State::Refused, tcp::Role::Sweep));
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
      {"proxy login ok",
       [] {
         auto g = gateway_ok();
         g.outcome = tdsprobe::LoginOutcome::LoginAck;
         return base(g);
       },
       {"CONNECTION_PATH"},
       Verdict::Ok},
      {"dummy credentials rejected: info, path proven",
       [] { return base(with_error(gateway_ok(), true)); },
       {"LOGIN_FAILED"},
       Verdict::Ok},
      {"real credentials rejected: error",
       [] { return base(with_error(gateway_ok(), false)); },
       {"LOGIN_FAILED"},
       Verdict::Fail},
      {"not TDS",
       [] {
         auto g = gateway_ok();
         g.tls.reset();
         g.prelogin.reset();
         g.failed_at = tdsprobe::Stage::Prelogin;
         g.failure = "not TDS: bad header";
         g.first_bytes_hex = "48 54 54 50";
         return base(g);
       },
       {"TDS_NOT_SPOKEN"},
       Verdict::Fail},
      {"TLS failed",
       [] {
         auto g = gateway_ok();
         g.tls.reset();
         g.failed_at = tdsprobe::Stage::Tls;
         g.failure = "alert handshake failure";
         return base(g);
       },
       {"TLS_HANDSHAKE_FAILED"},
       Verdict::Fail},
      {"name mismatch",
       [] {
         auto g = with_error(gateway_ok(), true);
         g.tls->name_matches = false;
         return base(g);
       },
       {"TLS_CERT_NAME_MISMATCH", "LOGIN_FAILED"},
       Verdict::Fail},
      {"expired (not also untrusted for the same reason)",
       [] {
         auto g = with_error(gateway_ok(), true);
         g.tls->expired = true;
         g.tls->trusted = false;
         g.tls->verify_error = "certificate has expired";
         return base(g);
       },
       {"TLS_CERT_EXPIRED", "LOGIN_FAILED"},
       Verdict::Fail},
      {"untrusted",
       [] {
         auto g = with_error(gateway_ok(), true);
         g.tls->trusted = false;
         g.tls->verify_error = "self-signed certificate in certificate chain";
         return base(g);
       },
       {"TLS_CERT_UNTRUSTED", "LOGIN_FAILED"},
       Verdict::Fail},
      {"TLS 1.1",
       [] {
         auto g = with_error(gateway_ok(), true);
         g.tls->version = "TLSv1.1";
         g.tls->version_number = 0x0302;
         return base(g);
       },
       {"TLS_PROTOCOL_OBSOLETE", "LOGIN_FAILED"},
       Verdict::Fail},
      {"healthy redirect",
       [] {
         auto ev = base(routed(11042));
         ev.redirect = redirect(tcp::State::Open, 0);
         return ev;
       },
       {"CONNECTION_PATH"},
       Verdict::Ok},
      {"redirect range dropped",
       [] {
         auto ev = base(routed(11042));
         ev.redirect = redirect(tcp::State::Filtered, 999);
         return ev;
       },
       {"REDIRECT_PORTS_FILTERED"},
       Verdict::Fail},
      {"--mode link, redirect range dropped: the link's HADR range",
       [] {
         auto ev = base(routed(11042));
         ev.mode = Mode::Link;
         ev.redirect = redirect(tcp::State::Filtered, 999);
         return ev;
       },
       {"MI_LINK_PORT_UNREACHABLE", "REDIRECT_PORTS_FILTERED"},
       Verdict::Fail},
      {"--mode link, healthy redirect: no link finding",
       [] {
         auto ev = base(routed(11042));
         ev.mode = Mode::Link;
         ev.redirect = redirect(tcp::State::Open, 0);
         return ev;
       },
       {"CONNECTION_PATH"},
       Verdict::Ok},
      {"redirect: node refuses the login",
       [] {
         auto ev = base(routed(11042));
         ev.redirect = redirect(tcp::State::Open, 0, false);
         return ev;
       },
       {"LOGIN_FAILED"},
       Verdict::Fail},
      {"redirect target does not resolve",
       [] {
         auto ev = base(routed(11042));
         RedirectEvidence rd;
         rd.host = "node7.internal";
         rd.port = 11042;
         rd.resolve_error = "A nxdomain";
         ev.redirect = rd;
         return ev;
       },
       {"REDIRECT_TARGET_UNREACHABLE"},
       Verdict::Fail},
  };
  for (const auto& c : cases) {
    auto findings = explain(c.make());
    std::vector<std::string> codes;
    for (const auto& f : findings) codes.emplace_back(f.name());
    EXPECT_EQ(codes, c.codes) << c.name;
    EXPECT_EQ(verdict_of(findings), c.verdict) << c.name;
  }
}

// The black-hole rule over hand-built stalls: which handshake failures it names, which it
// must leave alone, and how sure it says it is.
namespace {

// A TDS 7.x TLS stage that ran into the deadline after a 1 ms PRELOGIN, having received `flight`
// of the server's TLS bytes (walked by the real decoder).
tdsprobe::Result stalled_tls(const std::vector<std::uint8_t>& flight, double tls_ms = 990) {
  auto g = gateway_ok();
  g.tls.reset();
  g.reached = tdsprobe::Stage::Prelogin;
  g.failed_at = tdsprobe::Stage::Tls;
  g.failure = "the answer stopped arriving before the deadline";
  g.timed_out = true;
  g.stalled = true;
  g.prelogin_rtt_ms = 1;
  g.tls_ms = tls_ms;
  g.server_handshake = tls::handshake_progress(flight);
  return g;
}

// A TLS 1.2 server flight: ServerHello (38-byte body), Certificate (1200), ServerHelloDone.
std::vector<std::uint8_t> flight12() {
  std::vector<std::uint8_t> hs;
  for (auto [type, len] : {std::pair<int, int>{2, 38}, {11, 1200}, {14, 0}}) {
    hs.push_back(static_cast<std::uint8_t>(type));
    hs.push_back(0);
    hs.push_back(static_cast<std::uint8_t>(len >> 8));
    hs.push_back(static_cast<std::uint8_t>(len & 0xFF));
    hs.insert(hs.end(), static_cast<std::size_t>(len), 0xAB);
  }
  std::vector<std::uint8_t> rec{22, 3, 3, static_cast<std::uint8_t>(hs.size() >> 8),
                                static_cast<std::uint8_t>(hs.size() & 0xFF)};
  rec.insert(rec.end(), hs.begin(), hs.end());
  return rec;
}

std::vector<std::string> codes_of(const std::vector<Finding>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.emplace_back(f.name());
  return out;
}

}  // namespace

TEST(ExplainTds, PathMtuBlackholeOnlyWhereTheFlightWasCutOrMissing) {
  auto whole = flight12();
  std::vector<std::uint8_t> cut(whole.begin(), whole.begin() + 400);

  // Cut part-way: an error, and the handshake failure follows from it.
  auto f = explain(base(stalled_tls(cut)));
  ASSERT_EQ(codes_of(f), (std::vector<std::string>{"PATH_MTU_BLACKHOLE", "TLS_HANDSHAKE_FAILED"}));
  EXPECT_EQ(f[0].severity, Severity::Error);
  ASSERT_TRUE(f[1].caused_by);
  EXPECT_EQ(*f[1].caused_by, Code::PathMtuBlackhole);

  // Nothing of the flight: named, but as a warning that says what else it could be.
  f = explain(base(stalled_tls({})));
  ASSERT_EQ(codes_of(f), (std::vector<std::string>{"TLS_HANDSHAKE_FAILED", "PATH_MTU_BLACKHOLE"}));
  EXPECT_EQ(f[1].severity, Severity::Warning);
  EXPECT_NE(f[1].title.find("likely"), std::string::npos) << f[1].title;
  EXPECT_NE(f[1].detail.find("tracepath 10.250.2.10"), std::string::npos) << f[1].detail;
  EXPECT_FALSE(f[0].caused_by);

  // The whole flight came, then the stall: not the path's MTU.
  EXPECT_EQ(codes_of(explain(base(stalled_tls(whole)))),
            (std::vector<std::string>{"TLS_HANDSHAKE_FAILED"}));

  // The TLS stage had barely a PRELOGIN round trip of time (a slow gateway ate the budget).
  auto hurried = stalled_tls(cut);
  hurried.prelogin_rtt_ms = 900;
  hurried.tls_ms = 90;
  EXPECT_EQ(codes_of(explain(base(hurried))), (std::vector<std::string>{"TLS_HANDSHAKE_FAILED"}));

  // Closed or reset instead of silence: a refusal, not a black hole.
  auto closed = stalled_tls(cut);
  closed.timed_out = false;
  closed.closed_by_peer = true;
  EXPECT_EQ(codes_of(explain(base(closed))), (std::vector<std::string>{"TLS_HANDSHAKE_FAILED"}));

  // Not TLS at all.
  const std::vector<std::uint8_t> http = {'H', 'T', 'T', 'P', '/', '1', '.', '1'};
  EXPECT_EQ(codes_of(explain(base(stalled_tls(http)))),
            (std::vector<std::string>{"TLS_HANDSHAKE_FAILED"}));
}

TEST(ExplainTds, StrictRefusalIsNamedOnlyWhenTheServerHungUp) {
  auto g = gateway_ok();
  g.tls.reset();
  g.prelogin.reset();
  g.options.strict = true;
  g.reached = tdsprobe::Stage::Connect;
  g.failed_at = tdsprobe::Stage::Tls;
  g.failure = "the server closed the connection during the TLS handshake";
  g.closed_by_peer = true;
  g.server_handshake = tls::handshake_progress({});
  auto f = explain(base(g));
  ASSERT_EQ(codes_of(f), (std::vector<std::string>{"TLS_HANDSHAKE_FAILED"}));
  EXPECT_NE(f[0].detail.find("does not accept TDS 8"), std::string::npos) << f[0].detail;

  // A local failure (say, an unusable --ca-file) is not blamed on the server.
  g.closed_by_peer = false;
  g.failure = "cannot load --ca-file x.pem";
  f = explain(base(g));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].detail.find("does not accept TDS 8"), std::string::npos) << f[0].detail;

  // Silence after the ClientHello: a possible black hole, hedged, mentioning strict.
  g.timed_out = true;
  g.tls_ms = 1000;
  g.failure = "no TLS answer before the deadline";
  f = explain(base(g));
  ASSERT_EQ(codes_of(f), (std::vector<std::string>{"TLS_HANDSHAKE_FAILED", "PATH_MTU_BLACKHOLE"}));
  EXPECT_EQ(f[1].severity, Severity::Warning);
  EXPECT_NE(f[1].detail.find("without --strict"), std::string::npos) << f[1].detail;
  EXPECT_NE(f[1].title.find("after the TCP handshake"), std::string::npos) << f[1].title;
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
