// --auth entra in `check`: the Entra ID authority probe (probes/entra) on its own thread, started
// with the check and collected at its end, so a reachable authority adds no time to the check.
#pragma once

#include <future>
#include <string_view>

#include "agent/check.h"
#include "probes/entra/authority.h"
#include "reports/evidence.h"

namespace midiag::agent {

// A connection string's Authentication (canonical, as parse_connection_string gives it) that
// means an Entra ID token login: any method but SqlPassword, NotSpecified or none.
bool authentication_is_entra(std::string_view authentication);

// Starts the probe with the check's resolvers (the system's, from resolv.conf or the demo's
// servers, then every --resolver), the hosts file's addresses for the authority, --ca-file and
// --timeout-ms. Invalid (no future) without options.entra, or with entra_authority_probe false.
std::future<entra::Result> start_entra(const CheckOptions& options);

// Waits for it (bounded by the probe's own timeouts) and records ev.entra and the "entra"
// collector: ok when the authority was reached, failed (with the sentence) when not. Adds the
// limitations of this kind of check (no token requested, dummy SQL credentials in LOGIN7).
void collect_entra(const CheckOptions& options, reports::Evidence& ev,
                   std::future<entra::Result>& job);

}  // namespace midiag::agent
