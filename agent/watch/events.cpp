#include "agent/watch/events.h"

#include <algorithm>
#include <utility>

#include "agent/watch/report_fields.h"
#include "decoders/dns/message.h"

namespace midiag::agent::watch {

namespace {

using nlohmann::json;

std::string joined(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

constexpr std::pair<const char*, std::string Snapshot::*> kFields[] = {
    {"dns_answer", &Snapshot::dns_answer},   {"cname_target", &Snapshot::cname_target},
    {"resolver", &Snapshot::resolver},       {"route", &Snapshot::route},
    {"certificate", &Snapshot::certificate}, {"redirect", &Snapshot::redirect},
    {"source", &Snapshot::source},
};

const char* health_name(Health h) {
  return h == Health::Up ? "up" : h == Health::Down ? "down" : "unknown";
}

}  // namespace

Snapshot snapshot_of(const json& report) {
  Snapshot s;
  const std::string host = text(member(report, "target"), "host");
  const json& dns = member(report, "dns");
  std::vector<std::string> answers;
  for (const auto& l : member(dns, "lookups")) {
    if (text(l, "resolver") != "system" || text(l, "name") != host) continue;
    for (const auto& a : member(l, "addresses")) answers.push_back(text(a, "address"));
    // The report's chain is links {name, target, ttl}; its end is the last link's target.
    const json& chain = member(l, "cname_chain");
    if (chain.is_array() && !chain.empty())
      if (auto end = text(chain.back(), "target"); !end.empty())
        s.cname_target = dns::canonical_name(end);
  }
  s.dns_answer = joined(answers);
  std::vector<std::string> servers;
  for (const auto& v : member(dns, "system_servers"))
    if (v.is_string()) servers.push_back(v.get<std::string>());
  s.resolver = joined(servers);
  const json& routes = member(report, "routes");
  if (routes.is_array() && !routes.empty()) {
    const json& r = routes.front();
    const std::string iface = text(r, "interface"), gw = text(r, "gateway");
    if (!iface.empty()) s.route = iface + (gw.empty() ? "" : " via " + gw);
    s.source = text(r, "source");
  }
  s.certificate = text(member(member(report, "tls"), "certificate"), "sha256");
  const json& redirect = member(report, "redirect");
  if (redirect.is_object() && !text(redirect, "host").empty()) {
    const json& port = member(redirect, "port");
    s.redirect = text(redirect, "host") +
                 (port.is_number_unsigned() ? ":" + std::to_string(port.get<unsigned>()) : "");
  }
  return s;
}

bool report_succeeded(const json& report) {
  for (const auto& f : member(report, "findings"))
    if (text(f, "severity") == "error") return false;
  return text(report, "verdict") != "fail" && report.is_object();
}

std::vector<std::string> finding_codes(const json& report) {
  std::vector<std::string> codes;
  for (const auto& f : member(report, "findings"))
    if (auto c = text(f, "code"); !c.empty()) codes.push_back(std::move(c));
  return codes;
}

std::vector<Change> diff(const Snapshot& before, const Snapshot& after) {
  std::vector<Change> out;
  for (const auto& [name, field] : kFields) {
    const auto& a = before.*field;
    const auto& b = after.*field;
    if (!a.empty() && !b.empty() && a != b) out.push_back({name, a, b});
  }
  return out;
}

json to_json(const Event& e) {
  json changed = json::array();
  for (const auto& c : e.changed)
    changed.push_back({{"what", c.what}, {"from", c.from}, {"to", c.to}});
  return {{"ts", e.ts},           {"target", e.target},     {"event", e.event},
          {"verdict", e.verdict}, {"findings", e.findings}, {"changed", changed}};
}

TargetState::TargetState(std::string target, int fail_after, int recover_after)
    : target_(std::move(target)),
      fail_after_(std::max(1, fail_after)),
      recover_after_(std::max(1, recover_after)) {}

std::vector<Event> TargetState::observe(const json& report, const std::string& ts) {
  const Snapshot snap = snapshot_of(report);
  const bool ok = report_succeeded(report);
  std::vector<Event> events;
  auto event = [&](const char* kind, std::vector<Change> changed) {
    events.push_back(
        {ts, target_, kind, text(report, "verdict"), finding_codes(report), std::move(changed)});
  };
  if (ok) {
    ++successes_;
    failures_ = 0;
  } else {
    ++failures_;
    successes_ = 0;
  }
  const std::vector<Change> since_good =
      last_good_ ? diff(*last_good_, snap) : std::vector<Change>{};
  if (!ok && failures_ >= fail_after_ && health_ != Health::Down) {
    health_ = Health::Down;
    ++state_changes_;
    event("down", since_good);
  } else if (ok && health_ == Health::Down) {
    if (successes_ >= recover_after_) {
      health_ = Health::Up;
      ++state_changes_;
      event("up", since_good);
      last_good_ = snap;
    }
  } else if (ok) {
    if (health_ == Health::Up && !since_good.empty()) event("changed", since_good);
    health_ = Health::Up;
    last_good_ = snap;
  }
  previous_ = snap;
  return events;
}

json TargetState::save() const {
  json j = {{"version", 1},          {"target", target_},       {"health", health_name(health_)},
            {"failures", failures_}, {"successes", successes_}, {"state_changes", state_changes_}};
  if (last_good_) {
    json g = json::object();
    for (const auto& [name, field] : kFields) g[name] = (*last_good_).*field;
    j["last_good"] = g;
  }
  return j;
}

bool TargetState::load(const json& saved) {
  if (!saved.is_object() || member(saved, "version") != 1 || text(saved, "target") != target_)
    return false;
  const std::string h = text(saved, "health");
  health_ = h == "up" ? Health::Up : h == "down" ? Health::Down : Health::Unknown;
  auto count = [&](const char* key) -> std::uint64_t {
    const json& v = member(saved, key);
    return v.is_number_unsigned() ? v.get<std::uint64_t>() : 0;
  };
  failures_ = static_cast<int>(std::min<std::uint64_t>(count("failures"), 1'000'000));
  successes_ = static_cast<int>(std::min<std::uint64_t>(count("successes"), 1'000'000));
  state_changes_ = count("state_changes");
  last_good_.reset();
  if (const json& g = member(saved, "last_good"); g.is_object()) {
    Snapshot s;
    for (const auto& [name, field] : kFields) s.*field = text(g, name);
    last_good_ = s;
  }
  return true;
}

}  // namespace midiag::agent::watch
