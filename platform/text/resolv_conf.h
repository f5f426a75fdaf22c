// resolv.conf and hosts-file parsing (pure text in, structs out), so the system resolver's view
// can be reproduced and a hosts-file override named.
#pragma once

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
// Reads and parses; a missing or unreadable file is an Error naming the path and the reason.
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
