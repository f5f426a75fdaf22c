#include "reports/target.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "decoders/dns/message.h"
#include "probes/dns/dns_probe.h"
#include "probes/net/address.h"

namespace midiag::reports {

std::string_view to_string(EndpointKind k) {
  switch (k) {
    case EndpointKind::VnetLocal:
      return "vnet_local";
    case EndpointKind::Public:
      return "public";
    case EndpointKind::PrivateEndpoint:
      return "private_endpoint";
    case EndpointKind::FailoverListenerRw:
      return "failover_listener_rw";
    case EndpointKind::FailoverListenerRo:
      return "failover_listener_ro";
    case EndpointKind::IpLiteral:
      return "ip_literal";
    case EndpointKind::Other:
      return "other";
  }
  return "other";
}

namespace {

// Azure public cloud and the sovereign clouds' SQL DNS suffixes.
constexpr std::array<std::string_view, 4> kSuffixes = {
    "database.windows.net", "database.chinacloudapi.cn", "database.usgovcloudapi.net",
    "database.cloudapi.de"};

std::vector<std::string_view> split_labels(std::string_view s) {
  std::vector<std::string_view> labels;
  size_t start = 0;
  while (start <= s.size()) {
    auto dot = s.find('.', start);
    if (dot == std::string_view::npos) dot = s.size();
    labels.push_back(s.substr(start, dot - start));
    start = dot + 1;
  }
  return labels;
}

std::optional<std::string> check_hostname(std::string_view host) {
  if (host.empty()) return "the host name is empty";
  if (host.size() > 253) return "the host name is longer than 253 characters";
  for (auto label : split_labels(host)) {
    if (label.empty()) return "the host name has an empty label ('..' or a leading dot)";
    if (label.size() > 63)
      return "the label '" + std::string(label) + "' is longer than 63 characters";
    if (label.front() == '-' || label.back() == '-')
      return "the label '" + std::string(label) + "' starts or ends with '-'";
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
        return "the character '" + std::string(1, c) + "' is not allowed in a host name";
    }
  }
  return std::nullopt;
}

Expected<std::uint16_t> parse_port(std::string_view text, std::string_view input) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value == 0 ||
      value > 65535)
    return make_error("bad port '" + std::string(text) + "' in '" + std::string(input) +
                      "' (1-65535)");
  return static_cast<std::uint16_t>(value);
}

// The part of the name in front of a known suffix, or npos.
size_t suffix_start(const std::string& host, std::string& suffix_out) {
  for (auto sfx : kSuffixes) {
    if (host.size() > sfx.size() + 1 && host.ends_with(sfx) &&
        host[host.size() - sfx.size() - 1] == '.') {
      suffix_out = std::string(sfx);
      return host.size() - sfx.size() - 1;
    }
  }
  return std::string::npos;
}

}  // namespace

Expected<Target> parse_target(std::string_view input) {
  Target t;
  t.input = std::string(input);
  std::string_view host = input;
  std::string_view port;
  if (input.starts_with('[')) {
    auto close = input.find(']');
    if (close == std::string_view::npos)
      return make_error("'" + std::string(input) + "': '[' without a closing ']'");
    host = input.substr(1, close - 1);
    auto rest = input.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':')
        return make_error("'" + std::string(input) + "': expected ':port' after ']'");
      port = rest.substr(1);
      if (port.empty()) return make_error("'" + std::string(input) + "': empty port after ':'");
    }
    if (!net::parse_ip(host) || net::parse_ip(host)->is_v4())
      return make_error("'" + std::string(host) + "' in brackets is not an IPv6 address");
  } else if (std::count(input.begin(), input.end(), ':') == 1) {
    auto colon = input.find(':');
    host = input.substr(0, colon);
    port = input.substr(colon + 1);
    if (port.empty()) return make_error("'" + std::string(input) + "': empty port after ':'");
  } else if (std::count(input.begin(), input.end(), ':') > 1 && !net::parse_ip(input)) {
    return make_error("'" + std::string(input) +
                      "' is not a host name or address (write IPv6 with a port as [addr]:port)");
  }
  if (!port.empty()) {
    auto p = parse_port(port, input);
    if (!p) return p.error();
    t.port = *p;
    t.port_given = true;
  }
  if (host.ends_with('.') && host.size() > 1) host.remove_suffix(1);
  t.host = dns::canonical_name(host);
  if (auto ip = net::parse_ip(t.host)) {
    t.host = ip->str();
  } else if (auto problem = check_hostname(t.host)) {
    return make_error("'" + std::string(input) + "' is not a valid host name: " + *problem);
  }
  classify_target(t);
  return t;
}

void classify_target(Target& t) {
  t.kind = EndpointKind::Other;
  t.instance.clear();
  t.zone.clear();
  t.suffix.clear();
  if (net::parse_ip(t.host)) {
    t.kind = EndpointKind::IpLiteral;
  } else if (auto at = suffix_start(t.host, t.suffix); at != std::string::npos) {
    auto labels = split_labels(std::string_view(t.host).substr(0, at));
    bool privatelink = std::find(labels.begin(), labels.end(), "privatelink") != labels.end();
    if (privatelink) {
      // <mi>.privatelink.<zone> or <mi>.<zone>.privatelink: the zone is the non-privatelink label.
      t.kind = EndpointKind::PrivateEndpoint;
      t.instance = std::string(labels.front());
      for (size_t i = 1; i < labels.size(); ++i)
        if (labels[i] != "privatelink") t.zone = std::string(labels[i]);
    } else if (labels.size() == 2) {
      t.kind = EndpointKind::VnetLocal;
      t.instance = std::string(labels[0]);
      t.zone = std::string(labels[1]);
    } else if (labels.size() == 3 && labels[1] == "public") {
      t.kind = EndpointKind::Public;
      t.instance = std::string(labels[0]);
      t.zone = std::string(labels[2]);
    } else if (labels.size() == 3 && labels[1] == "secondary") {
      t.kind = EndpointKind::FailoverListenerRo;
      t.instance = std::string(labels[0]);
      t.zone = std::string(labels[2]);
    } else {
      t.suffix.clear();  // one label is SQL Database's <server>.database.windows.net: not MI
    }
  }
  if (!t.port_given) t.port = t.kind == EndpointKind::Public ? 3342 : 1433;
}

void refine_with_cname_chain(Target& t, const std::vector<dns::CnameLink>& chain) {
  if (t.kind == EndpointKind::IpLiteral) return;
  for (const auto& link : chain) {
    if (dns::canonical_name(link.target).find(".privatelink.") != std::string::npos) {
      t.kind = EndpointKind::PrivateEndpoint;
      return;
    }
  }
  if (t.kind != EndpointKind::VnetLocal || chain.empty()) return;
  // A VNet-local-shaped name that is a CNAME to another instance's name is a failover-group
  // read-write listener pointing at the current primary (in another zone when the partners do
  // not share one: only Azure writes records in these zones).
  auto next = cname_instance(chain);
  if (next && (next->zone != t.zone || next->instance != t.instance))
    t.kind = EndpointKind::FailoverListenerRw;
}

std::optional<FailoverNames> failover_names(const Target& t, const std::string& fog) {
  if (t.zone.empty() || t.suffix.empty()) return std::nullopt;
  FailoverNames n;
  n.zone = t.zone;
  n.suffix = t.suffix;
  switch (t.kind) {
    case EndpointKind::FailoverListenerRo:
    case EndpointKind::VnetLocal:
    case EndpointKind::FailoverListenerRw:
      n.fog = fog.empty() ? t.instance : fog;
      break;
    default:
      return std::nullopt;
  }
  n.read_write = n.fog + "." + n.zone + "." + n.suffix;
  n.read_only = n.fog + ".secondary." + n.zone + "." + n.suffix;
  return n;
}

std::optional<Target> cname_instance(const std::vector<dns::CnameLink>& chain) {
  if (chain.empty()) return std::nullopt;
  Target next;
  next.host = dns::canonical_name(chain.front().target);
  while (next.host.ends_with('.')) next.host.pop_back();
  if (check_hostname(next.host)) return std::nullopt;
  classify_target(next);
  if (next.kind != EndpointKind::VnetLocal) return std::nullopt;
  return next;
}

bool certificate_covers(const std::vector<std::string>& names, std::string_view host) {
  const std::string h = dns::canonical_name(host);
  const auto dot = h.find('.');
  for (const auto& raw : names) {
    const std::string n = dns::canonical_name(raw);
    if (n == h) return true;
    // "*.rest": the host's first label replaced, the rest equal; never a bare "*" or "*.com"-ish
    // name with one label after the wildcard.
    if (n.size() > 2 && n.starts_with("*.") && dot != std::string::npos && dot > 0 &&
        n.find('.', 2) != std::string::npos && std::string_view(h).substr(dot) == n.substr(1))
      return true;
  }
  return false;
}

std::vector<std::uint16_t> expected_ports(EndpointKind k) {
  switch (k) {
    case EndpointKind::Public:
      return {3342};
    case EndpointKind::VnetLocal:
    case EndpointKind::PrivateEndpoint:
    case EndpointKind::FailoverListenerRw:
    case EndpointKind::FailoverListenerRo:
      return {1433};
    case EndpointKind::IpLiteral:
    case EndpointKind::Other:
      return {};
  }
  return {};
}

}  // namespace midiag::reports
