// The payloads the simulated server sends (not framed), shaped like SQL Server's own.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "decoders/tds/prelogin.h"

namespace midiag::sim {

struct ServerVersion {
  std::uint8_t major = 16, minor = 0;
  std::uint16_t build = 4105, sub_build = 0;
};
ServerVersion parse_server_version(const std::string& dotted);  // "16.0.4105.0"; bad parts are 0

// PRELOGIN answer: VERSION, ENCRYPTION, INSTOPT (matched), THREADID, MARS off, and
// FEDAUTHREQUIRED with `fedauth` when set (Azure SQL answers 0x01 to a client that sent it).
std::vector<std::uint8_t> prelogin_response(const ServerVersion& v, tds::Encryption answer,
                                            const std::string& instance = {},
                                            std::optional<bool> fedauth = std::nullopt);

// ENVCHANGE database + LOGINACK + DONE: the login succeeded here.
std::vector<std::uint8_t> login_accepted(const ServerVersion& v);
// LOGINACK + ENVCHANGE 20 (routing) + DONE: the gateway sends the client to the node.
std::vector<std::uint8_t> login_routed(const ServerVersion& v, const std::string& host,
                                       std::uint16_t port);
// ERROR 18456 state 1 class 14 + DONE with the error bit; another number and message if given.
std::vector<std::uint8_t> login_failed(const std::string& user, const std::string& server,
                                       std::int32_t number = 18456,
                                       const std::string& message = {});
// DONE alone: a login answer with neither LOGINACK nor ERROR.
std::vector<std::uint8_t> done_only();

// A SELECT gets one int column with the value 1; anything else (drivers' SET batches) only DONE.
std::vector<std::uint8_t> batch_response(const std::string& sql);
std::vector<std::uint8_t> attention_ack();

// SQL text of a SQL batch payload (after ALL_HEADERS, UTF-16LE).
std::string batch_text(std::span<const std::uint8_t> payload);

}  // namespace midiag::sim
