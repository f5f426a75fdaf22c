// --auth entra in the reports: the JSON `entra` block and the text report's one line (-v).
// Strings here are raw: the renderers make them safe (make_strings_valid, safe_text).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "reports/evidence.h"

namespace midiag::reports {

// entra{authority, port, addresses[], addresses_from, dns_status, lookups[], tcp{...},
// tcp_attempts[], tls{...}, reached, failed_step, failure, elapsed_ms, prelogin{...}}; null when
// the check did not look at Entra.
nlohmann::json entra_json(const Evidence& ev);

// "login.microsoftonline.com:443 reached: 10.250.2.30, TCP 0.3 ms, TLSv1.3, certificate
// verified (CN = ...); PRELOGIN FEDAUTHREQUIRED answered 0x01"; empty without --auth entra.
std::string entra_summary(const Evidence& ev);

// What the server answered to PRELOGIN FEDAUTHREQUIRED, in words.
std::string fedauth_answer_words(const Evidence& ev);

}  // namespace midiag::reports
