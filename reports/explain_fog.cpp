// Failover groups (spec §2, §5): a listener tried over the public endpoint, partners in
// different DNS zones, and a read-only side that fails while the read-write side works.
#include <algorithm>

#include "reports/explain.h"

namespace midiag::reports {

namespace {

std::string ttl_words(const std::optional<std::uint32_t>& ttl) {
  if (!ttl) return "";
  return ", CNAME TTL " + std::to_string(*ttl) + " s";
}

std::string side_words(const Evidence::FailoverSide& s) {
  return std::string(s.read_only ? "read-only" : "read-write") + " listener " + s.listener;
}

// "read-write listener fog.z... -> mi1.z... (zone z), CNAME TTL 30 s".
std::string side_line(const Evidence::FailoverSide& s) {
  if (!s.error.empty()) return side_words(s) + ": not checked (" + s.error + ")";
  if (s.instance.empty())
    return side_words(s) + ": no CNAME to an instance (system resolver: " +
           (s.dns_status.empty() ? "no answer" : s.dns_status) + ")";
  return side_words(s) + " -> " + s.instance + " (zone " + s.instance_zone + ")" +
         ttl_words(s.ttl_s);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// What each partner's certificate covers of the names clients use with it after a failover.
std::vector<std::string> certificate_lines(const Evidence::FailoverGroupEvidence& fg) {
  std::vector<std::string> out;
  const std::vector<std::string> listeners = {fg.read_write.listener, fg.read_only.listener};
  for (const auto* s : {&fg.read_write, &fg.read_only}) {
    if (s->instance.empty()) continue;
    if (!s->certificate_seen) {
      out.push_back(s->instance + ": its certificate was not seen (no TLS handshake completed)");
      continue;
    }
    std::vector<std::string> covered, not_covered;
    for (const auto& name : listeners)
      (certificate_covers(s->certificate_names, name) ? covered : not_covered).push_back(name);
    out.push_back(s->instance + "'s certificate names " + join(s->certificate_names) +
                  (not_covered.empty() ? ": it covers both listeners"
                   : covered.empty()   ? ": it covers neither " + join(not_covered)
                                       : ": it does not cover " + join(not_covered)));
  }
  return out;
}

}  // namespace

std::vector<Finding> explain_failover_group(const Evidence& ev, std::vector<Finding>& all) {
  std::vector<Finding> out;

  // <x>.public.<zone> does not exist while <x>.<zone> is a CNAME to an instance: a listener
  // tried over the public endpoint.
  if (ev.public_sibling) {
    const auto& sib = *ev.public_sibling;
    for (const auto& l : sib.lookups) {
      auto inst = cname_instance(l.cname_chain);
      if (!inst) continue;
      std::vector<std::string> evidence = {"system resolver: " + ev.target.host + " -> NXDOMAIN",
                                           "system resolver: " + sib.name + " " + l.type +
                                               " -> CNAME " + inst->host +
                                               ttl_words(l.cname_chain.front().ttl)};
      auto f = make_finding(
          Code::FogListenerNotOnPublicEndpoint,
          ev.target.instance + " is a failover-group listener: it has no public-endpoint name",
          ev.target.host + " does not exist, while " + sib.name + " is a CNAME to the instance " +
              inst->host +
              ": that is a failover-group listener, and listeners are published over the "
              "VNet-local endpoint only, never as <name>.public.<zone>.",
          evidence);
      out.push_back(std::move(f));
      for (auto& e : all)
        if (e.code == Code::DnsNameNotFound && !e.caused_by)
          e.caused_by = Code::FogListenerNotOnPublicEndpoint;
      break;
    }
  }

  if (!ev.failover_group) return out;
  const auto& fg = *ev.failover_group;
  const auto& rw = fg.read_write;
  const auto& ro = fg.read_only;

  // Both partners in the listeners' zone: each certificate covers *.<zone> only.
  std::vector<std::string> zones_off;
  for (const auto* s : {&rw, &ro})
    if (!s->instance.empty() && s->instance_zone != fg.zone)
      zones_off.push_back(s->instance + " is in zone " + s->instance_zone);
  const bool zone_mismatch = !zones_off.empty();
  if (zone_mismatch) {
    std::vector<std::string> evidence = {side_line(rw), side_line(ro)};
    for (auto& l : certificate_lines(fg)) evidence.push_back(std::move(l));
    std::string zones = fg.zone;
    for (const auto* s : {&rw, &ro})
      if (!s->instance.empty() && zones.find(s->instance_zone) == std::string::npos)
        zones += " and " + s->instance_zone;
    out.push_back(make_finding(
        Code::FogDnsZoneMismatch,
        "Failover group " + fg.name + ": the partners are in different DNS zones (" + zones + ")",
        "The listeners are in zone " + fg.zone + ", but " + join(zones_off) +
            ": its certificate covers its own zone only, so clients of the listeners fail "
            "certificate validation whenever it serves them (now for the read-only listener if "
            "it is the secondary, after a failover for the read-write one).",
        evidence));
    for (auto& e : all)
      if (e.code == Code::TlsCertNameMismatch && !e.caused_by)
        e.caused_by = Code::FogDnsZoneMismatch;
  }

  // The read-only side fails while the read-write side works. The target's own side is judged
  // by the report's findings so far.
  auto fails = [&](const Evidence::FailoverSide& s) {
    if (!s.error.empty()) return false;  // not checked: CHECK_INCOMPLETE says so
    if (s.is_target)
      return std::any_of(all.begin(), all.end(),
                         [](const Finding& f) { return f.severity == Severity::Error; });
    return s.verdict == "fail";
  };
  if (fails(ro) && !fails(rw) && rw.checked && ro.checked) {
    std::vector<std::string> evidence = {side_line(ro)};
    std::vector<std::string> codes;
    if (ro.is_target) {
      for (const auto& f : all)
        if (f.severity == Severity::Error) codes.emplace_back(f.name());
      evidence.push_back("read-only side: its findings are this report's own");
    } else {
      for (const auto& f : ro.findings)
        if (f.severity == "error") {
          codes.push_back(f.code);
          evidence.push_back("read-only side: " + f.code + ": " + f.title);
        }
    }
    evidence.push_back(side_line(rw) + ": works");
    auto f = make_finding(
        Code::FogSecondaryUnreachable,
        "Failover group " + fg.name + ": the read-only listener " + ro.listener + " fails (" +
            join(codes) + ")",
        "The read-write listener works, the read-only one does not: read scale-out through it "
        "fails now, and a failover would move the read-write listener to the same partner.",
        evidence);
    const bool only_names = !codes.empty() && std::all_of(codes.begin(), codes.end(), [](auto& c) {
      return c == "TLS_CERT_NAME_MISMATCH";
    });
    if (zone_mismatch && only_names) f.caused_by = Code::FogDnsZoneMismatch;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace midiag::reports
