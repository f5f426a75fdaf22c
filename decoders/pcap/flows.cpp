// TCP session reassembly: group packets by 5-tuple, order each direction by sequence number.
// Incremental (SessionTracker::add one packet at a time) with bounded state per session.
#include "decoders/pcap/flows.h"

#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>
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
  std::optional<std::uint32_t> last_pure_ack;  // this side's last ACK number without payload
  StreamBytes out;
};

struct Building {
  Endpoint first_src, first_dst;  // side 0 sent the first packet we saw
  Direction side[2];
  bool pure_syn_from[2] = {false, false};
  bool syn_ack_from[2] = {false, false};
  std::optional<std::uint8_t> ttl[2];
  bool ttl_varies[2] = {false, false};
  std::uint32_t syns_from[2] = {0, 0};
  std::optional<double> last_syn_from[2];
  bool data_after_rst[2] = {false, false};  // this side sent payload after its own RST
  Session session;                          // "from client" means "from side 0" until finish()
};

// FNV-1a, 64 bit: enough to tell copies from different packets.
struct Fnv {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  void add(std::uint8_t b) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
};

std::optional<std::size_t> ip_header_offset(std::span<const std::uint8_t> f, const Packet& p) {
  const std::size_t limit = std::min<std::size_t>(f.size(), 128);
  for (std::size_t i = 0; i < limit; ++i) {
    if (p.src.family == 4 && (f[i] >> 4) == 4 && i + 20 <= f.size() &&
        std::equal(p.src.bytes.begin(), p.src.bytes.begin() + 4, f.begin() + i + 12) &&
        std::equal(p.dst.bytes.begin(), p.dst.bytes.begin() + 4, f.begin() + i + 16))
      return i;
    if (p.src.family == 6 && (f[i] >> 4) == 6 && i + 40 <= f.size() &&
        std::equal(p.src.bytes.begin(), p.src.bytes.end(), f.begin() + i + 8) &&
        std::equal(p.dst.bytes.begin(), p.dst.bytes.end(), f.begin() + i + 24))
      return i;
  }
  return std::nullopt;
}

}  // namespace

std::uint64_t packet_fingerprint(std::span<const std::uint8_t> frame, const Packet& packet) {
  Fnv f;
  const auto at = ip_header_offset(frame, packet);
  const std::size_t start = at.value_or(0);
  for (std::size_t i = start; i < frame.size(); ++i) {
    const std::size_t rel = i - start;
    if (at && packet.src.family == 4 && (rel == 8 || rel == 10 || rel == 11)) continue;  // TTL, sum
    if (at && packet.src.family == 6 && rel == 7) continue;  // hop limit
    f.add(frame[i]);
  }
  return f.h == 0 ? 1 : f.h;
}

std::optional<double> StreamBytes::time_of(std::uint64_t end) const {
  auto it = std::lower_bound(marks.begin(), marks.end(), end,
                             [](const DeliveryMark& m, std::uint64_t e) { return m.end < e; });
  if (it == marks.end()) return std::nullopt;
  return it->timestamp;
}

struct SessionTracker::State {
  explicit State(const FlowOptions& o) : options(o), cap(o.max_bytes_per_direction) {}

  FlowOptions options;
  std::size_t cap;
  std::vector<Building> built;
  std::map<std::pair<Endpoint, Endpoint>, std::size_t> active;
  FlowReport report;
  // Recent fingerprints (a bounded window) for duplicate detection.
  std::deque<std::pair<std::uint64_t, double>> recent;
  std::unordered_map<std::uint64_t, double> recent_at;

  bool is_duplicate(std::uint64_t fp, double when) {
    if (!options.drop_duplicates || fp == 0) return false;
    while (!recent.empty() && (recent.size() > 4096 || when - recent.front().second > 1.0)) {
      auto found = recent_at.find(recent.front().first);
      if (found != recent_at.end() && found->second == recent.front().second)
        recent_at.erase(found);
      recent.pop_front();
    }
    auto it = recent_at.find(fp);
    const bool dup =
        it != recent_at.end() && when - it->second >= 0 && when - it->second < kDuplicateWindow;
    recent.emplace_back(fp, when);
    recent_at[fp] = when;
    return dup;
  }

  void add(const Packet& p, std::uint64_t fp) {
    ++report.packets;
    if (p.icmp_unreachable) {
      if (is_duplicate(fp, p.timestamp)) {
        ++report.duplicates;
        return;
      }
      if (report.unreachable.size() < options.max_sessions)
        report.unreachable.push_back(*p.icmp_unreachable);
      return;
    }
    if (!p.tcp) return;
    const TcpHeader& tcp = *p.tcp;
    const Endpoint src{p.src, tcp.src_port}, dst{p.dst, tcp.dst_port};
    const auto key = src < dst ? std::pair(src, dst) : std::pair(dst, src);
    const bool pure_syn = (tcp.flags & (kSyn | kAck)) == kSyn;
    const bool dup = is_duplicate(fp, p.timestamp);
    auto it = active.find(key);
    if (it == active.end() ||
        (pure_syn && !dup && !is_syn_retransmission(built[it->second], src, tcp))) {
      if (built.size() >= options.max_sessions) {
        if (it == active.end()) {
          ++report.sessions_over_limit;
          return;
        }
        // Port reuse past the limit: keep adding to the old session rather than grow.
      } else {
        built.push_back(Building{src, dst, {}, {}, {}, {}, {}, {}, {}, {}, {}});
        it = active.insert_or_assign(key, built.size() - 1).first;
      }
    }
    Building& b = built[it->second];
    Session& s = b.session;
    if (dup) {
      ++s.duplicates;
      ++report.duplicates;
      return;
    }
    const int from = src == b.first_src ? 0 : 1;
    Direction& dir = b.side[from];
    Direction& other = b.side[1 - from];
    if (s.packet_count == 0) s.first_time = p.timestamp;
    s.last_time = p.timestamp;
    ++s.packet_count;

    PacketSummary line{p.timestamp, from == 0,  tcp.flags,
                       tcp.seq,     tcp.ack,    static_cast<std::uint32_t>(p.payload_length),
                       p.ttl,       tcp.window, false};
    if ((tcp.flags & kRst) == 0) {
      if (!b.ttl[from]) {
        b.ttl[from] = p.ttl;
      } else if (*b.ttl[from] != p.ttl) {
        b.ttl_varies[from] = true;
      }
    }
    if ((tcp.flags & kSyn) != 0) {
      (pure_syn ? b.pure_syn_from : b.syn_ack_from)[from] = true;
      auto& when = pure_syn ? s.syn_time : s.syn_ack_time;
      if (!when) when = p.timestamp;
      if (pure_syn) {
        ++b.syns_from[from];
        b.last_syn_from[from] = p.timestamp;
      } else {
        ++s.syn_ack_count;
      }
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
      dir.out.largest_segment =
          std::max(dir.out.largest_segment, static_cast<std::uint32_t>(p.payload_length));
      line.retransmission = feed(dir, data_seq, p.payload, p.timestamp);
      // Payload from a side after "its" RST: the RST was likely injected (a race).
      for (const ResetSeen& r : s.resets)
        if (r.from_client == (from == 0)) b.data_after_rst[from] = true;
    } else if ((tcp.flags & (kAck | kSyn | kFin | kRst)) == kAck) {
      // A pure ACK repeating the start of the other side's hole: the receiver asks for it again.
      const auto& hole = other.out.hole;
      if (hole && !hole->filled && other.have_base && tcp.ack == other.next_seq) {
        ++other.out.hole->dup_acks;
      }
      dir.last_pure_ack = tcp.ack;
    }
    if ((tcp.flags & kFin) != 0 && !s.fin_time) {
      s.fin_time = p.timestamp;
      s.fin_from_client = from == 0;
    }
    if ((tcp.flags & kRst) != 0) {
      if (!s.rst_time) {
        s.rst_time = p.timestamp;
        s.rst_from_client = from == 0;
        s.rst_ttl = p.ttl;
      }
      ++s.reset_count;
      if (s.resets.size() < kMaxResets)
        s.resets.push_back(ResetSeen{p.timestamp, from == 0, p.ttl, tcp.seq, tcp.ack, tcp.flags});
    }
    if (s.packets.size() < options.max_packets_per_session) s.packets.push_back(line);
  }

  static bool is_syn_retransmission(const Building& b, const Endpoint& src, const TcpHeader& tcp) {
    const int from = src == b.first_src ? 0 : 1;
    return b.side[from].syn_seen && b.side[from].isn == tcp.seq;
  }

  // Returns true when every byte was already seen (a retransmission).
  bool feed(Direction& d, std::uint32_t seq, const std::vector<std::uint8_t>& payload,
            double when) {
    if (!d.have_base) {  // no SYN captured: the first data byte seen is the stream start
      d.have_base = true;
      d.next_seq = seq;
    }
    // Sequence arithmetic is modulo 2^32 (RFC 793): the signed distance tells before/after.
    const auto ahead = static_cast<std::int32_t>(seq - d.next_seq);
    if (ahead > 0) {
      if (!d.out.hole)
        d.out.hole = SequenceHole{when,
                                  d.out.delivered,
                                  static_cast<std::uint64_t>(ahead),
                                  static_cast<std::uint32_t>(payload.size()),
                                  0,
                                  false};
      if (d.pending_bytes + payload.size() > cap) {
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
    if (d.out.hole && !d.out.hole->filled && d.out.delivered > d.out.hole->offset)
      d.out.hole->filled = true;
    if (d.out.marks.size() < kMaxDeliveryMarks) d.out.marks.push_back({d.out.delivered, when});
    return false;
  }

  void append(Direction& d, std::span<const std::uint8_t> bytes) {
    const std::size_t room = cap - std::min(cap, d.out.bytes.size());
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
    const int c = swap ? 1 : 0;
    s.client = swap ? b.first_dst : b.first_src;
    s.server = swap ? b.first_src : b.first_dst;
    s.to_server = std::move(b.side[c].out);
    s.to_client = std::move(b.side[1 - c].out);
    s.client_ttl = b.ttl[c];
    s.server_ttl = b.ttl[1 - c];
    s.client_ttl_varies = b.ttl_varies[c];
    s.server_ttl_varies = b.ttl_varies[1 - c];
    s.syn_count = b.syns_from[c];
    s.last_syn_time = b.last_syn_from[c];
    s.server_data_after_rst = b.data_after_rst[1 - c];
    if (swap) {
      for (PacketSummary& line : s.packets) line.from_client = !line.from_client;
      for (ResetSeen& r : s.resets) r.from_client = !r.from_client;
      for (auto* from : {&s.fin_from_client, &s.rst_from_client}) {
        if (*from) *from = !**from;
      }
    }
    return s;
  }
};

SessionTracker::SessionTracker(const FlowOptions& options)
    : state_(std::make_unique<State>(options)) {}
SessionTracker::~SessionTracker() = default;
SessionTracker::SessionTracker(SessionTracker&&) noexcept = default;
SessionTracker& SessionTracker::operator=(SessionTracker&&) noexcept = default;

void SessionTracker::add(const Packet& packet, std::uint64_t fingerprint) {
  state_->add(packet, fingerprint);
}

FlowReport SessionTracker::finish() {
  FlowReport out = std::move(state_->report);
  out.undecoded_frames = undecoded_;
  out.sessions.reserve(state_->built.size());
  for (Building& b : state_->built) out.sessions.push_back(State::finish(b));
  state_ = std::make_unique<State>(state_->options);
  undecoded_ = 0;
  return out;
}

FlowReport reassemble(const std::vector<Frame>& frames, const FlowOptions& options) {
  SessionTracker flows(options);
  for (const Frame& frame : frames) {
    auto packet = decode_packet(frame);
    if (!packet) {
      flows.add_undecoded();
    } else {
      flows.add(*packet, options.drop_duplicates ? packet_fingerprint(frame.data, *packet) : 0);
    }
  }
  return flows.finish();
}

}  // namespace midiag::pcap
