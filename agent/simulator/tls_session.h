// The server side of TLS over memory BIOs: the connection moves the bytes, because during the
// TDS 7.x handshake the records travel inside PRELOGIN packets and only afterwards raw.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/simulator/certs.h"
#include "decoders/common/expected.h"

namespace midiag::sim {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// max_tls_version 0 = the default: TLS 1.2 for TDS 7.x (what SQL Server negotiates inside TDS),
// TLS 1.3 for TDS 8 strict. A strict context selects ALPN tds/8.0 when the client offers it.
Expected<SslCtxPtr> make_server_ctx(const Certificates& certs, int max_tls_version,
                                    bool strict = false);

class TlsSession {
 public:
  static Expected<std::unique_ptr<TlsSession>> create(SSL_CTX* ctx);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  void feed(std::span<const std::uint8_t> ciphertext);
  // Advances the handshake with what was fed; true once it is complete.
  Expected<bool> handshake();
  std::vector<std::uint8_t> take_output();  // ciphertext to send
  Expected<bool> write(std::span<const std::uint8_t> plaintext);
  Expected<std::vector<std::uint8_t>> read();  // plaintext decrypted so far
  [[nodiscard]] std::string version() const;

 private:
  TlsSession() = default;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
};

}  // namespace midiag::sim
