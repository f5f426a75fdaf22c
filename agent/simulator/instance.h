// An embedded simulated Managed Instance: a TDS gateway (redirect or proxy), the redirect node and
// a DNS responder for the instance's names, all in-process on loopback, for `mi-diag demo` and
// for tests that need a server real drivers accept.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/simulator/dns_responder.h"
#include "agent/simulator/stats.h"
#include "decoders/common/expected.h"
#include "decoders/tds/prelogin.h"

namespace midiag::sim {

// How the gateway (mis)behaves once a client has connected.
enum class Behaviour {
  Normal,
  SilentAfterAccept,    // accepts, never writes
  Garbage,              // answers with 64 random non-TDS bytes, then closes
  HugeLengthThenStall,  // a header claiming 65535 bytes, then nothing
  Slowloris,            // a valid PRELOGIN answer, one byte per second
  NotTds,               // an HTTP/1.1 400 answer
  PlainTls,             // no TDS: a TLS handshake with the certificate, then close (an Entra
                        // ID authority stand-in, agent/simulator/plain_tls.h)
};

struct InstanceConfig {
  std::string instance = "mi1", zone = "sim0001";  // <instance>.<zone>.database.windows.net
  bool redirect = true;                            // false: proxy (LOGINACK on the gateway)
  // What the server answers in PRELOGIN: Off = only LOGIN7 encrypted, NotSup = no TLS.
  tds::Encryption encryption = tds::Encryption::On;
  std::string version = "16.0.4105.0";
  std::string user = "sim", password = "sim-password";  // others get ERROR 18456
  Behaviour gateway_behaviour = Behaviour::Normal;
  bool node_refuses = false;  // the node port is closed (routing still names it)
  std::string cert_name;      // default "*.<zone>.database.windows.net"
  bool cert_expired = false;
  int max_tls_version =
      0;  // 0 = TLS 1.2, as SQL Server offers for TDS 7.x; else e.g. TLS1_1_VERSION
  // TDS 8 strict (TLS first, ALPN tds/8.0, up to TLS 1.3), as SQL Server 2022 and MI accept it.
  // false: a TDS 7.x-only server, which closes a connection whose first bytes are TLS.
  bool accepts_strict = true;
  // >= 0: of the server's first TLS flight (ServerHello, Certificate...) only this many bytes go
  // out, then nothing more on that connection: what a client behind a path-MTU black hole
  // receives; the connection stays open (no idle timeout) up to max_connection_ms. -1: the
  // whole flight.
  int tls_flight_bytes = -1;
  std::string bind_address = "127.0.0.1";  // IPv4 literal
  std::string routed_host;                 // what ENVCHANGE 20 names; default bind_address
  std::uint16_t gateway_port = 0, node_port = 0, dns_port = 0;  // 0 = ephemeral
  int idle_timeout_ms = 10'000;     // a connection with no traffic either way is closed
  int max_connection_ms = 120'000;  // no connection lives longer (Slowloris included)
  std::uint32_t seed = 1;           // for the Garbage bytes: tests see the same bytes every run

  // Hostile servers for the trust tests: things no Managed Instance does, each of which must
  // become a finding rather than a false "ok" or a broken report.
  std::optional<std::uint16_t> routed_port;  // what the routing token names instead (0 included)
  bool node_routes_again = false;  // the node answers a good login with another routing token
  enum class LoginAnswer { Normal, Empty, DoneOnly };
  LoginAnswer login_answer = LoginAnswer::Normal;  // an answer to LOGIN7 with neither ACK nor ERROR
  std::int32_t login_error_number = 18456;         // the ERROR a rejected login gets
  std::string login_error_message;                 // empty: "Login failed for user '<user>'."
  std::string prelogin_instance;  // raw bytes of the PRELOGIN INSTOPT answer (empty: a lone NUL)
  std::vector<std::string> extra_cert_names;  // more DNS SANs on the server certificate
  // More names for the DNS responder: partners' addresses and failover-group listener CNAMEs.
  std::vector<DnsRecord> dns_records;
  std::vector<DnsAlias> dns_aliases;
};

class SimulatedInstance {
 public:
  // Binds the gateway, the node and the DNS responder and starts their threads.
  static Expected<std::unique_ptr<SimulatedInstance>> start(const InstanceConfig& config);
  ~SimulatedInstance();
  SimulatedInstance(const SimulatedInstance&) = delete;
  SimulatedInstance& operator=(const SimulatedInstance&) = delete;

  [[nodiscard]] std::uint16_t gateway_port() const;
  [[nodiscard]] std::uint16_t node_port() const;
  [[nodiscard]] std::uint16_t dns_port() const;
  [[nodiscard]] std::string fqdn() const;    // <instance>.<zone>.database.windows.net
  [[nodiscard]] std::string ca_pem() const;  // the self-signed CA the server cert chains to
  [[nodiscard]] const InstanceConfig& config() const;
  void stop();  // wakes and joins every thread; idempotent; the destructor calls it
  [[nodiscard]] Stats stats() const;

  struct Impl;

 private:
  explicit SimulatedInstance(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace midiag::sim
