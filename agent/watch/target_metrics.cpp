#include "agent/watch/target_metrics.h"

#include <ctime>

#include "agent/watch/events.h"
#include "agent/watch/report_fields.h"

namespace midiag::agent::watch {

namespace {

using nlohmann::json;
using reports::metrics::Type;

}  // namespace

std::optional<std::int64_t> parse_utc(const std::string& iso) {
  std::tm tm{};
  int consumed = 0;
  if (iso.size() != 20 ||
      std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 20)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm));
}

void TargetCounters::count_round(const json& report) {
  ++probes;
  if (report_succeeded(report)) return;
  for (const auto& f : member(report, "findings"))
    if (text(f, "severity") == "error" && !text(f, "code").empty()) ++failures[text(f, "code")];
}

void add_target_metrics(reports::metrics::Exposition& out, const std::string& target, const json& r,
                        const TargetCounters& counters) {
  const std::vector<reports::metrics::Label> t{{"target", target}};
  auto with = [&](const char* name, std::string value) {
    auto labels = t;
    labels.push_back({name, std::move(value)});
    return labels;
  };
  if (r.is_object()) {
    out.add("probe_success", "1 when the last check found no error", Type::Gauge, t,
            report_succeeded(r) ? 1 : 0);
    out.add("probe_duration_seconds", "How long the last check took", Type::Gauge, t,
            number(r, "duration_ms") / 1000);
    // Phases: resolve, connect and redirect from the collectors; prelogin, tls and login from the
    // gateway's TDS probe.
    const char* phase_help = "How long each phase of the last check took";
    for (const auto& c : member(r, "collectors")) {
      const std::string name = text(c, "name");
      const char* phase = name == "dns"        ? "resolve"
                          : name == "tcp"      ? "connect"
                          : name == "redirect" ? "redirect"
                                               : nullptr;
      if (phase != nullptr && text(c, "status") != "skipped")
        out.add("midiag_probe_phase_duration_seconds", phase_help, Type::Gauge,
                with("phase", phase), number(c, "duration_ms") / 1000);
    }
    const json& tds = member(r, "tds");
    const json& gateway = tds.is_array() && !tds.empty() ? tds.front() : tds;
    for (const auto& [key, phase] : {std::pair{"prelogin_ms", "prelogin"},
                                     std::pair{"tls_ms", "tls"}, std::pair{"login_ms", "login"}})
      if (member(gateway, key).is_number())
        out.add("midiag_probe_phase_duration_seconds", phase_help, Type::Gauge,
                with("phase", phase), number(gateway, key) / 1000);
    for (const auto& row : member(r, "tcp"))
      if (text(row, "state") == "open" && member(row, "port").is_number())
        out.add("midiag_tcp_connect_seconds", "TCP connect time of each open port probed",
                Type::Gauge, with("port", std::to_string(member(row, "port").get<int>())),
                number(row, "rtt_ms") / 1000);
    double dns = 0;
    bool looked_up = false;
    for (const auto& l : member(member(r, "dns"), "lookups"))
      if (text(l, "resolver") == "system") {
        dns = std::max(dns, number(l, "elapsed_ms"));
        looked_up = true;
      }
    if (looked_up)
      out.add("midiag_dns_lookup_seconds", "The system resolver's slowest answer for the target",
              Type::Gauge, t, dns / 1000);
    for (const auto& f : member(r, "findings"))
      if (!text(f, "code").empty())
        out.add("midiag_finding", "1 for each finding of the last check", Type::Gauge,
                with("code", text(f, "code")), 1);
    if (auto expiry = parse_utc(text(member(member(r, "tls"), "certificate"), "not_after")))
      out.add("midiag_tls_cert_expiry_timestamp_seconds",
              "When the server certificate expires (seconds since the epoch)", Type::Gauge, t,
              static_cast<double>(*expiry));
    const json& redirect = member(r, "redirect");
    if (!text(redirect, "host").empty() && member(redirect, "port").is_number()) {
      auto labels = with("host", text(redirect, "host"));
      labels.push_back({"port", std::to_string(member(redirect, "port").get<int>())});
      out.add("midiag_redirect_info", "The node the gateway redirected the login to", Type::Info,
              labels, 1);
    }
  }
  out.add("midiag_probes_total", "Checks run", Type::Counter, t,
          static_cast<double>(counters.probes));
  for (const auto& [code, n] : counters.failures)
    out.add("midiag_probe_failures_total", "Failed checks by error finding", Type::Counter,
            with("code", code), static_cast<double>(n));
  out.add("midiag_state_changes_total", "down and up events", Type::Counter, t,
          static_cast<double>(counters.state_changes));
}

void add_process_metrics(reports::metrics::Exposition& out, const std::string& version,
                         bool last_reload_ok) {
  out.add("midiag_build_info", "mi-diag's version", Type::Info, {{"version", version}}, 1);
  out.add("midiag_config_last_reload_successful", "1 when the last config (re)load succeeded",
          Type::Gauge, {}, last_reload_ok ? 1 : 0);
}

}  // namespace midiag::agent::watch
