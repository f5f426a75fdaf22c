// What a reassembled TCP session says at the TDS level: PRELOGIN both ways, TLS progress (TLS
// rides in PRELOGIN packets in TDS 7.x), LOGIN7 (never the password), the login response when it
// travels in clear, and when each step completed. Pure: a session in, a struct out.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "decoders/pcap/flows.h"
#include "decoders/tds/login7.h"
#include "decoders/tds/prelogin.h"
#include "decoders/tds/sspi.h"
#include "decoders/tds/tokens.h"
#include "decoders/tls/records.h"

namespace midiag::capture {

struct TlsSeen {
  std::optional<std::string> sni;
  std::vector<std::string> alpn;
  std::optional<std::uint16_t> version;  // negotiated (ServerHello)
  std::vector<tls::Alert> alerts;        // cleartext alerts, either side
  bool client_hello = false, server_hello = false;
  bool finished = false;  // both sides changed cipher spec (handshake done)
  std::size_t certificates = 0;
  std::string server_progress;       // how far the server's flight got, in words
  std::optional<double> start, end;  // first client and last handshake record's time
};

struct LoginResponse {
  std::string outcome;  // loginack | routing | error
  std::optional<tds::ServerMessage> error;
  std::optional<tds::Routing> routing;
  std::string server_program;
  std::string server_version;     // LOGINACK ProgVersion as major.minor.build ("8.0.2039")
  std::uint32_t tds_version = 0;  // LOGINACK TDSVersion, 0 without one
  std::string database;           // ENVCHANGE type 1: the database the session starts in
  double time = 0;
};

struct TdsExchange {
  bool speaks_tds = false;  // the client's first bytes are a PRELOGIN or LOGIN7 (or TDS 8 TLS)
  std::optional<tds::Prelogin> client_prelogin, server_prelogin;
  std::optional<double> prelogin_sent, prelogin_answered;
  std::optional<TlsSeen> tls;
  std::optional<tds::Login7> login;  // cleartext LOGIN7 (password never decoded)
  std::optional<double> login_sent;  // cleartext or the first encrypted client record after TLS
  bool login_encrypted = false;
  std::optional<LoginResponse> response;     // cleartext login response
  std::optional<double> encrypted_response;  // the server's first encrypted record after login
  bool requests_after_login = false;         // SQL batch / RPC seen (the application went on)
  // How the login authenticates: sql | ntlm | sspi (Kerberos, other) | fedauth; empty without a
  // LOGIN7. For NTLM, the AUTHENTICATE message's "DOMAIN\user" (never its responses or keys).
  std::string auth;
  std::string auth_user;
  bool sspi_challenge = false;  // the server answered with an SSPI token (NTLM CHALLENGE, ...)
  std::string stopped;          // why the walk stopped early (not TDS, cut off), empty when not
};

// True when `stream` (the client's first bytes) starts with a PRELOGIN or LOGIN7 TDS header.
bool starts_like_tds(std::span<const std::uint8_t> stream);

TdsExchange decode_exchange(const pcap::Session& session);

}  // namespace midiag::capture
