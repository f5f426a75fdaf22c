// LOGIN7 (MS-TDS 2.2.6.4): fixed part, offset/length table, UTF-16LE strings, obfuscated password.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::tds {

inline constexpr std::uint32_t kTds74 = 0x74000004;

struct Login7 {
  std::uint32_t tds_version = kTds74;
  std::uint32_t packet_size = 4096;
  std::uint32_t client_prog_version = 0;
  std::uint32_t client_pid = 0;
  std::uint32_t connection_id = 0;
  std::uint8_t option_flags1 = 0xE0;  // USE_DB_ON | INIT_DB_FATAL | SET_LANG_ON
  std::uint8_t option_flags2 = 0x03;  // INIT_LANG_FATAL | ODBC_ON
  std::uint8_t type_flags = 0;
  std::uint8_t option_flags3 = 0;
  std::string host_name, user_name, password, app_name, server_name, library_name, language,
      database;
  // Parsing never recovers the password into logs: `password` is filled only when asked.
};

// Builds the LOGIN7 payload (not framed). Strings are UTF-8 in, UTF-16LE out; the password is
// obfuscated as MS-TDS requires (swap nibbles, XOR 0xA5).
std::vector<std::uint8_t> build_login7(const Login7& login);

// Parses a LOGIN7 payload. The password is left empty unless `reveal_password` (tests only):
// reports must never carry it.
Expected<Login7> parse_login7(std::span<const std::uint8_t> payload, bool reveal_password = false);

// UTF-16LE helpers shared by LOGIN7 and the token stream.
std::vector<std::uint8_t> to_utf16le(std::string_view utf8);
std::string from_utf16le(std::span<const std::uint8_t> bytes);

}  // namespace midiag::tds
