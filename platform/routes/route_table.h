// One model of a route table, whatever produced it (this host's kernel over netlink, a Windows
// `route print`, a macOS `netstat -rn`, a P2S VPN routes.txt, an Azure effective-route export),
// and one lookup that chooses a route the way that source's OS would. Each source is a parser of
// its own (platform/routes/parse_*.cpp) with the same shape: text in, RouteTable out, the lines it
// could not read listed rather than dropped.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::platform::routes {

// Where a table came from; the lookup's rules follow it.
enum class SourceFormat {
  Linux,           // `ip route [show table all]`, `ip -6 route`, `route -n`, `netstat -rn`, netlink
  Windows,         // `route print` (any language), `route print -4` / `-6`
  MacOs,           // `netstat -rn`, `netstat -nr -f inet` (also FreeBSD/NetBSD/OpenBSD layouts)
  P2s,             // the point-to-site VPN client's routes.txt
  AzureVpnXml,     // the Azure VPN Client's azurevpnconfig.xml include/exclude routes
  AzureEffective,  // `az network nic show-effective-route-table` JSON
};
std::string_view format_name(SourceFormat f);  // "linux", "windows", "macos", "p2s", ...
std::optional<SourceFormat> parse_format_name(std::string_view name);

// An IPv4 or IPv6 address (network byte order in the first 4 or 16 bytes).
struct Address {
  int family = 4;  // 4 or 6
  std::array<std::uint8_t, 16> bytes{};
  std::string zone;  // IPv6 scope ("%en0", "%12"), as written; not part of comparisons
  static std::optional<Address> parse(std::string_view text);  // numeric only, "%zone" allowed
  [[nodiscard]] std::string text() const;                      // canonical, without the zone
  [[nodiscard]] bool is_private() const;  // RFC 1918, 100.64/10 (CGNAT), fc00::/7
  friend bool operator==(const Address& a, const Address& b) {
    return a.family == b.family && a.bytes == b.bytes;
  }
};

struct Prefix {
  Address network;  // host bits zero
  int length = 0;   // 0..32 or 0..128
  // "10.0.0.0/8", "10.0.0.0" + mask "255.0.0.0", "default", "0/0", macOS "192.168.1" and "127".
  static std::optional<Prefix> parse(std::string_view text);
  static std::optional<Prefix> from_mask(const Address& network, const Address& mask);
  [[nodiscard]] bool contains(const Address& a) const;
  [[nodiscard]] std::string text() const;  // "10.0.0.0/8"
};

struct RouteEntry {
  Prefix destination;
  std::optional<Address> gateway;       // none: on-link (directly connected, link#N, a MAC gateway)
  std::string gateway_text;             // as the source wrote it ("On-link", "link#4", a MAC, ...)
  std::string interface;                // as the source names it (Windows: the interface address;
                                        // macOS: en0/utun3; P2S: "vpn"; Azure: the next hop type)
  std::optional<std::uint32_t> metric;  // Windows: the sum route print shows; none: "default"
  std::string flags;                    // as written (macOS "UGScg", Linux "UG"), "" if none
  std::string table;                    // Linux: "main", "local", a number; else ""
  std::string kind =
      "unicast";            // unicast|local|broadcast|blackhole|unreachable|prohibit|throw|
                            // exclude (VPN XML) | Azure next hop type (VirtualAppliance, None...)
  bool active = true;       // false: Azure state Invalid, Linux linkdown, a P2S "exclude"
  bool persistent = false;  // Windows "Persistent Routes" section
  std::string origin;       // where it came from: "line 12", "netlink", "routes[3]"

  // The source's own name for `interface` when it gives one (Windows: the interface list's name
  // for an IPv6 row's index, netsh's Interface Name), else "".
  std::string interface_name;
  [[nodiscard]] int family() const { return destination.network.family; }
};

// A Linux policy rule (`ip rule`): selectors, then the table to look up (or an action).
struct PolicyRule {
  std::uint32_t priority = 0;
  std::optional<Prefix> from, to;  // none: all
  std::string iif, oif;            // "" : any
  std::optional<std::uint32_t> fwmark;
  std::string table;              // "main", "local", "default", a number; "" when not a lookup
  std::string action = "lookup";  // lookup|blackhole|unreachable|prohibit|nop|goto
  bool invert = false;            // "not from ..."
  int family = 0;                 // 4 or 6 (`ip -6 rule`); 0: not known, applies to both
  std::string text;               // the rule as written
  std::string origin;
};

// Windows `route print` interface list (idx, MAC, name) and the interfaces a source names.
struct Interface {
  std::string index;  // "12" on Windows, "" elsewhere
  std::string name;   // "Ethernet", "utun3", the VPN connection's name
  std::string mac;
};

struct RouteTable {
  SourceFormat format = SourceFormat::Linux;
  std::vector<RouteEntry> routes;  // in the source's order
  std::vector<PolicyRule> rules;   // Linux only; empty: the kernel's three default rules apply
  std::vector<Interface> interfaces;
  // Lines (or JSON members) the parser could not read, with their number and why: shown, never
  // silently dropped.
  struct Unread {
    std::size_t line = 0;
    std::string text, reason;
  };
  std::vector<Unread> unread;
  std::string note;  // e.g. "French route print", "IPv4 section only"
};

// Which route carries `to`, as the source's OS would choose it, and why.
struct Lookup {
  std::optional<std::size_t> route;  // index into RouteTable::routes; none: no route
  std::optional<std::size_t> rule;   // Linux: the policy rule that chose the table
  std::string reason;                // one sentence: "/24 is the longest prefix; metric 25 beat 35"
  std::vector<std::size_t> beaten;   // other routes that also matched, best first
};

// Longest prefix, then lowest metric (Windows: route print's metric, already the sum of route and
// interface metric); Linux: the rules by priority, each chosen table by longest prefix then metric,
// throw/unreachable/blackhole/prohibit as the kernel treats them, linkdown routes skipped;
// inactive entries never chosen; a P2S/VPN XML "exclude" wins over an include of equal or shorter
// prefix.
Lookup lookup(const RouteTable& table, const Address& to);

// Detects the format from the text's shape (column layout, section markers, XML root, JSON keys),
// never from English words alone; nullopt when it cannot place it.
std::optional<SourceFormat> detect_format(std::string_view text);

// Parses `text` as `format`. An Error (ErrorKind::Usage) when nothing of a table is found, naming
// what was expected; otherwise a table whose `unread` lists the lines that were skipped.
Expected<RouteTable> parse_routes(std::string_view text, SourceFormat format);

// The parsers behind parse_routes, one per source (each in its own file).
Expected<RouteTable> parse_linux(std::string_view text);
Expected<RouteTable> parse_windows(std::string_view text);
Expected<RouteTable> parse_macos(std::string_view text);
Expected<RouteTable> parse_p2s(std::string_view text);
Expected<RouteTable> parse_azure_vpn_xml(std::string_view text);
Expected<RouteTable> parse_azure_effective(std::string_view text);

// Text as read from a file: a UTF-16LE/BE file with a BOM (PowerShell's `>`) becomes UTF-8, a UTF-8
// BOM is dropped, CRLF and lone CR become LF. Invalid UTF-16 is replaced, never a crash.
std::string normalize_text(std::string_view raw);
// The same on a buffer the caller owns (a file's bytes): no copy unless it was UTF-16.
void normalize_text_in_place(std::string& text);

}  // namespace midiag::platform::routes
