// A captured frame as a view into the bytes it was read from: what the stream reader hands out
// and what the frame decoder and the duplicate filter take.
#pragma once

#include <cstdint>
#include <span>

namespace midiag::pcap {

// One frame as the file holds it. `data` points into the caller's chunk or the reader's carry-over
// buffer: it is valid only during the callback (copy what must outlive it).
struct FrameView {
  std::int64_t timestamp_ns = 0;       // since the epoch (pcapng if_tsoffset applied)
  std::uint32_t link_type = 0;         // LINKTYPE_* of the frame's interface
  std::uint32_t interface_id = 0;      // pcapng interface within its section; 0 for classic pcap
  std::span<const std::uint8_t> data;  // captured bytes (the snaplen may cut the packet)
  std::uint32_t original_length = 0;   // length on the wire
  std::uint64_t file_offset = 0;       // where the frame's record or block starts in the file
};

}  // namespace midiag::pcap
