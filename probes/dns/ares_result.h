// What one c-ares answer means for a Lookup: status mapping plus the CNAME chain and classified
// addresses decoded from the raw response. Kept apart from the event loop so it reads on its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "probes/dns/dns_probe.h"

namespace midiag::dns {

// Fills status, error, unreachable, cname_chain and addresses of `lookup` from a c-ares callback
// (`ares_status` as passed to it, `answer` its buffer, possibly empty).
void apply_ares_result(Lookup& lookup, int ares_status, std::span<const std::uint8_t> answer,
                       std::chrono::milliseconds timeout,
                       const std::vector<net::ClassOverride>& overrides);

}  // namespace midiag::dns
