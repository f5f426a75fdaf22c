// The client side of a Managed Instance login, as a driver does it: PRELOGIN, TLS inside TDS
// (or TDS 8 strict), LOGIN7, and the decoded answer — recording where and how it broke.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "decoders/tds/prelogin.h"
#include "decoders/tds/tokens.h"
#include "decoders/tls/progress.h"
#include "probes/tds/tls_client.h"

namespace midiag::tdsprobe {

struct Credentials {
  std::string user;
  std::string password;  // never logged, never reported
};

struct Options {
  std::string address;  // numeric
  std::uint16_t port = 1433;
  std::string server_name;  // the name the user gave: SNI, certificate check, LOGIN7 ServerName
  std::chrono::milliseconds timeout{3000};  // the whole exchange
  bool strict = false;  // TDS 8: TLS first, ALPN tds/8.0
  bool login = true;  // send LOGIN7
  std::optional<Credentials> credentials;  // none: dummy credentials
  std::string ca_file;
};

enum class Stage { Connect, Prelogin, Tls, Login, Complete };
std::string_view to_string(Stage s);

enum class LoginOutcome { None, LoginAck, Routing, Error };
std::string_view to_string(LoginOutcome o);  // none|loginack|routing|error

struct Result {
  Options options;  // credentials stripped
  bool dummy_credentials = false;
  Stage reached = Stage::Connect;  // the last stage that completed
  Stage failed_at = Stage::Complete;  // Complete = nothing failed
  std::string failure;  // what went wrong, in words, with the bytes seen
  double elapsed_ms = 0;

  std::optional<tds::Prelogin> prelogin;  // the server's answer
  std::size_t bytes_received = 0;  // at the failing stage
  std::string first_bytes_hex;  // what arrived when it was not TDS
  bool stalled = false;  // bytes stopped arriving before a message completed
  bool timed_out = false;  // the failing stage ran into the deadline (not a close or reset)
  bool closed_by_peer = false;  // the failing stage ended with the server's FIN or RST
  double prelogin_rtt_ms = 0;  // PRELOGIN sent -> its answer complete (TDS 7.x, when answered)
  double tls_ms = 0;  // time spent in the TLS stage (handshake), complete or not
  int mss = 0;  // the connection's TCP maximum segment size (TCP_MAXSEG), 0 unknown

  // The server's side of the TLS handshake as far as it arrived, when the handshake failed:
  // which messages came whole and which was cut off (a stall at the certificate flight).
  std::optional<tls::HandshakeProgress> server_handshake;

  bool tls_used = false;
  bool login_only_encrypted = false;  // ENCRYPT_OFF both sides: only LOGIN7 inside TLS
  std::optional<TlsFacts> tls;

  LoginOutcome outcome = LoginOutcome::None;
  std::optional<tds::LoginAck> login_ack;
  std::optional<tds::Routing> routing;
  std::optional<tds::ServerMessage> error;
};

// Never throws; every failure is described in the Result.
Result run_tds_probe(const Options& options);

}  // namespace midiag::tdsprobe
