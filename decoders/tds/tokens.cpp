#include "decoders/tds/tokens.h"

#include <optional>
#include <string>

#include "decoders/common/byte_reader.h"
#include "decoders/tds/login7.h"
#include "decoders/tds/token_ids.h"

namespace midiag::tds {
namespace {

using namespace detail::token;

struct TokenName {
  std::uint8_t token;
  const char* name;
};
constexpr TokenName kNames[] = {
    {kTvpRow, "TVP_ROW"},
    {kOffset, "OFFSET"},
    {kReturnStatus, "RETURNSTATUS"},
    {kColMetadata, "COLMETADATA"},
    {kAltMetadata, "ALTMETADATA"},
    {kDataClassification, "DATACLASSIFICATION"},
    {kTabName, "TABNAME"},
    {kColInfo, "COLINFO"},
    {kOrder, "ORDER"},
    {kError, "ERROR"},
    {kInfo, "INFO"},
    {kReturnValue, "RETURNVALUE"},
    {kLoginAck, "LOGINACK"},
    {kFeatureExtAck, "FEATUREEXTACK"},
    {kRow, "ROW"},
    {kNbcRow, "NBCROW"},
    {kAltRow, "ALTROW"},
    {kEnvChange, "ENVCHANGE"},
    {kSessionState, "SESSIONSTATE"},
    {kSspi, "SSPI"},
    {kFedAuthInfo, "FEDAUTHINFO"},
    {kDone, "DONE"},
    {kDoneProc, "DONEPROC"},
    {kDoneInProc, "DONEINPROC"},
};

std::string token_name(std::uint8_t t) {
  std::string name = "unknown";
  for (const auto& n : kNames) {
    if (n.token == t) name = n.name;
  }
  return name + " (" + hex_byte(t) + ")";
}

// `at` is where the token starts; `bad` is where decoding it failed.
Error token_error(std::uint8_t t, std::size_t at, const std::string& what, std::size_t bad) {
  return make_error(token_name(t) + " token at offset " + std::to_string(at) + ": " + what,
                    ErrorKind::Malformed, bad);
}

std::string b_varchar(ByteReader& r) {
  const std::size_t n = r.u8();
  return from_utf16le(r.bytes(2 * n));
}
std::string us_varchar(ByteReader& r) {
  const std::size_t n = r.u16le();
  return from_utf16le(r.bytes(2 * n));
}

void split_server(Routing& r) {
  const auto slash = r.server.find('\\');
  r.host = r.server.substr(0, slash);
  r.instance = slash == std::string::npos ? "" : r.server.substr(slash + 1);
}

// Bodies: each reads from a reader bounded by the token's own length; false means it ran out.
bool read_loginack(ByteReader& b, TokenStream& ts) {
  LoginAck a;
  a.interface = b.u8();
  a.tds_version = b.u32be();
  a.prog_name = b_varchar(b);
  // SQL Server 2000 pads ProgName with NULs to 22 characters ("Microsoft SQL Server\0\0").
  while (!a.prog_name.empty() && a.prog_name.back() == '\0') a.prog_name.pop_back();
  a.major = b.u8();
  a.minor = b.u8();
  a.build_hi = b.u8();
  a.build_lo = b.u8();
  if (!b.ok()) return false;
  ts.login_ack = std::move(a);
  return true;
}

bool read_routing(ByteReader& b, EnvChange& ec) {
  const std::uint16_t len = b.u16le();
  ByteReader v = b.sub(len);
  Routing r;
  r.enhanced = ec.type == kEnvEnhancedRouting;
  r.protocol = v.u8();
  r.port = v.u16le();
  r.server = us_varchar(v);
  if (r.enhanced) r.database = us_varchar(v);
  if (!v.ok()) {
    b.fail();
    return false;
  }
  split_server(r);
  ec.new_value = r.server;
  ec.routing = std::move(r);
  return true;  // the old value (u16 0) is covered by the token length either way
}

bool read_envchange(ByteReader& b, TokenStream& ts) {
  EnvChange ec;
  ec.type = b.u8();
  switch (ec.type) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 13:
    case 19:
      ec.new_value = b_varchar(b);
      ec.old_value = b_varchar(b);
      break;
    case 7:
    case 8:
    case 9:
    case 10:
    case 11:
    case 12:
    case 16:
    case 17:
    case 18:
      b.skip(b.u8());  // B_VARBYTE new value (collation, transaction descriptors, ...)
      b.skip(b.u8());  // B_VARBYTE old value
      break;
    case 15:
      b.skip(b.u32le());  // L_VARBYTE new value (promoted transaction)
      b.skip(b.u8());
      break;
    case kEnvRouting:
    case kEnvEnhancedRouting:
      if (!read_routing(b, ec)) return false;
      break;
    default:
      break;  // unknown type: its bytes are passed over with the token
  }
  if (!b.ok()) return false;
  if (ec.routing && !ts.routing) ts.routing = ec.routing;
  ts.env_changes.push_back(std::move(ec));
  return true;
}

bool read_message(ByteReader& b, std::uint8_t t, TokenStream& ts) {
  ServerMessage m;
  m.is_error = t == kError;
  m.number = static_cast<std::int32_t>(b.u32le());
  m.state = b.u8();
  m.severity = b.u8();
  m.message = us_varchar(b);
  m.server_name = b_varchar(b);
  m.proc_name = b_varchar(b);
  // LineNumber is a u16 before TDS 7.2 and a u32 from 7.2 on: the token's own length tells.
  m.line = b.remaining() == 2 ? b.u16le() : b.u32le();
  if (!b.ok()) return false;
  ts.messages.push_back(std::move(m));
  return true;
}

bool read_done(ByteReader& b, std::uint8_t t, TokenStream& ts) {
  Done d;
  d.token = t;
  d.status = b.u16le();
  d.cur_cmd = b.u16le();
  d.row_count = b.remaining() == 4 ? b.u32le() : b.u64le();
  if (!b.ok()) return false;
  ts.dones.push_back(d);
  return true;
}

// Token with a u16 (or u32) byte length: hands back a reader over its body.
std::optional<Error> length_prefixed(ByteReader& r, std::uint8_t t, std::size_t at,
                                     std::size_t width, ByteReader& body) {
  const std::uint32_t len = width == 2 ? r.u16le() : r.u32le();
  if (!r.ok())
    return token_error(t, at, "the payload ends inside the length field", r.fail_offset());
  const std::size_t left = r.remaining();
  body = r.sub(len);
  if (!r.ok()) {
    return token_error(t, at,
                       "its length " + std::to_string(len) + " is more than the " +
                           std::to_string(left) + " bytes left in the payload",
                       r.fail_offset());
  }
  return std::nullopt;
}

std::optional<Error> skip_featureextack(ByteReader& r, std::size_t at) {
  while (true) {
    const std::size_t entry = r.offset();
    const std::uint8_t id = r.u8();
    if (!r.ok()) {
      return token_error(kFeatureExtAck, at, "the payload ends before its terminator",
                         r.fail_offset());
    }
    if (id == 0xFF) return std::nullopt;
    const std::uint32_t len = r.u32le();
    r.skip(len);
    if (!r.ok()) {
      return token_error(kFeatureExtAck, at,
                         "feature " + hex_byte(id) + " at offset " + std::to_string(entry) +
                             " runs past the end of the payload",
                         r.fail_offset());
    }
  }
}

}  // namespace

const ServerMessage* TokenStream::first_error() const {
  for (const auto& m : messages) {
    if (m.is_error) return &m;
  }
  return nullptr;
}

Expected<TokenStream> parse_tokens_as(std::span<const std::uint8_t> payload,
                                      std::uint32_t tds_version) {
  TokenStream ts;
  ByteReader r(payload);
  while (!r.at_end()) {
    const std::size_t at = r.offset();
    const std::uint8_t t = r.u8();
    ByteReader body({}, at);
    switch (t) {
      case kLoginAck:
      case kEnvChange:
      case kError:
      case kInfo: {
        if (auto err = length_prefixed(r, t, at, 2, body)) return *err;
        const bool ok = t == kLoginAck    ? read_loginack(body, ts)
                        : t == kEnvChange ? read_envchange(body, ts)
                                          : read_message(body, t, ts);
        if (!ok) {
          return token_error(t, at,
                             "its fields run past its own length (at offset " +
                                 std::to_string(body.fail_offset()) + ")",
                             body.fail_offset());
        }
        break;
      }
      case kDone:
      case kDoneProc:
      case kDoneInProc: {
        // status u16, curcmd u16, row count u64 (TDS 7.2+) or u32 (7.0 and 7.1). The server's
        // LOGINACK says which TDS it speaks; before one, the caller's version does.
        const std::uint32_t version = ts.login_ack ? ts.login_ack->tds_version : tds_version;
        const std::size_t size = version != 0 && tds_before_72(version) ? 8 : 12;
        body = r.sub(size);
        if (!r.ok() || !read_done(body, t, ts)) {
          return token_error(
              t, at, "truncated: needs " + std::to_string(size) + " bytes after the token byte",
              r.ok() ? body.fail_offset() : r.fail_offset());
        }
        break;
      }
      case kFeatureExtAck:
        if (auto err = skip_featureextack(r, at)) return *err;
        ts.skipped_tokens.push_back(t);
        break;
      case kSspi:
      case kTabName:
      case kColInfo:
      case kOrder:
        if (auto err = length_prefixed(r, t, at, 2, body)) return *err;
        ts.skipped_tokens.push_back(t);
        break;
      case kFedAuthInfo:
      case kSessionState:
        if (auto err = length_prefixed(r, t, at, 4, body)) return *err;
        ts.skipped_tokens.push_back(t);
        break;
      case kReturnStatus:
      case kOffset:
        if (!r.skip(4)) {
          return token_error(t, at, "truncated: needs 4 bytes after the token byte",
                             r.fail_offset());
        }
        ts.skipped_tokens.push_back(t);
        break;
      default:
        // Row data and metadata have no length of their own: nothing after them can be found.
        return token_error(t, at, "not expected in a login response and cannot be skipped", at);
    }
  }
  return ts;
}

Expected<TokenStream> parse_tokens(std::span<const std::uint8_t> payload) {
  return parse_tokens_as(payload, 0);
}

}  // namespace midiag::tds
