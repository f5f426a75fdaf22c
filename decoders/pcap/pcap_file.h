// Capture files from a byte buffer, all frames copied out (decoders/pcap/stream.h streams them
// without copies): classic pcap (either byte order, micro- or nanosecond timestamps) and pcapng
// (SHB, IDB, EPB, SPB, old PB; unknown blocks skipped). No I/O here.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::pcap {

// LINKTYPE_* values (tcpdump.org/linktypes.html) the packet decoder understands.
inline constexpr std::uint32_t kLinkNull = 0;
inline constexpr std::uint32_t kLinkEthernet = 1;
inline constexpr std::uint32_t kLinkRaw = 101;
inline constexpr std::uint32_t kLinkLinuxSll = 113;
inline constexpr std::uint32_t kLinkIpv4 = 228;
inline constexpr std::uint32_t kLinkIpv6 = 229;
inline constexpr std::uint32_t kLinkLinuxSll2 = 276;

struct Frame {
  double timestamp = 0;  // seconds since the epoch
  std::uint32_t link_type = 0;
  std::vector<std::uint8_t> data;  // captured bytes (may be shorter than original_length)
  std::uint32_t original_length = 0;
};

enum class FileFormat : std::uint8_t { Pcap, Pcapng };

struct CaptureFile {
  FileFormat format = FileFormat::Pcap;
  std::vector<Frame> frames;
  bool truncated = false;  // the file ended (or broke) mid-structure; frames hold what was read
  std::string message;     // why reading stopped early, naming the byte offset
};

// An Error only when the buffer is not a capture at all (unknown magic); a file cut short is a
// value with `truncated` set and the frames read before the cut.
Expected<CaptureFile> read_capture(std::span<const std::uint8_t> bytes);

}  // namespace midiag::pcap
