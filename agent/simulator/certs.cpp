#include "agent/simulator/certs.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace midiag::sim {

namespace {

constexpr long kHour = 3600;
constexpr long kDay = 24 * kHour;

Error openssl_error(std::string_view what) {
  std::string msg(what);
  if (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return make_error(msg);
}

bool set_validity(X509* cert, bool expired) {
  long from = expired ? -60 * kDay : -kHour;
  long to = expired ? -30 * kDay : 30 * kDay;
  return X509_gmtime_adj(X509_getm_notBefore(cert), from) != nullptr &&
         X509_gmtime_adj(X509_getm_notAfter(cert), to) != nullptr;
}

bool set_random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7F;  // a positive INTEGER
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

X509Ptr new_cert(const std::string& cn, EVP_PKEY* key, bool expired) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !set_random_serial(cert.get()) ||
      !set_validity(cert.get(), expired) || X509_set_pubkey(cert.get(), key) != 1) {
    return nullptr;
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("mi-diag simulator"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

std::string to_pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "";
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return pem;
}

}  // namespace

Expected<Certificates> make_certificates(const CertRequest& request) {
  Certificates c;
  c.ca_key.reset(EVP_EC_gen("P-256"));
  c.leaf_key.reset(EVP_EC_gen("P-256"));
  if (!c.ca_key || !c.leaf_key) return openssl_error("generating EC keys");

  // The CA stays valid when the leaf is expired: the failure must be the leaf's dates alone.
  c.ca = new_cert("mi-diag simulator CA", c.ca_key.get(), false);
  if (!c.ca) return openssl_error("creating the CA certificate");
  X509_set_issuer_name(c.ca.get(), X509_get_subject_name(c.ca.get()));
  if (!add_ext(c.ca.get(), c.ca.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !add_ext(c.ca.get(), c.ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_ext(c.ca.get(), c.ca.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(c.ca.get(), c.ca_key.get(), EVP_sha256()) == 0) {
    return openssl_error("signing the CA certificate");
  }

  c.leaf = new_cert(request.common_name, c.leaf_key.get(), request.expired);
  if (!c.leaf) return openssl_error("creating the server certificate");
  X509_set_issuer_name(c.leaf.get(), X509_get_subject_name(c.ca.get()));
  std::string sans = "DNS:" + request.common_name;
  for (const auto& name : request.extra_sans) sans += ",DNS:" + name;
  if (!add_ext(c.leaf.get(), c.ca.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(c.leaf.get(), c.ca.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_ext(c.leaf.get(), c.ca.get(), NID_ext_key_usage, "serverAuth") ||
      !add_ext(c.leaf.get(), c.ca.get(), NID_subject_key_identifier, "hash") ||
      !add_ext(c.leaf.get(), c.ca.get(), NID_authority_key_identifier, "keyid") ||
      !add_ext(c.leaf.get(), c.ca.get(), NID_subject_alt_name, sans) ||
      X509_sign(c.leaf.get(), c.ca_key.get(), EVP_sha256()) == 0) {
    return openssl_error("signing the server certificate");
  }
  c.ca_pem = to_pem(c.ca.get());
  c.leaf_pem = to_pem(c.leaf.get());
  return c;
}

}  // namespace midiag::sim
