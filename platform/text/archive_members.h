// Members of a .tar.gz (a mi-diag bundle attached to a ticket) read without extracting it: only
// the members asked for, each and all together bounded, never a path written to disk.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "decoders/common/expected.h"

namespace midiag::platform {

// True when `path` starts like a gzip or tar file (the magic bytes, not the name).
bool looks_like_archive(std::string_view head);

// The regular-file members whose path inside the archive satisfies `wanted` (given the path with
// the bundle's top folder removed: "system/routes-ipv4.txt"), name -> content. ErrorKind::Usage
// when the file is not a readable archive or a wanted member or their sum exceeds `max_bytes`;
// at most `max_entries` headers are read.
Expected<std::map<std::string, std::string>> read_archive_members(
    const std::string& path, const std::function<bool(std::string_view)>& wanted,
    std::size_t max_bytes, std::size_t max_entries = 10000);

}  // namespace midiag::platform
