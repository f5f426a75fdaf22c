// The support bundle's archive (spec §7): a .tar.gz with one top folder, every member listed in a
// SHA256SUMS that `sha256sum -c` accepts, written under a temporary name beside the destination
// and renamed, with FILE.sha256 beside it. A failure leaves neither file behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::reports {

struct BundleMember {
  std::string name;  // relative to the top folder, e.g. "manifest.json", "system/hosts"
  std::string data;
};

struct BundleWriteOptions {
  std::time_t mtime = 0;  // 0: now; also names the top folder
  // Tests: the archive's byte sink fails with ENOSPC once this many bytes were written.
  std::optional<std::size_t> fail_after_bytes;
};

struct BundleWritten {
  std::string path;    // the archive, as given
  std::string top;     // "mi-diag-bundle-20261130T041932Z"
  std::string sha256;  // of the whole archive (hex), as in FILE.sha256
  std::size_t bytes = 0;
};

// "mi-diag-bundle-<UTC yyyymmddThhmmssZ>".
std::string bundle_top_folder(std::time_t t);

// Lower-case hex SHA-256.
std::string sha256_hex(std::string_view data);

// The SHA256SUMS text for these members ("<hex>  <name>\n", the format sha256sum -c reads).
std::string sha256sums(const std::vector<BundleMember>& members);

// An error when `path`'s directory does not exist or cannot be written (checked before a run).
std::optional<std::string> bundle_destination_problem(const std::string& path);

// Writes members + SHA256SUMS under one top folder. On error nothing is left at `path`,
// `path`.sha256 or the temporary names, and the message says what failed.
Expected<BundleWritten> write_bundle(const std::string& path,
                                     const std::vector<BundleMember>& members,
                                     const BundleWriteOptions& options = {});

}  // namespace midiag::reports
