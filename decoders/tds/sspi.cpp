#include "decoders/tds/sspi.h"

#include <algorithm>
#include <array>

#include "decoders/common/byte_reader.h"
#include "decoders/common/utf8.h"
#include "decoders/tds/login7.h"

namespace midiag::tds {
namespace {

constexpr std::array<std::uint8_t, 8> kSignature = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
constexpr std::size_t kMaxName = 512;  // bytes of a name kept; longer ones are cut

// A security buffer (MS-NLMP 2.2.2.10): Len u16, MaxLen u16, BufferOffset u32, from the
// message's start. A buffer outside the message is an error, not a guess.
Expected<std::string> read_name(std::span<const std::uint8_t> msg, std::size_t field_at,
                                bool unicode, const char* what) {
  ByteReader r(msg.subspan(std::min(field_at, msg.size())), field_at);
  const std::uint16_t len = r.u16le();
  r.skip(2);
  const std::uint32_t offset = r.u32le();
  if (!r.ok())
    return make_error(std::string("NTLMSSP ") + what + " field truncated", ErrorKind::Malformed,
                      r.fail_offset());
  if (len == 0) return std::string();
  if (offset > msg.size() || len > msg.size() - offset)
    return make_error(std::string("NTLMSSP ") + what + " at offset " + std::to_string(offset) +
                          " (" + std::to_string(len) + " bytes) lies outside the " +
                          std::to_string(msg.size()) + "-byte message",
                      ErrorKind::Malformed, field_at);
  auto bytes = msg.subspan(offset, std::min<std::size_t>(len, kMaxName));
  if (unicode) return from_utf16le(bytes);
  return to_valid_utf8(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace

Expected<NtlmMessage> parse_ntlmssp(std::span<const std::uint8_t> msg) {
  if (msg.size() < 12 || !std::equal(kSignature.begin(), kSignature.end(), msg.begin()))
    return make_error("not an NTLMSSP message (no NTLMSSP signature at offset 0)",
                      ErrorKind::Malformed, 0);
  ByteReader r(msg.subspan(8), 8);
  NtlmMessage m;
  m.type = r.u32le();
  if (m.type == kNtlmNegotiate) {
    m.flags = r.u32le();
  } else if (m.type == kNtlmChallenge) {
    r.skip(8);  // TargetNameFields
    m.flags = r.u32le();
  } else if (m.type == kNtlmAuthenticate) {
    r.skip(48);  // Lm, Nt, Domain, User, Workstation, EncryptedRandomSessionKey fields
    m.flags = r.u32le();
  }
  if (!r.ok())
    return make_error("NTLMSSP message type " + std::to_string(m.type) + " header truncated",
                      ErrorKind::Malformed, r.fail_offset());
  if (m.type != kNtlmAuthenticate) return m;
  const bool unicode = (m.flags & kNtlmFlagUnicode) != 0;
  auto domain = read_name(msg, 28, unicode, "DomainName");
  if (!domain) return domain.error();
  auto user = read_name(msg, 36, unicode, "UserName");
  if (!user) return user.error();
  auto workstation = read_name(msg, 44, unicode, "Workstation");
  if (!workstation) return workstation.error();
  m.domain = std::move(*domain);
  m.user = std::move(*user);
  m.workstation = std::move(*workstation);
  return m;
}

std::optional<NtlmMessage> find_ntlmssp(std::span<const std::uint8_t> token) {
  const auto scan = token.subspan(0, std::min(token.size(), kMaxSspiScan));
  const auto at = std::search(scan.begin(), scan.end(), kSignature.begin(), kSignature.end());
  if (at == scan.end()) return std::nullopt;
  auto m = parse_ntlmssp(token.subspan(static_cast<std::size_t>(at - scan.begin())));
  if (!m) return std::nullopt;
  return *m;
}

std::string sspi_kind(std::span<const std::uint8_t> token) {
  return find_ntlmssp(token) ? "ntlm" : "sspi";
}

std::string ntlm_login_name(const NtlmMessage& m) {
  return m.domain.empty() ? m.user : m.domain + "\\" + m.user;
}

}  // namespace midiag::tds
