// LOGIN7 (MS-TDS 2.2.6.4): fixed part, offset/length table, UTF-16LE strings, obfuscated password.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::tds {

inline constexpr std::uint32_t kTds74 = 0x74000004;

// TypeFlags bit 5, fReadOnlyIntent: ApplicationIntent=ReadOnly (MS-TDS 2.2.6.4).
inline constexpr std::uint8_t kTypeFlagReadOnlyIntent = 0x20;

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
  // Integrated authentication: the SSPI token (ibSSPI/cbSSPI, NTLMSSP NEGOTIATE or SPNEGO/
  // Kerberos; decoders/tds/sspi.h reads it) and whether OptionFlags2 fIntSecurity is set.
  std::vector<std::uint8_t> sspi;
  bool integrated_security = false;
  bool fedauth = false;  // FeatureExt carries FEDAUTH (0x02): Azure AD / Entra authentication
  // Parsing never recovers the password into logs: `password` is filled only when asked.
};

// Builds the LOGIN7 payload (not framed). Strings are UTF-8 in, UTF-16LE out; the password is
// obfuscated as MS-TDS requires (swap nibbles, XOR 0xA5).
std::vector<std::uint8_t> build_login7(const Login7& login);

// Parses a LOGIN7 payload. The password is left empty unless `reveal_password` (tests only):
// reports must never carry it.
Expected<Login7> parse_login7(std::span<const std::uint8_t> payload, bool reveal_password = false);

// TDS versions as LOGIN7 and LOGINACK carry them (0x70000000/0x07000000 = 7.0, 0x71000000/
// 0x71000001/0x07010000 = 7.1, 0x72090002 = 7.2, 0x730B0003 = 7.3, 0x74000004 = 7.4, 0x08000000 =
// TDS 8). True for 7.0 and 7.1 (86-byte LOGIN7 fixed part, u16 INFO line, u32 DONE row count).
bool tds_before_72(std::uint32_t tds_version);
// True for 7.0 to 7.3: no FeatureExt in LOGIN7.
bool tds_before_74(std::uint32_t tds_version);
// "7.1 rev 1", "7.4", "8.0", ... or the hex value when MS-TDS does not name it.
std::string tds_version_name(std::uint32_t tds_version);

// UTF-16LE helpers shared by LOGIN7 and the token stream.
std::vector<std::uint8_t> to_utf16le(std::string_view utf8);
std::string from_utf16le(std::span<const std::uint8_t> bytes);

}  // namespace midiag::tds
