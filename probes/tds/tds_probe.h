// The client side of a Managed Instance login, as a driver does it: PRELOGIN, TLS inside TDS
// (or TDS 8 strict), LOGIN7, and the decoded answer — recording where and how it broke.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "decoders/tds/encryption.h"
#include "decoders/tds/prelogin.h"
#include "decoders/tds/tokens.h"
#include "decoders/tls/progress.h"
#include "probes/tds/tls_client.h"

namespace midiag::tdsprobe {

// A real login. The password is wiped (OPENSSL_cleanse) by every copy when it goes away.
struct Credentials {
  std::string user;
  std::string password;  // never logged, never reported

  Credentials() = default;
  Credentials(std::string u, std::string p) : user(std::move(u)), password(std::move(p)) {}
  Credentials(const Credentials&) = default;
  Credentials& operator=(const Credentials& other);
  Credentials(Credentials&& other) noexcept;
  Credentials& operator=(Credentials&& other) noexcept;
  ~Credentials();
};

// Wipes a secret's bytes in place (OPENSSL_cleanse), then empties it.
void wipe(std::string& secret);
void wipe(std::vector<std::uint8_t>& secret);

struct Options {
  std::string address;  // numeric
  std::uint16_t port = 1433;
  std::string server_name;  // the name the user gave: SNI, certificate check, LOGIN7 ServerName
  std::chrono::milliseconds timeout{3000};  // the whole exchange
  bool strict = false;                      // TDS 8: TLS first, ALPN tds/8.0
  bool login = true;                        // send LOGIN7
  // ApplicationIntent=ReadOnly: LOGIN7 TypeFlags fReadOnlyIntent (the read-only listener's use).
  bool read_only_intent = false;
  std::optional<Credentials> credentials;  // none: dummy credentials
  std::string ca_file;
  // What the client puts in PRELOGIN ENCRYPTION: On for Encrypt=True/Mandatory (the default of
  // current drivers), Off for Encrypt=False/Optional.
  tds::Encryption encrypt = tds::Encryption::On;
  // The driver option: relaxes the chain and name checks before a real login, never TLS itself.
  bool trust_server_certificate = false;
  std::string host_name_in_certificate;  // the name the certificate must cover; empty: server_name
  // PRELOGIN FEDAUTHREQUIRED 0x01 (MS-TDS 2.2.6.5), as a driver sends it for an Entra (token)
  // login; the server's answer is in Result::prelogin. LOGIN7 itself stays a SQL login.
  bool fedauth_required = false;
  // TCP_MAXSEG set before connect, so the SYN advertises it and the server sends no larger
  // segments; 0 keeps the kernel's.
  int mss = 0;
  // A TLS stage that stalls like a path-MTU black hole is retried on new connections with a
  // small MSS (kMssLadder), within one more timeout, to confirm it without a capture.
  bool mss_retry = true;
};

// The small-MSS retries: 1200 first; if it passes, 1400 (the largest that passed is reported),
// else 536 (the IPv4 minimum, for paths with links far below 1280).
inline constexpr int kMssFirst = 1200, kMssLarger = 1400, kMssSmallest = 536;

// One retry of the handshake (PRELOGIN + TLS, no LOGIN7) with TCP_MAXSEG set.
struct MssTry {
  int mss = 0;
  bool passed = false;  // the TLS handshake completed
  double elapsed_ms = 0;
  std::string failure;  // how it ended when it did not pass
};

// Why a real password must not be sent over what the handshake gave, as a driver that
// validates would refuse it; nullopt when it may be sent. Dummy credentials are never withheld.
std::optional<std::string> withhold_reason(const Options& options, tds::Negotiated negotiated,
                                           const std::optional<TlsFacts>& tls);

enum class Stage { Connect, Prelogin, Tls, Login, Complete };
std::string_view to_string(Stage s);

enum class LoginOutcome { None, LoginAck, Routing, Error };
std::string_view to_string(LoginOutcome o);  // none|loginack|routing|error

struct Result {
  Options options;  // credentials stripped
  bool dummy_credentials = false;
  Stage reached = Stage::Connect;     // the last stage that completed
  Stage failed_at = Stage::Complete;  // Complete = nothing failed
  std::string failure;                // what went wrong, in words, with the bytes seen
  double elapsed_ms = 0;

  std::optional<tds::Prelogin> prelogin;  // the server's answer
  std::size_t bytes_received = 0;         // at the failing stage
  std::string first_bytes_hex;            // what arrived when it was not TDS
  bool stalled = false;                   // bytes stopped arriving before a message completed
  bool timed_out = false;       // the failing stage ran into the deadline (not a close or reset)
  bool closed_by_peer = false;  // the failing stage ended with the server's FIN or RST
  double prelogin_rtt_ms = 0;   // PRELOGIN sent -> its answer complete (TDS 7.x, when answered)
  double tls_ms = 0;            // time spent in the TLS stage (handshake), complete or not
  double login_ms = 0;          // LOGIN7 sent -> the login response complete (or the failure)
  int mss = 0;                  // the connection's TCP maximum segment size (TCP_MAXSEG), 0 unknown
  // The small-MSS retries made after a TLS stage that stalled like a black hole, in order.
  std::vector<MssTry> mss_tries;
  // The largest MSS whose retry completed the handshake; 0 when none did (or none was tried).
  [[nodiscard]] int largest_mss_passed() const;

  // The server's side of the TLS handshake as far as it arrived, when the handshake failed:
  // which messages came whole and which was cut off (a stall at the certificate flight).
  std::optional<tls::HandshakeProgress> server_handshake;

  // What PRELOGIN ENCRYPTION decided (MS-TDS 2.2.6.5); strict is always Full.
  std::optional<tds::Negotiated> negotiated;
  // Not empty when LOGIN7 with real credentials was not sent: why (untrusted certificate, no TLS).
  std::string login_withheld;

  bool tls_used = false;
  bool login_only_encrypted = false;  // ENCRYPT_OFF both sides: only LOGIN7 inside TLS
  std::optional<TlsFacts> tls;

  LoginOutcome outcome = LoginOutcome::None;
  std::string login_answer;  // what the login response held, e.g. "8 bytes: 1 DONE"
  std::optional<tds::LoginAck> login_ack;
  std::optional<tds::Routing> routing;
  std::optional<tds::ServerMessage> error;
};

// The TLS stage ran into the deadline before the server's first flight was whole: what a
// path-MTU black hole looks like from the client (and what the MSS retries are for).
bool tls_stalled_at_server_flight(const Result& r);

// Never throws; every failure is described in the Result.
Result run_tds_probe(const Options& options);

}  // namespace midiag::tdsprobe
