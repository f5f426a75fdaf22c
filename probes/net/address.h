// IP addresses and the address classes the explanations reason about (private vs public...).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::net {

struct IpAddress {
  int family = 0;                        // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

  [[nodiscard]] std::string str() const;
  [[nodiscard]] bool is_v4() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// Parses a numeric IPv4 or IPv6 address (no names, no brackets, no port).
std::optional<IpAddress> parse_ip(std::string_view text);

// The address and port as connect() takes them.
struct SocketAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
};
SocketAddress to_socket_address(const IpAddress& ip, std::uint16_t port);

enum class AddressClass { Private, Public, Loopback, LinkLocal, Cgnat, Ula, Reserved };

// Spec §6 names: private|public|loopback|link_local|cgnat|ula (+ reserved: unspecified,
// multicast, 240/4 — never a valid answer for an MI name).
std::string_view to_string(AddressClass c);

struct Cidr {
  IpAddress base;
  int prefix = 0;
  [[nodiscard]] bool contains(const IpAddress& a) const;
};
Expected<Cidr> parse_cidr(std::string_view text);

// A user override "treat this prefix as that class" (networks that use public space privately;
// the lab uses it to stand in a "public" address inside 10.250.0.0/16).
struct ClassOverride {
  Cidr cidr;
  AddressClass cls = AddressClass::Public;
};
Expected<ClassOverride> parse_class_override(std::string_view text);  // "CIDR=CLASS"

AddressClass classify(const IpAddress& a, const std::vector<ClassOverride>& overrides = {});

}  // namespace midiag::net
