// Integrated authentication inside TDS: the SSPI blob of LOGIN7 (ibSSPI/cbSSPI) and the SSPI
// messages (packet type 0x11) that follow it. Only what says who logged in and how is decoded:
// the NTLMSSP message type, its flags and, from AUTHENTICATE, the domain, user and workstation
// names (MS-NLMP 2.2.1). Challenge responses, session keys and the MIC are never read out.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "decoders/common/expected.h"

namespace midiag::tds {

inline constexpr std::uint32_t kNtlmNegotiate = 1, kNtlmChallenge = 2, kNtlmAuthenticate = 3;
inline constexpr std::uint32_t kNtlmFlagUnicode = 0x00000001;  // NTLMSSP_NEGOTIATE_UNICODE

struct NtlmMessage {
  std::uint32_t type = 0;   // kNtlmNegotiate | kNtlmChallenge | kNtlmAuthenticate | other
  std::uint32_t flags = 0;  // NegotiateFlags
  // AUTHENTICATE only: UTF-16LE when the UNICODE flag is set, else OEM bytes; both come back as
  // valid UTF-8 (bad bytes replaced).
  std::string domain, user, workstation;
};

// Parses an NTLMSSP message starting at the "NTLMSSP\0" signature. An Error (ErrorKind::Malformed)
// names the byte offset when the signature, the header or a name's offset/length is wrong.
Expected<NtlmMessage> parse_ntlmssp(std::span<const std::uint8_t> bytes);

// What an SSPI token carries: the NTLMSSP message it holds (raw, or wrapped in SPNEGO / GSS-API,
// found by its signature within the first kMaxSspiScan bytes), or nothing for Kerberos and
// other mechanisms.
inline constexpr std::size_t kMaxSspiScan = 4096;
std::optional<NtlmMessage> find_ntlmssp(std::span<const std::uint8_t> token);

// "ntlm" when the token holds NTLMSSP, else "sspi" (Kerberos, or a mechanism not recognised).
std::string sspi_kind(std::span<const std::uint8_t> token);

// "DOMAIN\user", or "user" without a domain.
std::string ntlm_login_name(const NtlmMessage& m);

}  // namespace midiag::tds
