// Builders for the login response tokens (used by the simulated instance and by tests).
#include <string>

#include "decoders/tds/login7.h"
#include "decoders/tds/token_ids.h"
#include "decoders/tds/tokens.h"
#include "decoders/tds/writer.h"

namespace midiag::tds {
namespace {

using namespace detail::token;

// UTF-16LE of s cut to at most max_units code units, never inside a surrogate pair.
detail::Bytes utf16_capped(std::string_view s, std::size_t max_units) {
  detail::Bytes b = to_utf16le(s);
  if (b.size() <= 2 * max_units) return b;
  std::size_t cut = 2 * max_units;
  if (cut >= 2 && b[cut - 1] >= 0xD8 && b[cut - 1] <= 0xDB) cut -= 2;  // keep pairs whole
  b.resize(cut);
  return b;
}
void put_b_varchar(detail::Bytes& out, std::string_view s) {
  const auto b = utf16_capped(s, 0xFF);
  detail::put_le(out, b.size() / 2, 1);
  detail::put_bytes(out, b);
}
void put_us_varchar(detail::Bytes& out, std::string_view s, std::size_t max_units) {
  const auto b = utf16_capped(s, max_units);
  detail::put_le(out, b.size() / 2, 2);
  detail::put_bytes(out, b);
}

// Starts a u16-length token; returns where the length goes, patched by end_token.
std::size_t begin_token(detail::Bytes& out, std::uint8_t t) {
  detail::put_le(out, t, 1);
  detail::put_le(out, 0, 2);
  return out.size() - 2;
}
void end_token(detail::Bytes& out, std::size_t length_at) {
  detail::patch_le(out, length_at, out.size() - length_at - 2, 2);
}

}  // namespace

std::vector<std::uint8_t> build_loginack(const LoginAck& ack) {
  detail::Bytes out;
  const std::size_t len_at = begin_token(out, kLoginAck);
  detail::put_le(out, ack.interface, 1);
  detail::put_be(out, ack.tds_version, 4);
  put_b_varchar(out, ack.prog_name);
  for (std::uint8_t b : {ack.major, ack.minor, ack.build_hi, ack.build_lo})
    detail::put_le(out, b, 1);
  end_token(out, len_at);
  return out;
}

std::vector<std::uint8_t> build_envchange_routing(const Routing& r) {
  std::string server = r.server;
  if (server.empty()) server = r.instance.empty() ? r.host : r.host + "\\" + r.instance;
  detail::Bytes value;
  detail::put_le(value, r.protocol, 1);
  detail::put_le(value, r.port, 2);
  put_us_varchar(value, server, 4096);  // caps keep every length within 16 bits
  if (r.enhanced) put_us_varchar(value, r.database, 4096);

  detail::Bytes out;
  const std::size_t len_at = begin_token(out, kEnvChange);
  detail::put_le(out, r.enhanced ? kEnvEnhancedRouting : kEnvRouting, 1);
  detail::put_le(out, value.size(), 2);
  detail::put_bytes(out, value);
  detail::put_le(out, 0, 2);  // old value: always an empty u16-length value
  end_token(out, len_at);
  return out;
}

std::vector<std::uint8_t> build_envchange_database(std::string_view new_db,
                                                   std::string_view old_db) {
  detail::Bytes out;
  const std::size_t len_at = begin_token(out, kEnvChange);
  detail::put_le(out, 1, 1);
  put_b_varchar(out, new_db);
  put_b_varchar(out, old_db);
  end_token(out, len_at);
  return out;
}

std::vector<std::uint8_t> build_server_message(const ServerMessage& m) {
  detail::Bytes out;
  const std::size_t len_at = begin_token(out, m.is_error ? kError : kInfo);
  detail::put_le(out, static_cast<std::uint32_t>(m.number), 4);
  detail::put_le(out, m.state, 1);
  detail::put_le(out, m.severity, 1);
  put_us_varchar(out, m.message, 4096);
  put_b_varchar(out, m.server_name);
  put_b_varchar(out, m.proc_name);
  detail::put_le(out, m.line, 4);
  end_token(out, len_at);
  return out;
}

std::vector<std::uint8_t> build_done(const Done& d, std::uint32_t tds_version) {
  detail::Bytes out;
  detail::put_le(out, d.token, 1);
  detail::put_le(out, d.status, 2);
  detail::put_le(out, d.cur_cmd, 2);
  const bool short_count = tds_version != 0 && tds_before_72(tds_version);
  detail::put_le(out, short_count ? (d.row_count & 0xFFFFFFFFU) : d.row_count, short_count ? 4 : 8);
  return out;
}

}  // namespace midiag::tds
