#include "reports/render_entra.h"

#include <cstdio>

namespace midiag::reports {

namespace {

using nlohmann::json;

std::string fixed1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// The status of the name where the application looks: ok once an address came, else the first
// failure of the resolver the addresses are taken from (the system's).
json dns_status(const entra::Result& r) {
  if (r.addresses_from == "literal") return nullptr;
  if (r.addresses_from == "hosts-file") return "hosts_file";
  if (!r.addresses.empty()) return "ok";
  for (const auto& l : r.lookups)
    if (l.status != dns::Status::Ok) return std::string(dns::to_string(l.status));
  return r.lookups.empty() ? json(nullptr) : json("no_records");
}

json tcp_json(const tcp::Result& t) {
  return {{"address", t.target.address},
          {"port", t.target.port},
          {"state", tcp::to_string(t.state)},
          {"rtt_ms", t.rtt_ms},
          {"detail", t.detail.empty() ? json(nullptr) : json(t.detail)}};
}

json tls_json(const entra::Result& r) {
  if (r.tls_address.empty()) return nullptr;
  json j = {{"address", r.tls_address},
            {"sni", r.authority.host},
            {"elapsed_ms", r.tls_ms},
            {"version", nullptr},
            {"cipher", nullptr},
            {"certificate", nullptr},
            {"trusted", false},
            {"name_matches", false},
            {"expired", false},
            {"verify_error", nullptr},
            {"error", r.tls_error.empty() ? json(nullptr) : json(r.tls_error)},
            {"timed_out", r.tls_timed_out}};
  if (!r.tls) return j;
  const auto& t = *r.tls;
  j["version"] = t.version;
  j["cipher"] = t.cipher;
  j["trusted"] = t.trusted;
  j["name_matches"] = t.name_matches;
  j["expired"] = t.expired;
  if (!t.verify_error.empty()) j["verify_error"] = t.verify_error;
  if (!t.chain.empty()) {
    const auto& leaf = t.chain.front();
    j["certificate"] = {{"subject", leaf.subject},
                        {"issuer", leaf.issuer},
                        {"subject_alt_names", leaf.subject_alt_names},
                        {"not_before", leaf.not_before},
                        {"not_after", leaf.not_after},
                        {"sha256", leaf.sha256}};
  }
  return j;
}

json prelogin_json(const Evidence& ev) {
  const bool answered = ev.tds && ev.tds->prelogin;
  json answer = nullptr;
  if (answered && ev.tds->prelogin->fedauth_required) answer = *ev.tds->prelogin->fedauth_required;
  return {{"fedauth_required_sent", ev.tds.has_value() && ev.tds->options.fedauth_required},
          {"answered", answered},
          {"fedauth_required_answer", answer},
          {"summary", fedauth_answer_words(ev)}};
}

}  // namespace

std::string fedauth_answer_words(const Evidence& ev) {
  if (!ev.tds) return "no PRELOGIN was sent (no TDS exchange)";
  if (!ev.tds->prelogin) return "PRELOGIN with FEDAUTHREQUIRED 0x01 got no PRELOGIN answer";
  const auto& answer = ev.tds->prelogin->fedauth_required;
  if (!answer)
    return "the server's PRELOGIN answer holds no FEDAUTHREQUIRED option (it offers no federated "
           "authentication, or speaks TDS older than 7.4)";
  return *answer ? "the server answered FEDAUTHREQUIRED 0x01: a token login must echo it in "
                   "LOGIN7's FEDAUTH feature, as Azure SQL asks"
                 : "the server answered FEDAUTHREQUIRED 0x00";
}

json entra_json(const Evidence& ev) {
  if (!ev.entra) return nullptr;
  const auto& r = *ev.entra;
  json lookups = json::array();
  for (const auto& l : r.lookups) {
    json addrs = json::array();
    for (const auto& a : l.addresses) addrs.push_back(a.address);
    lookups.push_back({{"resolver", l.resolver},
                       {"type", l.type},
                       {"status", dns::to_string(l.status)},
                       {"addresses", addrs},
                       {"error", l.error.empty() ? json(nullptr) : json(l.error)},
                       {"elapsed_ms", l.elapsed_ms}});
  }
  json attempts = json::array();
  for (const auto& t : r.tcp) attempts.push_back(tcp_json(t));
  const auto* chosen = r.chosen_tcp();
  return {{"authority", r.authority.host},
          {"port", r.authority.port},
          {"addresses", r.addresses},
          {"addresses_from", r.addresses_from.empty() ? json(nullptr) : json(r.addresses_from)},
          {"dns_status", dns_status(r)},
          {"lookups", lookups},
          {"tcp", chosen != nullptr ? tcp_json(*chosen) : json(nullptr)},
          {"tcp_attempts", attempts},
          {"tls", tls_json(r)},
          {"reached", r.reached()},
          {"failed_step",
           r.failed == entra::Step::None ? json(nullptr) : json(entra::to_string(r.failed))},
          {"failure", r.failure.empty() ? json(nullptr) : json(r.failure)},
          {"error", r.tool_error.empty() ? json(nullptr) : json(r.tool_error)},
          {"elapsed_ms", r.elapsed_ms},
          {"prelogin", prelogin_json(ev)}};
}

std::string entra_summary(const Evidence& ev) {
  if (!ev.entra) return {};
  const auto& r = *ev.entra;
  std::string s = r.authority.str();
  if (!r.tool_error.empty()) {
    s += " not checked: " + r.tool_error;
  } else if (r.reached()) {
    s += " reached in " + fixed1(r.elapsed_ms) + " ms: " + r.tls_address;
    if (const auto* t = r.chosen_tcp()) s += ", TCP " + fixed1(t->rtt_ms) + " ms";
    s += ", " + r.tls->version + ", certificate verified";
    if (!r.tls->chain.empty()) s += " (" + r.tls->chain.front().subject + ")";
    // Some of its addresses closed: a client that tries one of them first waits or fails there.
    std::string closed;
    std::size_t n = 0;
    for (const auto& t : r.tcp)
      if (t.state != tcp::State::Open) {
        ++n;
        closed += (closed.empty() ? "" : ", ") + t.target.address + " " +
                  std::string(tcp::to_string(t.state));
      }
    if (n > 0)
      s += "; but " + std::to_string(n) + " of " + std::to_string(r.tcp.size()) +
           " addresses did not accept (" + closed + ")";
  } else {
    s += " NOT reached (" + std::string(entra::to_string(r.failed)) + "): " + r.failure;
  }
  return s + "; PRELOGIN: " + fedauth_answer_words(ev);
}

}  // namespace midiag::reports
