// PRELOGIN (MS-TDS 2.2.6.5): option table then data; the server answers in a type 0x04 packet.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::tds {

enum class Encryption : std::uint8_t { Off = 0x00, On = 0x01, NotSup = 0x02, Req = 0x03 };
inline constexpr std::uint8_t kEncryptClientCertBit = 0x80;
std::string_view to_string(Encryption e);  // OFF|ON|NOT_SUP|REQ

struct Version {
  std::uint8_t major = 0, minor = 0;
  std::uint16_t build = 0;                // big-endian on the wire
  std::uint16_t sub_build = 0;            // little-endian on the wire
  std::vector<std::uint8_t> raw;          // the 6 bytes as sent
  [[nodiscard]] std::string str() const;  // "16.0.4105.0"
};

struct Prelogin {
  std::optional<Version> version;          // option 0x00
  std::optional<Encryption> encryption;    // option 0x01, without the client-cert bit
  bool client_cert = false;                // 0x80 bit of ENCRYPTION
  std::optional<std::string> instance;     // option 0x02 (NUL-terminated on the wire)
  std::optional<std::uint32_t> thread_id;  // option 0x03; absent when length 0
  bool thread_id_present = false;          // the option was there (possibly with length 0)
  std::optional<bool> mars;                // option 0x04
  std::optional<std::vector<std::uint8_t>> trace_id;  // option 0x05 (36 bytes)
  std::optional<bool> fedauth_required;               // option 0x06
  std::optional<std::vector<std::uint8_t>> nonce;     // option 0x07 (32 bytes)
  std::vector<std::uint8_t> unknown_options;          // tokens seen but not known
};

// Parses a PRELOGIN payload (either direction). Offsets/lengths are validated against the payload;
// errors name the byte offset.
Expected<Prelogin> parse_prelogin(std::span<const std::uint8_t> payload);

// Builds a client PRELOGIN payload (not framed): VERSION, ENCRYPTION, INSTOPT, THREADID, MARS
// and, when asked, FEDAUTHREQUIRED.
std::vector<std::uint8_t> build_prelogin(const Prelogin& p);

}  // namespace midiag::tds
