// Which tool wrote a route listing, from its shape: column layouts, separator lines, XML roots and
// JSON keys, never from English words alone (a French `route print` must place as well as an
// English one). Then the dispatch to that source's parser.
#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "platform/routes/route_table.h"

namespace midiag::platform::routes {

namespace {

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size() && out.size() < 16) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const auto start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool is_address(std::string_view s) {
  return Address::parse(s).has_value();
}

bool is_linux_destination(std::string_view s) {
  if (s == "default") return true;
  const auto slash = s.find('/');
  return is_address(s.substr(0, slash)) && (slash == std::string_view::npos || Prefix::parse(s));
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

bool has(const std::vector<std::string_view>& w, std::string_view word) {
  return std::find(w.begin(), w.end(), word) != w.end();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

enum Vote { kLinux, kWindows, kMacOs, kP2s, kVotes };

// One line's vote, if its shape belongs to one source only.
std::optional<Vote> vote(std::string_view line) {
  const auto w = words(line);
  if (w.empty()) return std::nullopt;
  // route print's section rules: a line of '=' only.
  if (w.size() == 1 && w[0].size() >= 20 && w[0].find_first_not_of('=') == std::string_view::npos)
    return kWindows;
  // netsh interface ipv4|ipv6 show route: a rule of six dash runs under the (translated) header,
  // then rows "publish type metric prefix/len idx gateway-or-name" (the first two words are
  // translated too: only the numbers and the prefix place it).
  if (w.size() == 6 && std::all_of(w.begin(), w.end(), [](std::string_view x) {
        return x.size() >= 3 && x.find_first_not_of('-') == std::string_view::npos;
      }))
    return kWindows;
  if (w.size() >= 6 && is_digits(w[2]) && w[3].find('/') != std::string_view::npos &&
      Prefix::parse(w[3]) && is_digits(w[4]))
    return kWindows;
  // routes.txt: "ADD 10.1.0.0 MASK 255.255.0.0 default METRIC default IF default"
  if (w.size() >= 4 && lower(w[0]) == "add" && lower(w[2]) == "mask" && is_address(w[1]))
    return kP2s;
  // ip rule: "32766:\tfrom all lookup main"
  if (w.size() >= 3 && w[0].size() >= 2 && w[0].back() == ':' &&
      is_digits(w[0].substr(0, w[0].size() - 1)) && (w[1] == "from" || w[1] == "not"))
    return kLinux;
  // net-tools headers and the /proc layouts.
  if (w[0] == "Destination" && (has(w, "Genmask") || (has(w, "Next") && has(w, "Met"))))
    return kLinux;
  if (w[0] == "Iface" && w.size() >= 8 && w[1] == "Destination") return kLinux;
  if (w.size() == 10 && w[0].size() == 32 && is_hex(w[0]) && w[4].size() == 32 && is_hex(w[4]))
    return kLinux;
  // BSD/macOS netstat: the interface column is "Netif", on-link gateways are "link#N".
  // (OpenBSD's `route -n show` has "Refs" and "Prio"; Linux net-tools says "Ref".)
  if (w[0] == "Destination" && (has(w, "Netif") || has(w, "Refs") || has(w, "Prio"))) return kMacOs;
  if (w.size() >= 3 && w[1].starts_with("link#")) return kMacOs;
  // ip route: DEST [via GW] dev IF ..., optionally after a route type.
  std::size_t i = 0;
  constexpr std::array<std::string_view, 12> kTypes = {
      "unicast",  "local",     "broadcast", "multicast", "anycast", "unreachable",
      "prohibit", "blackhole", "throw",     "nat",       "none",    "unspec"};
  if (std::find(kTypes.begin(), kTypes.end(), w[0]) != kTypes.end() && w.size() > 1) i = 1;
  if (i < w.size() && is_linux_destination(w[i]) && i + 2 < w.size() &&
      ((w[i + 1] == "via" && is_address(w[i + 2])) || w[i + 1] == "dev" || w[i + 1] == "proto" ||
       (w[i + 1] == "table" && i > 0) || w[i + 1] == "metric"))
    return kLinux;
  return std::nullopt;
}

}  // namespace

std::optional<SourceFormat> detect_format(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return std::nullopt;
  const std::string head = lower(text.substr(first, 4096));
  if (head.front() == '<' && (head.find("includeroutes") != std::string::npos ||
                              head.find("excluderoutes") != std::string::npos ||
                              head.find("<azvpnprofile") != std::string::npos))
    return SourceFormat::AzureVpnXml;
  if ((head.front() == '{' || head.front() == '[') &&
      (head.find("\"nexthoptype\"") != std::string::npos ||
       head.find("\"addressprefix\"") != std::string::npos))
    return SourceFormat::AzureEffective;

  std::array<std::size_t, kVotes> votes{};
  std::size_t lines = 0;
  while (!text.empty() && lines < 100000) {
    const auto nl = text.find('\n');
    if (auto v = vote(text.substr(0, nl))) ++votes[*v];
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++lines;
  }
  const auto best = std::max_element(votes.begin(), votes.end());
  if (*best == 0) return std::nullopt;
  switch (static_cast<Vote>(best - votes.begin())) {
    case kLinux:
      return SourceFormat::Linux;
    case kWindows:
      return SourceFormat::Windows;
    case kMacOs:
      return SourceFormat::MacOs;
    case kP2s:
      return SourceFormat::P2s;
    case kVotes:
      break;
  }
  return std::nullopt;
}

Expected<RouteTable> parse_routes(std::string_view text, SourceFormat format) {
  Expected<RouteTable> t = make_error("no parser", ErrorKind::Usage);
  switch (format) {
    case SourceFormat::Linux:
      t = parse_linux(text);
      break;
    case SourceFormat::Windows:
      t = parse_windows(text);
      break;
    case SourceFormat::MacOs:
      t = parse_macos(text);
      break;
    case SourceFormat::P2s:
      t = parse_p2s(text);
      break;
    case SourceFormat::AzureVpnXml:
      t = parse_azure_vpn_xml(text);
      break;
    case SourceFormat::AzureEffective:
      t = parse_azure_effective(text);
      break;
  }
  if (t) t->format = format;
  return t;
}

}  // namespace midiag::platform::routes
