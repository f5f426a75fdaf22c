// The Azure Instance Metadata Service (IMDS) as this VM sees it: one bounded HTTP GET (plain
// HTTP to a link-local address, the `Metadata: true` header, never through a proxy) and a parser
// of its instance or network document that reads only strings (IMDS writes every value as one).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"
#include "platform/routes/route_table.h"

namespace midiag::platform::azure {

inline constexpr const char* kImdsBase = "http://169.254.169.254";
inline constexpr const char* kInstancePath = "/metadata/instance?api-version=2021-02-01";
inline constexpr const char* kNetworkPath = "/metadata/instance/network?api-version=2021-02-01";
// Azure DNS, the platform's resolver every VM can ask (spec §2).
inline constexpr const char* kAzureDns = "168.63.129.16";

struct ImdsRequest {
  std::string base = kImdsBase;  // http://IPv4[:port] only (IMDS is never a name)
  std::string path = kInstancePath;
  std::chrono::milliseconds timeout{1000};  // the whole exchange: connect, send, read
  std::size_t max_body = 256 * 1024;        // a real instance document is a few KiB
  bool metadata_header = true;              // IMDS answers 400 without it (tests send none)
};

struct ImdsAnswer {
  int status = 0;    // the HTTP status; 0 when no HTTP answer came
  std::string body;  // at most max_body bytes
  bool cut = false;  // the body was larger than max_body: the rest was dropped
  double elapsed_ms = 0;
  std::string error;                  // empty when a complete 200 answer came
  ErrorKind kind = ErrorKind::Other;  // TimedOut: IMDS silent; Io: no connection; Malformed...
  [[nodiscard]] bool ok() const { return error.empty(); }
  [[nodiscard]] bool silent() const { return kind == ErrorKind::TimedOut; }
};

// GET base+path over HTTP/1.0 on a raw socket: no proxy variable can redirect it, every step is
// bounded by the one timeout, and a body over the bound is cut and said so.
ImdsAnswer imds_get(const ImdsRequest& request);

// "1 s", "1.5 s", "250 ms": the bound as the error messages say it.
std::string duration_words(std::chrono::milliseconds d);

struct ImdsSubnet {
  std::string address, prefix;  // as IMDS wrote them ("10.0.0.0", "24")
  routes::Prefix parsed;        // 10.0.0.0/24
};

struct ImdsInterface {
  std::string mac;  // 00:0d:3a:04:75:98 (IMDS writes 000D3A047598); "" unread
  std::vector<std::string> private_addresses;  // IPv4 then IPv6, canonical text
  std::vector<std::string> public_addresses;   // empty public fields mean none
  std::vector<ImdsSubnet> subnets;             // IPv4 then IPv6
};

// A member the parser could not use: where (a JSON path) and why. Never a crash, never a guess.
struct ImdsUnread {
  std::string where, why;
};

struct ImdsInfo {
  std::string name, location, vm_id;  // the instance document's compute; empty when absent
  std::vector<ImdsInterface> interfaces;
  std::vector<ImdsUnread> unread;
};

// Bounds on what one document may make us keep (a VM has at most a few NICs and addresses).
inline constexpr std::size_t kMaxInterfaces = 64;
inline constexpr std::size_t kMaxPerList = 256;  // addresses or subnets per interface and family
inline constexpr std::size_t kMaxUnread = 64;
inline constexpr std::size_t kMaxDocument = 4U << 20;

// The instance document ({"compute", "network"}) or the network one ({"interface": [...]}).
// An error (Malformed) only when it is not JSON or neither shape; anything else that is not as
// expected goes to `unread`.
Expected<ImdsInfo> parse_imds(std::string_view text);

// How the caller classed the address (its own rules, --classify-as included).
enum class AddressScope { Private, Public, Other };

struct ImdsRelation {
  std::string address;
  std::string relation;  // same subnet | another network | public address | not a VNet address
  std::string detail;
};

// Where `address` lies as seen from this VM. IMDS lists the VM's own subnets, not its VNet's
// address space: a private address outside them may be another subnet of the same VNet or
// another VNet, and the detail says so rather than guess.
ImdsRelation relate(const ImdsInfo& vm, const std::string& address, AddressScope scope);

}  // namespace midiag::platform::azure
