#include "agent/simulator/responses.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "decoders/tds/login7.h"
#include "decoders/tds/tokens.h"

namespace midiag::sim {

namespace {

constexpr std::uint8_t kColMetadata = 0x81;
constexpr std::uint8_t kRow = 0xD1;
constexpr std::uint8_t kInt4Type = 0x38;
constexpr std::uint16_t kDoneCount = 0x0010;
constexpr std::uint16_t kDoneError = 0x0002;
constexpr std::uint16_t kDoneAttn = 0x0020;
constexpr std::uint16_t kCmdSelect = 0x00C1;

void append(std::vector<std::uint8_t>& out, const std::vector<std::uint8_t>& more) {
  out.insert(out.end(), more.begin(), more.end());
}

tds::LoginAck login_ack(const ServerVersion& v) {
  tds::LoginAck ack;
  ack.interface = 1;  // SQL_TSQL
  ack.tds_version = tds::kTds74;
  ack.prog_name = "Microsoft SQL Server";
  ack.major = v.major;
  ack.minor = v.minor;
  ack.build_hi = static_cast<std::uint8_t>(v.build >> 8);
  ack.build_lo = static_cast<std::uint8_t>(v.build & 0xFF);
  return ack;
}

// SQL Server reports the final DONE of a login with no status bits and no count.
std::vector<std::uint8_t> done(std::uint16_t status = 0, std::uint16_t cmd = 0,
                               std::uint64_t rows = 0) {
  tds::Done d;
  d.status = status;
  d.cur_cmd = cmd;
  d.row_count = rows;
  return tds::build_done(d);
}

}  // namespace

ServerVersion parse_server_version(const std::string& dotted) {
  unsigned parts[4] = {0, 0, 0, 0};
  const char* p = dotted.data();
  const char* end = p + dotted.size();
  for (unsigned& part : parts) {
    auto [next, ec] = std::from_chars(p, end, part);
    if (ec != std::errc()) break;
    p = next;
    if (p == end || *p != '.') break;
    ++p;
  }
  return {static_cast<std::uint8_t>(parts[0]), static_cast<std::uint8_t>(parts[1]),
          static_cast<std::uint16_t>(parts[2]), static_cast<std::uint16_t>(parts[3])};
}

std::vector<std::uint8_t> prelogin_response(const ServerVersion& v, tds::Encryption answer,
                                            const std::string& instance,
                                            std::optional<bool> fedauth) {
  tds::Prelogin p;
  tds::Version version;
  version.major = v.major;
  version.minor = v.minor;
  version.build = v.build;
  version.sub_build = v.sub_build;
  version.raw = {v.major,
                 v.minor,
                 static_cast<std::uint8_t>(v.build >> 8),
                 static_cast<std::uint8_t>(v.build & 0xFF),
                 static_cast<std::uint8_t>(v.sub_build & 0xFF),
                 static_cast<std::uint8_t>(v.sub_build >> 8)};
  p.version = version;
  p.encryption = answer;
  p.instance = instance;       // empty: a lone NUL, the instance name matched
  p.thread_id_present = true;  // empty, as SQL Server sends it
  p.mars = false;
  p.fedauth_required = fedauth;
  return tds::build_prelogin(p);
}

std::vector<std::uint8_t> login_accepted(const ServerVersion& v) {
  std::vector<std::uint8_t> out = tds::build_envchange_database("master", "master");
  append(out, tds::build_loginack(login_ack(v)));
  append(out, done());
  return out;
}

std::vector<std::uint8_t> login_routed(const ServerVersion& v, const std::string& host,
                                       std::uint16_t port) {
  tds::Routing r;
  r.protocol = 0;
  r.port = port;
  r.server = host;
  r.host = host;
  std::vector<std::uint8_t> out = tds::build_loginack(login_ack(v));
  append(out, tds::build_envchange_routing(r));
  append(out, done());
  return out;
}

std::vector<std::uint8_t> done_only() {
  return done();
}

std::vector<std::uint8_t> login_failed(const std::string& user, const std::string& server,
                                       std::int32_t number, const std::string& message) {
  tds::ServerMessage m;
  m.is_error = true;
  m.number = number;
  m.state = 1;
  m.severity = 14;
  m.message = message.empty() ? "Login failed for user '" + user + "'." : message;
  m.server_name = server;
  m.line = 1;
  std::vector<std::uint8_t> out = tds::build_server_message(m);
  append(out, done(kDoneError));
  return out;
}

std::vector<std::uint8_t> batch_response(const std::string& sql) {
  std::string lower;
  for (char c : sql) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto first = lower.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || lower.compare(first, 6, "select") != 0) return done();
  // One unnamed int column, one row holding 1 (what `select 1` returns).
  std::vector<std::uint8_t> out = {kColMetadata, 0x01, 0x00,        // one column
                                   0x00,         0x00, 0x00, 0x00,  // UserType
                                   0x00,         0x00,              // Flags: not nullable
                                   kInt4Type,    0x00,              // INT4, empty name
                                   kRow,         0x01, 0x00, 0x00, 0x00};
  append(out, done(kDoneCount, kCmdSelect, 1));
  return out;
}

std::vector<std::uint8_t> attention_ack() {
  return done(kDoneAttn);
}

std::string batch_text(std::span<const std::uint8_t> payload) {
  std::size_t skip = 0;
  if (payload.size() >= 4) {
    std::uint32_t total = payload[0] | (payload[1] << 8) | (payload[2] << 16) |
                          (static_cast<std::uint32_t>(payload[3]) << 24);
    if (total >= 4 && total <= payload.size()) skip = total;  // ALL_HEADERS (TDS 7.2+)
  }
  auto text = payload.subspan(skip);
  return tds::from_utf16le(text.first(text.size() & ~std::size_t{1}));
}

}  // namespace midiag::sim
