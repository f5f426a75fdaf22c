// The Microsoft Entra ID authority a token-based login needs before its first TDS byte
// (login.microsoftonline.com:443, or the one configured): resolved, connected to and greeted
// with a plain TLS handshake whose certificate is checked as a token library checks it. No HTTP
// request, no token, no credential: the handshake is the last thing sent.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"
#include "probes/dns/dns_probe.h"
#include "probes/tcp/tcp_probe.h"
#include "probes/tds/tls_client.h"

namespace midiag::entra {

inline constexpr std::string_view kDefaultAuthorityHost = "login.microsoftonline.com";
inline constexpr std::uint16_t kDefaultAuthorityPort = 443;

struct Authority {
  std::string host;  // lower-case name without a trailing dot, or a numeric address
  std::uint16_t port = kDefaultAuthorityPort;
  [[nodiscard]] bool is_ip() const;
  [[nodiscard]] std::string str() const;  // "host:port", "[v6]:port"
};

// "HOST", "HOST:PORT", "[IPv6]:PORT" or a bare IPv6 literal; a host is a DNS name (letters,
// digits, hyphens; labels of 1-63, 253 in all) or an IP literal; PORT 1-65535. A URL or a path
// is refused with the host to give instead. Errors are Usage, in words for `--entra-authority`.
Expected<Authority> parse_authority(std::string_view text);

// Where the way to the authority broke: dns (no address for the name), tcp (no connection on
// any address), tls (no handshake, or one below TLS 1.2), certificate (the certificate a token
// library would refuse: untrusted, another name, expired).
enum class Step { None, Dns, Tcp, Tls, Certificate };
std::string_view to_string(Step s);  // "" | dns | tcp | tls | certificate

struct Options {
  Authority authority;
  // The resolvers the check asks ("system" first: the one applications use) and the addresses a
  // hosts file gives the authority's name (when there are any, DNS is not asked: applications
  // read the hosts file first and stop there).
  std::vector<dns::Resolver> resolvers;
  std::vector<std::string> hosts_addresses;
  std::string ca_file;                      // empty: the system store
  std::chrono::milliseconds timeout{3000};  // per step (DNS, TCP, TLS)
  std::vector<net::ClassOverride> class_overrides;
};

struct Result {
  Authority authority;
  std::vector<dns::Lookup> lookups;  // empty when the authority is an address
  std::vector<std::string> addresses;
  std::string addresses_from;  // "hosts-file" | "system" | "literal" | ""
  std::vector<tcp::Result> tcp;
  std::string tls_address;  // where the handshake ran (the first address that accepted)
  std::optional<tdsprobe::TlsFacts> tls;  // once the handshake completed
  std::string tls_error;                  // why the handshake did not complete
  bool tls_timed_out = false;
  double tls_ms = 0;
  double elapsed_ms = 0;
  Step failed = Step::None;
  std::string failure;  // one sentence: what broke, in a support engineer's words
  // Not empty when the tool itself could not probe (no thread, no sockets): unknown, not broken.
  std::string tool_error;
  [[nodiscard]] bool reached() const { return failed == Step::None && tool_error.empty(); }
  // The TCP result of the address the handshake ran on, else the first one probed.
  [[nodiscard]] const tcp::Result* chosen_tcp() const;
};

// Never throws; every failure is in the Result. Bounded: each step ends within its timeout.
Result probe_authority(const Options& options);

}  // namespace midiag::entra
