// What a PRELOGIN ENCRYPTION exchange decides (MS-TDS 2.2.6.5): the client's and the server's
// values together say whether TLS is used for the login only, for the whole session, not at all,
// or whether a conforming client must hang up.
#pragma once

#include <string_view>

#include "decoders/tds/prelogin.h"

namespace midiag::tds {

enum class Negotiated {
  None,       // no TLS at all: LOGIN7 travels obfuscated only (XOR), readable by anyone on the path
  LoginOnly,  // TLS for LOGIN7 only; the login response and everything after in clear
  Full,       // TLS for the whole session
  Terminate,  // the two cannot agree: a conforming client closes the connection
};
std::string_view to_string(Negotiated n);  // none|login_only|full|terminate

// The outcome for a client that sent `client` and a server that answered `server`. A client
// that asked ON gets a fully encrypted session whatever non-NOT_SUP value the server answers
// (the Microsoft drivers and SQL Server behave so: ON from either side wins).
Negotiated negotiate(Encryption client, Encryption server);

}  // namespace midiag::tds
