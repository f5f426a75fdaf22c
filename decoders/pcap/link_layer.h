// Frame decoding for streamed frames: the link layers a capture may hold (Ethernet with 802.1Q /
// 802.1ad tags, raw IP, Linux cooked SLL and SLL2, BSD loopback NULL and LOOP) down to IP, then
// the same IPv4/IPv6 -> TCP / ICMP decoding as decode_packet(const Frame&).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "decoders/common/expected.h"
#include "decoders/pcap/flows.h"
#include "decoders/pcap/frame_view.h"

namespace midiag::pcap {

// LINKTYPE_* values beyond those in pcap_file.h. 12 and 14 are raw IP on the BSDs that used them
// (DLT_RAW's number differed between systems); LOOP is NULL with the family in network order.
inline constexpr std::uint32_t kLinkRawBsd12 = 12;
inline constexpr std::uint32_t kLinkRawBsd14 = 14;
inline constexpr std::uint32_t kLinkLoop = 108;

// The IP packet inside a frame: its bytes and where they start in the frame.
struct NetworkLayer {
  std::uint16_t ethertype = 0;  // 0x0800 IPv4, 0x86DD IPv6, other: not IP; 0: by version nibble
  std::span<const std::uint8_t> bytes;
  std::size_t offset = 0;
};

// Strips the link layer. An Error for an unsupported link type (ErrorKind::Other: the frame is
// undecoded, not the file broken) or a header cut short (ErrorKind::Malformed, frame offset).
Expected<NetworkLayer> network_layer(std::uint32_t link_type, std::span<const std::uint8_t> data);

// Decodes one streamed frame (the Packet's payload is a view into frame.data).
Expected<Packet> decode_packet(const FrameView& frame);

}  // namespace midiag::pcap
