// IPv4/IPv6 + TCP (and ICMP unreachable) decoding of captured frames, and TCP session
// reassembly: bytes in, per-session structs out. No libpcap, no I/O.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "decoders/common/expected.h"
#include "decoders/pcap/pcap_file.h"

namespace midiag::pcap {

struct Address {
  std::uint8_t family = 4;                // 4 or 6
  std::array<std::uint8_t, 16> bytes{};   // IPv4 uses the first 4
  [[nodiscard]] std::string str() const;  // "127.0.0.1", "2001:db8::1" (RFC 5952)
  auto operator<=>(const Address&) const = default;
};

struct Endpoint {
  Address address;
  std::uint16_t port = 0;
  [[nodiscard]] std::string str() const;  // "127.0.0.1:1433", "[::1]:1433"
  auto operator<=>(const Endpoint&) const = default;
};

inline constexpr std::uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoIcmpv6 = 58;

namespace tcp_flags {
inline constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
}

struct TcpHeader {
  std::uint16_t src_port = 0, dst_port = 0;
  std::uint32_t seq = 0, ack = 0;
  std::uint8_t flags = 0;
  std::uint16_t window = 0;
  std::optional<std::uint16_t> mss;  // option 2, normally only on SYN and SYN-ACK
};

// ICMP destination unreachable (v4 type 3, v6 type 1) with the 5-tuple of the packet it quotes.
struct IcmpUnreachable {
  double timestamp = 0;
  Address reporter;  // who sent the ICMP message (a router or the destination host)
  std::uint8_t type = 0, code = 0;
  std::uint8_t protocol = 0;            // of the quoted packet
  Endpoint original_src, original_dst;  // ports are 0 when the quote is too short to hold them
};

struct Packet {
  double timestamp = 0;
  Address src, dst;
  std::uint8_t protocol = 0;  // transport protocol after IPv6 extension headers
  std::uint8_t ttl = 0;       // IPv4 TTL or IPv6 hop limit
  std::optional<TcpHeader> tcp;
  std::optional<IcmpUnreachable> icmp_unreachable;
  std::vector<std::uint8_t> payload;  // TCP payload as captured (the snaplen may cut it)
  std::size_t payload_length = 0;     // TCP payload length on the wire, from the IP header
};

// Decodes one frame down to TCP or ICMP. An Error says why a frame carries nothing we read
// (not IP, a later IP fragment, a malformed header); callers normally skip those frames.
Expected<Packet> decode_packet(const Frame& frame);

// One packet of a session, as a summary line.
struct PacketSummary {
  double timestamp = 0;
  bool from_client = true;
  std::uint8_t flags = 0;
  std::uint32_t seq = 0, ack = 0;
  std::uint32_t length = 0;  // payload bytes
  std::uint8_t ttl = 0;
  std::uint16_t window = 0;
  bool retransmission = false;  // every payload byte had been seen already
};

struct StreamBytes {
  std::vector<std::uint8_t> bytes;   // in sequence order, duplicates dropped, up to the cap
  std::uint64_t delivered = 0;       // in-order bytes seen, including those past the cap
  std::uint64_t retransmitted = 0;   // payload bytes dropped as already seen
  bool capped = false;               // the cap was reached: `bytes` stops there
  bool gap = false;                  // bytes missing from the capture: `bytes` stops there
  std::optional<std::uint16_t> mss;  // MSS this side announced
};

struct Session {
  Endpoint client, server;
  bool client_from_syn = false;  // false: chosen by the port heuristic (SYN not captured)
  std::optional<double> syn_time, syn_ack_time, first_data_time, fin_time, rst_time;
  std::optional<bool> fin_from_client, rst_from_client;
  std::optional<std::uint8_t> rst_ttl;  // a TTL unlike the peer's hints at a middlebox RST
  StreamBytes to_server, to_client;
  std::vector<PacketSummary> packets;
};

struct FlowOptions {
  std::size_t max_bytes_per_direction = 16U * 1024U * 1024U;
};

struct FlowReport {
  std::vector<Session> sessions;  // in order of their first packet
  std::vector<IcmpUnreachable> unreachable;
  std::size_t undecoded_frames = 0;  // not IP/TCP/ICMP-unreachable, or malformed
};

// Reassembles the TCP sessions of a capture (frames in capture order).
FlowReport reassemble(const std::vector<Frame>& frames, const FlowOptions& options = {});

// True for ports a SQL Managed Instance listens on (1433, 3342 public endpoint, 11000-11999
// redirect range).
bool is_sql_port(std::uint16_t port);

}  // namespace midiag::pcap
