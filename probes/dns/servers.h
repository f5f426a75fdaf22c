// Turns the caller's server strings into the list c-ares takes, checking each one first so a typo
// is reported by name rather than as c-ares's "bad string".
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::dns {

struct ServerList {
  std::string csv;                   // for ares_set_servers_ports_csv
  std::size_t count = 0;             // servers in `csv`
  std::vector<std::string> skipped;  // one sentence per server left out, naming it and why
};

// "IP", "IP:port", "[IPv6]" or "[IPv6]:port" each → "a.b.c.d:port" / "[v6]:port" (port 53 if
// absent), comma-joined. A scoped address ("fe80::1%eth0", "[fe80::1%eth0]:53") is skipped, not
// an error: c-ares 1.18 cannot use one, and passing it would make c-ares reject the whole list.
// An Error when a string is not an address at all, or when no usable server is left.
Expected<ServerList> usable_servers(const std::vector<std::string>& servers);

}  // namespace midiag::dns
