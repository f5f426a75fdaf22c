// `mi-diag routes`: this host's route table (every table and the policy rules, over rtnetlink) or
// one read from a file another OS wrote, and which route would carry --to, as that OS chooses.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "decoders/common/expected.h"
#include "platform/routes/route_table.h"

namespace midiag::agent {

// The largest route file read: a `route print` is a few KB, a full Internet BGP table as
// `ip route` about 1M lines and 60 MB. Reading one costs about 7 times its size (the routes parsed
// and the text), so the bound also bounds the memory (bench/README.md "routes: huge files").
inline constexpr std::size_t kMaxRouteFileBytes = 64U * 1024U * 1024U;
// The largest effective NSG export read (a NIC's rules with every tag expanded is a few MB).
inline constexpr std::size_t kMaxNsgFileBytes = 32U * 1024U * 1024U;

// `path` read (at most kMaxRouteFileBytes), normalised (UTF-16, BOMs, CRLF) and parsed as `format`,
// or as the format detect_format places it. ErrorKind::Usage when it cannot be placed or parsed,
// naming what was expected.
Expected<platform::routes::RouteTable> read_route_file(
    const std::string& path, std::optional<platform::routes::SourceFormat> format);

// The command; exit codes per spec §3 (0 ok, 1 --to has no route or a route or --nsg verdict
// drops the flow (an error finding), 2 bad usage or file, 3 the host's table could not be read).
int run_routes(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace midiag::agent
