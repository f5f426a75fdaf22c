#include "probes/dns/servers.h"

#include <charconv>
#include <string_view>

#include "probes/net/address.h"

namespace midiag::dns {
namespace {

constexpr int kDnsPort = 53;

Expected<std::string> one_server(std::string_view text) {
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
  if (host.find('%') != std::string_view::npos) {
    return bad("scoped addresses (%zone) are not supported by c-ares 1.18");
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

Expected<std::string> servers_csv(const std::vector<std::string>& servers) {
  if (servers.empty()) return make_error("no DNS server to ask");
  std::string csv;
  for (const auto& s : servers) {
    auto one = one_server(s);
    if (!one) return one.error();
    csv += (csv.empty() ? "" : ",") + *one;
  }
  return csv;
}

}  // namespace midiag::dns
