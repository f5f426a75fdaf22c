// Effective NSG rules and the flow verdict. Azure evaluates an NSG's rules by priority, lowest
// first, and the first rule that matches decides; inbound traffic meets the subnet's NSG then
// the NIC's, outbound the NIC's then the subnet's, and both must allow it. Service tags
// (VirtualNetwork, Internet, AzureLoadBalancer...) are matched only through the prefixes the
// export expanded them to: a tag it did not expand is said, never guessed.
#include "platform/routes/nsg.h"

#include <algorithm>
#include <charconv>

#include "platform/routes/azure_json.h"

namespace midiag::platform::routes {

namespace {

namespace aj = azure_json;

constexpr std::size_t kMaxUnread = 1000;

constexpr const char* kExpected =
    "expected the JSON of `az network nic list-effective-nsg` ({\"value\": "
    "[{\"networkSecurityGroup\", "
    "\"association\", \"effectiveSecurityRules\": [...]}]}) or of "
    "Get-AzEffectiveNetworkSecurityGroup | ConvertTo-Json";

std::optional<std::uint32_t> port_number(std::string_view s) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > 65535) return std::nullopt;
  return v;
}

struct PortRange {
  std::uint32_t low = 0, high = 65535;
};

// "*", "1433", "11000-11999" (Azure's documented forms).
std::optional<PortRange> port_range(std::string_view s) {
  if (s == "*" || aj::iequals(s, "any")) return PortRange{};
  const auto dash = s.find('-');
  if (dash == std::string_view::npos) {
    auto v = port_number(s);
    if (!v) return std::nullopt;
    return PortRange{*v, *v};
  }
  auto lo = port_number(s.substr(0, dash)), hi = port_number(s.substr(dash + 1));
  if (!lo || !hi || *lo > *hi) return std::nullopt;
  return PortRange{*lo, *hi};
}

enum class Match { No, Yes, Unknown };

Match ports_match(const std::vector<std::string>& specs, std::optional<std::uint16_t> port) {
  for (const auto& s : specs) {
    const auto r = port_range(s);
    if (!r) continue;  // checked when read
    if (r->low == 0 && r->high == 65535) return Match::Yes;
    if (port && *port >= r->low && *port <= r->high) return Match::Yes;
  }
  // An unknown source port (any ephemeral one) meets a rule that names source ports.
  return port ? Match::No : Match::Unknown;
}

bool is_any(std::string_view s) {
  return s == "*" || aj::iequals(s, "any") || s == "0.0.0.0/0" || s == "::/0";
}

// Whether `a` is inside the written prefixes (addresses, CIDRs, tags), the expanded ones, or the
// tag map; the tags that could not be expanded are added to `unexpanded`.
Match address_match(const std::vector<std::string>& written,
                    const std::vector<std::string>& expanded, const NsgGroup& group,
                    const Address& a, std::vector<std::string>& unexpanded) {
  auto in = [&](const std::string& text) {
    if (is_any(text)) return true;
    const auto p = Prefix::parse(text);
    return p && p->contains(a);
  };
  for (const auto& e : expanded)
    if (in(e)) return Match::Yes;
  bool unknown = false;
  for (const auto& w : written) {
    if (is_any(w) || Prefix::parse(w)) {
      if (in(w)) return Match::Yes;
      continue;
    }
    if (!expanded.empty()) continue;  // a tag the export expanded: already looked at
    const auto tag = std::find_if(group.tag_map.begin(), group.tag_map.end(),
                                  [&](const auto& kv) { return aj::iequals(kv.first, w); });
    if (tag != group.tag_map.end()) {
      for (const auto& p : tag->second)
        if (in(p)) return Match::Yes;
      continue;
    }
    unknown = true;
    if (std::find(unexpanded.begin(), unexpanded.end(), w) == unexpanded.end())
      unexpanded.push_back(w);
  }
  return unknown ? Match::Unknown : Match::No;
}

// The source side when the flow's source is not known: only "any" surely matches.
Match any_address(const std::vector<std::string>& written,
                  const std::vector<std::string>& expanded) {
  for (const auto* list : {&written, &expanded})
    for (const auto& p : *list)
      if (is_any(p)) return Match::Yes;
  return Match::Unknown;
}

Match combine(std::initializer_list<Match> parts) {
  bool unknown = false;
  for (const Match m : parts) {
    if (m == Match::No) return Match::No;
    if (m == Match::Unknown) unknown = true;
  }
  return unknown ? Match::Unknown : Match::Yes;
}

std::vector<std::string> both(const nlohmann::json& j, std::string_view one,
                              std::string_view many) {
  auto a = aj::strings(j, one);
  auto b = aj::strings(j, many);
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::optional<std::uint32_t> priority_of(const nlohmann::json* j) {
  if (j == nullptr) return std::nullopt;
  if (j->is_number_unsigned()) {
    const auto v = j->get<std::uint64_t>();
    if (v <= 0xFFFFFFFFU) return static_cast<std::uint32_t>(v);
  }
  if (j->is_string()) {
    const auto& s = j->get_ref<const std::string&>();
    std::uint32_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!s.empty() && ec == std::errc() && p == s.data() + s.size()) return v;
  }
  return std::nullopt;
}

// One rule, or the reason it cannot be one.
std::optional<std::string> read_rule(const nlohmann::json& j, NsgRule& r) {
  if (!j.is_object()) return "not an object";
  r.name = aj::text(j, "name");
  r.protocol = aj::text(j, "protocol");
  if (r.protocol.empty()) return "no protocol";
  r.source_prefixes = both(j, "sourceAddressPrefix", "sourceAddressPrefixes");
  r.destination_prefixes = both(j, "destinationAddressPrefix", "destinationAddressPrefixes");
  r.expanded_source = aj::strings(j, "expandedSourceAddressPrefix");
  r.expanded_destination = aj::strings(j, "expandedDestinationAddressPrefix");
  if (r.source_prefixes.empty() && r.expanded_source.empty()) return "no source address prefix";
  if (r.destination_prefixes.empty() && r.expanded_destination.empty())
    return "no destination address prefix";
  r.source_ports = both(j, "sourcePortRange", "sourcePortRanges");
  r.destination_ports = both(j, "destinationPortRange", "destinationPortRanges");
  if (r.source_ports.empty()) return "no source port range";
  if (r.destination_ports.empty()) return "no destination port range";
  for (const auto* list : {&r.source_ports, &r.destination_ports})
    for (const auto& p : *list)
      if (!port_range(p)) return "port range \"" + p.substr(0, 40) + "\" is not a port or range";
  const std::string access = aj::text(j, "access");
  if (aj::iequals(access, "Allow")) {
    r.allow = true;
  } else if (!aj::iequals(access, "Deny")) {
    return "access is neither Allow nor Deny";
  }
  const std::string direction = aj::text(j, "direction");
  if (aj::iequals(direction, "Inbound")) {
    r.direction = NsgDirection::Inbound;
  } else if (aj::iequals(direction, "Outbound")) {
    r.direction = NsgDirection::Outbound;
  } else {
    return "direction is neither Inbound nor Outbound";
  }
  const auto priority = priority_of(aj::member(j, "priority"));
  if (!priority) return "no priority";
  r.priority = *priority;
  return std::nullopt;
}

void read_tag_map(const nlohmann::json* j, NsgGroup& g) {
  if (j == nullptr) return;
  std::optional<nlohmann::json> parsed;
  if (j->is_string()) {  // newer API versions send the map as a JSON string
    parsed = aj::parse(j->get_ref<const std::string&>());
    if (!parsed) return;
    j = &*parsed;
  }
  if (!j->is_object()) return;
  for (auto it = j->begin(); it != j->end(); ++it) g.tag_map[it.key()] = aj::strings(&it.value());
}

std::string id_of(const nlohmann::json& j, std::string_view key) {
  const auto* m = aj::member(j, key);
  if (m == nullptr) return "";
  if (m->is_string()) return m->get<std::string>();
  return aj::text(*m, "id");
}

}  // namespace

std::string NsgGroup::name() const {
  const auto slash = id.rfind('/');
  return slash == std::string::npos ? id : id.substr(slash + 1);
}

Expected<EffectiveNsgs> parse_effective_nsgs(std::string_view raw) {
  const std::string text = normalize_text(raw);
  const auto doc = aj::parse(text);
  if (!doc) return make_error(std::string("not JSON: ") + kExpected, ErrorKind::Usage);
  nlohmann::json holder;
  const nlohmann::json* list = aj::list_of(*doc, "effectiveSecurityRules", holder);
  if (list == nullptr)
    return make_error(std::string("no list of effective NSGs: ") + kExpected, ErrorKind::Usage);

  EffectiveNsgs out;
  std::size_t unread_total = 0, rules_seen = 0;
  auto unread = [&](std::size_t index, const std::string& where, const nlohmann::json& j,
                    std::string reason) {
    if (++unread_total > kMaxUnread) return;
    out.unread.push_back({index + 1, where + ": " + aj::preview(j), std::move(reason)});
  };
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& g = (*list)[i];
    const std::string where = "value[" + std::to_string(i) + "]";
    const auto* rules = aj::member(g, "effectiveSecurityRules");
    if (rules == nullptr || !rules->is_array()) {
      unread(i, where, g, "no effectiveSecurityRules list");
      continue;
    }
    NsgGroup group;
    group.id = id_of(g, "networkSecurityGroup");
    if (const auto* assoc = aj::member(g, "association")) {
      const std::string subnet = id_of(*assoc, "subnet");
      const std::string nic = id_of(*assoc, "networkInterface");
      group.on_subnet = !subnet.empty();
      group.on_nic = !nic.empty();
      group.association = !subnet.empty() ? subnet : nic;
    }
    if (!group.on_subnet && !group.on_nic) {
      group.on_nic = true;  // still evaluated: an NSG in the list applies to the NIC's traffic
      unread(i, where + ".association", nlohmann::json(nullptr),
             "no subnet or networkInterface association: evaluated as the NIC's NSG");
    }
    read_tag_map(aj::member(g, "tagMap"), group);
    for (std::size_t k = 0; k < rules->size(); ++k) {
      ++rules_seen;
      NsgRule rule;
      rule.origin = where + ".effectiveSecurityRules[" + std::to_string(k) + "]";
      if (auto why = read_rule((*rules)[k], rule)) {
        unread(i, rule.origin, (*rules)[k], std::move(*why));
        continue;
      }
      group.rules.push_back(std::move(rule));
    }
    std::stable_sort(group.rules.begin(), group.rules.end(),
                     [](const NsgRule& a, const NsgRule& b) { return a.priority < b.priority; });
    out.groups.push_back(std::move(group));
  }
  if (unread_total > out.unread.size())
    out.unread.push_back({0, "",
                          std::to_string(unread_total - out.unread.size()) +
                              " more members not read (only the first " +
                              std::to_string(kMaxUnread) + " are listed)"});
  if (out.groups.empty() || rules_seen == 0)
    return make_error(std::string("no effective security rules in the list: ") + kExpected,
                      ErrorKind::Usage);
  return out;
}

FlowVerdict evaluate_flow(const EffectiveNsgs& nsgs, const Flow& flow) {
  FlowVerdict v;
  for (const auto& u : nsgs.unread)
    if (!u.text.empty())
      v.notes.push_back("not read: " + u.text.substr(0, 80) + " (" + u.reason + ")");
  // The order the packet meets them.
  std::vector<std::pair<const NsgGroup*, bool>> path;  // group, at the subnet
  const bool inbound = flow.direction == NsgDirection::Inbound;
  for (const bool subnet_stage : {inbound, !inbound})
    for (const auto& g : nsgs.groups)
      if (subnet_stage ? g.on_subnet : g.on_nic) path.emplace_back(&g, subnet_stage);

  for (const auto& [group, at_subnet] : path) {
    NsgStep step;
    step.nsg = group->name();
    step.association = at_subnet ? "subnet" : "network interface";
    std::vector<std::string> unexpanded;
    std::vector<const NsgRule*> unsure;  // rules before the decision that might have matched
    const NsgRule* decided = nullptr;
    for (const auto& rule : group->rules) {
      if (rule.direction != flow.direction) continue;
      const bool proto = rule.protocol == "*" || aj::iequals(rule.protocol, "All") ||
                         aj::iequals(rule.protocol, flow.protocol);
      if (!proto) continue;
      // Ports first: a tag is only reported when the rest of its rule fits the flow.
      const Match ports = combine({ports_match(rule.destination_ports, flow.destination_port),
                                   ports_match(rule.source_ports, flow.source_port)});
      if (ports == Match::No) continue;
      std::vector<std::string> tags;
      const Match source =
          flow.source_given
              ? address_match(rule.source_prefixes, rule.expanded_source, *group, flow.source, tags)
              : any_address(rule.source_prefixes, rule.expanded_source);
      const Match m = combine({ports, source,
                               address_match(rule.destination_prefixes, rule.expanded_destination,
                                             *group, flow.destination, tags)});
      if (m == Match::Unknown)
        for (auto& t : tags)
          if (std::find(unexpanded.begin(), unexpanded.end(), t) == unexpanded.end())
            unexpanded.push_back(std::move(t));
      if (m == Match::Unknown) unsure.push_back(&rule);
      if (m == Match::Yes) {
        decided = &rule;
        break;
      }
    }
    for (const auto& tag : unexpanded)
      v.notes.push_back("NSG " + step.nsg + ": tag " + tag +
                        " is not expanded in the export: rules on it could not be matched");
    if (decided == nullptr) {
      v.determined = false;
      v.notes.push_back("NSG " + step.nsg + " (" + step.association +
                        "): no rule matched the flow (the export lacks the default rules?)");
      v.steps.push_back(step);
      continue;
    }
    for (const NsgRule* u : unsure)
      if (u->allow != decided->allow) {
        v.determined = false;
        const bool on_source =
            !flow.source_given &&
            any_address(u->source_prefixes, u->expanded_source) == Match::Unknown;
        v.notes.push_back(
            "NSG " + step.nsg + ": rule " + u->name + " (priority " + std::to_string(u->priority) +
            ", " + (u->allow ? "Allow" : "Deny") +
            ") comes first and may match: the verdict depends on it" +
            (on_source ? " and on the flow's source address, which was not given" : ""));
      }
    step.allow = decided->allow;
    // A rule the export left unnamed is still named in the verdict, by its priority.
    step.rule = decided->name.empty()
                    ? "(unnamed rule, priority " + std::to_string(decided->priority) + ")"
                    : decided->name;
    step.priority = decided->priority;
    v.steps.push_back(step);
    v.rule = step.rule;
    if (!decided->allow) {
      v.allow = false;
      break;
    }
  }
  return v;
}

std::string FlowVerdict::text() const {
  std::string s = std::string("Access ") + (allow ? "Allow" : "Deny");
  const NsgStep* deciding = nullptr;
  for (const auto& st : steps)
    if (!st.rule.empty() && st.rule == rule) deciding = &st;
  if (steps.empty()) {
    s += " (no NSG applies)";
  } else if (deciding != nullptr) {
    s += ", rule " + rule + " (NSG " + deciding->nsg + " on the " + deciding->association + ")";
  }
  if (!determined)
    s += "; undetermined: " + (notes.empty() ? std::string("see notes") : notes.back());
  return s;
}

std::string PortSpan::text() const {
  return low == high ? std::to_string(low) : std::to_string(low) + "-" + std::to_string(high);
}

namespace {

void add_port(std::vector<PortSpan>& spans, std::uint16_t port) {
  if (!spans.empty() && static_cast<std::uint32_t>(spans.back().high) + 1U == port) {
    spans.back().high = port;
  } else {
    spans.push_back({port, port});
  }
}

std::string spans_text(const std::vector<PortSpan>& spans) {
  std::string s;
  for (std::size_t i = 0; i < spans.size() && i < 8; ++i) s += (i ? ", " : "") + spans[i].text();
  if (spans.size() > 8) s += " and " + std::to_string(spans.size() - 8) + " more spans";
  return s;
}

std::size_t port_count(const std::vector<PortSpan>& spans) {
  std::size_t n = 0;
  for (const auto& p : spans) n += p.high - p.low + 1U;
  return n;
}

}  // namespace

PortsVerdict evaluate_ports(const EffectiveNsgs& nsgs, Flow flow, PortSpan ports) {
  PortsVerdict out;
  out.ports = ports;
  std::optional<FlowVerdict> first_denied, first_unsure, first;
  for (std::uint32_t p = ports.low; p <= ports.high; ++p) {
    flow.destination_port = static_cast<std::uint16_t>(p);
    FlowVerdict v = evaluate_flow(nsgs, flow);
    if (!v.determined) {
      add_port(out.undetermined, flow.destination_port);
      if (!first_unsure) first_unsure = v;
    } else if (!v.allow) {
      add_port(out.denied, flow.destination_port);
      if (!first_denied) first_denied = v;
    }
    if (!first) first = std::move(v);
  }
  out.allow = out.denied.empty();
  out.determined = out.undetermined.empty();
  if (first_denied) {
    out.verdict = std::move(*first_denied);
  } else if (first_unsure) {
    out.verdict = std::move(*first_unsure);
  } else if (first) {
    out.verdict = std::move(*first);
  }
  return out;
}

std::string PortsVerdict::text() const {
  const std::size_t all = ports.high - ports.low + 1U;
  if (!denied.empty()) {
    std::string s = verdict.text();
    if (port_count(denied) < all) s += " for ports " + spans_text(denied) + " of " + ports.text();
    if (!undetermined.empty()) s += "; undetermined for ports " + spans_text(undetermined);
    return s;
  }
  if (!undetermined.empty() && port_count(undetermined) < all)
    return verdict.text() + " (ports " + spans_text(undetermined) + " of " + ports.text() + ")";
  return verdict.text();
}

bool looks_like_effective_nsgs(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (text[first] != '{' && text[first] != '[')) return false;
  const auto head = text.substr(first, 64 * 1024);
  constexpr std::string_view kKey = "effectivesecurityrules";
  const auto it =
      std::search(head.begin(), head.end(), kKey.begin(), kKey.end(), [](char a, char b) {
        return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
      });
  return it != head.end();
}

}  // namespace midiag::platform::routes
