// --auth entra: ENTRA_ENDPOINT_UNREACHABLE when the Entra ID authority failed at any step (DNS,
// TCP, TLS, its certificate). A reached authority is no finding: the JSON's entra block shows it.
#include <algorithm>

#include "reports/explain.h"

namespace midiag::reports {

namespace {

std::string lookup_line(const dns::Lookup& l) {
  return "entra " + describe_lookup(l);
}

std::string tcp_line(const tcp::Result& t) {
  return "entra tcp " + t.target.address + ":" + std::to_string(t.target.port) + " -> " +
         std::string(tcp::to_string(t.state)) + " in " + format_ms(t.rtt_ms) +
         (t.detail.empty() ? "" : " (" + t.detail + ")");
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

std::string title_for(const entra::Result& r) {
  const std::string who = "the Entra ID authority " + r.authority.str();
  switch (r.failed) {
    case entra::Step::Dns:
      return r.authority.host + " (the Entra ID authority) does not resolve";
    case entra::Step::Tcp: {
      const auto* t = r.chosen_tcp();
      return "No connection to " + who +
             (t != nullptr ? " (" + std::string(tcp::to_string(t->state)) + ")" : "");
    }
    case entra::Step::Tls:
      return "No TLS session with " + who;
    case entra::Step::Certificate:
      return "The certificate of " + who + " would be refused";
    case entra::Step::None:
      break;
  }
  return "The Entra ID authority " + r.authority.str() + " cannot be reached";
}

}  // namespace

std::vector<Finding> explain_entra(const Evidence& ev, const std::vector<Finding>& earlier) {
  std::vector<Finding> out;
  if (!ev.entra || ev.entra->reached() || !ev.entra->tool_error.empty()) return out;
  const auto& r = *ev.entra;
  std::vector<std::string> evidence;
  if (r.addresses_from == "hosts-file")
    evidence.push_back("entra hosts file: " + r.authority.host + " -> " + join(r.addresses) +
                       " (applications use these, not DNS)");
  for (const auto& l : r.lookups) evidence.push_back(lookup_line(l));
  for (const auto& t : r.tcp) evidence.push_back(tcp_line(t));
  if (!r.tls_address.empty() && !r.tls)
    evidence.push_back("entra tls " + r.tls_address + ":" + std::to_string(r.authority.port) +
                       " (SNI " + r.authority.host + ") -> " + r.tls_error + " after " +
                       format_ms(r.tls_ms));
  if (r.tls) {
    const auto& t = *r.tls;
    std::string line =
        "entra tls " + r.tls_address + ":" + std::to_string(r.authority.port) + " (SNI " +
        r.authority.host + ") -> " + t.version + " " + t.cipher + " in " + format_ms(r.tls_ms) +
        "; chain " + (t.trusted ? "trusted" : "untrusted (" + t.verify_error + ")") + ", name " +
        (t.name_matches ? "matches" : "does not match") + (t.expired ? ", expired" : "");
    evidence.push_back(line);
    if (!t.chain.empty()) {
      const auto& leaf = t.chain.front();
      evidence.push_back(
          "entra certificate: subject " + leaf.subject + "; issuer " + leaf.issuer + "; names " +
          (leaf.subject_alt_names.empty() ? std::string("none") : join(leaf.subject_alt_names)) +
          "; valid " + leaf.not_before + " to " + leaf.not_after);
    }
  }
  std::string detail =
      r.failure +
      ". Token-based logins (Authentication=Active Directory ...) get their token from this "
      "authority before the first TDS byte, so they fail whatever the path to the instance.";
  if (r.failed == entra::Step::Certificate)
    detail +=
        " A proxy that inspects TLS presents a certificate of its own: the token library must "
        "trust its root, or the authority must be exempt from inspection.";
  Finding f = make_finding(Code::EntraEndpointUnreachable, title_for(r), detail, evidence);
  f.addresses = r.addresses;
  // The resolvers themselves unreachable explain a name that does not resolve.
  if (r.failed == entra::Step::Dns &&
      std::any_of(earlier.begin(), earlier.end(),
                  [](const Finding& e) { return e.code == Code::DnsResolverUnreachable; }))
    f.caused_by = Code::DnsResolverUnreachable;
  out.push_back(std::move(f));
  return out;
}

}  // namespace midiag::reports
