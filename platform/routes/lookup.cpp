// Which route carries an address, chosen the way the table's own OS would: longest prefix, then
// lowest metric; on Linux through the policy rules first, table by table.
#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "platform/routes/route_table.h"

namespace midiag::platform::routes {

namespace {

std::uint32_t metric_of(const RouteEntry& r) {
  return r.metric.value_or(0);
}

std::string table_of(const RouteEntry& r) {
  return r.table.empty() ? "main" : r.table;
}

// The order a lookup prefers: longer prefix, then lower metric, then the source's order.
bool preferred(const RouteTable& t, std::size_t a, std::size_t b) {
  const auto& ra = t.routes[a];
  const auto& rb = t.routes[b];
  if (ra.destination.length != rb.destination.length)
    return ra.destination.length > rb.destination.length;
  if (metric_of(ra) != metric_of(rb)) return metric_of(ra) < metric_of(rb);
  return a < b;
}

// "10.0.2.0/24 via 10.0.2.2 on enp0s3 (metric 100)"
std::string describe(const RouteEntry& r) {
  std::string s = r.kind == "unicast" ? "" : r.kind + " ";
  s += r.destination.text();
  if (r.gateway)
    s += " via " + r.gateway->text();
  else if (!r.gateway_text.empty() && r.flags.find('G') != std::string::npos)
    s += " via " + r.gateway_text;
  if (!r.interface.empty()) s += " on " + r.interface;
  if (r.metric) s += " (metric " + std::to_string(*r.metric) + ")";
  return s;
}

std::string slash(int length) {
  return "/" + std::to_string(length);
}

bool ends_lookup(std::string_view kind) {
  return kind == "unreachable" || kind == "prohibit" || kind == "blackhole";
}

struct Search {
  std::optional<std::size_t> best;
  std::vector<std::size_t> active;    // matching and usable, best first
  std::vector<std::size_t> inactive;  // matching but inactive (linkdown, Invalid...)
};

// The matching routes among those `pick` admits, best first.
template <typename Pick>
Search search(const RouteTable& t, const Address& to, Pick pick) {
  Search s;
  for (std::size_t i = 0; i < t.routes.size(); ++i) {
    const auto& r = t.routes[i];
    if (r.family() != to.family || !r.destination.contains(to) || !pick(r)) continue;
    if (r.kind == "exclude") continue;  // handled by the VPN rule in lookup()
    (r.active ? s.active : s.inactive).push_back(i);
  }
  auto order = [&](std::size_t a, std::size_t b) { return preferred(t, a, b); };
  std::sort(s.active.begin(), s.active.end(), order);
  std::sort(s.inactive.begin(), s.inactive.end(), order);
  if (!s.active.empty()) s.best = s.active.front();
  return s;
}

// Why the best route of `s` beat the others it was compared with, as a clause.
std::string why_best(const RouteTable& t, const Search& s) {
  const auto& best = t.routes[*s.best];
  std::string why;
  if (s.active.size() == 1) {
    why = "it is the only route that matches";
  } else {
    const auto& next = t.routes[s.active[1]];
    if (next.destination.length == best.destination.length) {
      if (metric_of(next) != metric_of(best))
        why = slash(best.destination.length) + " is the longest matching prefix and metric " +
              std::to_string(metric_of(best)) + " beat " + std::to_string(metric_of(next)) +
              (next.interface.empty() ? "" : " on " + next.interface);
      else
        why = slash(best.destination.length) +
              " is the longest matching prefix and, at equal "
              "metric, it comes first";
    } else {
      why = slash(best.destination.length) + " is the longest matching prefix (the next is " +
            slash(next.destination.length) + ")";
    }
  }
  for (auto i : s.inactive) {
    const auto& r = t.routes[i];
    if (!preferred(t, i, *s.best)) continue;
    why += "; " + describe(r) + " would have won but is not usable (" +
           (r.flags.find("linkdown") != std::string::npos ? "linkdown" : "inactive") + ")";
    break;
  }
  return why;
}

// Every other matching route, best first: what `beaten` lists.
std::vector<std::size_t> others(const RouteTable& t, const Address& to,
                                std::optional<std::size_t> chosen) {
  std::vector<std::size_t> v;
  for (std::size_t i = 0; i < t.routes.size(); ++i)
    if (i != chosen && t.routes[i].family() == to.family && t.routes[i].destination.contains(to))
      v.push_back(i);
  std::sort(v.begin(), v.end(), [&](std::size_t a, std::size_t b) {
    if (t.routes[a].active != t.routes[b].active) return t.routes[a].active;
    return preferred(t, a, b);
  });
  return v;
}

std::optional<std::uint32_t> number_after(std::string_view text, std::string_view word) {
  const auto at = text.find(word);
  if (at == std::string_view::npos) return std::nullopt;
  auto rest = text.substr(at + word.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::uint32_t n = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
  if (ec != std::errc() || p == rest.data()) return std::nullopt;
  return n;
}

bool has_word(std::string_view text, std::string_view word) {
  for (std::size_t at = text.find(word); at != std::string_view::npos;
       at = text.find(word, at + 1)) {
    const bool start = at == 0 || text[at - 1] == ' ' || text[at - 1] == '\t';
    const auto end = at + word.size();
    const bool stop = end == text.size() || text[end] == ' ' || text[end] == '\t';
    if (start && stop) return true;
  }
  return false;
}

// Selectors the model does not carry: a rule using them depends on the sending socket or packet.
constexpr std::string_view kUnknownSelectors[] = {"uidrange", "ipproto", "sport",  "dport",
                                                  "tos",      "dsfield", "l3mdev", "tun_id"};

// Whether a rule applies to a locally sent packet to `to` whose source, output interface and
// mark are not chosen yet (what `ip route get ADDR` asks): from only "all", iif only "lo".
bool rule_matches(const PolicyRule& r, const Address& to, std::string& note) {
  if (r.family != 0 && r.family != to.family) return false;
  if ((r.from && r.from->network.family != to.family) ||
      (r.to && r.to->network.family != to.family))
    return false;
  if (has_word(r.text, "[detached]") || has_word(r.text, "[unresolved]")) return false;
  for (auto word : kUnknownSelectors)
    if (has_word(r.text, word)) {
      if (note.empty())
        note = "rule " + std::to_string(r.priority) + " selects by " + std::string(word) +
               ", which depends on the sending program, and was not applied";
      return false;
    }
  bool match = true;
  if (r.from && r.from->length != 0) {
    match = false;
    if (note.empty() && !r.invert)
      note = "rule " + std::to_string(r.priority) +
             " selects by source address, which is not known here, and was not applied";
  }
  if (r.to && !r.to->contains(to)) match = false;
  if (!r.iif.empty() && r.iif != "lo") match = false;
  if (!r.oif.empty()) match = false;
  if (r.fwmark && *r.fwmark != 0) match = false;
  return r.invert ? !match : match;
}

std::vector<PolicyRule> kernel_default_rules() {
  std::vector<PolicyRule> v(3);
  v[0].priority = 0;
  v[0].table = "local";
  v[1].priority = 32766;
  v[1].table = "main";
  v[2].priority = 32767;
  v[2].table = "default";
  for (auto& r : v) r.text = "from all lookup " + r.table;
  return v;
}

std::string rule_name(const PolicyRule& r, bool implied) {
  return std::string(implied ? "the kernel's default rule " : "rule ") +
         std::to_string(r.priority) + " (" + r.text + ")";
}

Lookup linux_lookup(const RouteTable& t, const Address& to) {
  const bool implied = t.rules.empty();
  const std::vector<PolicyRule> defaults =
      implied ? kernel_default_rules() : std::vector<PolicyRule>{};
  const std::vector<PolicyRule>& rules = implied ? defaults : t.rules;
  std::vector<std::size_t> order(rules.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return rules[a].priority < rules[b].priority;
  });

  Lookup out;
  std::string notes, skipped;
  std::uint32_t goto_target = 0;  // 0: no goto pending (a goto to priority 0 goes nowhere)
  std::size_t steps = 0;
  for (std::size_t oi = 0; oi < order.size(); ++oi) {
    if (++steps > 4 * rules.size() + 8) break;  // bounded whatever the goto targets say
    const auto ri = order[oi];
    const PolicyRule& rule = rules[ri];
    if (rule.priority < goto_target) continue;
    goto_target = 0;
    if (!rule_matches(rule, to, skipped)) continue;
    const auto name = rule_name(rule, implied);
    if (rule.action == "nop") continue;
    if (rule.action == "goto") {
      goto_target = number_after(rule.text, "goto").value_or(0);
      continue;
    }
    if (ends_lookup(rule.action)) {
      if (!implied) out.rule = ri;
      out.reason = name + " answers " + rule.action + " for " + to.text() + notes;
      out.beaten = others(t, to, std::nullopt);
      return out;
    }
    if (rule.action != "lookup" || rule.table.empty()) continue;
    std::optional<int> suppress;
    if (auto n = number_after(rule.text, "suppress_prefixlength")) suppress = static_cast<int>(*n);
    const auto found =
        search(t, to, [&](const RouteEntry& r) { return table_of(r) == rule.table; });
    if (!found.best) continue;
    const auto& best = t.routes[*found.best];
    if (suppress && best.destination.length <= *suppress) {
      notes += "; " + name + " found " + describe(best) + " but suppresses prefixes of " +
               slash(*suppress) + " or shorter";
      continue;
    }
    if (best.kind == "throw") {
      notes += "; table " + rule.table + " threw (" + best.destination.text() +
               ") so the lookup went on with the next rule";
      continue;
    }
    if (!implied) out.rule = ri;
    out.route = found.best;
    const std::string carries = ends_lookup(best.kind)
                                    ? " answers " + best.kind + " for " + to.text()
                                    : " carries " + to.text();
    out.reason = name + " chose table " + rule.table + ", where " + describe(best) + carries +
                 ": " + why_best(t, found) + notes;
    if (!skipped.empty()) out.reason += "; " + skipped;
    out.beaten = others(t, to, out.route);
    return out;
  }
  out.reason = "no route for " + to.text() + ": no rule's table has a route that matches" + notes;
  if (!skipped.empty()) out.reason += "; " + skipped;
  out.beaten = others(t, to, std::nullopt);
  return out;
}

Lookup single_table_lookup(const RouteTable& t, const Address& to) {
  Lookup out;
  auto found = search(t, to, [](const RouteEntry&) { return true; });
  if (t.format == SourceFormat::MacOs && found.best) {
    // macOS uses interface-scoped routes (flag I) only for traffic bound to that interface.
    auto unscoped =
        search(t, to, [](const RouteEntry& r) { return r.flags.find('I') == std::string::npos; });
    if (unscoped.best) found = unscoped;
  }
  // A VPN's exclude wins over an include of equal or shorter prefix.
  std::optional<std::size_t> exclude;
  for (std::size_t i = 0; i < t.routes.size(); ++i) {
    const auto& r = t.routes[i];
    if (r.kind != "exclude" || r.family() != to.family || !r.destination.contains(to)) continue;
    if (!exclude || r.destination.length > t.routes[*exclude].destination.length) exclude = i;
  }
  if (exclude && (!found.best || t.routes[*exclude].destination.length >=
                                     t.routes[*found.best].destination.length)) {
    out.route = exclude;
    out.reason = to.text() + " is excluded by " + t.routes[*exclude].destination.text() +
                 (found.best ? ", which is at least as long as the included " +
                                   t.routes[*found.best].destination.text()
                             : "") +
                 ", so it does not go through the tunnel";
    out.beaten = others(t, to, out.route);
    return out;
  }
  if (!found.best) {
    out.reason = "no route for " + to.text() + ": no active route's prefix contains it";
    if (!found.inactive.empty())
      out.reason += " (" + describe(t.routes[found.inactive.front()]) + " does, but is inactive)";
    out.beaten = others(t, to, std::nullopt);
    return out;
  }
  out.route = found.best;
  out.reason =
      describe(t.routes[*found.best]) + " carries " + to.text() + ": " + why_best(t, found);
  out.beaten = others(t, to, out.route);
  return out;
}

}  // namespace

Lookup lookup(const RouteTable& table, const Address& to) {
  if (table.format == SourceFormat::Linux) return linux_lookup(table, to);
  return single_table_lookup(table, to);
}

}  // namespace midiag::platform::routes
