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

// The largest route file read (a `route print` is a few KB; a full BGP table is not ours).
inline constexpr std::size_t kMaxRouteFileBytes = 100U * 1024U * 1024U;

// `path` read (at most kMaxRouteFileBytes), normalised (UTF-16, BOMs, CRLF) and parsed as `format`,
// or as the format detect_format places it. ErrorKind::Usage when it cannot be placed or parsed,
// naming what was expected.
Expected<platform::routes::RouteTable> read_route_file(
    const std::string& path, std::optional<platform::routes::SourceFormat> format);

// The command; exit codes per spec §3 (0 ok, 1 --to has no route, 2 bad usage or file, 3 the
// host's table could not be read).
int run_routes(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace midiag::agent
