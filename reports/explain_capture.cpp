// Rules for analyze: each SQL connection a capture holds, explained from its packets.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "reports/explain.h"
#include "reports/login_errors.h"

namespace midiag::reports {

namespace {

std::string who(const CaptureSession& s) {
  return "session " + std::to_string(s.index) + " (" + s.client + " -> " + s.server + ")";
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

std::string ttl_line(const CaptureReset& r) {
  std::string line =
      "RST TTL " + std::to_string(r.ttl) + " (" + std::to_string(hops_from_ttl(r.ttl)) + " hops)";
  if (r.expected_ttl)
    line += " vs the sender's other packets TTL " + std::to_string(*r.expected_ttl) + " (" +
            std::to_string(hops_from_ttl(*r.expected_ttl)) + " hops, " + r.expected_from + ")";
  else
    line += "; no other packet from that address to compare with";
  return line;
}

std::string steps_line(const CaptureSession& s) {
  std::string line;
  auto add = [&](const char* name, const std::optional<double>& v) {
    if (!v) return;
    line += (line.empty() ? "" : ", ") + std::string(name) + " " + format_ms(*v);
  };
  add("connect", s.connect_ms);
  add("prelogin", s.prelogin_ms);
  add("tls", s.tls_ms);
  add("login", s.login_ms);
  return line;
}

std::optional<Finding> hole_finding(const CaptureSession& s) {
  if (!s.hole || s.hole->frag_needed_seen || s.hole->dup_acks == 0 ||
      s.hole->missing <= s.hole->next_segment)
    return std::nullopt;
  const auto& h = *s.hole;
  auto f = make_finding(
      Code::PathMtuBlackhole, "Full-size segments from " + s.server + " never arrived",
      "The server's larger segments vanished while a smaller later one arrived and the client "
      "asked again for the missing bytes; no ICMP 'fragmentation needed' came back, and "
      "nothing ever filled the hole: a path-MTU black hole.",
      {who(s) + ": " + std::to_string(h.missing) + " bytes missing from the server, then a " +
           std::to_string(h.next_segment) + "-byte segment arrived (largest seen " +
           std::to_string(h.largest_segment) + " bytes" +
           (h.mss ? ", client MSS " + std::to_string(*h.mss) : std::string()) + ")",
       who(s) + ": " + std::to_string(h.dup_acks) +
           " duplicate ACK(s) for the hole; no ICMP fragmentation-needed in the capture"});
  f.addresses = {s.server_address};
  return f;
}

void explain_session(const CaptureSession& s, std::vector<Finding>& out) {
  const bool redirect_leg = s.redirected_from.has_value();
  std::vector<std::string> syns;
  if (s.syn_attempts > 0)
    syns.push_back(who(s) + ": " + std::to_string(s.syn_attempts) + " SYN(s) over " +
                   seconds(s.syn_seconds) + (s.syn_ack ? ", answered by SYN-ACK" : ""));
  std::optional<Code> icmp_code;
  if (s.icmp) {
    auto f = make_finding(Code::IcmpUnreachable,
                          s.icmp->reporter + " answered 'destination unreachable' (type " +
                              std::to_string(s.icmp->type) + " code " +
                              std::to_string(s.icmp->code) + ") for " + s.server,
                          "The capture holds an ICMP error about this connection's packets: the "
                          "reporting device rejected or could not route them.",
                          {who(s) + ": ICMP type " + std::to_string(s.icmp->type) + " code " +
                           std::to_string(s.icmp->code) + " from " + s.icmp->reporter +
                           " quoting " + s.icmp->quoted});
    f.addresses = {s.server_address, s.icmp->reporter};
    out.push_back(std::move(f));
    icmp_code = Code::IcmpUnreachable;
  }
  std::optional<ResetJudgement> judged;
  if (s.rst && !s.rst->from_client) judged = judge_reset(*s.rst);
  if (judged == ResetJudgement::Middlebox || judged == ResetJudgement::Likely) {
    const bool sure = judged == ResetJudgement::Middlebox;
    std::vector<std::string> ev = {who(s) + ": " + ttl_line(*s.rst)};
    if (s.rst->race) ev.push_back(who(s) + ": " + s.rst->race_detail);
    auto f = make_finding(
        Code::TcpResetByMiddlebox,
        std::string(sure ? "" : "Likely: ") + "the reset of " + s.server + " came from a device " +
            "in the path, not the server",
        sure ? "The reset's hop count does not match the server's own packets: it was sent by a "
               "device at another distance from the client (a firewall, proxy or IDS)."
             : "The reset's TTL is one hop off the server's own packets, or only timing points "
               "at a middlebox: likely, not certain (paths can change between packets).",
        ev);
    if (!sure) f.severity = Severity::Warning;
    f.addresses = {s.server_address};
    out.push_back(std::move(f));
  } else if (s.state == "refused" && !redirect_leg) {
    std::vector<std::string> ev = syns;
    if (s.rst) ev.push_back(who(s) + ": " + ttl_line(*s.rst));
    auto f = make_finding(Code::TcpRefused, s.server + " refused the connection (RST)",
                          "The SYN was answered with a reset: nothing listens on that port, or a "
                          "host firewall rejects it.",
                          ev);
    f.addresses = {s.server_address};
    out.push_back(std::move(f));
  }
  if (redirect_leg && (s.state == "filtered" || s.state == "refused" || s.state == "unreachable" ||
                       s.state == "reset_by_middlebox")) {
    auto ev = syns;
    ev.push_back(who(s) + ": the client's connection after the redirect from session " +
                 std::to_string(*s.redirected_from) + " ended " + s.state);
    auto f = make_finding(
        Code::RedirectPortsFiltered,
        "The application's connection to the redirect target " + s.server + " was " + s.state,
        "The gateway login worked and routed the client to the node; the "
        "client's own SYNs to that node port " +
            std::string(s.state == "filtered" ? "got no answer." : "were rejected."),
        ev);
    f.caused_by = icmp_code;
    f.addresses = {s.server_address};
    out.push_back(std::move(f));
  } else if (s.state == "filtered") {
    auto f = make_finding(Code::TcpFiltered,
                          s.server + " did not answer " + std::to_string(s.syn_attempts) +
                              " SYN(s) over " + seconds(s.syn_seconds),
                          "No SYN-ACK, reset or ICMP error came back: something on the way drops "
                          "the connection attempts silently.",
                          syns);
    f.addresses = {s.server_address};
    out.push_back(std::move(f));
  }
  if (s.syn_ack && s.syn_retransmits > 0) {
    auto f = make_finding(Code::TcpSynRetransmitted,
                          s.server + " answered only after " + std::to_string(s.syn_retransmits) +
                              " SYN retransmission(s) (" + seconds(s.syn_seconds) + ")",
                          "The connection was made, late: the first SYNs (or their answers) were "
                          "lost. A driver with a short connect timeout gives up here.",
                          syns);
    f.addresses = {s.server_address};
    out.push_back(std::move(f));
  }
  if (auto f = hole_finding(s)) out.push_back(std::move(*f));
  if (s.server_silent_s) {
    auto f = make_finding(
        Code::TdsNotSpoken, s.server + " accepted the connection but never answered the client",
        "The TCP handshake completed and the client sent " + std::to_string(s.bytes_to_server) +
            " byte(s) (its PRELOGIN or TLS hello), but not one byte came back in " +
            seconds(*s.server_silent_s) +
            ": whatever holds that port does not speak TDS to this client (a proxy or "
            "load balancer without a backend, a stalled service, or a client that skipped the "
            "PRELOGIN the server waits for).",
        {who(s) + ": " + std::to_string(s.bytes_to_server) +
         " byte(s) to the server, none back in " + seconds(*s.server_silent_s)});
    f.addresses = {s.server_address};
    out.push_back(std::move(f));
  }
  if (s.tls) {
    for (const auto& a : s.tls_alerts) {
      if (a.find("fatal") == std::string::npos) continue;
      auto f = make_finding(Code::TlsHandshakeFailed,
                            "TLS with " + s.server + " ended with an alert: " + a,
                            "A side refused the TLS handshake inside TDS.",
                            {who(s) + ": TLS " + s.tls_progress + "; alert " + a});
      f.addresses = {s.server_address};
      out.push_back(std::move(f));
      break;
    }
  }
  if (s.login && s.login->error_number) {
    const auto& l = *s.login;
    auto f = make_finding(
        Code::LoginFailed,
        s.server + " rejected the login" + (l.user.empty() ? "" : " of '" + l.user + "'") +
            " with error " + std::to_string(*l.error_number),
        "The network path and TLS worked; the server answered LOGIN7 with error " +
            std::to_string(*l.error_number) + " state " +
            std::to_string(l.error_state.value_or(0)) + ": " + l.error_message + ".",
        {who(s) + ": ERROR " + std::to_string(*l.error_number) + " state " +
         std::to_string(l.error_state.value_or(0)) + " class " +
         std::to_string(l.error_class.value_or(0)) + " \"" + l.error_message + "\""});
    if (const auto* info = find_login_error(*l.error_number, l.error_state.value_or(0))) {
      f.detail += " " + std::string(info->meaning) + " (" + std::string(to_string(info->cls)) + ")";
      f.remediation = std::string(info->remediation);
      f.reference = std::string(info->reference);
    }
    f.addresses = {s.server_address};
    out.push_back(std::move(f));
  }
  if (s.total_login_ms && *s.total_login_ms > 2000.0) {
    auto f = make_finding(Code::LoginSlow,
                          "The login at " + s.server + " took " + format_ms(*s.total_login_ms),
                          "From the first SYN to the login answer took over 2 s; the step times "
                          "say where the time went.",
                          {who(s) + ": " + steps_line(s)});
    f.addresses = {s.server_address};
    out.push_back(std::move(f));
  }
}

}  // namespace

int hops_from_ttl(std::uint8_t ttl) {
  for (int initial : {64, 128, 255})
    if (ttl <= initial) return initial - ttl;
  return 0;
}

ResetJudgement judge_reset(const CaptureReset& r) {
  // Nothing else from that address: no baseline, so no claim (spec §4).
  if (!r.expected_ttl) return ResetJudgement::Unknown;
  const int rst_hops = hops_from_ttl(r.ttl), peer_hops = hops_from_ttl(*r.expected_ttl);
  const int diff = std::abs(rst_hops - peer_hops);
  // The same distance as the host's own packets: its own reset (a closed port), whatever else.
  if (diff == 0) return ResetJudgement::Genuine;
  // A reset sent from zero hops away while the server is one or more hops off, or two or more
  // hops of difference, cannot have come from the server; one hop alone may be a path change.
  if (diff >= 2 || (rst_hops == 0 && peer_hops >= 1) || r.race) return ResetJudgement::Middlebox;
  return ResetJudgement::Likely;
}

bool live_capture(const Evidence& ev) {
  return ev.packets && !ev.capture.interface.empty();
}

const CaptureSession* session_for(const Evidence& ev, const tcp::Result& r) {
  if (!live_capture(ev) || r.local_port == 0) return nullptr;
  for (const auto& s : ev.packets->sessions)
    if (s.client_port == r.local_port && s.server_port == r.target.port &&
        s.server_address == r.target.address)
      return &s;
  return nullptr;
}

std::string reset_line(const CaptureSession& s) {
  return s.rst ? who(s) + ": " + ttl_line(*s.rst) : who(s) + ": no reset from the server seen";
}

// analyze: the capture's DNS lookups of each SQL name, judged by check's own DNS rules.
void explain_capture_dns(const Evidence& ev, std::vector<Finding>& out) {
  for (const auto& t : ev.packets->dns_targets) {
    Evidence sub;
    sub.target = t;
    sub.dns_ran = true;
    sub.class_overrides = ev.class_overrides;
    sub.packets = PacketEvidence{};  // marks the lookups as the application's own
    bool resolved = false;
    for (const auto& l : ev.lookups) {
      if (l.name != t.host) continue;
      for (const auto& a : l.addresses) sub.addresses.push_back(a.address);
      resolved = resolved || (l.status == dns::Status::Ok && !l.addresses.empty());
      // check asks each resolver once per type; a capture may hold many asks over time: the
      // last answered one speaks for that resolver (an earlier timeout was retried in time).
      auto same = std::find_if(sub.lookups.begin(), sub.lookups.end(), [&](const dns::Lookup& o) {
        return o.resolver == l.resolver && o.type == l.type;
      });
      if (same == sub.lookups.end())
        sub.lookups.push_back(l);
      else if (l.status != dns::Status::Timeout || same->status == dns::Status::Timeout)
        *same = l;
    }
    for (auto& f : explain_dns(sub)) {
      // Another resolver (or a retry) gave the application an address: it got through.
      if (resolved && (f.code == Code::DnsNameNotFound || f.code == Code::DnsServerFailure ||
                       f.code == Code::DnsResolverUnreachable)) {
        f.severity = Severity::Warning;
        f.detail += " Another answer in the capture gave " + t.host + " an address.";
      }
      out.push_back(std::move(f));
    }
  }
}

std::vector<Finding> explain_capture(const Evidence& ev) {
  std::vector<Finding> out;
  if (!ev.packets) return out;
  // check: the socket-level rules already speak for each probe; the packets confirm or overturn
  // them there (explain_tcp, confirm_with_packets), not in findings of their own.
  if (live_capture(ev)) return out;
  explain_capture_dns(ev, out);
  for (const auto& s : ev.packets->sessions) explain_session(s, out);
  return out;
}

void confirm_with_packets(const Evidence& ev, std::vector<Finding>& all) {
  if (!live_capture(ev)) return;
  for (const auto& s : ev.packets->sessions) {
    auto hole = hole_finding(s);
    if (!hole) continue;
    auto it = std::find_if(all.begin(), all.end(), [&](const Finding& f) {
      return f.code == Code::PathMtuBlackhole && std::find(f.addresses.begin(), f.addresses.end(),
                                                           s.server_address) != f.addresses.end();
    });
    if (it == all.end()) {
      all.push_back(std::move(*hole));
      continue;
    }
    if (it->title.find("confirmed from packets") == std::string::npos) {
      it->title += " (confirmed from packets: the server's full-size segments never arrived)";
      it->severity = Severity::Error;
    }
    for (auto& line : hole->evidence) it->evidence.push_back("capture " + line);
  }
}

}  // namespace midiag::reports
