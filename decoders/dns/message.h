// DNS response decoding (RFC 1035 wire format): header, answer records with name compression,
// and the CNAME chain a resolver followed. Pure: bytes in, values out, every read bounds-checked.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::dns {

inline constexpr std::uint16_t kTypeA = 1;
inline constexpr std::uint16_t kTypeCname = 5;
inline constexpr std::uint16_t kTypeAaaa = 28;
inline constexpr std::uint16_t kClassIn = 1;

inline constexpr std::uint8_t kRcodeNoError = 0;
inline constexpr std::uint8_t kRcodeServFail = 2;
inline constexpr std::uint8_t kRcodeNxDomain = 3;
inline constexpr std::uint8_t kRcodeRefused = 5;

struct Header {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;  // the raw flags word: QR, opcode, AA, TC, RD, RA, Z, rcode
  std::uint16_t qdcount = 0;
  std::uint16_t ancount = 0;
  std::uint16_t nscount = 0;
  std::uint16_t arcount = 0;

  [[nodiscard]] bool is_response() const { return (flags & 0x8000) != 0; }
  [[nodiscard]] bool truncated() const { return (flags & 0x0200) != 0; }
  [[nodiscard]] std::uint8_t rcode() const { return static_cast<std::uint8_t>(flags & 0x000F); }
};

struct ResourceRecord {
  std::string name;  // owner name, decoded, no trailing dot ("" is the root)
  std::uint16_t type = 0;
  std::uint16_t cls = 0;
  std::uint32_t ttl = 0;
  std::string target;                      // CNAME only: the canonical name it points to
  std::array<std::uint8_t, 16> address{};  // A (first 4 bytes) or AAAA, network order
};

struct Question {
  std::string name;  // decoded like an owner name
  std::uint16_t type = 0;
  std::uint16_t cls = 0;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers;  // other types keep name, type, class and TTL only
};

// Decodes header, the questions and the answer section. A malformed message is an
// Error naming the byte offset ("malformed DNS message at byte 12: ...").
Expected<Message> parse_message(std::span<const std::uint8_t> wire);

struct CnameHop {
  std::string name;
  std::string target;
  std::uint32_t ttl = 0;
};

struct ChainResult {
  std::vector<CnameHop> chain;            // in the order followed from the queried name
  std::vector<ResourceRecord> addresses;  // A/AAAA records owned by the chain's final name
};

// Follows CNAMEs from `qname` (case-insensitive, trailing dot ignored) through the answers.
ChainResult follow_cname_chain(const Message& message, std::string_view qname);

// Lower-case, without the trailing root dot: how DNS names compare (RFC 4343).
std::string canonical_name(std::string_view name);

}  // namespace midiag::dns
