// resolv.conf and hosts-file parsing (pure text in, structs out), so the system resolver's view
// can be reproduced and a hosts-file override named.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::platform {

// A nameserver line the tool reads but cannot use, and the sentence that says so.
struct SkippedNameserver {
  std::string address;  // as written: "fe80::1%eth0"
  // "scoped link-local nameserver fe80::1%eth0: c-ares 1.18 cannot use it; skipped", fit to show
  // as a limitation of the check
  std::string reason;
};

struct ResolvConf {
  std::vector<std::string> nameservers;  // usable ones, as written (numeric IPv4 / IPv6)
  std::vector<std::string> search;
  int timeout_s = 5;
  int attempts = 2;
  // Nameservers glibc would use but c-ares 1.18 cannot (IPv6 with a %scope); they still count
  // towards glibc's three. Kept out of `nameservers` so one cannot break the others' channel.
  // The `{}` lets callers brace-initialise the fields above and leave this one out.
  std::vector<SkippedNameserver> skipped{};
};

ResolvConf parse_resolv_conf(std::string_view text);
// Largest resolv.conf read: glibc uses three nameservers and a short search list, so a
// megabyte is already absurd; a bigger file is refused (ErrorKind::Usage), never cut.
inline constexpr std::size_t kMaxResolvConfBytes = std::size_t{1} << 20;
// Largest hosts file read: ad-blocking hosts files run to tens of megabytes; a bigger file is
// refused (ErrorKind::Usage), never cut, so an override at its end cannot be missed.
inline constexpr std::size_t kMaxHostsBytes = std::size_t{64} << 20;

// Reads (see read_input_file: regular files only, whole or not at all) and parses; an Error names
// the path and the reason.
Expected<ResolvConf> load_resolv_conf(const std::string& path);

struct HostsEntry {
  std::string address;
  std::vector<std::string> names;  // canonical name first, then aliases
  int line = 0;
};

std::vector<HostsEntry> parse_hosts(std::string_view text);
Expected<std::vector<HostsEntry>> load_hosts(const std::string& path);

// Entries naming `host` (case-insensitive, trailing dot ignored).
std::vector<HostsEntry> hosts_entries_for(const std::vector<HostsEntry>& hosts,
                                          std::string_view host);

}  // namespace midiag::platform
