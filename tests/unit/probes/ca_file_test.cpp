// load_ca_file: a --ca-file the TLS step could not use is refused up front, with a message that
// says what is wrong with it; a real bundle is counted.
#include "probes/tds/ca_file.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/support/temp_dir.h"

#include "agent/simulator/certs.h"

using midiag::ErrorKind;
using midiag::tdsprobe::load_ca_file;

namespace {

using midiag::test_support::TempDir;

std::string der_of(X509* cert) {
  unsigned char* buf = nullptr;
  const int n = i2d_X509(cert, &buf);
  std::string out(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n > 0 ? n : 0));
  OPENSSL_free(buf);
  return out;
}

std::string key_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

midiag::sim::Certificates certificates() {
  auto certs = midiag::sim::make_certificates({"mi1.lab0001.database.windows.net", {}, false});
  if (!certs) throw std::runtime_error(certs.error().message);
  return std::move(*certs);
}

void expect_refused(const std::string& path, const std::string& says) {
  auto r = load_ca_file(path);
  ASSERT_FALSE(r) << path;
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_EQ(r.error().message.rfind("--ca-file " + path + ": ", 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find(says), std::string::npos) << r.error().message;
  EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL's error queue is left clean for the TLS step";
}

}  // namespace

TEST(CaFile, ABundleIsCountedWithItsSubjects) {
  TempDir dir;
  auto certs = certificates();
  auto r = load_ca_file(
      dir.file("bundle.pem", "# a comment line\n" + certs.ca_pem + "\n" + certs.leaf_pem));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->certificates, 2u);
  ASSERT_EQ(r->subjects.size(), 2u);
  EXPECT_NE(r->subjects[1].find("mi1.lab0001.database.windows.net"), std::string::npos)
      << r->subjects[1];
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(CaFile, DevNullAndEmptyHoldNoCertificate) {
  TempDir dir;
  const std::string expected =
      "no PEM certificate in it (expected a CA bundle in PEM format: "
      "'-----BEGIN CERTIFICATE-----' blocks)";
  expect_refused("/dev/null", expected);
  expect_refused(dir.file("empty.pem", ""), expected);
  expect_refused(dir.file("garbage.pem", "this is not a certificate\n\x01\x02\x03"), expected);
}

TEST(CaFile, AKeyAloneIsNamed) {
  TempDir dir;
  auto certs = certificates();
  expect_refused(dir.file("key.pem", key_pem(certs.ca_key.get())),
                 "no PEM certificate in it (only PRIVATE KEY;");
}

TEST(CaFile, ABrokenPemBlockIsRefused) {
  TempDir dir;
  auto certs = certificates();
  expect_refused(
      dir.file("broken.pem", certs.ca_pem + "-----BEGIN CERTIFICATE-----\n!!!!not base64!!!!\n"
                                            "-----END CERTIFICATE-----\n"),
      "not a usable PEM file");
}

TEST(CaFile, DerIsRefusedWithAConversionHint) {
  TempDir dir;
  auto certs = certificates();
  expect_refused(dir.file("ca.der", der_of(certs.ca.get())),
                 "holds a DER (binary) certificate, not PEM; convert it with 'openssl x509 "
                 "-inform DER");
}

TEST(CaFile, DirectoryIsRefused) {
  TempDir dir;
  expect_refused(dir.path(), "is a directory");
}

TEST(CaFile, MissingOrUnreadableSaysWhy) {
  expect_refused("/nonexistent/mi-diag/ca.pem", "cannot be read: No such file or directory");
  if (::geteuid() == 0) return;  // root reads files whatever their mode
  TempDir dir;
  auto certs = certificates();
  const auto path = dir.file("secret.pem", certs.ca_pem);
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  expect_refused(path, "cannot be read: Permission denied");
}

TEST(CaFile, FifoIsRefusedPromptly) {
  TempDir dir;
  const auto path = dir.track("fifo.pem");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << std::strerror(errno);
  const auto start = std::chrono::steady_clock::now();
  expect_refused(path, "is a FIFO");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(CaFile, OversizedIsRefused) {
  TempDir dir;
  const auto path = dir.file("huge.pem", "");
  ASSERT_EQ(::truncate(path.c_str(), 9 << 20), 0);  // sparse
  expect_refused(path, "9437184 bytes (9.0 MiB), over the 8 MiB limit");
}
