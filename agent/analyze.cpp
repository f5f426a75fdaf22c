#include "agent/analyze.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "decoders/capture/tds_exchange.h"
#include "decoders/pcap/link_layer.h"
#include "probes/net/address.h"
#include "reports/explain.h"
#include "reports/target.h"

namespace midiag::agent {

namespace {

using reports::CaptureSession;

std::string iso_time(double epoch) {
  const auto t = static_cast<std::time_t>(std::floor(epoch));
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "";
  char buf[96];
  const int ms = static_cast<int>((epoch - std::floor(epoch)) * 1000.0);
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                std::clamp(ms, 0, 999));
  return buf;
}

std::optional<double> ms_between(std::optional<double> from, std::optional<double> to) {
  if (!from || !to || *to < *from) return std::nullopt;
  return (*to - *from) * 1000.0;
}

bool is_frag_needed(const pcap::IcmpUnreachable& u) {
  return (u.original_dst.address.family == 4 && u.type == 3 && u.code == 4) ||
         (u.original_dst.address.family == 6 && u.type == 2);
}

// Whether the ICMP message quotes a packet of this session, in either direction.
bool quotes_session(const pcap::IcmpUnreachable& u, const pcap::Session& s) {
  auto same = [&](const pcap::Endpoint& a, const pcap::Endpoint& b) {
    return u.original_src.address == a.address && u.original_dst.address == b.address &&
           (u.original_src.port == 0 ||
            (u.original_src.port == a.port && u.original_dst.port == b.port));
  };
  return u.protocol == pcap::kProtoTcp && (same(s.client, s.server) || same(s.server, s.client));
}

reports::CaptureIcmp icmp_evidence(const pcap::IcmpUnreachable& u, const pcap::Session& s) {
  reports::CaptureIcmp out{u.type,
                           u.code,
                           u.reporter.str(),
                           "tcp " + u.original_src.str() + " -> " + u.original_dst.str(),
                           (u.timestamp - s.first_time) * 1000.0,
                           std::nullopt};
  if (is_frag_needed(u)) out.mtu = u.mtu;
  return out;
}

std::string alert_name(const tls::Alert& a) {
  return std::string(a.level == 2 ? "fatal" : "warning") + " " + std::to_string(a.description);
}

// The ICMP message quoting this session's packets (client -> server), if any.
const pcap::IcmpUnreachable* icmp_for(const pcap::Session& s,
                                      const std::vector<pcap::IcmpUnreachable>& all) {
  for (const auto& u : all) {
    if (u.protocol != pcap::kProtoTcp || is_frag_needed(u)) continue;
    if (u.original_src.address != s.client.address || u.original_dst.address != s.server.address)
      continue;
    if (u.original_src.port != 0 &&
        (u.original_src.port != s.client.port || u.original_dst.port != s.server.port))
      continue;
    return &u;
  }
  return nullptr;
}

void fill_reset(const pcap::Session& s, std::size_t index, const std::vector<pcap::Session>& all,
                CaptureSession& out) {
  const pcap::ResetSeen* first = nullptr;
  std::size_t count = 0;
  bool jumping = false;
  for (const auto& r : s.resets) {
    if (r.from_client) continue;
    ++count;
    if (first == nullptr) {
      first = &r;
    } else if ((r.seq != first->seq && (r.flags & pcap::tcp_flags::kAck) != 0 &&
                r.ack != first->ack) ||
               (r.ack != first->ack && (r.flags & pcap::tcp_flags::kAck) != 0 &&
                (first->flags & pcap::tcp_flags::kAck) != 0)) {
      jumping = true;
    }
  }
  if (first == nullptr) return;
  reports::CaptureReset r;
  r.at_ms = (first->timestamp - s.first_time) * 1000.0;
  r.ttl = first->ttl;
  r.from_client = false;
  r.count = count;
  if (s.server_ttl) {
    r.expected_ttl = s.server_ttl;
    r.expected_from = "this session";
  } else {
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (i == index || all[i].server.address != s.server.address || !all[i].server_ttl) continue;
      r.expected_ttl = all[i].server_ttl;
      r.expected_from = "TCP connection " + std::to_string(i + 1) + " to the same address";
      break;
    }
  }
  if (s.server_data_after_rst) {
    r.race = true;
    r.race_detail = "the server's data kept arriving after the reset (a race with an injected RST)";
  } else if (jumping) {
    r.race = true;
    r.race_detail = "the resets disagree in sequence and acknowledgement numbers";
  }
  out.rst = r;
}

void fill_tds(const capture::TdsExchange& x, const pcap::Session& s, CaptureSession& out) {
  out.speaks_tds = x.speaks_tds;
  if (x.client_prelogin && x.client_prelogin->encryption)
    out.client_encryption = std::string(tds::to_string(*x.client_prelogin->encryption));
  if (x.server_prelogin) {
    const auto& p = *x.server_prelogin;
    if (p.encryption) out.server_encryption = std::string(tds::to_string(*p.encryption));
    if (p.version) out.server_version = p.version->str();
    if (p.instance) out.instance = *p.instance;
    out.fedauth_required = p.fedauth_required;
  }
  if (x.tls) {
    const auto& t = *x.tls;
    out.tls = true;
    if (t.version) out.tls_version = tls::version_name(*t.version);
    out.tls_sni = t.sni.value_or("");
    out.tls_progress = t.server_hello   ? t.server_progress
                       : t.client_hello ? "ClientHello sent, no ServerHello"
                                        : t.server_progress;
    for (const auto& a : t.alerts) out.tls_alerts.push_back(alert_name(a));
    out.tls_complete = t.finished;
    out.tls_ms = ms_between(t.start, t.end);
  }
  out.prelogin_ms = ms_between(x.prelogin_sent, x.prelogin_answered);
  if (x.login || x.login_encrypted || x.response) {
    reports::CaptureLogin l;
    if (x.login) {
      l.user = x.login->user_name;
      l.server_name = x.login->server_name;
      l.database = x.login->database;
      l.app_name = x.login->app_name;
      l.host_name = x.login->host_name;
      l.library = x.login->library_name;
      l.read_only_intent = (x.login->type_flags & 0x20) != 0;  // fReadOnlyIntent
      // Integrated logins carry no user name in LOGIN7: NTLM's AUTHENTICATE names the account.
      if (l.user.empty()) l.user = x.auth_user;
    }
    l.auth = x.auth;
    l.encrypted = x.login_encrypted;
    l.outcome = "none";
    std::optional<double> answered;
    if (x.response) {
      const auto& r = *x.response;
      l.outcome = r.outcome;
      l.server_program = r.server_program;
      // An encrypted (or database-less) LOGIN7 hides the database: the server's ENVCHANGE names it.
      if (l.database.empty()) l.database = r.database;
      if (!r.server_version.empty()) {
        l.server_program +=
            " " + r.server_version + " (TDS " + tds::tds_version_name(r.tds_version) + ")";
      }
      if (r.error) {
        l.error_number = r.error->number;
        l.error_state = r.error->state;
        l.error_class = r.error->severity;
        l.error_message = r.error->message;
      }
      if (r.routing) {
        l.routing_host = r.routing->host;
        l.routing_port = r.routing->port;
      }
      answered = r.time;
    } else if (x.login_encrypted) {
      l.outcome = "encrypted";
      answered = x.encrypted_response;
    }
    out.login_ms = ms_between(x.login_sent, answered);
    out.total_login_ms = ms_between(s.syn_time ? s.syn_time : s.first_time, answered);
    out.login = std::move(l);
  }
  out.requests_after_login = x.requests_after_login;
}

// A server that accepted the connection and sent nothing for this long after the client's first
// bytes is not answering (drivers wait 15 s for a login; a live server answers PRELOGIN in ms).
constexpr double kSilentServerS = 5.0;

std::string state_of(const pcap::Session& s, bool icmp) {
  const bool server_rst = std::any_of(s.resets.begin(), s.resets.end(),
                                      [](const pcap::ResetSeen& r) { return !r.from_client; });
  if (!s.syn_time && !s.syn_ack_time) return "midstream";
  if (s.syn_ack_time) return server_rst ? "reset" : "established";
  if (server_rst) return "refused";
  if (icmp) return "unreachable";
  return "filtered";
}

// A query still unanswered this long before the capture ended timed out; a later one may only
// have been cut off by the end of the capture.
constexpr double kDnsUnansweredAfter = 2.0;

dns::Status status_of(const capture::DnsLookupSeen& l) {
  if (!l.answered) return dns::Status::Timeout;
  switch (l.rcode) {
    case dns::kRcodeNoError:
      return dns::Status::Ok;
    case dns::kRcodeNxDomain:
      return dns::Status::NxDomain;
    case dns::kRcodeServFail:
      return dns::Status::ServFail;
    case dns::kRcodeRefused:
      return dns::Status::Refused;
    default:
      return dns::Status::Error;
  }
}

// The capture's A/AAAA lookups in the shape check's own fill (spec §6 dns.lookups[]).
std::vector<dns::Lookup> lookups_of(const capture::DnsSeenReport& seen, double capture_end,
                                    std::size_t& cut_off) {
  std::vector<dns::Lookup> out;
  for (const auto& s : seen.lookups) {
    if (s.type != dns::kTypeA && s.type != dns::kTypeAaaa) continue;
    if (!s.answered && capture_end - s.last_query_time < kDnsUnansweredAfter) {
      ++cut_off;
      continue;
    }
    dns::Lookup l;
    l.resolver = s.resolver.port == capture::kDnsPort ? s.resolver.address.str() : s.resolver.str();
    l.name = s.name;
    l.type = s.type == dns::kTypeA ? "A" : "AAAA";
    l.status = status_of(s);
    if (s.answered) {
      l.elapsed_ms = s.query_seen ? (s.answer_time - s.query_time) * 1000.0 : 0.0;
      if (l.status == dns::Status::Error) l.error = "rcode " + std::to_string(s.rcode);
    } else {
      l.unreachable = true;
      l.elapsed_ms = (capture_end - s.query_time) * 1000.0;
      char buf[160];
      std::snprintf(buf, sizeof buf, "no answer in the capture to %u quer%s over %.1f s", s.queries,
                    s.queries == 1 ? "y" : "ies", s.last_query_time - s.query_time);
      l.error = buf;
    }
    for (const auto& c : s.cname_chain) l.cname_chain.push_back({c.name, c.target, c.ttl});
    for (const auto& a : s.addresses) {
      dns::ResolvedAddress r{a.address.str(), a.ttl, net::AddressClass::Public};
      if (auto ip = net::parse_ip(r.address)) r.cls = net::classify(*ip);
      l.addresses.push_back(std::move(r));
    }
    out.push_back(std::move(l));
  }
  return out;
}

// Names each session to the lookup whose answer held its server address (the latest answered
// before the session began, else the first), and picks the names the DNS rules explain.
void link_dns(const std::vector<dns::Lookup>& lookups, const capture::DnsSeenReport& seen,
              reports::PacketEvidence& cap) {
  std::vector<std::string> names;
  for (auto& s : cap.sessions) {
    std::optional<double> best_time;
    for (const auto& seen_l : seen.lookups) {
      if (!seen_l.answered || seen_l.rcode != dns::kRcodeNoError) continue;
      bool holds = false;
      for (const auto& a : seen_l.addresses) holds = holds || a.address.str() == s.server_address;
      if (!holds) continue;
      const bool before = seen_l.answer_time <= s.start;
      if (s.dns_name.empty() || (before && (!best_time || seen_l.answer_time > *best_time))) {
        s.dns_name = seen_l.name;
        if (before) best_time = seen_l.answer_time;
      }
    }
    if (!s.dns_name.empty() && std::find(names.begin(), names.end(), s.dns_name) == names.end())
      names.push_back(s.dns_name);
  }
  for (const auto& l : lookups) {
    if (std::find(names.begin(), names.end(), l.name) != names.end()) continue;
    reports::Target t;
    t.host = l.name;
    reports::classify_target(t);
    if (t.kind != reports::EndpointKind::Other && t.kind != reports::EndpointKind::IpLiteral)
      names.push_back(l.name);
  }
  for (const auto& name : names) {
    auto t = reports::parse_target(name);
    if (!t) continue;
    t->input = name;
    for (const auto& s : cap.sessions)
      if (s.dns_name == name) {
        t->port = s.server_port;
        t->port_given = true;
        break;
      }
    for (const auto& l : lookups)
      if (l.name == name && !l.cname_chain.empty()) {
        reports::refine_with_cname_chain(*t, l.cname_chain);
        break;
      }
    cap.dns_targets.push_back(std::move(*t));
  }
}

}  // namespace

// The connection a gateway session's redirect led to. Routed in clear: the next connection from
// that client to the routed port (and address, when the host is a literal). Hidden (the login was
// encrypted): the client's next connection to another server within the window, preferring one
// to a listed SQL port (the redirect range by default) over one that only speaks TDS, so a
// neighbouring application's session on the same host is not taken for the redirect.
void link_redirects(std::vector<CaptureSession>& sessions, double window_s,
                    const std::vector<std::uint16_t>& sorted_ports) {
  std::vector<bool> taken(sessions.size(), false);
  const auto listed = [&](std::uint16_t port) {
    return std::binary_search(sorted_ports.begin(), sorted_ports.end(), port);
  };
  // Only the same client's later sessions can be the redirect: each client's sessions, in order,
  // so thousands of sessions are not each scanned against all the others.
  std::unordered_map<std::string_view, std::vector<std::size_t>> by_client;
  for (std::size_t i = 0; i < sessions.size(); ++i)
    by_client[sessions[i].client_address].push_back(i);
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    auto& g = sessions[i];
    if (!g.login) continue;
    const bool routed = g.login->routing_host.has_value();
    const bool hidden = g.login->outcome == "encrypted";
    if (!routed && !hidden) continue;
    const double end = g.start + g.duration_ms / 1000.0;
    std::optional<std::size_t> chosen, fallback;
    const auto& same_client = by_client.at(g.client_address);
    for (auto it = std::upper_bound(same_client.begin(), same_client.end(), i);
         it != same_client.end() && !chosen; ++it) {
      const std::size_t j = *it;
      auto& n = sessions[j];
      if (taken[j] || n.start < g.start) continue;
      if (routed) {
        if (n.server_port != g.login->routing_port) continue;
        const auto& host = *g.login->routing_host;
        // A routed name cannot be checked against an address here: the port and order decide.
        const bool literal =
            host.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos;
        if (literal && host != n.server_address) continue;
        chosen = j;
      } else {
        if (n.server == g.server || n.start > end + window_s) continue;
        const bool redirect_range = n.server_port >= 11000 && n.server_port <= 11999;
        if (redirect_range || (listed(n.server_port) && n.server_port != g.server_port))
          chosen = j;
        else if (n.speaks_tds && !fallback)
          fallback = j;
      }
    }
    if (!chosen) chosen = fallback;
    if (!chosen) continue;
    auto& n = sessions[*chosen];
    g.redirect_inferred = hidden && !routed;
    g.redirect_to = n.index;
    n.redirected_from = g.index;
    taken[*chosen] = true;
  }
}

std::vector<std::uint16_t> default_sql_ports() {
  std::vector<std::uint16_t> p = {1433, 3342, 5022};
  for (int port = 11000; port <= 11999; ++port) p.push_back(static_cast<std::uint16_t>(port));
  return p;
}

// The per-connection evidence of reassembled flows: the SQL connections (by port) and any other
// that speaks TDS.
static FrameAnalysis sessions_of(const pcap::FlowReport& flows, const AnalyzeOptions& options) {
  FrameAnalysis result;
  result.packets.file = options.file;
  result.packets.ports = options.ports.empty() ? default_sql_ports() : options.ports;
  std::sort(result.packets.ports.begin(), result.packets.ports.end());
  result.packets.undecoded = flows.undecoded_frames;
  result.packets.duplicates = flows.duplicates;
  result.packets.tcp_connections = flows.sessions.size();
  result.packets.sessions_over_limit = flows.sessions_over_limit;
  result.packets.sessions.reserve(flows.sessions.size());
  for (std::size_t i = 0; i < flows.sessions.size(); ++i) {
    const auto& s = flows.sessions[i];
    const bool sql_port =
        std::binary_search(result.packets.ports.begin(), result.packets.ports.end(), s.server.port);
    const bool maybe_tds = capture::starts_like_tds(s.to_server.bytes) ||
                           (!s.to_server.bytes.empty() && s.to_server.bytes[0] == 0x16);
    if (!sql_port && !maybe_tds) continue;
    const auto x = capture::decode_exchange(s);
    if (!sql_port && !x.speaks_tds) continue;
    // Built in place: moving thousands of these large records into the vector cost more than
    // filling them.
    CaptureSession& out = result.packets.sessions.emplace_back();
    out.index = result.packets.sessions.size();
    out.client = s.client.str();
    out.server = s.server.str();
    out.client_address = s.client.address.str();
    out.server_address = s.server.address.str();
    out.client_port = s.client.port;
    out.server_port = s.server.port;
    out.start = s.first_time;
    out.duration_ms = (s.last_time - s.first_time) * 1000.0;
    out.syn_attempts = s.syn_count;
    out.syn_retransmits = s.syn_count > 0 ? s.syn_count - 1 : 0;
    if (s.syn_time && s.last_syn_time) out.syn_seconds = *s.last_syn_time - *s.syn_time;
    out.syn_ack = s.syn_ack_time.has_value();
    out.packets = s.packet_count;
    out.duplicates = s.duplicates;
    out.connect_ms = ms_between(s.syn_time, s.syn_ack_time);
    const auto* icmp = icmp_for(s, flows.unreachable);
    if (icmp != nullptr) {
      out.icmp = icmp_evidence(*icmp, s);
    }
    for (const auto& u : flows.unreachable)
      if (is_frag_needed(u) && quotes_session(u, s)) {
        out.frag_needed = icmp_evidence(u, s);
        break;
      }
    out.state = state_of(s, icmp != nullptr);
    fill_reset(s, i, flows.sessions, out);
    if (out.rst && reports::judge_reset(*out.rst) == reports::ResetJudgement::Middlebox)
      out.state = "reset_by_middlebox";
    if (const auto& h = s.to_client.hole; h && !h->filled) {
      reports::CaptureHole hole{h->missing,      h->next_segment, s.to_client.largest_segment,
                                s.to_server.mss, h->dup_acks,     false};
      for (const auto& u : flows.unreachable)
        if (is_frag_needed(u) && (u.original_src.address == s.server.address ||
                                  u.original_dst.address == s.client.address))
          hole.frag_needed_seen = true;
      out.hole = hole;
    }
    out.bytes_to_server = s.to_server.delivered;
    out.bytes_to_client = s.to_client.delivered;
    // Only a client that spoke TDS (or TLS) first: a one-way protocol on a listed port is not.
    if (maybe_tds && out.state == "established" && s.first_data_time && s.to_server.delivered > 0 &&
        s.to_client.delivered == 0 && s.to_client.largest_segment == 0) {
      const double waited = s.last_time - *s.first_data_time;
      if (s.fin_time || s.rst_time || waited >= kSilentServerS) out.server_silent_s = waited;
    }
    fill_tds(x, s, out);
    result.capped = result.capped || s.to_client.capped || s.to_server.capped;
  }
  link_redirects(result.packets.sessions, options.redirect_window_s, result.packets.ports);
  return result;
}

FrameAnalysis analyze_frames(const std::vector<pcap::FrameView>& frames,
                             const AnalyzeOptions& options,
                             const std::set<std::pair<std::uint16_t, std::uint16_t>>& skip) {
  pcap::SessionTracker tracker(options.flow);
  std::size_t skipped = 0;
  for (const auto& frame : frames) {
    auto packet = pcap::decode_packet(frame);
    if (!packet) {
      tracker.add_undecoded();
      continue;
    }
    if (packet->tcp && !skip.empty() &&
        (skip.count({packet->tcp->src_port, packet->tcp->dst_port}) > 0 ||
         skip.count({packet->tcp->dst_port, packet->tcp->src_port}) > 0)) {
      ++skipped;
      continue;
    }
    tracker.add(*packet, pcap::packet_fingerprint(frame.data, *packet));
  }
  auto result = sessions_of(tracker.finish(), options);
  result.packets.packets = frames.size();
  result.skipped = skipped;
  return result;
}

reports::Report analyze_flows(CaptureInput input, const AnalyzeOptions& options) {
  auto analysis = sessions_of(input.flows, options);
  reports::PacketEvidence cap = std::move(analysis.packets);
  const bool capped = analysis.capped;
  cap.format = input.format;
  cap.packets = input.packets;
  cap.truncated = input.truncated;
  cap.truncated_message = input.truncated_message;

  reports::Evidence ev;
  std::size_t dns_cut_off = 0;
  ev.lookups = lookups_of(input.dns, input.last_time.value_or(0), dns_cut_off);
  ev.dns_ran = !ev.lookups.empty();
  cap.dns_messages = input.dns.messages;
  cap.dns_lookups_not_kept = input.dns.not_kept;
  link_dns(ev.lookups, input.dns, cap);
  ev.target.input = options.file;
  ev.target.host = options.file;
  if (input.first_time && input.last_time) {
    ev.started_at = iso_time(*input.first_time);
    ev.duration_ms = (*input.last_time - *input.first_time) * 1000.0;
  }
  for (auto& l : input.limitations) ev.limitations.push_back(std::move(l));
  if (cap.truncated)
    ev.limitations.push_back("the capture file is truncated (" + cap.truncated_message +
                             "): packets after that point were not read");
  if (cap.undecoded > 0)
    ev.limitations.push_back(std::to_string(cap.undecoded) +
                             " frame(s) were not IPv4/IPv6 TCP or ICMP, or were malformed, and "
                             "were skipped");
  if (cap.sessions_over_limit > 0) {
    const auto& f = input.flows;
    ev.limitations.push_back(
        std::string(f.connections_over_limit_estimated ? "about " : "") +
        std::to_string(f.connections_over_limit) + " TCP connection(s) beyond the first " +
        std::to_string(options.flow.max_sessions) + " were not kept: their " +
        std::to_string(cap.sessions_over_limit) + " packet(s) were counted, not analysed");
  }
  if (cap.dns_lookups_not_kept > 0)
    ev.limitations.push_back(std::to_string(cap.dns_lookups_not_kept) +
                             " DNS lookup(s) beyond the first " +
                             std::to_string(capture::kMaxDnsLookups) + " were counted, not kept");
  if (dns_cut_off > 0)
    ev.limitations.push_back(std::to_string(dns_cut_off) +
                             " DNS quer(y/ies) had no answer yet when the capture ended: not "
                             "counted as timeouts");
  for (const auto& s : cap.sessions)
    if (s.login && !s.login->encrypted && s.login->outcome == "none")
      ev.limitations.push_back("session " + std::to_string(s.index) +
                               ": the login's answer is not in the capture (no LOGINACK or "
                               "ERROR): whether it succeeded is unknown");
  if (capped)
    ev.limitations.push_back("only the first " +
                             std::to_string(options.flow.max_bytes_per_direction / 1024) +
                             " KiB of each direction of a connection were decoded");
  if (input.flows.directions_cut_by_budget > 0)
    ev.limitations.push_back(
        "the " + std::to_string(options.flow.max_bytes_total / (1024 * 1024)) +
        " MiB kept for the bytes of all connections ran out: " +
        std::to_string(input.flows.directions_cut_by_budget) +
        " direction(s) of later connections were decoded only in part or not at all");
  ev.packets = std::move(cap);
  return reports::make_report(options.tool_version, std::move(ev));
}

}  // namespace midiag::agent
