#include "agent/simulator/tls_session.h"

#include <openssl/err.h>

namespace midiag::sim {

namespace {

Error tls_error(std::string_view what) {
  std::string msg(what);
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += msg.size() == what.size() ? ": " : "; ";
    msg += buf;
  }
  return make_error(msg);
}

// ALPN for TDS 8: "tds/8.0" when offered; a client offering only other protocols gets none
// (no_application_protocol would be stricter than SQL Server, which does not insist).
int select_tds8(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                const unsigned char* in, unsigned inlen, void* /*arg*/) {
  static const unsigned char kTds8[] = {7, 't', 'd', 's', '/', '8', '.', '0'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kTds8, sizeof kTds8, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

Expected<SslCtxPtr> make_server_ctx(const Certificates& certs, int max_tls_version, bool strict) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return tls_error("creating the TLS context");
  int max = max_tls_version != 0 ? max_tls_version : strict ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (strict) SSL_CTX_set_alpn_select_cb(ctx.get(), select_tds8, nullptr);
  if (max < TLS1_2_VERSION) {
    // Obsolete protocols need security level 0 in OpenSSL 3 (the point is to offer them).
    SSL_CTX_set_security_level(ctx.get(), 0);
    SSL_CTX_set_min_proto_version(ctx.get(), 0);
    SSL_CTX_set_cipher_list(ctx.get(), "DEFAULT:@SECLEVEL=0");
  }
  if (SSL_CTX_set_max_proto_version(ctx.get(), max) != 1) {
    return tls_error("setting the highest TLS version");
  }
  // One-shot sessions: tickets would add post-handshake records clients do not expect in TDS.
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx.get(), 0);  // TLS 1.3 (strict) would otherwise send two
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  if (SSL_CTX_use_certificate(ctx.get(), certs.leaf.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), certs.leaf_key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    return tls_error("loading the server certificate");
  }
  return ctx;
}

Expected<std::unique_ptr<TlsSession>> TlsSession::create(SSL_CTX* ctx) {
  std::unique_ptr<TlsSession> s(new TlsSession());
  s->ssl_ = SSL_new(ctx);
  if (s->ssl_ == nullptr) return tls_error("creating a TLS session");
  s->in_ = BIO_new(BIO_s_mem());
  s->out_ = BIO_new(BIO_s_mem());
  if (s->in_ == nullptr || s->out_ == nullptr) {
    BIO_free(s->in_);
    BIO_free(s->out_);
    s->in_ = s->out_ = nullptr;
    return tls_error("creating TLS buffers");
  }
  // An empty input BIO means "wait for more", not end of stream.
  BIO_set_mem_eof_return(s->in_, -1);
  SSL_set_bio(s->ssl_, s->in_, s->out_);
  SSL_set_accept_state(s->ssl_);
  return s;
}

TlsSession::~TlsSession() {
  SSL_free(ssl_);
}

void TlsSession::feed(std::span<const std::uint8_t> ciphertext) {
  if (!ciphertext.empty()) BIO_write(in_, ciphertext.data(), static_cast<int>(ciphertext.size()));
}

Expected<bool> TlsSession::handshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) return true;
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
  return tls_error("TLS handshake failed");
}

std::vector<std::uint8_t> TlsSession::take_output() {
  std::vector<std::uint8_t> out(BIO_ctrl_pending(out_));
  if (!out.empty()) {
    int n = BIO_read(out_, out.data(), static_cast<int>(out.size()));
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  }
  return out;
}

Expected<bool> TlsSession::write(std::span<const std::uint8_t> plaintext) {
  if (plaintext.empty()) return true;
  ERR_clear_error();
  std::size_t written = 0;
  if (SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &written) != 1) {
    return tls_error("TLS write failed");
  }
  return true;
}

Expected<std::vector<std::uint8_t>> TlsSession::read() {
  std::vector<std::uint8_t> plain;
  std::uint8_t buf[16384];
  // Bounded: the input BIO only holds what the socket delivered.
  for (int i = 0; i < 1024; ++i) {
    ERR_clear_error();
    std::size_t n = 0;
    if (SSL_read_ex(ssl_, buf, sizeof buf, &n) == 1) {
      plain.insert(plain.end(), buf, buf + n);
      continue;
    }
    int err = SSL_get_error(ssl_, 0);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
    if (err == SSL_ERROR_ZERO_RETURN) break;  // close_notify: the peer closes the socket next
    return tls_error("TLS read failed");
  }
  return plain;
}

std::string TlsSession::version() const {
  return SSL_get_version(ssl_);
}

}  // namespace midiag::sim
