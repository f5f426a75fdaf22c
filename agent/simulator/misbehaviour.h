// Gateways that break in the ways probes must recognise: silence, garbage, a stalled packet, a
// trickle, another protocol. Each answers the client's first bytes (a PRELOGIN, normally).
#pragma once

#include <memory>

#include "agent/simulator/instance.h"
#include "agent/simulator/responses.h"
#include "agent/simulator/tcp_server.h"

namespace midiag::sim {

// Null for Behaviour::Normal. `seed` varies per connection for Garbage.
std::unique_ptr<Handler> make_misbehaving_handler(Behaviour behaviour, const ServerVersion& version,
                                                  tds::Encryption encryption, std::uint32_t seed);

}  // namespace midiag::sim
