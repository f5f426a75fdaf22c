#include "agent/failover_group.h"

#include <spdlog/spdlog.h>

namespace midiag::agent {

namespace {

using reports::Evidence;

// The system resolver's A lookup of `host` (what applications get), else its first lookup.
const dns::Lookup* system_lookup(const Evidence& ev, const std::string& host) {
  const dns::Lookup* first = nullptr;
  for (const auto& l : ev.lookups) {
    if (l.resolver != reports::kSystemResolver || l.name != host) continue;
    if (l.type == "A") return &l;
    if (!first) first = &l;
  }
  return first;
}

// The target answered with addresses and no CNAME: an instance's own name, not a listener.
bool resolves_without_cname(const Evidence& ev) {
  bool addresses = false;
  for (const auto& l : ev.lookups) {
    if (l.resolver != reports::kSystemResolver || l.name != ev.target.host) continue;
    if (!l.cname_chain.empty()) return false;
    addresses = addresses || !l.addresses.empty();
  }
  return addresses;
}

// The options of one side's own check: the same checks and credentials, another name, no IMDS
// (asked once, by the target's check), no capture file (the target's), ReadOnly on the
// read-only listener as an application using it must send.
CheckOptions side_options(const CheckOptions& o, const std::string& listener, bool read_only) {
  CheckOptions so = o;
  so.mode = reports::Mode::Client;
  auto t = reports::parse_target(listener);
  if (t) {
    if (o.target.port_given) {
      t->port = o.target.port;
      t->port_given = true;
    }
    so.target = *t;
  }
  so.read_only_intent = read_only;
  so.capture_file.clear();
  so.notes.clear();
  so.azure = CheckOptions::Azure::Never;
  so.entra_authority_probe = false;  // --auth entra: the authority once, by the target's check
  return so;
}

}  // namespace

Evidence::FailoverSide failover_side(const Evidence& ev, bool read_only,
                                     const reports::Report* own_check) {
  const bool is_target = own_check == nullptr;
  Evidence::FailoverSide s;
  s.read_only = read_only;
  s.listener = ev.target.host;
  s.is_target = is_target;
  s.checked = true;
  s.duration_ms = ev.duration_ms;
  if (const auto* l = system_lookup(ev, ev.target.host)) {
    s.dns_status = std::string(dns::to_string(l->status));
    if (auto inst = reports::cname_instance(l->cname_chain)) {
      s.instance = inst->host;
      s.instance_zone = inst->zone;
      s.ttl_s = l->cname_chain.front().ttl;
    }
  } else if (!ev.dns_ran) {
    s.dns_status = "not asked";
  }
  s.addresses = ev.addresses;
  if (ev.tds && ev.tds->tls && !ev.tds->tls->chain.empty()) {
    const auto& leaf = ev.tds->tls->chain.front();
    s.certificate_seen = true;
    s.certificate_names = leaf.subject_alt_names;
    if (s.certificate_names.empty() && !leaf.subject.empty()) {
      // No DNS SAN: the subject's CN is what a client falls back to.
      auto cn = leaf.subject.find("CN=");
      if (cn != std::string::npos) {
        auto end = leaf.subject.find_first_of(",/", cn + 3);
        s.certificate_names.push_back(leaf.subject.substr(cn + 3, end - cn - 3));
      }
    }
  }
  if (own_check) {
    s.verdict = std::string(reports::to_string(own_check->verdict));
    for (const auto& f : own_check->findings)
      s.findings.push_back(
          {std::string(f.name()), std::string(reports::to_string(f.severity)), f.title});
  }
  return s;
}

CheckOutcome run_failover_group_check(const CheckOptions& options, const Clock& clock) {
  const auto t0 = clock.now();
  auto names = reports::failover_names(options.target, options.fog);
  CheckOptions own = options;
  own.mode = reports::Mode::FailoverGroup;
  if (names && options.target.host == names->read_only) own.read_only_intent = true;
  auto main = run_single_check(own, clock);
  if (!main.ok) return main;
  auto ev = std::move(main.report.evidence);
  const auto version = main.report.tool_version;

  if (!names) {
    ev.limitations.push_back(
        "failover group: " + ev.target.host +
        " is not a failover-group listener's name (<fog>.<zone>.database.windows.net or "
        "<fog>.secondary.<zone>...), so the group's listeners were not checked");
  } else if (options.fog.empty() && ev.target.host == names->read_write &&
             resolves_without_cname(ev)) {
    ev.limitations.push_back(
        "failover group: " + ev.target.host +
        " resolves to an address without a CNAME: it is an instance's own name, not a "
        "listener; name the group with --fog NAME (its listeners are NAME.<zone>... and "
        "NAME.secondary.<zone>...) to check both partners");
  } else {
    Evidence::FailoverGroupEvidence fg;
    fg.name = names->fog;
    fg.zone = names->zone;
    fg.suffix = names->suffix;
    fg.given = !options.fog.empty()                 ? "partner"
               : ev.target.host == names->read_only ? "read-only listener"
                                                    : "read-write listener";
    const auto sides_start = clock.now();
    for (bool read_only : {false, true}) {
      const auto& listener = read_only ? names->read_only : names->read_write;
      auto& side = read_only ? fg.read_only : fg.read_write;
      if (listener == ev.target.host) {
        // Its verdict is the report's own (explain_failover_group reads the findings).
        side = failover_side(ev, read_only, nullptr);
        continue;
      }
      spdlog::debug("failover group: checking the {} listener {}",
                    read_only ? "read-only" : "read-write", listener);
      auto other = run_single_check(side_options(options, listener, read_only), clock);
      if (!other.ok) {
        side.read_only = read_only;
        side.listener = listener;
        side.error = other.failure.message;
        continue;
      }
      side = failover_side(other.report.evidence, read_only, &other.report);
    }
    if (!fg.read_write.instance.empty() && fg.read_write.instance == fg.read_only.instance)
      ev.limitations.push_back(
          "failover group: both listeners lead to " + fg.read_write.instance +
          ", so the read-only listener points at the primary (read-only failover to the primary "
          "after the secondary became unavailable, or a CNAME not yet updated); the secondary "
          "itself was not reached and is not known to be healthy");
    ev.failover_group = std::move(fg);
    reports::CollectorRecord rec;
    rec.name = "failover_group";
    rec.duration_ms = std::chrono::duration<double, std::milli>(clock.now() - sides_start).count();
    for (const auto* side : {&ev.failover_group->read_write, &ev.failover_group->read_only})
      if (!side->error.empty()) {
        rec.status = reports::CollectorStatus::Failed;
        rec.error = side->listener + ": " + side->error;
        rec.shortfall = reports::Shortfall::ToolFailure;
      }
    ev.collectors.push_back(std::move(rec));
  }
  ev.duration_ms = std::chrono::duration<double, std::milli>(clock.now() - t0).count();
  main.report = reports::make_report(version, std::move(ev));
  return main;
}

}  // namespace midiag::agent
