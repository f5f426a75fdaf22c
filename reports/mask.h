// --mask (spec §7, opt-in): consistent, subnet-preserving masking of addresses and host names in a
// bundle's text members. One Masker per bundle: the same input gives the same output in every
// member, and map() (original -> masked) is for the user, kept outside the archive.
//
// IPv4: the /24 prefix is mapped one-to-one within its kind (10/8 stays in 10/8, 172.16/12,
//   192.168/16 and 100.64/10 in theirs, any other unicast into 11.0.0.0-99.255.255.0), the host
//   octet is kept (gateways .1, Azure's reserved .1-.3 stay recognisable). Kept as they are:
//   0.0.0.0/8, 127/8, 169.254/16 (IMDS 169.254.169.254), 168.63.129.16 (Azure DNS / wire server),
//   224/4 and above (multicast, netmasks 255.x, broadcast). A dotted quad right after the word
//   "version" (or "ver") is a version, not an address, and is kept; 3- and 5-part dotted numbers
//   are never addresses.
// IPv6: the /64 is mapped one-to-one keeping its first 16 bits (global 2xxx, ULA fdxx, fe80 stay
//   what they are; fe80::/64 itself is kept); an interface id below 0x10000 (::1, ::4) is kept,
//   a larger one (EUI-64, random) mapped by a keyed hash. ::, ::1 and ff00::/8 are kept;
//   ::ffff:a.b.c.d is masked as its IPv4.
// Host names: dotted names with a known top-level domain, or under a well-known Azure suffix.
//   Each label is mapped consistently ("contoso" is the same masked label everywhere, so names
//   under one domain stay under one masked domain); the top-level domain, Azure service suffixes
//   (.database.windows.net, .core.windows.net, ...) and the labels "public" and "privatelink" are
//   kept, so <mi>.public.<zone>.database.windows.net still reads as a public endpoint.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace midiag::reports {

class Masker {
 public:
  // The seed keys every mapping: a bundle draws one at random, tests pass a constant.
  explicit Masker(std::uint64_t seed) : seed_(seed) {}

  std::string mask_text(std::string_view text);

  // Every address and name masked so far, in the order first seen: original -> masked.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> map() const { return order_; }

 private:
  std::string ipv4(std::uint32_t addr);
  std::string ipv6(const std::uint8_t (&addr)[16]);
  std::string host(std::string_view name);
  std::string label(std::string_view l);
  std::uint64_t hash(std::string_view kind, std::string_view what) const;
  void remember(std::string_view original, std::string_view masked);

  std::uint64_t seed_;
  std::unordered_map<std::uint32_t, std::uint32_t> v4_prefix_;  // /24 -> /24 (as a.b.c)
  std::unordered_set<std::uint32_t> v4_used_;
  std::unordered_map<std::uint64_t, std::uint64_t> v6_prefix_;  // /64 -> /64
  std::unordered_set<std::uint64_t> v6_used_;
  std::unordered_map<std::string, std::string> labels_;
  std::unordered_set<std::string> labels_used_;
  std::unordered_map<std::string, std::string> seen_;
  std::vector<std::pair<std::string, std::string>> order_;
};

}  // namespace midiag::reports
