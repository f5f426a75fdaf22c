// The --ca-file the user named, checked before any traffic: a file the TLS step could not load is
// bad input (exit 2), not a handshake failure to blame on the network.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::tdsprobe {

// A CA bundle is a few hundred KiB (the Mozilla store is ~220 KiB); more is not a bundle.
inline constexpr std::size_t kMaxCaFileBytes = std::size_t{8} << 20;

struct CaFileInfo {
  std::size_t certificates = 0;
  std::vector<std::string> subjects;  // one line each, in file order
};

// Succeeds only when `path` is a regular file of at most kMaxCaFileBytes that OpenSSL reads as
// PEM with at least one certificate, as the TLS step will load it. Every Error is
// ErrorKind::Usage with a message that starts "--ca-file <path>: " and says what to do: "is a
// directory", "cannot be read: Permission denied", "no PEM certificate in it (...)", a DER hint.
Expected<CaFileInfo> load_ca_file(const std::string& path);

}  // namespace midiag::tdsprobe
