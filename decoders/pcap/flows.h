// IPv4/IPv6 + TCP (and ICMP unreachable) decoding of captured frames, and TCP session
// reassembly: bytes in, per-session structs out. No libpcap, no I/O.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
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
  std::uint32_t mtu = 0;  // next-hop MTU of fragmentation needed (v4 3/4), packet too big (v6 2)
};

struct UdpHeader {
  std::uint16_t src_port = 0, dst_port = 0;
};

struct Packet {
  double timestamp = 0;
  Address src, dst;
  std::uint8_t protocol = 0;  // transport protocol after IPv6 extension headers
  std::uint8_t ttl = 0;       // IPv4 TTL or IPv6 hop limit
  std::optional<TcpHeader> tcp;
  std::optional<IcmpUnreachable> icmp_unreachable;  // also ICMPv6 packet too big (type 2)
  std::optional<UdpHeader> udp;
  // TCP or UDP payload as captured (the snaplen may cut it): a view into the decoded frame's
  // bytes, valid as long as they are. The session tracker copies only what it keeps.
  std::span<const std::uint8_t> payload;
  std::size_t payload_length = 0;  // payload length on the wire, from the IP header
};

// Decodes one frame down to TCP or ICMP. An Error says why a frame carries nothing we read
// (not IP, a later IP fragment, a malformed header); callers normally skip those frames. The
// Packet's payload points into frame.data: keep the frame while the payload is read.
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

// A stretch of one direction's stream that never arrived while later bytes did: what a path-MTU
// black hole leaves (full-size segments dropped, a smaller later one delivered).
struct SequenceHole {
  double timestamp = 0;            // when the first segment past the hole arrived
  std::uint64_t offset = 0;        // stream offset where bytes stop (== delivered at that time)
  std::uint64_t missing = 0;       // bytes between the hole's start and that segment
  std::uint32_t next_segment = 0;  // payload length of the segment past the hole
  std::uint32_t dup_acks = 0;      // the receiver's pure ACKs repeating the hole's start
  bool filled = false;             // a later segment filled it (no black hole)
};

// Stream offset -> capture time of the packet that delivered it, for per-step timing.
struct DeliveryMark {
  std::uint64_t end = 0;  // stream offset just past the bytes this packet delivered in order
  double timestamp = 0;
};

struct StreamBytes {
  std::vector<std::uint8_t> bytes;    // in sequence order, duplicates dropped, up to the cap
  std::uint64_t delivered = 0;        // in-order bytes seen, including those past the cap
  std::uint64_t retransmitted = 0;    // payload bytes dropped as already seen
  bool capped = false;                // the cap was reached: `bytes` stops there
  bool gap = false;                   // bytes missing from the capture: `bytes` stops there
  std::optional<std::uint16_t> mss;   // MSS this side announced
  std::uint32_t largest_segment = 0;  // largest payload length seen in this direction
  std::optional<SequenceHole> hole;   // the first hole in this direction, if any
  std::vector<DeliveryMark> marks;    // the first kMaxDeliveryMarks in-order deliveries
  // Capture time of the packet that completed stream offset `end` (exclusive), if recorded.
  [[nodiscard]] std::optional<double> time_of(std::uint64_t end) const;
};

// Marks are recorded while the direction's bytes are below its cap (later ones time nothing kept).
inline constexpr std::size_t kMaxDeliveryMarks = 64;
inline constexpr std::size_t kMaxResets = 8;

// One RST of a session, with what a middlebox judgement needs.
struct ResetSeen {
  double timestamp = 0;
  bool from_client = false;
  std::uint8_t ttl = 0;
  std::uint32_t seq = 0, ack = 0;
  std::uint8_t flags = 0;
};

struct Session {
  Endpoint client, server;
  bool client_from_syn = false;  // false: chosen by the port heuristic (SYN not captured)
  std::optional<double> syn_time, syn_ack_time, first_data_time, fin_time, rst_time;
  std::optional<bool> fin_from_client, rst_from_client;
  std::optional<std::uint8_t> rst_ttl;  // a TTL unlike the peer's hints at a middlebox RST
  StreamBytes to_server, to_client;
  std::vector<PacketSummary> packets;    // the first FlowOptions::max_packets_per_session
  double first_time = 0, last_time = 0;  // first and last packet of the session
  std::uint32_t syn_count = 0;           // SYNs the client sent (first + retransmissions)
  std::optional<double> last_syn_time;   // the last of them
  std::uint32_t syn_ack_count = 0;
  // TTL of the first non-RST packet from each side, and whether that side's TTL ever changed.
  std::optional<std::uint8_t> client_ttl, server_ttl;
  bool client_ttl_varies = false, server_ttl_varies = false;
  std::vector<ResetSeen> resets;       // the first kMaxResets RSTs
  std::size_t reset_count = 0;         // all of them
  bool server_data_after_rst = false;  // the server sent payload after a RST towards the client
  std::size_t packet_count = 0;        // every packet, beyond the summaries kept
  std::size_t duplicates = 0;          // exact copies dropped (capture artefacts)
};

struct FlowOptions {
  // Stream bytes kept per direction; out-of-order bytes waiting for a gap to fill are bounded by
  // the same figure (each waiting segment counted with kPendingOverhead more).
  std::size_t max_bytes_per_direction = 16U * 1024U * 1024U;
  std::size_t max_sessions = 100000;             // further sessions are counted, not kept
  std::size_t max_packets_per_session = 100000;  // summaries kept per session
  // Stream bytes (kept and waiting) of all sessions together; past it a direction keeps no more
  // bytes (StreamBytes::capped, FlowReport::directions_cut_by_budget). 0: no budget.
  std::size_t max_bytes_total = 0;
  // Drop exact copies (same IP bytes but the TTL, within kDuplicateWindow) before reassembly:
  // a capture on several interfaces (tcpdump -i any) sees every packet twice. Needs fingerprints.
  bool drop_duplicates = false;
};

// What a waiting out-of-order segment costs beyond its bytes (map node, vector, allocator).
inline constexpr std::size_t kPendingOverhead = 96;

// Copies closer together than this are capture artefacts; any retransmission timer is slower.
inline constexpr double kDuplicateWindow = 0.05;

struct FlowReport {
  std::vector<Session> sessions;  // in order of their first packet
  std::vector<IcmpUnreachable> unreachable;
  std::size_t undecoded_frames = 0;     // not IP/TCP/ICMP-unreachable, or malformed
  std::size_t packets = 0;              // decoded TCP and ICMP packets fed in
  std::size_t duplicates = 0;           // exact copies dropped (drop_duplicates)
  std::size_t sessions_over_limit = 0;  // PACKETS of connections past max_sessions, not kept
  // Distinct connections (4-tuples) past max_sessions: exact up to kExactOverLimit, beyond that
  // an estimate (connections_over_limit_estimated; HyperLogLog, within a few percent).
  std::size_t connections_over_limit = 0;
  bool connections_over_limit_estimated = false;
  std::size_t directions_cut_by_budget = 0;  // directions that stopped keeping bytes: total budget
};

inline constexpr std::size_t kExactOverLimit = 16384;

// Identifies a packet's IP-layer bytes (TTL and IPv4 checksum left out) for duplicate detection;
// `frame` is the captured frame the packet was decoded from.
std::uint64_t packet_fingerprint(std::span<const std::uint8_t> frame, const Packet& packet);

// Incremental reassembly: feed packets in capture order one at a time, then finish(). State per
// session is bounded by FlowOptions; the number of sessions by max_sessions.
class SessionTracker {
 public:
  explicit SessionTracker(const FlowOptions& options = {});
  ~SessionTracker();
  SessionTracker(SessionTracker&&) noexcept;
  SessionTracker& operator=(SessionTracker&&) noexcept;
  SessionTracker(const SessionTracker&) = delete;
  SessionTracker& operator=(const SessionTracker&) = delete;

  // A decoded packet (TCP or ICMP unreachable; others are ignored). `fingerprint` 0: unknown.
  void add(const Packet& packet, std::uint64_t fingerprint = 0);
  void add_undecoded() { ++undecoded_; }
  // The sessions and ICMP messages seen; the tracker is empty afterwards.
  FlowReport finish();

 private:
  struct State;
  State& state();
  FlowOptions options_;
  std::unique_ptr<State> state_;  // made by the first packet: finish() leaves none behind
  std::size_t undecoded_ = 0;
};

// Reassembles the TCP sessions of a capture (frames in capture order).
FlowReport reassemble(const std::vector<Frame>& frames, const FlowOptions& options = {});

// True for ports a SQL Managed Instance listens on (1433, 3342 public endpoint, 11000-11999
// redirect range).
bool is_sql_port(std::uint16_t port);

}  // namespace midiag::pcap
