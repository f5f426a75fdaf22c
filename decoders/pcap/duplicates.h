// Exact duplicate packets: capture artefacts such as `tcpdump -i any` recording a loopback packet
// once leaving and once arriving. A frame is a duplicate when its IP packet (or, for a frame that
// is not IP, its whole bytes and link type) equals one of the recent frames byte for byte and
// arrived close in time; a TCP retransmission is sent at least a timeout later, so it stays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "decoders/pcap/frame_view.h"

namespace midiag::pcap {

struct DuplicateOptions {
  std::size_t window = 64;              // how many recent frames are remembered
  std::int64_t max_gap_ns = 1'000'000;  // how far apart in time a duplicate may be (1 ms)
};

class DuplicateFilter {
 public:
  explicit DuplicateFilter(DuplicateOptions options = {});

  // True when `frame` repeats a remembered frame; otherwise it is remembered (evicting the oldest).
  // Memory: `window` copies of the compared bytes, reused from frame to frame.
  bool is_duplicate(const FrameView& frame);

 private:
  struct Seen {
    std::uint64_t hash = 0;
    std::int64_t timestamp_ns = 0;
    std::uint32_t link_type = 0;
    bool ip = false;
    std::vector<std::uint8_t> bytes;
  };
  DuplicateOptions options_;
  std::vector<Seen> ring_;
  std::size_t next_ = 0;
  std::size_t used_ = 0;
};

// 64-bit hash of a byte string (FNV-style mixing eight bytes at a time); not cryptographic.
std::uint64_t hash_bytes(std::span<const std::uint8_t> bytes);

}  // namespace midiag::pcap
