#include "agent/simulator/tds_conn.h"

#include <utility>

#include "decoders/tds/login7.h"
#include "decoders/tds/prelogin.h"
#include "decoders/tds/tokens.h"

namespace midiag::sim {

namespace {

constexpr std::size_t kMaxMessage = 1024 * 1024;    // a login or a test batch is far smaller
constexpr std::size_t kPacketSize = 4096;           // what SQL Server uses before any ENVCHANGE
constexpr int kMaxPacketsPerRead = 4096;            // bounds one on_data call
constexpr std::uint8_t kTlsHandshakeRecord = 0x16;  // TLS content type 22; no TDS packet type

using tds::Encryption;
using tds::PacketType;

bool is(std::uint8_t type, PacketType want) {
  return type == static_cast<std::uint8_t>(want);
}

}  // namespace

void TdsConnection::on_data(std::span<const std::uint8_t> bytes, Clock::time_point /*now*/) {
  if (bytes.empty() || muted_) return;
  if (std::exchange(first_bytes_, false) && bytes[0] == kTlsHandshakeRecord) {
    // TDS 8 strict: a TLS ClientHello before any TDS. A TDS 7.x-only server has no use for it.
    if (ctx_.strict_ssl_ctx == nullptr) return abort();
    auto session = TlsSession::create(ctx_.strict_ssl_ctx);
    if (!session) return abort();
    tls_ = std::move(*session);
    transport_ = Transport::StrictHandshake;
    strict_ = true;
  }
  if (transport_ == Transport::StrictHandshake) return on_strict_handshake(bytes);
  if (transport_ == Transport::TlsRaw) {
    on_tls_bytes(bytes);
    return;
  }
  wire_.append(bytes);
  drain_packets(wire_);
}

void TdsConnection::on_strict_handshake(std::span<const std::uint8_t> bytes) {
  tls_->feed(bytes);
  auto done = tls_->handshake();
  if (auto out = tls_->take_output(); !out.empty()) send_flight(out);
  if (!done) return close_after_send();  // the alert, if any, still goes out
  if (!*done || muted_) return;
  ctx_.counters->tls_handshakes++;
  transport_ = Transport::TlsRaw;
  on_tls_bytes({});  // a PRELOGIN may have come in the same segment as the client's Finished
}

void TdsConnection::send_flight(const std::vector<std::uint8_t>& bytes) {
  const int cut = ctx_.config->tls_flight_bytes;
  if (cut < 0 || static_cast<std::size_t>(cut) >= bytes.size()) return send(bytes);
  send(std::span(bytes).first(static_cast<std::size_t>(cut)));
  muted_ = true;  // held open (holds_open) until the client gives up or the lifetime ends
}

void TdsConnection::on_tls_bytes(std::span<const std::uint8_t> bytes) {
  tls_->feed(bytes);
  auto plain = tls_->read();
  if (auto alert = tls_->take_output(); !alert.empty()) send(alert);
  if (!plain) return abort();
  inner_.append(*plain);
  drain_packets(inner_);
}

void TdsConnection::drain_packets(PacketStream& stream) {
  for (int i = 0; i < kMaxPacketsPerRead && !closing() && !muted_; ++i) {
    // The handshake can end inside this loop; later bytes on the wire are then raw TLS.
    if (&stream == &wire_ && transport_ == Transport::TlsRaw) {
      if (auto rest = wire_.take_rest(); !rest.empty()) on_tls_bytes(rest);
      return;
    }
    auto packet = stream.next();
    if (!packet) return abort();
    if (!packet->has_value()) return;
    if (transport_ == Transport::TlsInTds && &stream == &wire_) {
      on_handshake_packet(**packet);
    } else {
      on_packet(std::move(**packet));
    }
  }
}

void TdsConnection::on_handshake_packet(const Packet& packet) {
  // Real clients wrap their handshake in PRELOGIN packets; anything else is not TLS-in-TDS.
  if (!is(packet.header.type, PacketType::Prelogin)) return abort();
  tls_->feed(packet.payload);
  auto done = tls_->handshake();
  if (auto out = tls_->take_output(); !out.empty())
    send_flight(tds::frame(PacketType::Prelogin, out));
  if (muted_) return;
  if (!done) return close_after_send();  // the alert, if any, still goes out
  if (*done) {
    ctx_.counters->tls_handshakes++;
    transport_ = Transport::TlsRaw;
  }
}

void TdsConnection::on_packet(Packet packet) {
  if (!in_message_) {
    in_message_ = true;
    message_type_ = packet.header.type;
    message_.clear();
  }
  if (message_.size() + packet.payload.size() > kMaxMessage) return abort();
  message_.insert(message_.end(), packet.payload.begin(), packet.payload.end());
  if (!packet.header.eom()) return;
  in_message_ = false;
  on_message(message_type_, message_);
}

void TdsConnection::on_message(std::uint8_t type, const std::vector<std::uint8_t>& payload) {
  switch (stage_) {
    case Stage::Prelogin:
      if (!is(type, PacketType::Prelogin)) return abort();
      return on_prelogin(payload);
    case Stage::Login:
      if (!is(type, PacketType::Login7)) return abort();
      return on_login7(payload);
    case Stage::LoggedIn:
      return on_logged_in(type, payload);
    case Stage::Routed:
      return abort();  // the client should have gone to the node
  }
}

void TdsConnection::on_prelogin(const std::vector<std::uint8_t>& payload) {
  auto request = tds::parse_prelogin(payload);
  if (!request) return abort();
  ctx_.counters->prelogins++;
  Encryption client = request->encryption.value_or(Encryption::Off);
  Encryption answer = ctx_.config->encryption;
  // Like SQL Server: a client without TLS and a server that does not insist means no TLS at all.
  if (client == Encryption::NotSup && answer == Encryption::Off) answer = Encryption::NotSup;
  // A client that offers federated authentication (FEDAUTHREQUIRED) gets 0x01, as from Azure SQL.
  const auto fedauth =
      request->fedauth_required.value_or(false) ? std::optional<bool>(true) : std::nullopt;
  reply(PacketType::TabularResult,
        prelogin_response(ctx_.version, answer, ctx_.config->prelogin_instance, fedauth));

  encryption_required_ = answer == Encryption::On || answer == Encryption::Req;
  stage_ = Stage::Login;
  if (strict_) return;  // TDS 8: already inside TLS, whatever ENCRYPTION says
  if (answer == Encryption::NotSup || client == Encryption::NotSup) return;
  login_only_tls_ = answer == Encryption::Off && client == Encryption::Off;
  auto session = TlsSession::create(ctx_.ssl_ctx);
  if (!session) return abort();
  tls_ = std::move(*session);
  transport_ = Transport::TlsInTds;
}

void TdsConnection::on_login7(const std::vector<std::uint8_t>& payload) {
  ctx_.counters->login7s++;
  if (encryption_required_ && transport_ == Transport::Clear) return abort();
  // The server must see the password to check it; it is compared, never stored or logged.
  auto login = tds::parse_login7(payload, /*reveal_password=*/true);
  if (!login) return abort();
  if (login->type_flags & tds::kTypeFlagReadOnlyIntent) ctx_.counters->read_only_login7s++;
  if (login_only_tls_) {
    // ENCRYPT_OFF: TLS protected LOGIN7 only; the answer and all that follows is cleartext.
    tls_.reset();
    transport_ = Transport::Clear;
  }
  const InstanceConfig& cfg = *ctx_.config;
  if (cfg.login_answer != InstanceConfig::LoginAnswer::Normal && ctx_.role == Role::Gateway) {
    reply(PacketType::TabularResult, cfg.login_answer == InstanceConfig::LoginAnswer::DoneOnly
                                         ? done_only()
                                         : std::vector<std::uint8_t>{});
    return close_after_send();
  }
  if (login->user_name != cfg.user || login->password != cfg.password) {
    ctx_.counters->logins_failed++;
    reply(PacketType::TabularResult, login_failed(login->user_name, cfg.instance,
                                                  cfg.login_error_number, cfg.login_error_message));
    return close_after_send();
  }
  ctx_.counters->logins_ok++;
  if (ctx_.role == Role::Node && cfg.node_routes_again) {
    // Back to the gateway: a loop no driver follows.
    reply(PacketType::TabularResult,
          login_routed(ctx_.version, ctx_.routed_host, ctx_.gateway_port));
    stage_ = Stage::Routed;
    return;
  }
  if (ctx_.role == Role::Gateway && cfg.redirect) {
    ctx_.redirects->fetch_add(1);
    reply(PacketType::TabularResult, login_routed(ctx_.version, ctx_.routed_host, ctx_.node_port));
    stage_ = Stage::Routed;
    return;
  }
  reply(PacketType::TabularResult, login_accepted(ctx_.version));
  stage_ = Stage::LoggedIn;
}

void TdsConnection::on_logged_in(std::uint8_t type, const std::vector<std::uint8_t>& payload) {
  if (is(type, PacketType::SqlBatch)) {
    ctx_.counters->batches++;
    return reply(PacketType::TabularResult, batch_response(batch_text(payload)));
  }
  if (is(type, PacketType::Attention)) return reply(PacketType::TabularResult, attention_ack());
  tds::ServerMessage m;
  m.is_error = true;
  m.number = 2812;  // "Could not find stored procedure": the simulator runs SQL batches only
  m.state = 62;
  m.severity = 16;
  m.message = "The simulated instance answers SQL batches only.";
  m.server_name = ctx_.config->instance;
  m.line = 1;
  std::vector<std::uint8_t> out = tds::build_server_message(m);
  tds::Done done;
  done.status = 0x0002;
  auto done_bytes = tds::build_done(done);
  out.insert(out.end(), done_bytes.begin(), done_bytes.end());
  reply(PacketType::TabularResult, out);
}

void TdsConnection::reply(tds::PacketType type, const std::vector<std::uint8_t>& payload) {
  auto framed = tds::frame(type, payload, kPacketSize);
  if (transport_ != Transport::TlsRaw) return send(framed);
  if (!tls_->write(framed)) return abort();
  send(tls_->take_output());
}

void TdsConnection::abort() {
  outbox().clear();
  close_after_send();
}

}  // namespace midiag::sim
