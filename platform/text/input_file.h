// Reading a file the user named (resolv.conf, hosts, a CA bundle) whole, or refusing it with a
// reason: never a silent cut at a size limit, never a block on a FIFO or a device.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "decoders/common/expected.h"
#include "platform/posix/unique_fd.h"

namespace midiag::platform {

// The whole content of `path`, a regular file of at most `max_bytes`. `what` names the file's role
// in messages ("--ca-file", "resolv.conf"): "<what> <path>: <problem>".
//   - a directory, FIFO, socket or device is refused (ErrorKind::Usage) without being read, so a
//     FIFO cannot block; the null device (/dev/null) is the one exception and reads as empty;
//   - a file over `max_bytes` is refused (ErrorKind::Usage) with its size and the limit;
//   - a file that cannot be opened or read is ErrorKind::Io with the system's reason.
Expected<std::string> read_input_file(const std::string& path, std::size_t max_bytes,
                                      std::string_view what);

// `path` opened for reading after the same type checks (directory, FIFO, socket, device refused
// with ErrorKind::Usage before any open; /dev/null allowed), for callers that read it in chunks.
Expected<UniqueFd> open_input_file(const std::string& path, std::string_view what);

}  // namespace midiag::platform
