#include "probes/tds/tls_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "decoders/common/utf8.h"

namespace midiag::tdsprobe {

namespace {

std::string openssl_errors(std::string_view fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return to_valid_utf8(out.empty() ? fallback : std::string_view(out));
}

std::string name_text(X509_NAME* name) {
  if (name == nullptr) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  // Without ESC_MSB, bytes >= 0x80 pass through as the certificate has them: maybe not UTF-8.
  std::string s = to_valid_utf8(std::string_view(data, static_cast<size_t>(len)));
  BIO_free(bio);
  return s;
}

std::int64_t asn1_epoch(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string iso(std::int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

CertInfo describe(X509* cert) {
  CertInfo c;
  c.subject = name_text(X509_get_subject_name(cert));
  c.issuer = name_text(X509_get_issuer_name(cert));
  c.not_before = iso(asn1_epoch(X509_get0_notBefore(cert)));
  c.not_after_epoch = asn1_epoch(X509_get0_notAfter(cert));
  c.not_after = iso(c.not_after_epoch);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &md_len) == 1) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < md_len; ++i) {
      c.sha256 += kHex[md[i] >> 4];
      c.sha256 += kHex[md[i] & 0xF];
    }
  }
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      const auto* s = ASN1_STRING_get0_data(n->d.dNSName);
      // An IA5String the server filled: any bytes at all.
      c.subject_alt_names.push_back(
          to_valid_utf8(std::string_view(reinterpret_cast<const char*>(s),
                                         static_cast<size_t>(ASN1_STRING_length(n->d.dNSName)))));
    }
  }
  GENERAL_NAMES_free(names);
  return c;
}

// The client context every probe of the process shares. Loading the system CA bundle is most of
// a TLS client's cost (about 25 ms of a 30 ms handshake here: OpenSSL parses every certificate of
// ca-certificates.crt), so it is done once per CA source, not once per connection: a check that
// follows a redirect, and every round of watch, reuse it. The settings are the same for every
// probe (SNI and ALPN are set on each SSL), and a client context keeps no sessions, so sharing it
// changes nothing a server sees. Rebuilt when the CA file changes (its inode, size or times), so a
// long-running watch picks up a CA update.
using SslCtxShared = std::shared_ptr<SSL_CTX>;

std::string ca_source(const std::string& ca_file) {
  if (!ca_file.empty()) return ca_file;
  const char* env = std::getenv(X509_get_default_cert_file_env());
  return env != nullptr && *env != '\0' ? env : X509_get_default_cert_file();
}

std::string file_signature(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "absent";
  return std::to_string(st.st_dev) + ':' + std::to_string(st.st_ino) + ':' +
         std::to_string(st.st_size) + ':' + std::to_string(st.st_mtim.tv_sec) + '.' +
         std::to_string(st.st_mtim.tv_nsec) + ':' + std::to_string(st.st_ctim.tv_sec) + '.' +
         std::to_string(st.st_ctim.tv_nsec);
}

Expected<SslCtxShared> build_context(const std::string& ca_file) {
  SslCtxShared ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return make_error("cannot create a TLS context: " + openssl_errors("?"));
  // Accept whatever the server offers so an obsolete version is seen and reported, not refused.
  SSL_CTX_set_min_proto_version(ctx.get(), 0);
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE,
                     nullptr);  // verification is recorded, not enforced
  if (!ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1)
      return make_error("cannot load --ca-file " + ca_file + ": " + openssl_errors("unreadable"));
  } else {
    SSL_CTX_set_default_verify_paths(ctx.get());
  }
  return ctx;
}

Expected<SslCtxShared> shared_context(const std::string& ca_file) {
  struct Entry {
    std::string ca_file, signature;
    SslCtxShared ctx;
  };
  static std::mutex mu;
  static std::vector<Entry> cache;  // one entry per CA source: the system store, each --ca-file
  const auto signature = file_signature(ca_source(ca_file));
  // Held while building, so a probe waits for a warm-up already loading the same store.
  std::lock_guard lock(mu);
  auto it = std::find_if(cache.begin(), cache.end(),
                         [&](const Entry& e) { return e.ca_file == ca_file; });
  if (it != cache.end() && it->signature == signature) return it->ctx;
  auto built = build_context(ca_file);
  if (!built) return built;  // not cached: the next probe tries again and says why again
  if (it != cache.end()) {
    it->signature = signature;
    it->ctx = *built;
  } else {
    if (cache.size() >= 8) cache.erase(cache.begin());  // bounded: a watch names few CA files
    cache.push_back({ca_file, signature, *built});
  }
  return built;
}

}  // namespace

struct TlsClient::Impl {
  SslCtxShared ctx;
  SSL* ssl = nullptr;
  BIO* in = nullptr;   // owned by ssl
  BIO* out = nullptr;  // owned by ssl
  std::string server_name;
  ~Impl() {
    if (ssl) SSL_free(ssl);
  }
};

Expected<bool> TlsClient::prepare(const std::string& ca_file) {
  auto ctx = shared_context(ca_file);
  if (!ctx) return ctx.error();
  return true;
}

Expected<std::unique_ptr<TlsClient>> TlsClient::create(const Options& options) {
  std::unique_ptr<TlsClient> c(new TlsClient());
  c->impl_ = std::make_unique<Impl>();
  auto& im = *c->impl_;
  im.server_name =
      options.certificate_name.empty() ? options.server_name : options.certificate_name;
  auto ctx = shared_context(options.ca_file);
  if (!ctx) return ctx.error();
  im.ctx = std::move(*ctx);
  im.ssl = SSL_new(im.ctx.get());
  im.in = BIO_new(BIO_s_mem());
  im.out = BIO_new(BIO_s_mem());
  if (im.ssl == nullptr || im.in == nullptr || im.out == nullptr)
    return make_error("cannot create a TLS session: " + openssl_errors("out of memory"));
  SSL_set_bio(im.ssl, im.in, im.out);
  SSL_set_connect_state(im.ssl);
  if (!options.server_name.empty()) {
    SSL_set_tlsext_host_name(im.ssl, options.server_name.c_str());
  }
  if (!options.alpn.empty()) {
    std::vector<unsigned char> wire;
    for (const auto& p : options.alpn) {
      wire.push_back(static_cast<unsigned char>(p.size()));
      wire.insert(wire.end(), p.begin(), p.end());
    }
    SSL_set_alpn_protos(im.ssl, wire.data(), static_cast<unsigned>(wire.size()));
  }
  return c;
}

TlsClient::~TlsClient() = default;

Expected<bool> TlsClient::handshake_step() {
  ERR_clear_error();
  int rc = SSL_do_handshake(impl_->ssl);
  if (rc == 1) return true;
  int err = SSL_get_error(impl_->ssl, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
  return make_error(openssl_errors("the TLS handshake failed"));
}

void TlsClient::feed(std::span<const std::uint8_t> from_server) {
  if (!from_server.empty())
    BIO_write(impl_->in, from_server.data(), static_cast<int>(from_server.size()));
}

std::vector<std::uint8_t> TlsClient::take_output() {
  std::vector<std::uint8_t> out(static_cast<size_t>(BIO_ctrl_pending(impl_->out)));
  if (!out.empty()) {
    int n = BIO_read(impl_->out, out.data(), static_cast<int>(out.size()));
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  return out;
}

Expected<bool> TlsClient::write(std::span<const std::uint8_t> plaintext) {
  ERR_clear_error();
  if (SSL_write(impl_->ssl, plaintext.data(), static_cast<int>(plaintext.size())) <= 0)
    return make_error(openssl_errors("TLS write failed"));
  return true;
}

Expected<std::vector<std::uint8_t>> TlsClient::read() {
  std::vector<std::uint8_t> out;
  std::uint8_t buf[16384];
  for (int guard = 0; guard < 1024; ++guard) {  // bounded: each pass consumes buffered input
    ERR_clear_error();
    int n = SSL_read(impl_->ssl, buf, sizeof buf);
    if (n > 0) {
      out.insert(out.end(), buf, buf + n);
      continue;
    }
    int err = SSL_get_error(impl_->ssl, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_ZERO_RETURN)
      break;
    return make_error(openssl_errors("TLS read failed"));
  }
  return out;
}

TlsFacts TlsClient::facts() const {
  TlsFacts f;
  SSL* ssl = impl_->ssl;
  f.version = to_valid_utf8(SSL_get_version(ssl));
  f.version_number = SSL_version(ssl);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl))
    f.cipher = to_valid_utf8(SSL_CIPHER_get_name(c));
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn != nullptr)
    f.alpn = to_valid_utf8(std::string_view(reinterpret_cast<const char*>(alpn), alpn_len));
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl))
    for (int i = 0; i < sk_X509_num(chain); ++i)
      f.chain.push_back(describe(sk_X509_value(chain, i)));
  if (X509* leaf = SSL_get1_peer_certificate(ssl)) {
    f.name_matches = !impl_->server_name.empty() &&
                     X509_check_host(leaf, impl_->server_name.c_str(), 0, 0, nullptr) == 1;
    f.expired = X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0 ||
                X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0;
    X509_free(leaf);
  }
  long verify = SSL_get_verify_result(ssl);
  f.trusted = verify == X509_V_OK;
  if (!f.trusted) f.verify_error = to_valid_utf8(X509_verify_cert_error_string(verify));
  return f;
}

}  // namespace midiag::tdsprobe
