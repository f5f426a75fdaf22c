#include <cstdio>
#include <string>

#include "decoders/pcap/flows.h"

namespace midiag::pcap {
namespace {

std::string dotted(const std::uint8_t* b) {
  return std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) + "." +
         std::to_string(b[3]);
}

}  // namespace

std::string Address::str() const {
  if (family == 4) return dotted(bytes.data());
  bool mapped = bytes[10] == 0xFF && bytes[11] == 0xFF;
  for (std::size_t i = 0; i < 10; ++i) mapped = mapped && bytes[i] == 0;
  if (mapped) return "::ffff:" + dotted(bytes.data() + 12);
  std::array<unsigned, 8> groups{};
  for (std::size_t i = 0; i < 8; ++i) groups[i] = (bytes[2 * i] << 8U) | bytes[2 * i + 1];
  // RFC 5952 4.2: the longest run of two or more zero groups (the first on a tie) becomes "::".
  std::size_t best = 8, best_len = 1;
  for (std::size_t i = 0; i < 8;) {
    std::size_t j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len) best = i, best_len = j - i;
    i = j == i ? i + 1 : j;
  }
  std::string out;
  char hex[8];
  for (std::size_t i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(hex, sizeof hex, "%x", groups[i]);
    out += hex;
  }
  return out;
}

std::string Endpoint::str() const {
  const std::string a = address.str();
  return (address.family == 6 ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

bool is_sql_port(std::uint16_t port) {
  return port == 1433 || port == 3342 || (port >= 11000 && port <= 11999);
}

}  // namespace midiag::pcap
