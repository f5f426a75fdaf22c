// Whether this host has a TCP socket listening on a port, read from the kernel's socket tables
// (/proc/net/tcp and tcp6): no connection is made, so nothing is sent to the port's owner.
#pragma once

#include <cstdint>
#include <string>

#include "decoders/common/expected.h"

namespace midiag::platform {

// True when a socket of either family listens on `port` (any local address). An Error when
// neither table can be read (no /proc).
Expected<bool> tcp_port_listening(std::uint16_t port, const std::string& proc_net = "/proc/net");

}  // namespace midiag::platform
