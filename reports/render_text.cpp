#include <cstdio>
#include <map>
#include <sstream>

#include "reports/explain.h"
#include "reports/render_entra.h"
#include "reports/report.h"
#include "reports/route_rules.h"
#include "reports/safe_text.h"

namespace midiag::reports {

namespace {

struct Palette {
  bool on;
  std::string paint(std::string_view code, std::string_view s) const {
    if (!on) return std::string(s);
    return "\033[" + std::string(code) + "m" + std::string(s) + "\033[0m";
  }
  std::string red(std::string_view s) const { return paint("1;31", s); }
  std::string yellow(std::string_view s) const { return paint("1;33", s); }
  std::string green(std::string_view s) const { return paint("1;32", s); }
  std::string dim(std::string_view s) const { return paint("2", s); }
  std::string bold(std::string_view s) const { return paint("1", s); }
};

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

// Every string from evidence or a finding goes through T() (safe_text) exactly once, here.
std::string T(std::string_view s) {
  return safe_text(s);
}

std::string target_line(const Report& r) {
  const auto& t = r.evidence.target;
  std::string s = T(t.host) + ":" + std::to_string(t.port) + "  (" + std::string(to_string(t.kind));
  if (!t.zone.empty()) s += ", zone " + T(t.zone);
  // Seconds from one second up; below it "0.00 s" would read as "did nothing".
  const double ms = r.evidence.duration_ms;
  return s + ", " + (ms < 1000.0 ? fixed(ms, 0) + " ms)" : fixed(ms / 1000.0, 2) + " s)");
}

void dns_section(std::ostringstream& o, const Report& r, const Palette& p) {
  const auto& ev = r.evidence;
  if (!ev.dns_ran) return;
  if (ev.packets && ev.capture.interface.empty()) {  // analyze: the capture's own lookups
    o << "\n" << p.bold("DNS") << "  (seen in the capture)\n";
  } else {
    o << "\n" << p.bold("DNS") << "  (system servers:";
    for (const auto& s : ev.system_servers) o << " " << T(s);
    o << ")\n";
  }
  for (const auto& l : ev.lookups) {
    o << "  " << pad(T(l.resolver), 18) << pad(T(l.type), 5) << T(l.name) << " -> ";
    if (l.status != dns::Status::Ok) {
      o << dns::to_string(l.status) << (l.error.empty() ? "" : " (" + T(l.error) + ")");
    } else if (l.addresses.empty()) {
      o << "no records";
    }
    for (size_t i = 0; i < l.addresses.size(); ++i)
      o << (i ? ", " : "") << T(l.addresses[i].address) << " ["
        << net::to_string(l.addresses[i].cls) << ", ttl " << l.addresses[i].ttl << "]";
    o << "  " << fixed(l.elapsed_ms, 1) << " ms\n";
    for (const auto& c : l.cname_chain)
      o << "  " << pad("", 23) << "CNAME " << T(c.name) << " -> " << T(c.target) << " (ttl "
        << c.ttl << ")\n";
  }
  for (const auto& h : ev.hosts_entries)
    o << "  " << pad("hosts-file", 18) << "line " << h.line << ": " << T(h.address) << "\n";
}

void route_section(std::ostringstream& o, const Report& r, const Palette& p) {
  if (r.evidence.routes.empty()) return;
  o << "\n" << p.bold("Routes") << "\n";
  for (const auto& rt : r.evidence.routes) {
    o << "  " << pad(T(rt.destination), 18) << T(rt.kind);
    if (!rt.interface.empty()) o << " dev " << T(rt.interface);
    if (!rt.gateway.empty()) o << " via " << T(rt.gateway);
    if (!rt.source.empty()) o << " src " << T(rt.source);
    if (rt.table) o << " table " << rt.table;
    if (rt.mtu) o << " mtu " << rt.mtu;
    if (!rt.error.empty()) o << " (" << T(rt.error) << ")";
    o << "\n";
    // The route model's account: the rule and entry that chose it, and why.
    const auto& ev = r.evidence;
    if (!ev.route_table) continue;
    for (const auto& c : ev.route_choices) {
      if (c.address != rt.destination) continue;
      const auto& t = *ev.route_table;
      if (!c.lookup.reason.empty()) o << "    why: " << T(c.lookup.reason) << "\n";
      if (c.lookup.route && !rt.interface.empty() &&
          t.routes[*c.lookup.route].interface != rt.interface)
        o << "    the tables read choose " << T(describe_route(t.routes[*c.lookup.route]))
          << "; the kernel weighs more (uid ranges, VRFs) and its answer stands\n";
    }
  }
}

// One line: whether this host is an Azure VM, what IMDS said and where the addresses lie.
void azure_line(std::ostringstream& o, const Report& r, const Palette& p) {
  if (!r.evidence.azure) return;
  const auto& az = *r.evidence.azure;
  std::string line;
  if (az.imds_status == "not_asked") {
    line = "not an Azure VM by its DMI; IMDS not asked (--imds asks it)";
  } else if (az.vm) {
    line = "IMDS answered in " + fixed(az.imds_elapsed_ms, 0) + " ms (" + az.source + ")";
    if (!az.vm->name.empty()) line += ": VM " + az.vm->name;
    if (!az.vm->location.empty()) line += " in " + az.vm->location;
    std::string subnets;
    for (const auto& nic : az.vm->interfaces)
      for (const auto& sn : nic.subnets)
        subnets += (subnets.empty() ? "" : ", ") + sn.parsed.text();
    line += "; subnets " + (subnets.empty() ? std::string("none listed") : subnets);
  } else {
    line = "IMDS " + az.imds_status + " (" + az.source + "): " + az.imds_error;
  }
  for (const auto& rel : az.relations) line += "; " + rel.address + ": " + rel.relation;
  o << "\n" << p.bold("Azure") << "  " << T(line) << "\n";
}

void link_section(std::ostringstream& o, const Report& r, const Palette& p) {
  const auto& link = r.evidence.link;
  if (!link) return;
  o << "\n"
    << p.bold("MI link") << "\n  this host's mirroring endpoint, port " << link->endpoint_port
    << ": "
    << (link->listening ? (*link->listening ? "listening" : "nothing listening")
                        : "unknown (" + T(link->error) + ")")
    << "\n";
  if (link->version_fact) o << "  " << T(link->version_fact->words) << "\n";
}

// Both sides of a failover group, shown without -v: which partner each listener leads to, for how
// long clients may keep that answer (the CNAME TTL), and how each side fared.
void failover_section(std::ostringstream& o, const Report& r, const Palette& p, bool verbose) {
  const auto& fg = r.evidence.failover_group;
  if (!fg) return;
  o << "\n" << p.bold("Failover group " + T(fg->name)) << "  zone " << T(fg->zone) << "\n";
  for (const auto* s : {&fg->read_write, &fg->read_only}) {
    std::string line = pad(s->read_only ? "read-only" : "read-write", 12) + T(s->listener);
    if (!s->error.empty()) {
      line += "  not checked: " + T(s->error);
    } else {
      line += s->instance.empty() ? "  -> no CNAME to an instance (" + T(s->dns_status) + ")"
                                  : "  -> " + T(s->instance);
      if (s->ttl_s) line += "  (TTL " + std::to_string(*s->ttl_s) + " s)";
      if (s->is_target) {
        line += "  [this report]";
      } else {
        std::string errors;
        for (const auto& f : s->findings)
          if (f.severity == "error") errors += (errors.empty() ? "" : ", ") + f.code;
        line += "  " + s->verdict + (errors.empty() ? "" : ": " + errors);
      }
    }
    o << "  " << line << "\n";
    if (!verbose) continue;
    if (s->certificate_seen) {
      std::string names;
      for (const auto& n : s->certificate_names) names += (names.empty() ? "" : ", ") + T(n);
      o << "              " << p.dim("certificate: ") << names << "\n";
    }
    for (const auto& f : s->findings)
      o << "              " << pad(f.severity, 8) << pad(f.code, 34) << T(f.title) << "\n";
  }
}

void tcp_section(std::ostringstream& o, const Report& r, const Palette& p) {
  const auto& tcp = r.evidence.tcp;
  if (tcp.empty()) return;
  o << "\n" << p.bold("TCP") << "\n";
  std::vector<tcp::Result> sweep;
  for (const auto& t : tcp) {
    if (t.target.role == tcp::Role::Sweep) {
      sweep.push_back(t);
      continue;
    }
    o << "  " << pad(T(t.target.address) + ":" + std::to_string(t.target.port), 24)
      << pad(std::string(tcp::to_string(t.target.role)), 9)
      << pad(std::string(tcp::to_string(t.state)), 12) << fixed(t.rtt_ms, 1) << " ms"
      << (t.detail.empty() ? "" : "  " + T(t.detail)) << "\n";
  }
  for (const auto& s : tcp::summarize_sweeps(sweep))
    o << "  " << pad(T(s.address) + ":" + std::to_string(s.from) + "-" + std::to_string(s.to), 24)
      << pad("sweep", 9) << "open " << s.open << ", refused " << s.refused << ", filtered "
      << s.filtered << ", unreachable " << s.unreachable << ", no route " << s.no_route
      << (s.not_probed ? ", not probed " + std::to_string(s.not_probed) : "") << "\n";
}

void login_lines(std::ostringstream& o, const tdsprobe::Result& t, std::string_view who) {
  o << "  " << pad(std::string(who), 10) << T(t.options.address) << ":" << t.options.port;
  if (t.prelogin && t.prelogin->version) o << "  server " << t.prelogin->version->str();
  if (t.prelogin && t.prelogin->encryption)
    o << "  encryption " << tds::to_string(*t.prelogin->encryption);
  o << "  login " << tdsprobe::to_string(t.outcome)
    << (t.dummy_credentials ? " (dummy credentials)" : "");
  if (t.error) o << " " << t.error->number << ": " << T(t.error->message);
  if (t.failed_at != tdsprobe::Stage::Complete)
    o << "  FAILED at " << tdsprobe::to_string(t.failed_at) << ": " << T(t.failure);
  o << "  " << fixed(t.elapsed_ms, 1) << " ms\n";
  if (t.tls) {
    o << "  " << pad("", 10) << "TLS " << T(t.tls->version) << " " << T(t.tls->cipher)
      << (t.tls->alpn.empty() ? "" : " alpn " + T(t.tls->alpn))
      << (t.login_only_encrypted ? " (login only)" : "") << ", name "
      << (t.tls->name_matches ? "matches" : "MISMATCH") << ", chain "
      << (t.tls->trusted ? "trusted" : "untrusted: " + T(t.tls->verify_error)) << "\n";
    if (!t.tls->chain.empty())
      o << "  " << pad("", 10) << "cert " << T(t.tls->chain.front().subject) << " until "
        << T(t.tls->chain.front().not_after) << "\n";
  }
}

void tds_section(std::ostringstream& o, const Report& r, const Palette& p) {
  const auto& ev = r.evidence;
  if (!ev.tds) return;
  o << "\n" << p.bold("TDS") << "\n";
  login_lines(o, *ev.tds, "gateway");
  if (!ev.redirect) return;
  const auto& rd = *ev.redirect;
  o << "  " << pad("redirect", 10) << T(rd.host) << ":" << rd.port << " -> " << rd.state() << "\n";
  if (rd.node_login) login_lines(o, *rd.node_login, "node");
}

std::string opt_ms(const char* name, const std::optional<double>& v) {
  return v ? std::string(" ") + name + " " + fixed(*v, 1) + " ms" : "";
}

// One line per SQL connection: who, what happened, how the login ended.
std::string session_line(const CaptureSession& s) {
  std::string line =
      "#" + std::to_string(s.index) + " " + T(s.client) + " -> " + T(s.server) + "  " + s.state;
  if (s.syn_retransmits > 0)
    line += " (" + std::to_string(s.syn_attempts) + " SYNs over " + fixed(s.syn_seconds, 1) + " s)";
  if (s.rst) line += ", RST ttl " + std::to_string(s.rst->ttl);
  if (s.icmp)
    line += ", ICMP " + std::to_string(s.icmp->type) + "/" + std::to_string(s.icmp->code) +
            " from " + T(s.icmp->reporter);
  if (s.frag_needed)
    line += ", ICMP frag-needed MTU " + std::to_string(s.frag_needed->mtu.value_or(0)) + " from " +
            T(s.frag_needed->reporter);
  if (!s.dns_name.empty()) line += ", dns " + T(s.dns_name);
  if (s.server_silent_s)
    line += ", server silent " + fixed(*s.server_silent_s, 1) + " s after " +
            std::to_string(s.bytes_to_server) + " client bytes";
  if (s.server_encryption) line += ", prelogin " + T(*s.server_encryption);
  if (s.tls) line += ", tls " + (s.tls_version.empty() ? std::string("?") : T(s.tls_version));
  if (s.login) {
    const auto& l = *s.login;
    line += ", login";
    if (!l.user.empty()) line += " user '" + T(l.user) + "'";
    if (!l.auth.empty() && l.auth != "sql") line += " (" + T(l.auth) + ")";
    if (!l.database.empty()) line += " db '" + T(l.database) + "'";
    line += ": " + (l.outcome == "none" ? std::string("no answer seen") : T(l.outcome));
    if (l.error_number) line += " " + std::to_string(*l.error_number);
    if (l.routing_host) line += " -> " + T(*l.routing_host) + ":" + std::to_string(l.routing_port);
  }
  if (s.redirect_to)
    line += std::string(", redirect ") + (s.redirect_inferred ? "probably " : "") +
            "followed by #" + std::to_string(*s.redirect_to);
  if (s.redirected_from) line += ", after redirect from #" + std::to_string(*s.redirected_from);
  return line;
}

void capture_section(std::ostringstream& o, const Report& r, const Palette& p, bool verbose) {
  const auto& c = *r.evidence.packets;
  o << "\n"
    << p.bold("Connections") << "  (" << c.packets << " packets, " << c.tcp_connections
    << " TCP connection(s), " << c.sessions.size() << " to SQL)\n";
  if (c.sessions.empty())
    o << "  no SQL connection in this capture: none of its TCP connections goes to ports "
      << format_ports(c.ports) << " or starts with PRELOGIN/LOGIN7\n";
  for (const auto& s : c.sessions) {
    o << "  " << session_line(s) << "\n";
    if (!verbose) continue;
    o << "      steps:" << opt_ms("connect", s.connect_ms) << opt_ms("prelogin", s.prelogin_ms)
      << opt_ms("tls", s.tls_ms) << opt_ms("login", s.login_ms) << opt_ms("total", s.total_login_ms)
      << "\n";
    if (s.tls)
      o << "      tls: " << T(s.tls_progress) << (s.tls_sni.empty() ? "" : ", sni " + T(s.tls_sni))
        << "\n";
    if (s.login) {
      const auto& l = *s.login;
      o << "      login7: server '" << T(l.server_name) << "' app '" << T(l.app_name) << "' intent "
        << (l.read_only_intent ? "ReadOnly" : "ReadWrite") << (l.encrypted ? " (encrypted)" : "")
        << "\n";
      if (l.error_number)
        o << "      error " << *l.error_number << " state " << l.error_state.value_or(0) << ": "
          << T(l.error_message) << "\n";
    }
  }
}

std::string text_report(const Report& r, const TextOptions& opt) {
  Palette p{opt.colour};
  std::ostringstream o;
  const auto verdict = r.verdict == Verdict::Ok     ? p.green("OK  ")
                       : r.verdict == Verdict::Warn ? p.yellow("WARN")
                                                    : p.red("FAIL");
  // analyze reads a capture; check's own live capture is evidence, shown under -v.
  const bool offline = r.evidence.packets && r.evidence.packets->format != "live";
  if (offline) {
    const auto& c = *r.evidence.packets;
    o << verdict << "  capture " << T(c.file) << "  (" << c.format << ", " << c.packets
      << " packets" << (c.truncated ? ", truncated" : "") << ")\n";
  } else {
    o << verdict << "  " << target_line(r) << "\n";
  }
  if (r.findings.empty() && offline) {
    o << "  no problem found\n";
  } else if (r.findings.empty()) {
    std::string reached;
    for (const auto& t : r.evidence.tcp)
      if (t.state == tcp::State::Open && t.target.role != tcp::Role::Sweep)
        reached += (reached.empty() ? "" : ", ") + t.target.address + ":" +
                   std::to_string(t.target.port) + " (" + fixed(t.rtt_ms, 1) + " ms)";
    o << "  no problem found" << (reached.empty() ? "" : "; reached " + reached) << "\n";
  }
  for (const auto& f : r.findings) {
    auto sev = f.severity == Severity::Error     ? p.red(pad("error", 8))
               : f.severity == Severity::Warning ? p.yellow(pad("warning", 8))
                                                 : pad("info", 8);
    o << "  " << sev << pad(code_name(f.code), 34) << T(f.title);
    if (f.caused_by) o << p.dim(" (follows from " + code_name(*f.caused_by) + ")");
    o << "\n";
    if (opt.verbose) {
      o << "          " << T(f.detail) << "\n";
      for (const auto& e : f.evidence) o << "          " << p.dim("evidence: ") << T(e) << "\n";
      o << "          " << p.dim("fix: ") << T(f.remediation) << "\n";
      o << "          " << p.dim("see: ") << T(f.reference) << "\n";
    }
  }
  if (!r.findings.empty() && !opt.verbose) {
    o << "\n" << p.bold("Fix: ") << T(r.findings.front().remediation) << "\n";
    o << p.dim("(-v shows the evidence; --json for machines)") << "\n";
  }
  if (r.evidence.packets && (offline || opt.verbose)) capture_section(o, r, p, opt.verbose);
  failover_section(o, r, p, opt.verbose);
  if (opt.verbose) {
    dns_section(o, r, p);
    route_section(o, r, p);
    link_section(o, r, p);
    azure_line(o, r, p);
    if (auto entra = entra_summary(r.evidence); !entra.empty())
      o << "\n" << p.bold("Entra ID") << "  " << T(entra) << "\n";
    tcp_section(o, r, p);
    tds_section(o, r, p);
    auto hops = [&](const trace::Result& t) {
      for (const auto& h : t.path)
        o << "  " << pad(std::to_string(h.ttl), 4) << pad(h.address.empty() ? "*" : h.address, 40)
          << pad(std::string(trace::to_string(h.kind)), 15) << fixed(h.rtt_ms, 1) << " ms\n";
    };
    for (const auto& t : r.evidence.paths) {
      o << "\n"
        << p.bold("Path to " + t.target.address + ":" + std::to_string(t.target.port) + " (" +
                  std::string(trace::to_string(t.method)) + ")")
        << "  " << T(t.summary()) << "\n";
      hops(t);
    }
    for (const auto& l : r.evidence.ladders) {
      o << "\n" << p.bold("Reset placement") << "  " << T(l.summary()) << "\n";
      for (const trace::Result* t : {&l.refused, l.working ? &*l.working : nullptr}) {
        if (t == nullptr) continue;
        o << "  " << p.dim("port " + std::to_string(t->target.port)) << "\n";
        hops(*t);
      }
    }
    if (!r.evidence.collectors.empty()) {
      o << "\n" << p.bold("Steps") << "\n";
      for (const auto& c : r.evidence.collectors)
        o << "  " << pad(c.name, 10) << pad(std::string(to_string(c.status)), 9)
          << fixed(c.duration_ms, 1) << " ms" << (c.error.empty() ? "" : "  " + T(c.error)) << "\n";
    }
  }
  if (!r.evidence.limitations.empty()) {
    o << "\n" << p.dim("Not seen in this run:") << "\n";
    for (const auto& l : r.evidence.limitations) o << "  - " << T(l) << "\n";
  }
  return o.str();
}

// Markdown for tickets: server strings as escaped prose, unclosable code spans, or inside a
// fence they cannot close; no raw HTML but our own <details>.
std::string markdown_report(const Report& r) {
  std::ostringstream o;
  const auto& t = r.evidence.target;
  if (r.evidence.packets)
    o << "# mi-diag analyze: " << safe_md_code(r.evidence.packets->file) << "\n\n";
  else
    o << "# mi-diag report: " << safe_md_code(t.host + ":" + std::to_string(t.port)) << "\n\n";
  o << "**Verdict: " << to_string(r.verdict) << "** — endpoint kind `" << to_string(t.kind) << "`";
  if (!t.zone.empty()) o << ", zone " << safe_md_code(t.zone);
  o << ", started " << safe_md_text(r.evidence.started_at) << ", took "
    << fixed(r.evidence.duration_ms, 0) << " ms (mi-diag " << safe_md_text(r.tool_version)
    << ")\n\n";
  if (r.findings.empty()) {
    o << "No problem found.\n";
  } else {
    o << "| severity | code | finding |\n|---|---|---|\n";
    for (const auto& f : r.findings)
      o << "| " << to_string(f.severity) << " | " << safe_md_code(code_name(f.code), true) << " | "
        << safe_md_text(f.title) << " |\n";
    for (const auto& f : r.findings) {
      o << "\n## " << safe_md_text(code_name(f.code)) << "\n\n" << safe_md_text(f.detail) << "\n";
      if (f.caused_by) o << "\nFollows from " << safe_md_code(code_name(*f.caused_by)) << ".\n";
      o << "\n**Evidence**\n\n";
      for (const auto& e : f.evidence) o << "- " << safe_md_code(e) << "\n";
      o << "\n**Fix:** " << safe_md_text(f.remediation) << "\n\n**Reference:** "
        << safe_md_text(f.reference) << "\n";
    }
  }
  // The text report is already escaped (one line per field); the fence outlasts any run in it.
  const std::string text = text_report(r, TextOptions{true, false});
  const std::string fence = md_fence_for(text);
  o << "\n<details><summary>Full evidence</summary>\n\n"
    << fence << "\n"
    << text << (text.empty() || text.back() == '\n' ? "" : "\n") << fence << "\n</details>\n";
  return o.str();
}

// The last resort when a renderer failed anyway (no memory, a bug): still a report, and it says so.
std::string fallback_text(const Report& r, std::string_view what) noexcept {
  try {
    std::string s = std::string(to_string(r.verdict)) + "  " + safe_text(r.evidence.target.host) +
                    "  (the report could not be rendered in full: " + safe_text(what) + ")\n";
    for (const auto& f : r.findings) s += "  " + code_name(f.code) + "\n";
    return s;
  } catch (...) {
    return "fail\n";
  }
}

}  // namespace

// A renderer never throws: a report always comes out, in full or in the fallback form.
std::string render_text(const Report& r, const TextOptions& opt) {
  try {
    return text_report(r, opt);
  } catch (const std::exception& e) {
    return fallback_text(r, e.what());
  } catch (...) {
    return fallback_text(r, "unknown error");
  }
}

std::string render_markdown(const Report& r) {
  try {
    return markdown_report(r);
  } catch (const std::exception& e) {
    return "```\n" + fallback_text(r, e.what()) + "```\n";
  } catch (...) {
    return "```\n" + fallback_text(r, "unknown error") + "```\n";
  }
}

}  // namespace midiag::reports
