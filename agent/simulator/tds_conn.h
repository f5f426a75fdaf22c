// One client connection to the simulated gateway or node, as a state machine over bytes:
// PRELOGIN, TLS inside TDS, LOGIN7 (accepted, routed or refused), then SQL batches on the node.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/simulator/instance.h"
#include "agent/simulator/packet_stream.h"
#include "agent/simulator/responses.h"
#include "agent/simulator/tcp_server.h"
#include "agent/simulator/tls_session.h"

namespace midiag::sim {

enum class Role { Gateway, Node };

// Shared by every connection of one listener; outlives them (the instance owns it).
struct TdsContext {
  Role role = Role::Gateway;
  const InstanceConfig* config = nullptr;
  ServerVersion version;
  SSL_CTX* ssl_ctx = nullptr;
  SSL_CTX* strict_ssl_ctx = nullptr;  // TDS 8 (TLS first); null: a TDS 7.x-only server
  std::uint16_t node_port = 0;        // what the routing token names
  std::uint16_t gateway_port = 0;     // where a node that routes again sends the client
  std::string routed_host;
  RoleCounters* counters = nullptr;
  std::atomic<std::uint64_t>* redirects = nullptr;
};

class TdsConnection : public Handler {
 public:
  explicit TdsConnection(const TdsContext& ctx) : ctx_(ctx) {}
  void on_data(std::span<const std::uint8_t> bytes, Clock::time_point now) override;
  [[nodiscard]] bool holds_open() const override { return muted_; }

 private:
  enum class Stage { Prelogin, Login, LoggedIn, Routed };
  // TlsInTds: the TDS 7.x handshake inside PRELOGIN packets; StrictHandshake: TDS 8, the
  // handshake raw on the socket before any TDS; TlsRaw: TDS packets inside TLS records.
  enum class Transport { Clear, TlsInTds, StrictHandshake, TlsRaw };

  void on_strict_handshake(std::span<const std::uint8_t> bytes);
  void on_tls_bytes(std::span<const std::uint8_t> bytes);
  void drain_packets(PacketStream& stream);
  void on_handshake_packet(const Packet& packet);
  void on_packet(Packet packet);
  void on_message(std::uint8_t type, const std::vector<std::uint8_t>& payload);
  void on_prelogin(const std::vector<std::uint8_t>& payload);
  void on_login7(const std::vector<std::uint8_t>& payload);
  void on_logged_in(std::uint8_t type, const std::vector<std::uint8_t>& payload);
  void reply(tds::PacketType type, const std::vector<std::uint8_t>& payload);
  void abort();  // close without another word

  const TdsContext& ctx_;
  Stage stage_ = Stage::Prelogin;
  Transport transport_ = Transport::Clear;
  PacketStream wire_;   // TDS packets straight off the socket
  PacketStream inner_;  // TDS packets decrypted out of TLS
  std::unique_ptr<TlsSession> tls_;
  bool login_only_tls_ = false;       // ENCRYPT_OFF on both sides: TLS ends after LOGIN7
  bool encryption_required_ = false;  // we answered ON/REQ: a cleartext LOGIN7 is refused
  std::uint8_t message_type_ = 0;
  std::vector<std::uint8_t> message_;
  bool in_message_ = false;
  bool first_bytes_ = true;  // nothing received yet: TLS here means TDS 8 strict
  bool strict_ = false;      // TDS 8: PRELOGIN came inside TLS; no second handshake
  bool muted_ = false;       // config.tls_flight_bytes: the rest of the flight was "lost"

  // Sends a server TLS flight, or only its first config.tls_flight_bytes bytes and then mutes
  // the connection.
  void send_flight(const std::vector<std::uint8_t>& bytes);
};

}  // namespace midiag::sim
