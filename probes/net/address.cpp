#include "probes/net/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace midiag::net {

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, bytes.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

bool IpAddress::is_v4() const {
  return family == AF_INET;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return std::nullopt;
}

std::string_view to_string(AddressClass c) {
  switch (c) {
    case AddressClass::Private:
      return "private";
    case AddressClass::Public:
      return "public";
    case AddressClass::Loopback:
      return "loopback";
    case AddressClass::LinkLocal:
      return "link_local";
    case AddressClass::Cgnat:
      return "cgnat";
    case AddressClass::Ula:
      return "ula";
    case AddressClass::Reserved:
      return "reserved";
  }
  return "public";
}

bool Cidr::contains(const IpAddress& a) const {
  if (a.family != base.family) return false;
  int full = prefix / 8;
  if (std::memcmp(a.bytes.data(), base.bytes.data(), static_cast<size_t>(full)) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a.bytes[static_cast<size_t>(full)] & mask) ==
         (base.bytes[static_cast<size_t>(full)] & mask);
}

Expected<Cidr> parse_cidr(std::string_view text) {
  auto slash = text.find('/');
  auto addr = parse_ip(text.substr(0, slash));
  if (!addr) return make_error("'" + std::string(text) + "' is not an address or CIDR prefix");
  int max = addr->is_v4() ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    auto p = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || ptr != p.data() + p.size() || p.empty() || prefix < 0 || prefix > max)
      return make_error("'" + std::string(text) + "' has a bad prefix length (0-" +
                        std::to_string(max) + ")");
  }
  return Cidr{*addr, prefix};
}

Expected<ClassOverride> parse_class_override(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos)
    return make_error("'" + std::string(text) +
                      "' is not CIDR=CLASS (e.g. 10.250.200.0/24=public)");
  auto cidr = parse_cidr(text.substr(0, eq));
  if (!cidr) return cidr.error();
  auto name = text.substr(eq + 1);
  for (auto c :
       {AddressClass::Private, AddressClass::Public, AddressClass::Loopback,
        AddressClass::LinkLocal, AddressClass::Cgnat, AddressClass::Ula, AddressClass::Reserved}) {
    if (to_string(c) == name) return ClassOverride{*cidr, c};
  }
  return make_error("unknown address class '" + std::string(name) +
                    "' (private|public|loopback|link_local|cgnat|ula|reserved)");
}

namespace {
bool in(const IpAddress& a, std::string_view cidr) {
  auto c = parse_cidr(cidr);
  return c.ok() && c->contains(a);
}
}  // namespace

AddressClass classify(const IpAddress& a, const std::vector<ClassOverride>& overrides) {
  for (const auto& o : overrides)
    if (o.cidr.contains(a)) return o.cls;
  if (a.is_v4()) {
    if (in(a, "10.0.0.0/8") || in(a, "172.16.0.0/12") || in(a, "192.168.0.0/16"))
      return AddressClass::Private;
    if (in(a, "127.0.0.0/8")) return AddressClass::Loopback;
    if (in(a, "169.254.0.0/16")) return AddressClass::LinkLocal;
    if (in(a, "100.64.0.0/10")) return AddressClass::Cgnat;
    if (in(a, "0.0.0.0/8") || in(a, "224.0.0.0/4") || in(a, "240.0.0.0/4"))
      return AddressClass::Reserved;
    return AddressClass::Public;
  }
  // IPv4-mapped IPv6 is judged as the IPv4 address it carries.
  if (in(a, "::ffff:0:0/96")) {
    IpAddress v4;
    v4.family = AF_INET;
    std::memcpy(v4.bytes.data(), a.bytes.data() + 12, 4);
    return classify(v4, overrides);
  }
  if (in(a, "::1/128")) return AddressClass::Loopback;
  if (in(a, "fe80::/10")) return AddressClass::LinkLocal;
  if (in(a, "fc00::/7")) return AddressClass::Ula;
  if (in(a, "::/128") || in(a, "ff00::/8")) return AddressClass::Reserved;
  return AddressClass::Public;
}

SocketAddress to_socket_address(const IpAddress& ip, std::uint16_t port) {
  SocketAddress d;
  if (ip.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&d.addr);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, ip.bytes.data(), 4);
    d.len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&d.addr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, ip.bytes.data(), 16);
    d.len = sizeof(sockaddr_in6);
  }
  return d;
}

}  // namespace midiag::net
