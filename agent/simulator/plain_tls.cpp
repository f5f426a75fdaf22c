#include "agent/simulator/plain_tls.h"

#include "agent/simulator/tls_session.h"

namespace midiag::sim {

namespace {

class PlainTls : public Handler {
 public:
  explicit PlainTls(SSL_CTX* ctx) {
    if (auto s = TlsSession::create(ctx)) session_ = std::move(*s);
  }

  void on_data(std::span<const std::uint8_t> bytes, Clock::time_point) override {
    if (!session_) return close_after_send();
    session_->feed(bytes);
    auto done = session_->handshake();
    if (auto out = session_->take_output(); !out.empty()) send(out);
    // A failed handshake still sends its alert; a complete one is all this server does.
    if (!done || *done) close_after_send();
  }

 private:
  std::unique_ptr<TlsSession> session_;
};

}  // namespace

std::unique_ptr<Handler> make_plain_tls_handler(SSL_CTX* ctx) {
  return std::make_unique<PlainTls>(ctx);
}

}  // namespace midiag::sim
