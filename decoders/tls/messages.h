// Private: parsers for the bodies of the cleartext handshake messages a diagnosis reads.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "decoders/common/expected.h"
#include "decoders/tls/records.h"

namespace midiag::tls::detail {

Expected<ClientHello> parse_client_hello(std::span<const std::uint8_t> body);
Expected<ServerHello> parse_server_hello(std::span<const std::uint8_t> body);
// TLS 1.2 Certificate: u24 list length, then u24 length + DER per certificate.
Expected<std::vector<std::vector<std::uint8_t>>> parse_certificate(
    std::span<const std::uint8_t> body);

}  // namespace midiag::tls::detail
