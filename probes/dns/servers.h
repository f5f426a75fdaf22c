// Turns the caller's server strings into the list c-ares takes, checking each one first so a typo
// is reported by name rather than as c-ares's "bad string".
#pragma once

#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::dns {

// "IP", "IP:port", "[IPv6]" or "[IPv6]:port" each → "a.b.c.d:port" / "[v6]:port" (port 53 if
// absent), comma-joined for ares_set_servers_ports_csv.
Expected<std::string> servers_csv(const std::vector<std::string>& servers);

}  // namespace midiag::dns
