// TCP session reassembly: group packets by 5-tuple, order each direction by sequence number.
// Incremental (SessionTracker::add one packet at a time) with bounded state per session.
#include "decoders/pcap/flows.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <tuple>
#include <utility>

#include "decoders/pcap/duplicates.h"

namespace midiag::pcap {
namespace {

using namespace tcp_flags;

struct Direction {
  bool have_base = false;
  std::uint32_t next_seq = 0;  // sequence number of the next in-order byte
  bool syn_seen = false;
  std::uint32_t isn = 0;
  std::map<std::uint64_t, std::vector<std::uint8_t>> pending;  // out of order, by stream offset
  std::size_t pending_bytes = 0;                               // with kPendingOverhead per segment
  bool pending_overflow = false;
  bool budget_cut = false;  // FlowOptions::max_bytes_total stopped this direction
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

// The connection a packet belongs to: its two endpoints, the lower one first.
struct FlowKey {
  Endpoint a, b;
  bool operator==(const FlowKey&) const = default;
};

struct FlowKeyHash {
  std::uint64_t operator()(const FlowKey& k) const noexcept {
    std::uint64_t w[4];
    std::memcpy(w, k.a.address.bytes.data(), 16);
    std::memcpy(w + 2, k.b.address.bytes.data(), 16);
    std::uint64_t h = (static_cast<std::uint64_t>(k.a.port) << 16 | k.b.port) ^
                      (static_cast<std::uint64_t>(k.a.address.family) << 40);
    for (std::uint64_t x : w) {
      h = (h ^ x) * 0x9E3779B97F4A7C15ULL;
      h ^= h >> 32;
    }
    h *= 0xBF58476D1CE4E5B9ULL;  // low bits pick the slot: let the high ones reach them
    return h ^ (h >> 29);
  }
};

// A total order on endpoints for picking a key's first side: any consistent order does, and this
// one is two word compares rather than a byte-wise three-way compare.
bool before(const Endpoint& x, const Endpoint& y) {
  std::uint64_t a[2], b[2];
  std::memcpy(a, x.address.bytes.data(), 16);
  std::memcpy(b, y.address.bytes.data(), 16);
  return std::tie(x.address.family, a[0], a[1], x.port) <
         std::tie(y.address.family, b[0], b[1], y.port);
}

FlowKey key_of(const Endpoint& x, const Endpoint& y) {
  return before(x, y) ? FlowKey{x, y} : FlowKey{y, x};
}

std::optional<std::size_t> ip_header_offset(std::span<const std::uint8_t> f, const Packet& p) {
  const std::size_t limit = std::min<std::size_t>(f.size(), 128);
  const std::uint8_t* src = p.src.bytes.data();
  const std::uint8_t* dst = p.dst.bytes.data();
  for (std::size_t i = 0; i < limit; ++i) {
    // Fixed-size memcmp: the compiler turns these into a load and a compare each.
    if (p.src.family == 4 && (f[i] >> 4) == 4 && i + 20 <= f.size() &&
        std::memcmp(src, f.data() + i + 12, 4) == 0 && std::memcmp(dst, f.data() + i + 16, 4) == 0)
      return i;
    if (p.src.family == 6 && (f[i] >> 4) == 6 && i + 40 <= f.size() &&
        std::memcmp(src, f.data() + i + 8, 16) == 0 && std::memcmp(dst, f.data() + i + 24, 16) == 0)
      return i;
  }
  return std::nullopt;
}

// Recently seen fingerprints and when: a set-associative table (kWays slots per bucket, one
// cache line each) where a new fingerprint replaces its bucket's oldest entry. A copy is found as
// long as fewer than kWays other packets fell into its bucket in between: with 2,048 buckets,
// thousands of packets apart (the copies of `tcpdump -i any` are adjacent). The table starts small
// and doubles while it holds more than half as many packets as it has ways, up to kBuckets, so a
// check's few dozen packets do not pay for zeroing 128 KiB; one cache line touched per packet.
class RecentFingerprints {
 public:
  // Starts loading the bucket of `fp` while other work goes on.
  void prefetch(std::uint64_t fp) const {
    if (!buckets_.empty()) __builtin_prefetch(&buckets_[slot_of(fp)]);
  }

  // The time `fp` was last seen, if it is still remembered; then remembers it at `when`.
  std::optional<double> seen_then_add(std::uint64_t fp, double when) {
    if (buckets_.size() < kBuckets && ++added_ * 2 > buckets_.size() * kWays) grow();
    Slot* bucket = buckets_[slot_of(fp)].ways;
    Slot* victim = bucket;
    for (std::size_t i = 0; i < kWays; ++i) {
      Slot& s = bucket[i];
      if (s.fp == fp) {
        const double before = s.when;
        s.when = when;
        return before;
      }
      if (s.fp == 0 || (victim->fp != 0 && s.when < victim->when)) victim = &s;
    }
    *victim = Slot{fp, when};
    return std::nullopt;
  }

 private:
  static constexpr std::size_t kBuckets = 2048, kWays = 4;  // fingerprint 0 marks empty
  static constexpr unsigned kFirstBits = 4;                 // 16 buckets, 1 KiB
  [[nodiscard]] std::size_t slot_of(std::uint64_t fp) const {
    return static_cast<std::size_t>((fp * 0x9E3779B97F4A7C15ULL) >> (64 - bits_));
  }
  struct Slot {
    std::uint64_t fp = 0;
    double when = 0;
  };
  struct alignas(64) Bucket {  // one cache line, not two
    Slot ways[kWays];
  };
  // Doubles the buckets and puts every remembered fingerprint back, oldest first, so the newest
  // wins when a bucket overflows.
  void grow() {
    std::vector<Slot> held;
    for (const Bucket& b : buckets_)
      for (const Slot& w : b.ways)
        if (w.fp != 0) held.push_back(w);
    std::sort(held.begin(), held.end(),
              [](const Slot& a, const Slot& b) { return a.when < b.when; });
    bits_ = buckets_.empty() ? kFirstBits : bits_ + 1;
    buckets_.assign(std::size_t{1} << bits_, Bucket{});
    for (const Slot& w : held) {
      Slot* bucket = buckets_[slot_of(w.fp)].ways;
      Slot* victim = bucket;
      for (std::size_t i = 0; i < kWays; ++i)
        if (bucket[i].fp == 0 || (victim->fp != 0 && bucket[i].when < victim->when))
          victim = &bucket[i];
      *victim = w;
    }
  }
  std::vector<Bucket> buckets_;
  unsigned bits_ = 0;
  std::size_t added_ = 0;
};

// Kept connections by key: open addressing over (hash, index into `built`), the key itself
// compared in the caller's storage. Connections are never removed, so no deletion is needed.
class FlowIndex {
 public:
  static constexpr std::uint32_t kNone = 0xFFFFFFFFU;
  // Starts loading the slot where the search for hash `h` begins.
  void prefetch(std::uint64_t h) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[h & mask_]);
  }
  // The index stored for `key`, or kNone; `key_at(i)` returns the key of built[i].
  template <typename KeyAt>
  std::uint32_t find(const FlowKey& key, std::uint64_t h, const KeyAt& key_at) const {
    if (slots_.empty()) return kNone;
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.index == kNone) return kNone;
      if (s.hash == h && key_at(s.index) == key) return s.index;
    }
  }
  // Sets the index for `key` (a new key, or a reused 4-tuple now meaning a newer connection).
  template <typename KeyAt>
  void set(const FlowKey& key, std::uint64_t h, std::uint32_t index, const KeyAt& key_at) {
    if ((used_ + 1) * 2 > slots_.size()) grow();
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.index == kNone) {
        s = Slot{h, index};
        ++used_;
        return;
      }
      if (s.hash == h && key_at(s.index) == key) {
        s.index = index;
        return;
      }
    }
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t index = kNone;
  };
  // Doubles the table (load stays at most 1/2); slots keep their hashes, so no key is needed.
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<std::size_t>(64, old.size() * 2), Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.index == kNone) continue;
      std::size_t i = s.hash & mask_;
      while (slots_[i].index != kNone) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  std::size_t mask_ = 0, used_ = 0;
};

// Distinct connections past the session limit: an exact set of their keys' hashes up to
// kExactOverLimit, then a HyperLogLog estimate (2^14 registers, about 0.8% standard error).
class DistinctCounter {
 public:
  void add(std::uint64_t h) {
    h ^= h >> 30;  // splitmix64's finalizer: every bit of the key reaches the top bits
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBULL;
    h ^= h >> 31;
    if (h == 0) h = 1;  // 0 marks an empty slot
    add_hll(h);
    if (exact_) insert(h);
  }
  [[nodiscard]] std::size_t count() const { return exact_ ? count_ : estimate(); }
  [[nodiscard]] bool estimated() const { return !exact_; }

 private:
  static constexpr std::size_t kSetSlots = 2 * kExactOverLimit;  // open addressing, load <= 0.5
  static constexpr unsigned kBits = 14;
  void insert(std::uint64_t h) {
    if (set_.empty()) set_.assign(kSetSlots, 0);
    std::size_t i = static_cast<std::size_t>(h % kSetSlots);
    while (set_[i] != 0) {
      if (set_[i] == h) return;
      i = (i + 1) % kSetSlots;
    }
    if (count_ == kExactOverLimit) {  // too many to keep exactly: the estimate from now on
      exact_ = false;
      set_.clear();
      set_.shrink_to_fit();
      return;
    }
    set_[i] = h;
    ++count_;
  }
  void add_hll(std::uint64_t h) {
    const std::size_t reg = static_cast<std::size_t>(h >> (64 - kBits));
    const auto rank = static_cast<std::uint8_t>(std::countl_zero((h << kBits) | 1U) + 1);
    if (registers_.empty()) registers_.assign(std::size_t{1} << kBits, 0);  // only once needed
    registers_[reg] = std::max(registers_[reg], rank);
  }
  [[nodiscard]] std::size_t estimate() const {
    constexpr double m = 1U << kBits;
    double sum = 0;
    std::size_t zeros = 0;
    for (std::uint8_t r : registers_) {
      sum += std::ldexp(1.0, -r);
      zeros += r == 0 ? 1 : 0;
    }
    double e = (0.7213 / (1 + 1.079 / m)) * m * m / sum;
    if (e <= 2.5 * m && zeros > 0) e = m * std::log(m / static_cast<double>(zeros));
    return static_cast<std::size_t>(std::llround(e));
  }
  bool exact_ = true;
  std::size_t count_ = 0;
  std::vector<std::uint64_t> set_;
  std::vector<std::uint8_t> registers_;
};

}  // namespace

std::uint64_t packet_fingerprint(std::span<const std::uint8_t> frame, const Packet& packet) {
  const auto at = ip_header_offset(frame, packet);
  const std::size_t start = at.value_or(0);
  // The first 16 IP bytes with the TTL and checksum (IPv4) or hop limit (IPv6) zeroed, then the
  // rest as it is, each hashed eight bytes at a time.
  std::array<std::uint8_t, 16> head{};
  const std::size_t n = std::min<std::size_t>(head.size(), frame.size() - start);
  std::memcpy(head.data(), frame.data() + start, n);
  if (at && packet.src.family == 4 && n >= 12) head[8] = head[10] = head[11] = 0;
  if (at && packet.src.family == 6 && n >= 8) head[7] = 0;
  const std::uint64_t h = (hash_bytes(std::span(head).first(n)) * 0x100000001B3ULL) ^
                          hash_bytes(frame.subspan(start + n));
  return h == 0 ? 1 : h;
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
  FlowIndex active;  // the newest connection of each 4-tuple, an index into `built`
  FlowReport report;
  RecentFingerprints recent;  // for duplicate detection
  DistinctCounter over_limit;
  std::size_t total_bytes = 0;  // kept and waiting stream bytes of all sessions

  bool is_duplicate(std::uint64_t fp, double when) {
    if (!options.drop_duplicates || fp == 0) return false;
    const auto before = recent.seen_then_add(fp, when);
    return before && when - *before >= 0 && when - *before < kDuplicateWindow;
  }

  // Bytes the total budget still allows.
  [[nodiscard]] std::size_t budget_left() const {
    if (options.max_bytes_total == 0) return static_cast<std::size_t>(-1);
    return options.max_bytes_total - std::min(options.max_bytes_total, total_bytes);
  }
  void cut_by_budget(Direction& d) {
    if (d.budget_cut) return;
    d.budget_cut = true;
    ++report.directions_cut_by_budget;
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
    // The two table lookups below usually miss the cache: both loads start before either is used.
    if (options.drop_duplicates && fp != 0) recent.prefetch(fp);
    const Endpoint src{p.src, tcp.src_port}, dst{p.dst, tcp.dst_port};
    const FlowKey key = key_of(src, dst);
    const std::uint64_t hash = FlowKeyHash{}(key);
    active.prefetch(hash);
    const bool pure_syn = (tcp.flags & (kSyn | kAck)) == kSyn;
    const bool dup = is_duplicate(fp, p.timestamp);
    const auto key_at = [this](std::uint32_t i) {
      return key_of(built[i].first_src, built[i].first_dst);
    };
    std::uint32_t at = active.find(key, hash, key_at);
    if (at == FlowIndex::kNone ||
        (pure_syn && !dup && !is_syn_retransmission(built[at], src, tcp))) {
      if (built.size() >= options.max_sessions) {
        if (at == FlowIndex::kNone) {
          ++report.sessions_over_limit;
          over_limit.add(hash);
          return;
        }
        // Port reuse past the limit: keep adding to the old session rather than grow.
      } else {
        if (built.empty()) built.reserve(std::min<std::size_t>(options.max_sessions, 4096));
        built.push_back(Building{src, dst, {}, {}, {}, {}, {}, {}, {}, {}, {}});
        at = static_cast<std::uint32_t>(built.size() - 1);
        active.set(key, hash, at, key_at);
      }
    }
    Building& b = built[at];
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
  bool feed(Direction& d, std::uint32_t seq, std::span<const std::uint8_t> payload, double when) {
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
      wait(d, d.out.delivered + static_cast<std::uint64_t>(ahead), payload);
      return false;
    }
    const auto seen = static_cast<std::size_t>(-static_cast<std::int64_t>(ahead));
    if (seen >= payload.size()) {
      d.out.retransmitted += payload.size();
      return true;
    }
    d.out.retransmitted += seen;
    const bool timed = d.out.bytes.size() < cap && !d.budget_cut;  // marks time kept bytes only
    append(d, payload.subspan(seen));
    drain(d);
    if (d.out.hole && !d.out.hole->filled && d.out.delivered > d.out.hole->offset)
      d.out.hole->filled = true;
    if (timed && d.out.marks.size() < kMaxDeliveryMarks)
      d.out.marks.push_back({d.out.delivered, when});
    return false;
  }

  // Keeps a segment that arrived ahead of the next expected byte until the gap fills, within
  // the per-direction cap and the total budget (each waiting segment costs kPendingOverhead more).
  void wait(Direction& d, std::uint64_t offset, std::span<const std::uint8_t> payload) {
    auto found = d.pending.find(offset);
    const std::size_t have = found == d.pending.end() ? 0 : found->second.size();
    if (found != d.pending.end() && have >= payload.size()) return;
    const std::size_t more =
        payload.size() - have + (found == d.pending.end() ? kPendingOverhead : 0);
    if (d.pending_bytes + more > cap) {
      d.pending_overflow = true;
      return;
    }
    if (more > budget_left()) {
      d.pending_overflow = true;
      cut_by_budget(d);
      return;
    }
    if (found == d.pending.end()) found = d.pending.try_emplace(offset).first;
    found->second.assign(payload.begin(), payload.end());
    d.pending_bytes += more;
    total_bytes += more;
  }

  // Keeps what the cap and the budget allow of in-order bytes. The budget is charged for the
  // vector's capacity, which grows by doubling up to the cap.
  void append(Direction& d, std::span<const std::uint8_t> bytes) {
    auto& kept = d.out.bytes;
    const std::size_t room = cap - std::min(cap, kept.size());
    const std::size_t wanted = std::min(room, bytes.size());
    std::size_t keep = wanted;
    if (kept.size() + keep > kept.capacity()) {
      const std::size_t had = kept.capacity();
      std::size_t target = std::min(cap, std::max({kept.size() + keep, 2 * had, std::size_t{512}}));
      target = had + std::min(target - had, budget_left());  // budget_left() may be SIZE_MAX
      keep = std::min(keep, target - kept.size());
      if (keep < wanted) cut_by_budget(d);
      kept.reserve(target);
      total_bytes += kept.capacity() - had;
    }
    kept.insert(kept.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep));
    d.out.capped = d.out.capped || keep < bytes.size();
    d.out.delivered += bytes.size();
    d.next_seq += static_cast<std::uint32_t>(bytes.size());
  }

  // Moves segments that became in-order out of the pending map.
  void drain(Direction& d) {
    while (!d.pending.empty() && d.pending.begin()->first <= d.out.delivered) {
      auto node = d.pending.extract(d.pending.begin());
      const std::size_t cost = node.mapped().size() + kPendingOverhead;
      d.pending_bytes -= cost;
      total_bytes -= cost;
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

SessionTracker::SessionTracker(const FlowOptions& options) : options_(options) {}
SessionTracker::~SessionTracker() = default;
SessionTracker::SessionTracker(SessionTracker&&) noexcept = default;
SessionTracker& SessionTracker::operator=(SessionTracker&&) noexcept = default;

SessionTracker::State& SessionTracker::state() {
  if (!state_) state_ = std::make_unique<State>(options_);
  return *state_;
}

void SessionTracker::add(const Packet& packet, std::uint64_t fingerprint) {
  state().add(packet, fingerprint);
}

FlowReport SessionTracker::finish() {
  State& st = state();
  FlowReport out = std::move(st.report);
  out.undecoded_frames = undecoded_;
  out.connections_over_limit = st.over_limit.count();
  out.connections_over_limit_estimated = st.over_limit.estimated();
  out.sessions.reserve(st.built.size());
  for (Building& b : st.built) out.sessions.push_back(State::finish(b));
  state_.reset();
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
