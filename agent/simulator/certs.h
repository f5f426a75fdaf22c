// The simulated instance's certificates, made fresh at start: a self-signed CA and a leaf for the
// instance's DNS zone, so clients can test trust (--ca-file), name matching and expiry.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::sim {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct CertRequest {
  std::string common_name;              // also the first SAN
  std::vector<std::string> extra_sans;  // more DNS names
  bool expired = false;                 // validity entirely in the past
};

struct Certificates {
  X509Ptr ca, leaf;
  PkeyPtr ca_key, leaf_key;
  std::string ca_pem, leaf_pem;
};

// EC P-256 keys: quick to generate, so tests can start many instances.
Expected<Certificates> make_certificates(const CertRequest& request);

}  // namespace midiag::sim
