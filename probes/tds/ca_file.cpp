#include "probes/tds/ca_file.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string_view>

#include "platform/text/input_file.h"

namespace midiag::tdsprobe {
namespace {

constexpr std::string_view kWhat = "--ca-file";
constexpr std::string_view kExpected =
    "expected a CA bundle in PEM format: '-----BEGIN CERTIFICATE-----' blocks";

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct InfoStackFree {
  void operator()(STACK_OF(X509_INFO) * s) const { sk_X509_INFO_pop_free(s, X509_INFO_free); }
};

// OpenSSL's queued reasons, joined; the queue is left empty for the next caller.
std::string openssl_reasons() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out;
}

std::string subject_line(const X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0,
                     XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string{};
}

// The PEM labels present ("PRIVATE KEY", "X509 CRL"), to say what the file holds instead.
std::string pem_labels(std::string_view text) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  std::string labels;
  for (auto at = text.find(kBegin); at != std::string_view::npos; at = text.find(kBegin, at)) {
    at += kBegin.size();
    const auto end = text.find("-----", at);
    if (end == std::string_view::npos || end - at > 64) break;
    const auto label = std::string(text.substr(at, end - at));
    if (labels.find(label) == std::string::npos) labels += (labels.empty() ? "" : ", ") + label;
  }
  return labels;
}

bool is_der_certificate(const std::string& bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::unique_ptr<X509, X509Free> cert(d2i_X509(nullptr, &p, static_cast<long>(bytes.size())));
  ERR_clear_error();
  return cert != nullptr;
}

Error usage(const std::string& path, const std::string& problem) {
  return make_error(std::string(kWhat) + " " + path + ": " + problem, ErrorKind::Usage);
}

Error der_hint(const std::string& path) {
  return usage(path,
               "holds a DER (binary) certificate, not PEM; convert it with 'openssl x509 "
               "-inform DER -in " +
                   path + " -out ca.pem' and pass ca.pem");
}

}  // namespace

Expected<CaFileInfo> load_ca_file(const std::string& path) {
  auto bytes = platform::read_input_file(path, kMaxCaFileBytes, kWhat);
  if (!bytes) return make_error(bytes.error().message, ErrorKind::Usage);

  ERR_clear_error();
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(bytes->data(), static_cast<int>(bytes->size())));
  if (!bio) return usage(path, "cannot be parsed: out of memory");
  // The reader SSL_CTX_load_verify_locations uses, so what passes here loads there too.
  std::unique_ptr<STACK_OF(X509_INFO), InfoStackFree> infos(
      PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr));
  if (!infos) {
    if (is_der_certificate(*bytes)) return der_hint(path);
    const std::string why = openssl_reasons();
    return usage(path, "not a usable PEM file (" + std::string(kExpected) + ")" +
                           (why.empty() ? "" : ": " + why));
  }
  ERR_clear_error();  // end of input leaves a "no start line" behind

  CaFileInfo info;
  for (int i = 0; i < sk_X509_INFO_num(infos.get()); ++i) {
    const X509_INFO* item = sk_X509_INFO_value(infos.get(), i);
    if (item->x509 == nullptr) continue;
    ++info.certificates;
    info.subjects.push_back(subject_line(item->x509));
  }
  if (info.certificates == 0) {
    if (is_der_certificate(*bytes)) return der_hint(path);
    const std::string labels = pem_labels(*bytes);
    return usage(path, "no PEM certificate in it (" +
                           (labels.empty() ? std::string(kExpected)
                                           : "only " + labels + "; " + std::string(kExpected)) +
                           ")");
  }
  return info;
}

}  // namespace midiag::tdsprobe
