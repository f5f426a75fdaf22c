// resolv.conf and hosts-file parsing (pure text in, structs out), so the system resolver's view
// can be reproduced and a hosts-file override named.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::platform {

struct ResolvConf {
  std::vector<std::string> nameservers;  // as written (IPv4 / IPv6, possibly with %scope)
  std::vector<std::string> search;
  int timeout_s = 5;
  int attempts = 2;
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
