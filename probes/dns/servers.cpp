#include "probes/dns/servers.h"

#include <charconv>
#include <string_view>
#include <utility>
#include <variant>

#include "probes/net/address.h"

namespace midiag::dns {
namespace {

constexpr int kDnsPort = 53;

// Marks a server left out rather than a bad one.
struct Skipped {
  std::string why;
};

std::variant<std::string, Skipped, Error> one_server(std::string_view text) {
  const auto bad = [&text](std::string_view why) {
    return make_error("invalid DNS server '" + std::string(text) + "': " + std::string(why));
  };
  std::string_view host = text;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty() && port.front() != ':') return bad("expected ':port' after ']'");
  } else if (host.find(':') == host.rfind(':') && host.find(':') != std::string_view::npos) {
    port = host.substr(host.find(':'));  // exactly one colon: IPv4 with a port
    host = host.substr(0, host.find(':'));
  }
  const bool has_port = !port.empty();
  if (has_port) port.remove_prefix(1);
  if (const auto pct = host.find('%'); pct != std::string_view::npos) {
    if (!net::parse_ip(host.substr(0, pct))) return bad("not a numeric IPv4 or IPv6 address");
    return Skipped{"DNS server " + std::string(text) +
                   ": scoped address (%zone), which c-ares 1.18 cannot use; skipped"};
  }
  auto ip = net::parse_ip(host);
  if (!ip) return bad("not a numeric IPv4 or IPv6 address");
  int number = kDnsPort;
  if (has_port) {
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (ec != std::errc{} || end != port.data() + port.size() || number < 1 || number > 65535) {
      return bad("port must be 1-65535");
    }
  }
  const std::string addr = ip->str();
  return (ip->is_v4() ? addr : "[" + addr + "]") + ":" + std::to_string(number);
}

}  // namespace

Expected<ServerList> usable_servers(const std::vector<std::string>& servers) {
  if (servers.empty()) return make_error("no DNS server to ask");
  ServerList list;
  for (const auto& s : servers) {
    auto one = one_server(s);
    if (auto* error = std::get_if<Error>(&one)) return *error;
    if (auto* skipped = std::get_if<Skipped>(&one)) {
      list.skipped.push_back(std::move(skipped->why));
      continue;
    }
    list.csv += (list.csv.empty() ? "" : ",") + std::get<std::string>(one);
    ++list.count;
  }
  if (list.count == 0) {
    std::string why = "no usable DNS server";
    for (const auto& s : list.skipped) why += "; " + s;
    return make_error(why);
  }
  return list;
}

}  // namespace midiag::dns
