// TCP session reassembly: group packets by 5-tuple, order each direction by sequence number.
#include "decoders/pcap/flows.h"

#include <map>
#include <utility>

namespace midiag::pcap {
namespace {

using namespace tcp_flags;

struct Direction {
  bool have_base = false;
  std::uint32_t next_seq = 0;  // sequence number of the next in-order byte
  bool syn_seen = false;
  std::uint32_t isn = 0;
  std::map<std::uint64_t, std::vector<std::uint8_t>> pending;  // out of order, by stream offset
  std::size_t pending_bytes = 0;
  bool pending_overflow = false;
  StreamBytes out;
};

struct Building {
  Endpoint first_src, first_dst;  // side 0 sent the first packet we saw
  Direction side[2];
  bool pure_syn_from[2] = {false, false};
  bool syn_ack_from[2] = {false, false};
  Session session;  // PacketSummary::from_client means "from side 0" until finish()
};

class Reassembler {
 public:
  explicit Reassembler(const FlowOptions& options) : cap_(options.max_bytes_per_direction) {}

  void add(const Packet& p) {
    const TcpHeader& tcp = *p.tcp;
    const Endpoint src{p.src, tcp.src_port}, dst{p.dst, tcp.dst_port};
    const auto key = src < dst ? std::pair(src, dst) : std::pair(dst, src);
    const bool pure_syn = (tcp.flags & (kSyn | kAck)) == kSyn;
    auto it = active_.find(key);
    if (it == active_.end() || (pure_syn && !is_syn_retransmission(built_[it->second], src, tcp))) {
      built_.push_back(Building{src, dst, {}, {}, {}, {}});
      it = active_.insert_or_assign(key, built_.size() - 1).first;
    }
    Building& b = built_[it->second];
    const int from = src == b.first_src ? 0 : 1;
    Direction& dir = b.side[from];
    Session& s = b.session;

    PacketSummary line{p.timestamp, from == 0,  tcp.flags,
                       tcp.seq,     tcp.ack,    static_cast<std::uint32_t>(p.payload_length),
                       p.ttl,       tcp.window, false};
    if ((tcp.flags & kSyn) != 0) {
      (pure_syn ? b.pure_syn_from : b.syn_ack_from)[from] = true;
      auto& when = pure_syn ? s.syn_time : s.syn_ack_time;
      if (!when) when = p.timestamp;
      if (tcp.mss) dir.out.mss = tcp.mss;
      if (!dir.have_base) {
        dir.syn_seen = true;
        dir.isn = tcp.seq;
        dir.have_base = true;
        dir.next_seq = tcp.seq + 1;  // the SYN takes one sequence number
      }
    }
    if (p.payload_length > 0) {
      if (!s.first_data_time) s.first_data_time = p.timestamp;
      const std::uint32_t data_seq = tcp.seq + ((tcp.flags & kSyn) != 0 ? 1U : 0U);
      line.retransmission = feed(dir, data_seq, p.payload);
    }
    if ((tcp.flags & kFin) != 0 && !s.fin_time) {
      s.fin_time = p.timestamp;
      s.fin_from_client = from == 0;
    }
    if ((tcp.flags & kRst) != 0 && !s.rst_time) {
      s.rst_time = p.timestamp;
      s.rst_from_client = from == 0;
      s.rst_ttl = p.ttl;
    }
    s.packets.push_back(line);
  }

  std::vector<Session> finish() {
    std::vector<Session> out;
    out.reserve(built_.size());
    for (Building& b : built_) out.push_back(finish(b));
    return out;
  }

 private:
  static bool is_syn_retransmission(const Building& b, const Endpoint& src, const TcpHeader& tcp) {
    const int from = src == b.first_src ? 0 : 1;
    return b.side[from].syn_seen && b.side[from].isn == tcp.seq;
  }

  // Returns true when every byte was already seen (a retransmission).
  bool feed(Direction& d, std::uint32_t seq, const std::vector<std::uint8_t>& payload) {
    if (!d.have_base) {  // no SYN captured: the first data byte seen is the stream start
      d.have_base = true;
      d.next_seq = seq;
    }
    // Sequence arithmetic is modulo 2^32 (RFC 793): the signed distance tells before/after.
    const auto ahead = static_cast<std::int32_t>(seq - d.next_seq);
    if (ahead > 0) {
      if (d.pending_bytes + payload.size() > cap_) {
        d.pending_overflow = true;
        return false;
      }
      auto [slot, fresh] =
          d.pending.try_emplace(d.out.delivered + static_cast<std::uint64_t>(ahead));
      if (fresh || slot->second.size() < payload.size()) {
        d.pending_bytes += payload.size() - slot->second.size();
        slot->second = payload;
      }
      return false;
    }
    const auto seen = static_cast<std::size_t>(-static_cast<std::int64_t>(ahead));
    if (seen >= payload.size()) {
      d.out.retransmitted += payload.size();
      return true;
    }
    d.out.retransmitted += seen;
    append(d, std::span(payload).subspan(seen));
    drain(d);
    return false;
  }

  void append(Direction& d, std::span<const std::uint8_t> bytes) {
    const std::size_t room = cap_ - std::min(cap_, d.out.bytes.size());
    const std::size_t keep = std::min(room, bytes.size());
    d.out.bytes.insert(d.out.bytes.end(), bytes.begin(), bytes.begin() + keep);
    d.out.capped = d.out.capped || keep < bytes.size();
    d.out.delivered += bytes.size();
    d.next_seq += static_cast<std::uint32_t>(bytes.size());
  }

  // Moves segments that became in-order out of the pending map.
  void drain(Direction& d) {
    while (!d.pending.empty() && d.pending.begin()->first <= d.out.delivered) {
      auto node = d.pending.extract(d.pending.begin());
      d.pending_bytes -= node.mapped().size();
      const std::uint64_t seen = d.out.delivered - node.key();
      if (seen < node.mapped().size()) {
        append(d, std::span<const std::uint8_t>(node.mapped()).subspan(seen));
      }
    }
  }

  static Session finish(Building& b) {
    Session s = std::move(b.session);
    // Side 0 is the client unless the handshake or the ports say otherwise.
    bool swap = false;
    if (b.pure_syn_from[0] || b.pure_syn_from[1]) {
      s.client_from_syn = true;
      swap = !b.pure_syn_from[0];
    } else if (b.syn_ack_from[0] || b.syn_ack_from[1]) {
      s.client_from_syn = true;  // the SYN-ACK's receiver sent the (uncaptured) SYN
      swap = b.syn_ack_from[0];
    } else {
      const std::uint16_t p0 = b.first_src.port, p1 = b.first_dst.port;
      if (is_sql_port(p0) != is_sql_port(p1)) {
        swap = is_sql_port(p0);
      } else {
        swap = p0 < p1;  // the lower (service) port is the server
      }
    }
    for (Direction& d : b.side) d.out.gap = !d.pending.empty() || d.pending_overflow;
    s.client = swap ? b.first_dst : b.first_src;
    s.server = swap ? b.first_src : b.first_dst;
    s.to_server = std::move(b.side[swap ? 1 : 0].out);
    s.to_client = std::move(b.side[swap ? 0 : 1].out);
    if (swap) {
      for (PacketSummary& line : s.packets) line.from_client = !line.from_client;
      for (auto* from : {&s.fin_from_client, &s.rst_from_client}) {
        if (*from) *from = !**from;
      }
    }
    return s;
  }

  std::size_t cap_;
  std::vector<Building> built_;
  std::map<std::pair<Endpoint, Endpoint>, std::size_t> active_;
};

}  // namespace

FlowReport reassemble(const std::vector<Frame>& frames, const FlowOptions& options) {
  FlowReport report;
  Reassembler flows(options);
  for (const Frame& frame : frames) {
    auto packet = decode_packet(frame);
    if (!packet) {
      ++report.undecoded_frames;
    } else if (packet->icmp_unreachable) {
      report.unreachable.push_back(*packet->icmp_unreachable);
    } else if (packet->tcp) {
      flows.add(*packet);
    }
  }
  report.sessions = flows.finish();
  return report;
}

}  // namespace midiag::pcap
