// A server that speaks only TLS (no TDS): the handshake with the simulator's certificate, then it
// closes. The lab's stand-in for the Microsoft Entra ID authority (login.microsoftonline.com:443),
// which `check --auth entra` greets with a handshake and nothing else.
#pragma once

#include <openssl/ssl.h>

#include <memory>

#include "agent/simulator/tcp_server.h"

namespace midiag::sim {

// `ctx` outlives the handler (the instance owns it).
std::unique_ptr<Handler> make_plain_tls_handler(SSL_CTX* ctx);

}  // namespace midiag::sim
