// A TLS client over memory BIOs: the caller moves the bytes, so TLS records can travel inside
// TDS packets during the handshake (TDS 7.x) or raw on the socket (after it, and TDS 8 strict).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::tdsprobe {

struct CertInfo {
  std::string subject, issuer;
  std::vector<std::string> subject_alt_names;
  std::string not_before, not_after;  // ISO 8601 UTC
  std::int64_t not_after_epoch = 0;
  std::string sha256;  // fingerprint of the DER certificate, lower-case hex (watch's drift check)
};

struct TlsFacts {
  std::string version;     // "TLSv1.2"
  int version_number = 0;  // 0x0303
  std::string cipher;
  std::string alpn;
  std::vector<CertInfo> chain;  // leaf first
  bool name_matches = false;
  bool expired = false;  // leaf outside its validity now
  bool trusted = false;
  std::string verify_error;  // OpenSSL's words when not trusted
};

class TlsClient {
 public:
  struct Options {
    std::string server_name;        // SNI and the name the certificate must cover
    std::string ca_file;            // empty: the system store
    std::vector<std::string> alpn;  // e.g. {"tds/8.0"} for strict
    std::string certificate_name;   // HostNameInCertificate: checked instead of server_name
  };
  static Expected<std::unique_ptr<TlsClient>> create(const Options& options);
  // Loads the CA store a client with this ca_file will use (empty: the system store), so a caller
  // can do it beside other work; create() reuses it. An Error says why the store cannot load.
  static Expected<bool> prepare(const std::string& ca_file);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // Drives the handshake with what has arrived; returns true once complete. An Error is a
  // handshake failure (alert, bad record) in OpenSSL's words.
  Expected<bool> handshake_step();
  void feed(std::span<const std::uint8_t> from_server);           // ciphertext in
  std::vector<std::uint8_t> take_output();                        // ciphertext out, to send
  Expected<bool> write(std::span<const std::uint8_t> plaintext);  // queued as records
  // Plaintext decrypted so far (may be empty when a record is incomplete).
  Expected<std::vector<std::uint8_t>> read();
  [[nodiscard]] TlsFacts facts() const;

 private:
  TlsClient() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace midiag::tdsprobe
