#include "decoders/tds/login7.h"

#include <array>
#include <optional>
#include <string>

#include "decoders/common/byte_reader.h"
#include "decoders/tds/writer.h"

namespace midiag::tds {
namespace {

// The fixed part, offset table included, grows with the TDS version (MS-TDS 2.2.6.4): TDS 7.0
// and 7.1 end after ibAtchDBFile/cchAtchDBFile (86 bytes); TDS 7.2 added ibChangePassword/
// cchChangePassword and cbSSPILong (94 bytes).
constexpr std::size_t kFixedSize71 = 86;
constexpr std::size_t kFixedSize72 = 94;
constexpr std::size_t kTableAt = 36;  // first ib/cch pair
constexpr std::size_t kClientIdAt = 72;
constexpr std::size_t kSspiAt = 78;
constexpr std::size_t kSspiLongAt = 90;
constexpr std::uint8_t kExtensionFlag = 0x10;    // OptionFlags3 fExtension: ibExtension is in use
constexpr std::size_t kMaxChars = 128;           // MS-TDS limit for every LOGIN7 string we send
constexpr std::uint8_t kIntSecurityFlag = 0x80;  // OptionFlags2 fIntSecurity
constexpr std::uint8_t kFeatureFedAuth = 0x02, kFeatureTerminator = 0xFF;
constexpr int kMaxFeatures = 64;

// True when the FeatureExt list at `at` names FEDAUTH; a cut list just stops the walk.
bool has_fedauth(std::span<const std::uint8_t> payload, std::size_t at, std::size_t limit) {
  if (at == 0 || at >= limit) return false;
  ByteReader r(payload.subspan(at, limit - at), at);
  for (int i = 0; i < kMaxFeatures && r.ok(); ++i) {
    const std::uint8_t id = r.u8();
    if (!r.ok() || id == kFeatureTerminator) return false;
    if (id == kFeatureFedAuth) return true;
    r.skip(r.u32le());
  }
  return false;
}

std::uint8_t obfuscate(std::uint8_t b) {
  return static_cast<std::uint8_t>(((b << 4) | (b >> 4)) ^ 0xA5);
}
std::uint8_t deobfuscate(std::uint8_t b) {
  const auto x = static_cast<std::uint8_t>(b ^ 0xA5);
  return static_cast<std::uint8_t>((x << 4) | (x >> 4));
}

detail::Bytes capped_utf16(std::string_view s) {
  detail::Bytes b = to_utf16le(s);
  if (b.size() <= 2 * kMaxChars) return b;
  std::size_t cut = 2 * kMaxChars;
  if (b[cut - 1] >= 0xD8 && b[cut - 1] <= 0xDB) cut -= 2;  // never split a surrogate pair
  b.resize(cut);
  return b;
}

// One ib/cch pair of the offset table, with how its length is counted.
struct Field {
  const char* name;
  std::size_t table_at;
  std::uint16_t ib = 0;
  std::uint32_t count = 0;
  std::size_t unit = 2;  // UTF-16 characters, or 1 for byte counts (SSPI, extension)
};

std::size_t fixed_size(std::uint32_t tds_version) {
  return tds_before_72(tds_version) ? kFixedSize71 : kFixedSize72;
}

std::string hex_u32(std::uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) s += kDigits[(v >> shift) & 0xF];
  return s;
}

std::optional<Error> check(const Field& f, std::size_t limit, std::size_t fixed) {
  const std::size_t bytes = static_cast<std::size_t>(f.count) * f.unit;
  auto fail = [&](const std::string& what) {
    return make_error(std::string("LOGIN7 ") + f.name + " (table entry at offset " +
                          std::to_string(f.table_at) + "): offset " + std::to_string(f.ib) +
                          ", length " + std::to_string(bytes) + " bytes " + what,
                      ErrorKind::Malformed, f.table_at);
  };
  if (f.ib + bytes > limit) {
    return fail("runs past the " + std::to_string(limit) + "-byte LOGIN7 structure");
  }
  if (bytes != 0 && f.ib < fixed) {
    return fail("overlaps the " + std::to_string(fixed) + "-byte fixed part");
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::uint8_t> build_login7(const Login7& login) {
  const std::size_t fixed = fixed_size(login.tds_version);
  detail::Bytes out(fixed, 0);
  detail::patch_le(out, 4, login.tds_version, 4);
  detail::patch_le(out, 8, login.packet_size, 4);
  detail::patch_le(out, 12, login.client_prog_version, 4);
  detail::patch_le(out, 16, login.client_pid, 4);
  detail::patch_le(out, 20, login.connection_id, 4);
  out[24] = login.option_flags1;
  out[25] = login.option_flags2;
  out[26] = login.type_flags;
  out[27] = login.option_flags3 & static_cast<std::uint8_t>(~kExtensionFlag);  // none sent
  detail::patch_le(out, 28, 0, 4);       // ClientTimeZone: unused by servers
  detail::patch_le(out, 32, 0x0409, 4);  // ClientLCID: en-US, as in the MS-TDS example

  auto add = [&](std::size_t table_at, std::string_view s, bool secret) {
    detail::Bytes b = capped_utf16(s);
    if (secret) {
      for (auto& c : b) c = obfuscate(c);
    }
    detail::patch_le(out, table_at, out.size(), 2);
    detail::patch_le(out, table_at + 2, b.size() / 2, 2);
    detail::put_bytes(out, b);
  };
  add(36, login.host_name, false);
  add(40, login.user_name, false);
  add(44, login.password, true);
  add(48, login.app_name, false);
  add(52, login.server_name, false);
  add(56, "", false);  // ibExtension: no feature extension
  add(60, login.library_name, false);
  add(64, login.language, false);
  add(68, login.database, false);
  // ClientID (72..77) stays zero: we do not disclose a MAC address.
  add(kSspiAt, "", false);
  add(82, "", false);  // AtchDBFile
  if (fixed == kFixedSize72) {
    add(86, "", false);  // ChangePassword
    detail::patch_le(out, kSspiLongAt, 0, 4);
  }
  detail::patch_le(out, 0, out.size(), 4);
  return out;
}

Expected<Login7> parse_login7(std::span<const std::uint8_t> payload, bool reveal_password) {
  if (payload.size() < kFixedSize71) {
    return make_error("LOGIN7 at offset 0: " + std::to_string(payload.size()) +
                          " bytes, the fixed part alone needs 86",
                      ErrorKind::Malformed, 0);
  }
  ByteReader r(payload);
  const std::uint32_t length = r.u32le();
  Login7 l;
  l.tds_version = r.u32le();
  // Only the fields the client's TDS version has are read: a TDS 7.1 LOGIN7 puts its strings
  // where a 7.2 one has ibChangePassword and cbSSPILong.
  const std::size_t fixed = fixed_size(l.tds_version);
  if (length < fixed || length > payload.size()) {
    return make_error("LOGIN7 Length at offset 0: " + std::to_string(length) +
                          " does not fit between " + std::to_string(fixed) +
                          " (the fixed part for TDS version " + hex_u32(l.tds_version) +
                          ") and the " + std::to_string(payload.size()) + "-byte payload",
                      ErrorKind::Malformed, 0);
  }
  l.packet_size = r.u32le();
  l.client_prog_version = r.u32le();
  l.client_pid = r.u32le();
  l.connection_id = r.u32le();
  l.option_flags1 = r.u8();
  l.option_flags2 = r.u8();
  l.type_flags = r.u8();
  l.option_flags3 = r.u8();
  r.skip(8);  // ClientTimeZone, ClientLCID

  static constexpr std::array<const char*, 9> kNames = {
      "ibHostName",  "ibUserName",   "ibPassword", "ibAppName", "ibServerName",
      "ibExtension", "ibCltIntName", "ibLanguage", "ibDatabase"};
  std::array<Field, 9> f{};
  for (std::size_t i = 0; i < f.size(); ++i) {
    f[i] = Field{kNames[i], kTableAt + 4 * i, r.u16le(), r.u16le()};
  }
  f[5].unit = 1;  // cbExtension counts bytes
  r.skip(6);      // ClientID
  Field sspi{"ibSSPI", kSspiAt, r.u16le(), r.u16le(), 1};
  Field attach{"ibAtchDBFile", 82, r.u16le(), r.u16le()};
  Field change{"ibChangePassword", 86};
  if (fixed == kFixedSize72) {
    change.ib = r.u16le();
    change.count = r.u16le();
    const std::uint32_t sspi_long = r.u32le();
    if (sspi.count == 0xFFFF) sspi.count = sspi_long;  // the long form takes over at USHRT_MAX
  }

  const std::size_t limit = length;
  for (const Field& field : f) {
    if (auto err = check(field, limit, fixed)) return *err;
  }
  for (const Field* field : {&sspi, &attach, &change}) {
    if (auto err = check(*field, limit, fixed)) return *err;
  }
  // Before TDS 7.4 the ibExtension pair is ibUnused and OptionFlags3 has no fExtension bit.
  if (!tds_before_74(l.tds_version) && (l.option_flags3 & kExtensionFlag) != 0 && f[5].count >= 4) {
    ByteReader ext(payload.subspan(f[5].ib, 4), f[5].ib);
    const std::uint32_t feature_at = ext.u32le();
    if (feature_at > limit || (feature_at != 0 && feature_at < fixed)) {
      return make_error("LOGIN7 ibExtension at offset " + std::to_string(f[5].ib) +
                            ": FeatureExt offset " + std::to_string(feature_at) +
                            " lies outside the LOGIN7 structure",
                        ErrorKind::Malformed, f[5].ib);
    }
    l.fedauth = has_fedauth(payload, feature_at, limit);
  }

  auto text = [&](const Field& field) {
    return from_utf16le(payload.subspan(field.ib, std::size_t{field.count} * 2));
  };
  l.host_name = text(f[0]);
  l.user_name = text(f[1]);
  if (reveal_password) {
    auto secret = payload.subspan(f[2].ib, std::size_t{f[2].count} * 2);
    detail::Bytes clear(secret.begin(), secret.end());
    for (auto& c : clear) c = deobfuscate(c);
    l.password = from_utf16le(clear);
  }
  l.app_name = text(f[3]);
  l.server_name = text(f[4]);
  l.library_name = text(f[6]);
  l.language = text(f[7]);
  l.database = text(f[8]);
  l.integrated_security = (l.option_flags2 & kIntSecurityFlag) != 0;
  l.sspi.assign(payload.begin() + sspi.ib, payload.begin() + sspi.ib + sspi.count);
  return l;
}

bool tds_before_72(std::uint32_t v) {
  const std::uint32_t major = v >> 24;
  return major == 0x70 || major == 0x71 || v == 0x07000000 || v == 0x07010000;
}

bool tds_before_74(std::uint32_t v) {
  const std::uint32_t major = v >> 24;
  return tds_before_72(v) || major == 0x72 || major == 0x73;
}

std::string tds_version_name(std::uint32_t v) {
  switch (v) {
    case 0x70000000:
    case 0x07000000:
      return "7.0";
    case 0x71000000:
    case 0x07010000:
      return "7.1";
    case 0x71000001:
      return "7.1 rev 1";
    case 0x72090002:
      return "7.2";
    case 0x730A0003:
      return "7.3A";
    case 0x730B0003:
      return "7.3B";
    case 0x74000004:
      return "7.4";
    case 0x08000000:
      return "8.0";
    default:
      return hex_u32(v);
  }
}

}  // namespace midiag::tds
