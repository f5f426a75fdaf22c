#include "agent/check_entra.h"

#include <system_error>

#include "platform/text/resolv_conf.h"

namespace midiag::agent {

bool authentication_is_entra(std::string_view authentication) {
  return !authentication.empty() && authentication != "SqlPassword" &&
         authentication != "NotSpecified";
}

std::future<entra::Result> start_entra(const CheckOptions& o) {
  if (!o.entra || !o.entra_authority_probe) return {};
  entra::Options eo;
  eo.authority = o.entra_authority;
  eo.ca_file = o.ca_file;
  eo.timeout = o.timeout;
  eo.class_overrides = o.class_overrides;
  // The resolvers the check asks for the target, the system's first (what a token library uses).
  std::vector<std::string> system = o.system_servers;
  if (system.empty())
    if (auto conf = platform::load_resolv_conf(o.resolv_conf)) system = conf->nameservers;
  if (!system.empty()) eo.resolvers.push_back({std::string(reports::kSystemResolver), system});
  for (const auto& r : o.resolvers) eo.resolvers.push_back({r, {r}});
  if (auto hosts = platform::load_hosts(o.hosts_file))
    for (const auto& h : platform::hosts_entries_for(*hosts, eo.authority.host))
      eo.hosts_addresses.push_back(h.address);
  try {
    return std::async(std::launch::async, [eo] { return entra::probe_authority(eo); });
  } catch (const std::system_error& e) {
    std::promise<entra::Result> failed;
    entra::Result r;
    r.authority = eo.authority;
    r.tool_error = std::string("no thread for the Entra authority probe: ") + e.what();
    failed.set_value(std::move(r));
    return failed.get_future();
  }
}

void collect_entra(const CheckOptions& o, reports::Evidence& ev, std::future<entra::Result>& job) {
  if (!job.valid()) return;
  reports::CollectorRecord rec;
  rec.name = "entra";
  entra::Result r;
  try {
    r = job.get();
  } catch (const std::exception& e) {  // no memory in the probe's thread: an error, not a crash
    r.authority = o.entra_authority;
    r.tool_error = std::string("the Entra authority probe failed: ") + e.what();
  }
  rec.duration_ms = r.elapsed_ms;
  if (!r.tool_error.empty()) {
    // The tool could not look: unknown (CHECK_INCOMPLETE), not unreachable.
    rec.status = reports::CollectorStatus::Failed;
    rec.error = r.tool_error;
    rec.shortfall = reports::Shortfall::ToolFailure;
  } else if (!r.reached()) {
    rec.status = reports::CollectorStatus::Failed;
    rec.error = r.failure;
    rec.shortfall = reports::Shortfall::Explained;  // ENTRA_ENDPOINT_UNREACHABLE says why
  }
  ev.collectors.push_back(std::move(rec));
  ev.limitations.push_back(
      "Entra ID: no token was requested and no Entra credential was sent; the authority " +
      r.authority.str() +
      " was checked up to its TLS handshake (DNS, TCP, certificate), so whether the sign-in "
      "itself succeeds (account, conditional access, MFA) is not tested");
  if (o.login)
    ev.limitations.push_back(
        "Entra ID: LOGIN7 carried dummy SQL credentials, not an Entra token (the tool never asks "
        "for one), so the login answer is the server's answer to a SQL login");
  if (!o.ca_file.empty())
    ev.limitations.push_back(
        "Entra ID: the authority's certificate was verified against --ca-file " + o.ca_file +
        ", not the system CA store a token library uses");
  ev.entra = std::move(r);
}

}  // namespace midiag::agent
