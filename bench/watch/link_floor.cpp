// The memory floor of the watch benchmark: a program linked against exactly the shared libraries
// mi-diag links (through the agent layer; none of its code runs) that prints its resident set at
// the start of main, then after the TLS set-up every TLS check needs (a client context with the
// system's trust store). Whatever mi-diag itself does comes on top of these numbers.
#include <openssl/ssl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

long resident_kib(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long value = -1;
  const std::size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, field, n) == 0) value = std::atol(line + n);
  }
  std::fclose(f);
  return value;
}

}  // namespace

int main() {
  std::printf("link floor: RSS %ld KiB at the start of main\n", resident_kib("VmRSS:"));
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr || SSL_CTX_set_default_verify_paths(ctx) != 1) return 1;
  SSL* ssl = SSL_new(ctx);
  std::printf("link floor: RSS %ld KiB with a TLS client context and the system trust store\n",
              resident_kib("VmRSS:"));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return 0;
}
