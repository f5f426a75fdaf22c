// The login response token stream (MS-TDS 2.2.7): LOGINACK, ENVCHANGE (20 = routing), ERROR,
// INFO, DONE. Unknown tokens with a known length rule are skipped; others stop the walk.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::tds {

struct LoginAck {
  std::uint8_t interface = 0;
  std::uint32_t tds_version = 0;  // big-endian on the wire (0x74000004)
  std::string prog_name;
  std::uint8_t major = 0, minor = 0, build_hi = 0, build_lo = 0;
};

// ENVCHANGE type 20 (routing) and 21 (enhanced routing).
struct Routing {
  std::uint8_t protocol = 0;  // 0 = TCP
  std::uint16_t port = 0;
  std::string server;    // as sent ("host" or "host\instance")
  std::string host;      // server before a backslash
  std::string instance;  // after a backslash, or empty
  std::string database;  // type 21 only
  bool enhanced = false;
};

struct EnvChange {
  std::uint8_t type = 0;
  std::string new_value, old_value;  // B_VARCHAR types decoded; empty for binary ones
  std::optional<Routing> routing;    // types 20/21
};

struct ServerMessage {  // ERROR (0xAA) and INFO (0xAB)
  bool is_error = false;
  std::int32_t number = 0;
  std::uint8_t state = 0;
  std::uint8_t severity = 0;  // "class"
  std::string message, server_name, proc_name;
  std::uint32_t line = 0;  // u32 from TDS 7.2 on
};

struct Done {
  std::uint8_t token = 0xFD;  // DONE, DONEPROC (0xFE), DONEINPROC (0xFF)
  std::uint16_t status = 0;
  std::uint16_t cur_cmd = 0;
  std::uint64_t row_count = 0;
  [[nodiscard]] bool error() const { return (status & 0x0002) != 0; }
};

struct TokenStream {
  std::optional<LoginAck> login_ack;
  std::vector<EnvChange> env_changes;
  std::vector<ServerMessage> messages;  // errors and infos in order
  std::vector<Done> dones;
  std::vector<std::uint8_t> skipped_tokens;  // tokens passed over by their length
  std::optional<Routing> routing;            // the first routing ENVCHANGE, if any
  [[nodiscard]] const ServerMessage* first_error() const;
};

// Walks a TabularResult payload. A truncated or inconsistent token is an Error naming the token
// and the byte offset; whatever was decoded before it is not returned (walk again from the start
// with more bytes). `tds_version` (as in LOGIN7 or LOGINACK; 0 = 7.2 or later) picks the DONE
// layout until a LOGINACK in the stream names the server's own version: 7.0 and 7.1 send an
// 8-byte DONE (u32 row count) and a u16 INFO/ERROR line number (the token length tells that one).
Expected<TokenStream> parse_tokens_as(std::span<const std::uint8_t> payload,
                                      std::uint32_t tds_version);
Expected<TokenStream> parse_tokens(std::span<const std::uint8_t> payload);  // as of version 0

// Builders used by the simulated instance and by tests.
std::vector<std::uint8_t> build_loginack(const LoginAck& ack);
std::vector<std::uint8_t> build_envchange_routing(const Routing& r);
std::vector<std::uint8_t> build_envchange_database(std::string_view new_db,
                                                   std::string_view old_db);
std::vector<std::uint8_t> build_server_message(const ServerMessage& m);
// `tds_version` 7.0/7.1 writes the 8-byte DONE (u32 row count); 0 or 7.2+ the 12-byte one.
std::vector<std::uint8_t> build_done(const Done& d, std::uint32_t tds_version = 0);

}  // namespace midiag::tds
