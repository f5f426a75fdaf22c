// Rules for what happened after TCP: PRELOGIN, TLS, LOGIN7 and the redirect.
#include <algorithm>
#include <cstdio>

#include "decoders/tls/records.h"
#include "reports/explain.h"
#include "reports/login_errors.h"

namespace midiag::reports {

std::string RedirectEvidence::state() const {
  if (!invalid.empty()) return "invalid";
  if (addresses.empty()) return "unresolved";
  const tcp::Result* routed = nullptr;
  for (const auto& t : tcp)
    if (t.target.port == port && t.target.role == tcp::Role::Redirect) routed = &t;
  if (routed == nullptr || routed->state == tcp::State::NotProbed) return "not_probed";
  if (routed->state != tcp::State::Open) return std::string(tcp::to_string(routed->state));
  if (!node_login) return "login_not_tried";
  const auto& n = *node_login;
  if (n.failed_at == tdsprobe::Stage::Connect || n.failed_at == tdsprobe::Stage::Prelogin ||
      n.failed_at == tdsprobe::Stage::Tls)
    return "handshake_failed";
  if (!n.login_withheld.empty()) return "login_withheld";
  if (n.failed_at != tdsprobe::Stage::Complete || n.reached != tdsprobe::Stage::Complete)
    return n.options.login ? "login_failed" : "login_not_tried";
  if (n.outcome == tdsprobe::LoginOutcome::Routing) return "redirect_loop";
  if (n.outcome == tdsprobe::LoginOutcome::Error) return "login_failed";
  if (n.outcome != tdsprobe::LoginOutcome::LoginAck) return "no_loginack";
  return "ok";
}

namespace {

std::string where(const tdsprobe::Result& r) {
  return r.options.address + ":" + std::to_string(r.options.port);
}

std::string probe_line(const tdsprobe::Result& r, std::string_view what) {
  return "tds " + where(r) + " " + std::string(what) + " (stage " +
         std::string(tdsprobe::to_string(r.failed_at == tdsprobe::Stage::Complete ? r.reached
                                                                                  : r.failed_at)) +
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
  if (r.failed_at != tdsprobe::Stage::Tls || !r.timed_out || !r.server_handshake)
    return Blackhole::No;
  const auto& p = *r.server_handshake;
  // The whole TLS 1.2 flight came (or it was not TLS): the stall is elsewhere. With TLS 1.3 a
  // whole flight ends the client's handshake, so a timeout there means it was not whole.
  if (p.not_tls || p.saw(tls::handshake::kServerHelloDone)) return Blackhole::No;
  if (r.prelogin_rtt_ms > 0 && r.tls_ms < 4 * r.prelogin_rtt_ms) return Blackhole::No;
  return p.bytes > 0 ? Blackhole::Cut : Blackhole::Missing;
}

Finding mtu_blackhole(const tdsprobe::Result& r, Blackhole kind, const Evidence& ev,
                      const std::string& who) {
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
      e.push_back("route to " + rt.destination +
                  (rt.interface.empty() ? "" : " via " + rt.interface) + ": MTU " +
                  std::to_string(rt.mtu) +
                  " (this host's side only; the smaller link is further on)");
  for (const auto& t : r.mss_tries)
    e.push_back("tds " + where(r) + " retried with TCP MSS " + std::to_string(t.mss) + ": " +
                (t.passed
                     ? "TLS handshake completed in " + format_ms(t.elapsed_ms)
                     : "no handshake after " + format_ms(t.elapsed_ms) + " (" + t.failure + ")"));
  const std::string small = r.prelogin ? "the small PRELOGIN exchange" : "the TCP handshake";
  if (const int passed = r.largest_mss_passed(); passed > 0) {
    // Stalled at the default segment size, completed with a clamped one: the size is the cause.
    e.push_back("largest MSS that passed: " + std::to_string(passed) + " bytes (packets of " +
                std::to_string(passed + 40) + " bytes with IPv4 headers)");
    return make_finding(
        Code::PathMtuBlackhole,
        cap(who) + " " + where(r) +
            ": path-MTU black hole confirmed (the TLS handshake passes "
            "with MSS " +
            std::to_string(passed) + ", stalls at " +
            (r.mss > 0 ? std::to_string(r.mss) : std::string("the default")) + ")",
        "The handshake stalled at the server's certificate flight with the connection's own "
        "segment size; on a new connection with TCP_MAXSEG " +
            std::to_string(passed) +
            " the same handshake completed. Full-size packets from the server vanish on the way "
            "and no 'fragmentation needed' comes back to shrink them.",
        e);
  }
  const bool retried_in_vain = !r.mss_tries.empty();
  const std::string not_confirmed =
      retried_in_vain ? " Retried with a smaller MSS, the handshake stalled too: the packet size "
                        "alone does not explain it, so the black hole is not confirmed."
                      : "";
  if (kind == Blackhole::Cut && retried_in_vain) {
    auto f = make_finding(Code::PathMtuBlackhole,
                          cap(who) + " " + where(r) +
                              ": the TLS handshake stalled at the server's certificate flight "
                              "(likely a path-MTU black hole, not confirmed)",
                          "The server's TLS flight started to arrive and stopped part-way (" +
                              p.describe() + ")." + not_confirmed,
                          e);
    f.severity = Severity::Warning;
    return f;
  }
  if (kind == Blackhole::Cut)
    return make_finding(Code::PathMtuBlackhole,
                        cap(who) + " " + where(r) +
                            ": the TLS handshake stalled at the server's certificate flight",
                        "The server's TLS flight started to arrive and stopped part-way (" +
                            p.describe() + "): the full-size packets after it never came.",
                        e);
  // Nothing of the flight: the usual black-hole picture, but not the only possible cause.
  auto f = make_finding(
      Code::PathMtuBlackhole,
      cap(who) + " " + where(r) + ": likely a path-MTU black hole (no TLS answer after " + small +
          ")",
      cap(small) +
          " got through, then none of the server's TLS flight (its first full-size packets) "
          "arrived before the deadline. A middlebox that silently stops TLS" +
          (r.options.strict
               ? std::string(", or a server that ignores TDS 8 strict (try without --strict),")
               : std::string(",")) +
          " looks the same from here: `tracepath " + r.options.address +
          "` or a capture on both ends tells them apart." + not_confirmed,
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
    out.push_back(make_finding(
        Code::TdsNotSpoken,
        cap(who) + " " + where(r) + ": no valid PRELOGIN answer (" + r.failure + ")",
        r.stalled
            ? "The answer started and then stopped: the server or something in the path stalls."
            : "A SQL Server gateway answers PRELOGIN with a TDS packet of type 0x04.",
        ev));
    return;
  }
  if (r.failed_at == tdsprobe::Stage::Tls) {
    std::vector<std::string> tls_ev{probe_line(r, "TLS: " + r.failure)};
    if (r.server_handshake)
      tls_ev.push_back("server handshake so far: " + std::to_string(r.server_handshake->bytes) +
                       " bytes, " + r.server_handshake->describe());
    const Blackhole blackhole = blackhole_kind(r);
    if (blackhole != Blackhole::No) out.push_back(mtu_blackhole(r, blackhole, seen, who));
    // TDS 8 strict sends a TLS ClientHello as the very first bytes; a TDS 7.x-only server
    // (SQL Server before 2022) reads them as a broken TDS packet and hangs up without a word.
    const bool strict_refused = r.options.strict && r.closed_by_peer && r.bytes_received == 0;
    out.push_back(make_finding(
        Code::TlsHandshakeFailed,
        cap(who) + " " + where(r) + ": TLS handshake failed: " + r.failure,
        r.timed_out
            ? "The handshake ran into the deadline before the server's TLS flight was complete."
        : strict_refused   ? "The server hung up on a TLS-first (TDS 8 strict) connection without "
                             "answering: it does not accept TDS 8. Check without --strict, or use "
                             "Encrypt=Mandatory/True (TDS 7.x) with this server."
        : r.options.strict ? "The TDS 8 strict TLS handshake did not complete."
                           : "The TLS handshake inside TDS did not complete.",
        tls_ev));
    if (blackhole == Blackhole::Cut || (blackhole != Blackhole::No && r.largest_mss_passed() > 0))
      out.back().caused_by = Code::PathMtuBlackhole;
  }
  const std::string withheld =
      r.login_withheld.empty() ? "" : " mi-diag withheld the real login: " + r.login_withheld + ".";
  if (r.negotiated == tds::Negotiated::None || r.negotiated == tds::Negotiated::Terminate) {
    const std::string enc = r.prelogin && r.prelogin->encryption
                                ? std::string(tds::to_string(*r.prelogin->encryption))
                                : std::string("absent");
    auto f = make_finding(
        Code::TlsNotOffered,
        cap(who) + " " + where(r) + " offered no TLS (PRELOGIN ENCRYPTION " + enc + ")",
        "A Managed Instance always offers TLS; a driver with Encrypt=True (the default) refuses "
        "this "
        "server." +
            (withheld.empty() ? (r.dummy_credentials
                                     ? std::string(" Only the probe's dummy credentials were sent.")
                                     : std::string())
                              : withheld),
        {probe_line(r, "PRELOGIN answered ENCRYPTION " + enc + ", negotiated " +
                           std::string(tds::to_string(*r.negotiated)))});
    f.addresses = {r.options.address};
    out.push_back(std::move(f));
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
  const std::string& checked_name = r.options.host_name_in_certificate.empty()
                                        ? r.options.server_name
                                        : r.options.host_name_in_certificate;
  // Connecting by address never matches a certificate; that is TARGET_IS_IP_LITERAL's to say,
  // unless it is why the real login was withheld.
  if (!t.chain.empty() && !t.name_matches && (!name_is_literal || !r.login_withheld.empty())) {
    out.push_back(make_finding(
        Code::TlsCertNameMismatch, cap(who) + " certificate does not cover " + checked_name,
        "Drivers check the certificate against the server name they were given." + withheld,
        cert_ev));
    if (name_is_literal) out.back().caused_by = Code::TargetIsIpLiteral;
  }
  if (t.expired)
    out.push_back(make_finding(
        Code::TlsCertExpired, cap(who) + " certificate is outside its validity period",
        "The certificate's notBefore/notAfter do not include the current time.", cert_ev));
  if (!t.chain.empty() && !t.trusted &&
      !(t.expired && t.verify_error.find("expired") != std::string::npos)) {
    auto ev = cert_ev;
    ev.push_back("verification: " + t.verify_error);
    out.push_back(make_finding(
        Code::TlsCertUntrusted, cap(who) + " certificate chain does not verify: " + t.verify_error,
        "Checked against " +
            (r.options.ca_file.empty() ? std::string("the system trust store")
                                       : r.options.ca_file) +
            "." + (name_is_literal || t.name_matches ? withheld : std::string()),
        ev));
  }
  if (t.version_number != 0 && t.version_number < 0x0303)
    out.push_back(make_finding(Code::TlsProtocolObsolete, cap(who) + " negotiated " + t.version,
                               "TLS 1.2 is the minimum for Managed Instance." + withheld,
                               {probe_line(r, "negotiated " + t.version + " " + t.cipher)}));
}

// The login-error table's meaning, fix and Microsoft reference for this number and state.
void enrich_login_error(Finding& f, const tds::ServerMessage& e) {
  const auto* info = find_login_error(e.number, e.state);
  if (info == nullptr) {
    f.detail += " Error " + std::to_string(e.number) +
                " is not in mi-diag's table of login errors: "
                "search Microsoft's documentation for it.";
    return;
  }
  f.detail += " " + std::string(info->meaning) + " (" + std::string(to_string(info->cls)) + ")";
  f.remediation = std::string(info->remediation);
  f.reference = std::string(info->reference);
}

void explain_login(const tdsprobe::Result& r, const std::string& who, bool at_gateway,
                   std::vector<Finding>& out) {
  if (r.failed_at == tdsprobe::Stage::Login) {
    out.push_back(make_finding(
        Code::LoginFailed, cap(who) + " " + where(r) + ": no answer to LOGIN7 (" + r.failure + ")",
        "PRELOGIN and TLS worked, but the login got no decodable answer.",
        {probe_line(r, "LOGIN7: " + r.failure)}));
    return;
  }
  if (r.failed_at != tdsprobe::Stage::Complete || r.reached != tdsprobe::Stage::Complete) return;
  if (r.outcome == tdsprobe::LoginOutcome::None) {
    // An answer with neither LOGINACK nor ERROR (empty, or only DONE) lets no driver in.
    out.push_back(make_finding(
        Code::LoginFailed,
        cap(who) + " " + where(r) + " answered LOGIN7 with neither LOGINACK nor an error",
        "The login response held " + r.login_answer +
            ": no driver can continue from it. A server of the instance always answers "
            "with LOGINACK (and a redirect) or an ERROR.",
        {probe_line(r, "LOGIN7 -> " + r.login_answer)}));
    return;
  }
  if (r.outcome != tdsprobe::LoginOutcome::Error || !r.error) return;
  const auto& e = *r.error;
  std::string line = "error " + std::to_string(e.number) + " state " + std::to_string(e.state) +
                     " class " + std::to_string(e.severity) + ": " + e.message;
  Finding f = make_finding(Code::LoginFailed, cap(who) + " rejected the login: " + line,
                           "The server answered LOGIN7 with an ERROR token.",
                           {probe_line(r, "LOGIN7 -> " + line)});
  enrich_login_error(f, e);
  if (r.dummy_credentials && proves_path_with_dummy_credentials(e.number)) {
    f.severity = Severity::Info;
    f.title = cap(who) + " answered the probe's dummy login with error " +
              std::to_string(e.number) + " (expected)";
    f.detail =
        "The probe logged in with dummy credentials on purpose: this answer proves DNS, TCP, TLS "
        "and the "
        "gateway work." +
        std::string(
            !at_gateway ? ""
            // --auth entra: no password is ever sent, so only the application's own login shows it.
            : r.options.fedauth_required
                ? " A redirect follows LOGINACK, so it cannot be seen this way: run 'mi-diag "
                  "capture' while the application signs in with Entra ID."
                : " A redirect follows LOGINACK, so it cannot be seen this way: run with "
                  "--user and --password-env, or run 'mi-diag capture' while the application "
                  "connects.");
    f.remediation = "Nothing to fix on the network path.";
  } else if (r.dummy_credentials) {
    // Only 18456 means "your (dummy) credentials were checked": anything else is a real problem.
    f.title = cap(who) + " answered the probe's dummy login with error " +
              std::to_string(e.number) + ", not the expected 18456: " + e.message;
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
    out.push_back(
        make_finding(Code::ConnectionPath, "Proxy connection through the gateway " + where(g),
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
    out.push_back(make_finding(Code::RedirectTargetUnreachable,
                               "The gateway redirects to " + node + ", which does not resolve",
                               "The routing token names a host this machine cannot resolve.",
                               evidence));
    return out;
  }
  if (state == "invalid") {
    auto f = make_finding(
        Code::RedirectTargetUnreachable,
        "The gateway redirects to " + node + ", which cannot be followed: " + rd.invalid,
        "No driver can connect to what this routing token names.", evidence);
    out.push_back(std::move(f));
    return out;
  }
  const tcp::Result* routed = nullptr;
  int open = 0, refused = 0, blocked = 0, swept = 0;
  for (const auto& t : rd.tcp) {
    if (t.target.role == tcp::Role::Redirect && routed == nullptr) routed = &t;
    if (t.target.role != tcp::Role::Sweep || t.state == tcp::State::NotProbed) continue;
    ++swept;
    // A reset proves the path reaches the node; only silence or ICMP means "blocked".
    if (t.state == tcp::State::Open)
      ++open;
    else if (t.state == tcp::State::Refused)
      ++refused;
    else
      ++blocked;
  }
  if (routed != nullptr)
    evidence.push_back("tcp " + routed->target.address + ":" + std::to_string(rd.port) + " -> " +
                       std::string(tcp::to_string(routed->state)) + " after " +
                       format_ms(routed->rtt_ms) +
                       (routed->detail.empty() ? "" : ": " + routed->detail));
  const std::string range = std::to_string(rd.sweep_from) + "-" + std::to_string(rd.sweep_to);
  if (swept > 0)
    evidence.push_back("sweep " + range + " on " + rd.addresses.front() + ": " +
                       std::to_string(open) + " open, " + std::to_string(refused) + " reset, " +
                       std::to_string(blocked) + " silent or ICMP-rejected, of " +
                       std::to_string(swept));
  if (!rd.sweep_withheld.empty()) evidence.push_back("sweep not run: " + rd.sweep_withheld);
  if (state == "filtered" || state == "refused" || state == "unreachable") {
    std::string scope;
    if (swept > 0 && state == "refused") {
      scope =
          refused == swept
              ? " — every port of the range " + range +
                    " answers with a reset too: the path reaches the node's address, but nothing "
                    "listens there (or a firewall resets)"
          : blocked == swept
              ? " — the rest of the range " + range + " is blocked (silent or ICMP)"
              : " — the rest of the range: " + std::to_string(open) + " open, " +
                    std::to_string(refused) + " reset, " + std::to_string(blocked) + " blocked";
    } else if (swept > 0) {
      scope = blocked == swept ? " — the whole range " + range + " is blocked"
              : blocked == 0
                  ? " — only this port is blocked; the rest of the range answers (" +
                        std::to_string(open) + " open, " + std::to_string(refused) + " reset)"
                  : " — " + std::to_string(blocked) + " of " + std::to_string(swept) +
                        " ports in the range are blocked";
    }
    auto f = make_finding(
        Code::RedirectPortsFiltered, "Redirect to " + node + " is " + state + scope,
        "The gateway answered the login with a redirect to the node; the client's second "
        "connection cannot get there.",
        evidence);
    f.addresses = {rd.addresses.front()};
    out.push_back(std::move(f));
  } else if (state == "no_route") {
    auto f = make_finding(
        Code::RedirectTargetUnreachable, "No route to the redirect target " + node,
        "The gateway's address is reachable but the node's is not routed from here.", evidence);
    f.addresses = {rd.addresses.front()};
    out.push_back(std::move(f));
  } else if (state == "redirect_loop" && rd.node_login && rd.node_login->routing) {
    const auto& again = *rd.node_login->routing;
    evidence.push_back("routing ENVCHANGE from the node " + where(*rd.node_login) + " -> " +
                       again.host + ":" + std::to_string(again.port));
    out.push_back(make_finding(
        Code::RedirectLoop,
        "The redirect node " + node + " routed the login again, to " + again.host + ":" +
            std::to_string(again.port),
        "Drivers follow one redirect; a second routing token ends the login. mi-diag did "
        "not follow it either.",
        evidence));
  } else if ((state == "handshake_failed" || state == "login_withheld" || state == "login_failed" ||
              state == "no_loginack") &&
             rd.node_login) {
    explain_exchange(*rd.node_login, ev, false, "the redirect node", out);
    explain_login(*rd.node_login, "the redirect node", false, out);
  } else if (state == "ok") {
    out.push_back(make_finding(
        Code::ConnectionPath, "Redirect connection: gateway " + where(g) + " -> node " + node,
        "The gateway routed the login to the node (redirect connection type) and the node "
        "accepted it (LOGINACK).",
        evidence));
  }
  return out;
}

}  // namespace midiag::reports
