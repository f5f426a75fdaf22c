// Rules for what happened after TCP: PRELOGIN, TLS, LOGIN7 and the redirect.
#include <algorithm>
#include <cstdio>

#include "decoders/tls/records.h"
#include "reports/explain.h"

namespace midiag::reports {

std::string RedirectEvidence::state() const {
  if (addresses.empty()) return "unresolved";
  const tcp::Result* routed = nullptr;
  for (const auto& t : tcp)
    if (t.target.port == port && (routed == nullptr || t.state == tcp::State::Open)) routed = &t;
  if (routed != nullptr && routed->state != tcp::State::Open) return std::string(tcp::to_string(routed->state));
  if (node_login && node_login->failed_at != tdsprobe::Stage::Complete) return "login_failed";
  if (node_login && node_login->outcome == tdsprobe::LoginOutcome::Error) return "login_failed";
  return "ok";
}

namespace {

std::string where(const tdsprobe::Result& r) {
  return r.options.address + ":" + std::to_string(r.options.port);
}

std::string probe_line(const tdsprobe::Result& r, std::string_view what) {
  return "tds " + where(r) + " " + std::string(what) + " (stage " +
         std::string(tdsprobe::to_string(r.failed_at == tdsprobe::Stage::Complete ? r.reached : r.failed_at)) +
         ", " + format_ms(r.elapsed_ms) + ")";
}

std::string cap(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// What a path-MTU black hole looks like from the client: something small got through (the
// PRELOGIN answer, or the TCP handshake for strict), then the TLS stage ran into the deadline
// with the server's first flight, its first full-size packets, cut off (Cut) or missing
// (Missing). The TLS stage must have had several PRELOGIN round trips of time to mean it.
enum class Blackhole { No, Cut, Missing };

Blackhole blackhole_kind(const tdsprobe::Result& r) {
  if (r.failed_at != tdsprobe::Stage::Tls || !r.timed_out || !r.server_handshake) return Blackhole::No;
  const auto& p = *r.server_handshake;
  // The whole TLS 1.2 flight came (or it was not TLS): the stall is elsewhere. With TLS 1.3 a
  // whole flight ends the client's handshake, so a timeout there means it was not whole.
  if (p.not_tls || p.saw(tls::handshake::kServerHelloDone)) return Blackhole::No;
  if (r.prelogin_rtt_ms > 0 && r.tls_ms < 4 * r.prelogin_rtt_ms) return Blackhole::No;
  return p.bytes > 0 ? Blackhole::Cut : Blackhole::Missing;
}

Finding mtu_blackhole(const tdsprobe::Result& r, Blackhole kind, const Evidence& ev, const std::string& who) {
  const auto& p = *r.server_handshake;
  std::vector<std::string> e;
  if (r.prelogin)
    e.push_back("tds " + where(r) + " PRELOGIN answered in " + format_ms(r.prelogin_rtt_ms) +
                ": small packets get through");
  e.push_back("tds " + where(r) + " server TLS flight after waiting " + format_ms(r.tls_ms) + ": " +
              std::to_string(p.bytes) + " bytes, " + p.describe());
  if (r.mss > 0)
    e.push_back("TCP maximum segment size of the connection: " + std::to_string(r.mss) +
                " bytes (a certificate flight needs full-size segments)");
  for (const auto& rt : ev.routes)
    if (rt.destination == r.options.address && rt.mtu > 0)
      e.push_back("route to " + rt.destination + (rt.interface.empty() ? "" : " via " + rt.interface) +
                  ": MTU " + std::to_string(rt.mtu) + " (this host's side only; the smaller link is further on)");
  const std::string small = r.prelogin ? "the small PRELOGIN exchange" : "the TCP handshake";
  if (kind == Blackhole::Cut)
    return make_finding(Code::PathMtuBlackhole,
                        cap(who) + " " + where(r) + ": the TLS handshake stalled at the server's certificate flight",
                        "The server's TLS flight started to arrive and stopped part-way (" + p.describe() +
                            "): the full-size packets after it never came.",
                        e);
  // Nothing of the flight: the usual black-hole picture, but not the only possible cause.
  auto f = make_finding(
      Code::PathMtuBlackhole,
      cap(who) + " " + where(r) + ": likely a path-MTU black hole (no TLS answer after " + small + ")",
      cap(small) + " got through, then none of the server's TLS flight (its first full-size packets) "
          "arrived before the deadline. A middlebox that silently stops TLS" +
          (r.options.strict ? std::string(", or a server that ignores TDS 8 strict (try without --strict),")
                            : std::string(",")) +
          " looks the same from here: `tracepath " + r.options.address +
          "` or a capture on both ends tells them apart.",
      e);
  f.severity = Severity::Warning;
  return f;
}

// PRELOGIN/TLS/certificate findings for one login attempt (gateway or node).
void explain_exchange(const tdsprobe::Result& r, const Evidence& seen, bool name_is_literal,
                      const std::string& who, std::vector<Finding>& out) {
  if (r.failed_at == tdsprobe::Stage::Prelogin) {
    std::vector<std::string> ev{probe_line(r, "PRELOGIN: " + r.failure)};
    if (!r.first_bytes_hex.empty()) ev.push_back("first bytes received: " + r.first_bytes_hex);
    ev.push_back("bytes received: " + std::to_string(r.bytes_received));
    out.push_back(make_finding(Code::TdsNotSpoken, cap(who) + " " + where(r) + ": no valid PRELOGIN answer (" + r.failure + ")",
                               r.stalled ? "The answer started and then stopped: the server or something in the path stalls."
                                         : "A SQL Server gateway answers PRELOGIN with a TDS packet of type 0x04.",
                               ev));
    return;
  }
  if (r.failed_at == tdsprobe::Stage::Tls) {
    std::vector<std::string> tls_ev{probe_line(r, "TLS: " + r.failure)};
    if (r.server_handshake)
      tls_ev.push_back("server handshake so far: " + std::to_string(r.server_handshake->bytes) + " bytes, " +
                       r.server_handshake->describe());
    const Blackhole blackhole = blackhole_kind(r);
    if (blackhole != Blackhole::No) out.push_back(mtu_blackhole(r, blackhole, seen, who));
    // TDS 8 strict sends a TLS ClientHello as the very first bytes; a TDS 7.x-only server
    // (SQL Server before 2022) reads them as a broken TDS packet and hangs up without a word.
    const bool strict_refused = r.options.strict && r.closed_by_peer && r.bytes_received == 0;
    out.push_back(make_finding(Code::TlsHandshakeFailed, cap(who) + " " + where(r) + ": TLS handshake failed: " + r.failure,
                               r.timed_out      ? "The handshake ran into the deadline before the server's TLS flight was complete."
                               : strict_refused ? "The server hung up on a TLS-first (TDS 8 strict) connection without "
                                                  "answering: it does not accept TDS 8. Check without --strict, or use "
                                                  "Encrypt=Mandatory/True (TDS 7.x) with this server."
                               : r.options.strict ? "The TDS 8 strict TLS handshake did not complete."
                                                  : "The TLS handshake inside TDS did not complete.",
                               tls_ev));
    if (blackhole == Blackhole::Cut) out.back().caused_by = Code::PathMtuBlackhole;
  }
  if (!r.tls) return;
  const auto& t = *r.tls;
  std::vector<std::string> cert_ev;
  if (!t.chain.empty()) {
    const auto& leaf = t.chain.front();
    std::string sans;
    for (const auto& s : leaf.subject_alt_names) sans += (sans.empty() ? "" : ", ") + s;
    cert_ev.push_back("certificate subject: " + leaf.subject);
    cert_ev.push_back("certificate SANs: " + (sans.empty() ? std::string("(none)") : sans));
    cert_ev.push_back("certificate valid " + leaf.not_before + " to " + leaf.not_after);
    cert_ev.push_back("certificate issuer: " + leaf.issuer);
  }
  if (!t.chain.empty() && !name_is_literal && !t.name_matches)
    out.push_back(make_finding(Code::TlsCertNameMismatch,
                               cap(who) + " certificate does not cover " + r.options.server_name,
                               "Drivers check the certificate against the server name they were given.", cert_ev));
  if (t.expired)
    out.push_back(make_finding(Code::TlsCertExpired, cap(who) + " certificate is outside its validity period",
                               "The certificate's notBefore/notAfter do not include the current time.", cert_ev));
  if (!t.chain.empty() && !t.trusted && !(t.expired && t.verify_error.find("expired") != std::string::npos)) {
    auto ev = cert_ev;
    ev.push_back("verification: " + t.verify_error);
    out.push_back(make_finding(Code::TlsCertUntrusted, cap(who) + " certificate chain does not verify: " + t.verify_error,
                               "Checked against " + (r.options.ca_file.empty() ? std::string("the system trust store") : r.options.ca_file) + ".",
                               ev));
  }
  if (t.version_number != 0 && t.version_number < 0x0303)
    out.push_back(make_finding(Code::TlsProtocolObsolete, cap(who) + " negotiated " + t.version,
                               "TLS 1.2 is the minimum for Managed Instance.",
                               {probe_line(r, "negotiated " + t.version + " " + t.cipher)}));
}

void explain_login(const tdsprobe::Result& r, const std::string& who, bool at_gateway, std::vector<Finding>& out) {
  if (r.failed_at == tdsprobe::Stage::Login) {
    out.push_back(make_finding(Code::LoginFailed, cap(who) + " " + where(r) + ": no answer to LOGIN7 (" + r.failure + ")",
                               "PRELOGIN and TLS worked, but the login got no decodable answer.",
                               {probe_line(r, "LOGIN7: " + r.failure)}));
    return;
  }
  if (r.outcome != tdsprobe::LoginOutcome::Error || !r.error) return;
  const auto& e = *r.error;
  std::string line = "error " + std::to_string(e.number) + " state " + std::to_string(e.state) + " class " +
                     std::to_string(e.severity) + ": " + e.message;
  Finding f = make_finding(Code::LoginFailed, cap(who) + " rejected the login: " + line,
                           "The server answered LOGIN7 with an ERROR token.", {probe_line(r, "LOGIN7 -> " + line)});
  if (r.dummy_credentials) {
    f.severity = Severity::Info;
    f.title = cap(who) + " answered the probe's dummy login with error " + std::to_string(e.number) + " (expected)";
    f.detail = "The probe logged in with dummy credentials on purpose: this answer proves DNS, TCP, TLS and the "
               "gateway work." +
               std::string(at_gateway ? " A redirect follows LOGINACK, so it cannot be seen this way: run with "
                                        "--user and --password-env, or run 'mi-diag capture' while the application "
                                        "connects."
                                      : "");
    f.remediation = "Nothing to fix on the network path.";
  }
  out.push_back(std::move(f));
}

}  // namespace

std::vector<Finding> explain_tds(const Evidence& ev) {
  std::vector<Finding> out;
  if (!ev.tds) return out;
  const bool literal = ev.target.kind == EndpointKind::IpLiteral;
  const auto& g = *ev.tds;
  explain_exchange(g, ev, literal, "the gateway", out);
  explain_login(g, "the gateway", true, out);
  if (g.outcome == tdsprobe::LoginOutcome::LoginAck)
    out.push_back(make_finding(Code::ConnectionPath, "Proxy connection through the gateway " + where(g),
                               "The gateway accepted the login itself (proxy connection type): every packet "
                               "goes through it.",
                               {probe_line(g, "LOGIN7 -> LOGINACK")}));
  if (!ev.redirect) return out;
  const auto& rd = *ev.redirect;
  const std::string node = rd.host + ":" + std::to_string(rd.port);
  const std::string state = rd.state();
  std::vector<std::string> evidence{"routing ENVCHANGE from " + where(g) + " -> " + node};
  for (const auto& a : rd.addresses) evidence.push_back("routed host resolves to " + a);
  if (state == "unresolved") {
    evidence.push_back("resolution: " + rd.resolve_error);
    out.push_back(make_finding(Code::RedirectTargetUnreachable, "The gateway redirects to " + node + ", which does not resolve",
                               "The routing token names a host this machine cannot resolve.", evidence));
    return out;
  }
  const tcp::Result* routed = nullptr;
  int blocked = 0, swept = 0;
  for (const auto& t : rd.tcp) {
    if (t.target.port == rd.port && routed == nullptr) routed = &t;
    if (t.target.role == tcp::Role::Sweep) {
      ++swept;
      // A reset proves the path reaches the node; only silence or ICMP means "blocked".
      if (t.state != tcp::State::Open && t.state != tcp::State::Refused) ++blocked;
    }
  }
  if (routed != nullptr)
    evidence.push_back("tcp " + routed->target.address + ":" + std::to_string(rd.port) + " -> " +
                       std::string(tcp::to_string(routed->state)) + " after " + format_ms(routed->rtt_ms) +
                       (routed->detail.empty() ? "" : ": " + routed->detail));
  if (swept > 0)
    evidence.push_back("sweep " + std::to_string(rd.sweep_from) + "-" + std::to_string(rd.sweep_to) + " on " +
                       rd.addresses.front() + ": " + std::to_string(blocked) + " of " + std::to_string(swept) +
                       " ports blocked");
  if (state == "filtered" || state == "refused" || state == "unreachable") {
    std::string scope = swept == 0 ? "" : blocked == swept ? " — the whole range " + std::to_string(rd.sweep_from) + "-" + std::to_string(rd.sweep_to) + " is blocked"
                                          : blocked <= 1 ? " — only this port is blocked, the rest of the range answers"
                                                         : " — " + std::to_string(blocked) + " of " + std::to_string(swept) + " ports in the range are blocked";
    out.push_back(make_finding(Code::RedirectPortsFiltered, "Redirect to " + node + " is " + state + scope,
                               "The gateway answered the login with a redirect to the node; the client's second "
                               "connection cannot get there.",
                               evidence));
  } else if (state == "no_route") {
    out.push_back(make_finding(Code::RedirectTargetUnreachable, "No route to the redirect target " + node,
                               "The gateway's address is reachable but the node's is not routed from here.", evidence));
  } else if (state == "login_failed" && rd.node_login) {
    explain_exchange(*rd.node_login, ev, false, "the redirect node", out);
    explain_login(*rd.node_login, "the redirect node", false, out);
  } else {
    out.push_back(make_finding(Code::ConnectionPath, "Redirect connection: gateway " + where(g) + " -> node " + node,
                               "The gateway routed the login to the node (redirect connection type) and the node "
                               "accepted it.",
                               evidence));
  }
  return out;
}

}  // namespace midiag::reports
