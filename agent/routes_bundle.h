// `routes --from-file ticket.tar.gz`: the route and rule members of a mi-diag bundle
// (system/routes-ipv4.txt, -ipv6, system/rules-ipv4.txt, -ipv6) read in place and merged into one
// table, as `routes` would have shown it on the host the bundle came from.
#pragma once

#include <string>

#include "decoders/common/expected.h"
#include "platform/routes/route_table.h"

namespace midiag::agent {

// ErrorKind::Usage when the archive is unreadable or holds none of the members.
Expected<platform::routes::RouteTable> read_bundle_routes(const std::string& path,
                                                          std::size_t max_bytes);

}  // namespace midiag::agent
