#include "probes/trace/paris_trace.h"

#include <arpa/inet.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <tins/exceptions.h>
#include <tins/ip.h>
#include <tins/tcp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <system_error>

#include "platform/posix/unique_fd.h"
#include "probes/net/address.h"

namespace midiag::trace::paris {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint8_t kTcp = 6, kIcmp = 1;
constexpr int kIcmpUnreachable = 3, kIcmpTimeExceeded = 11;
constexpr std::uint8_t kSyn = 0x02, kRst = 0x04, kAck = 0x10;
// A bound on what one trace reads from its raw sockets (they see every TCP packet from the
// targets and every ICMP error to this host): the loop ends, whatever the traffic.
constexpr std::size_t kMaxPacketsRead = 8192;

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}
std::uint32_t be32(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) << 24 | static_cast<std::uint32_t>(b[at + 1]) << 16 |
         static_cast<std::uint32_t>(b[at + 2]) << 8 | b[at + 3];
}

std::string v4_string(std::uint32_t host_order) {
  in_addr a{};
  a.s_addr = htonl(host_order);
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

// An IPv4 header at the start of `b`: its length, or 0 when it is not one (or is cut short of
// `need` bytes past it).
std::size_t ipv4_header(std::span<const std::uint8_t> b, std::size_t need) {
  if (b.size() < 20 || (b[0] >> 4) != 4) return 0;
  const std::size_t ihl = static_cast<std::size_t>(b[0] & 0x0f) * 4;
  if (ihl < 20 || b.size() < ihl + need) return 0;
  return ihl;
}

// TTL n from a probe's sequence number (or IP ID): 0 when it is not one of the key's.
int ttl_from(std::uint32_t value, std::uint32_t base, int max_ttl) {
  const std::uint32_t n = value - base;  // wraps like the numbers themselves
  return n >= 1 && n <= static_cast<std::uint32_t>(max_ttl) ? static_cast<int>(n) : 0;
}

}  // namespace

std::vector<std::uint8_t> craft_syn(const ProbeKey& key, int ttl) {
  try {
    Tins::IP ip(Tins::IPv4Address(htonl(key.destination)), Tins::IPv4Address(htonl(key.source)));
    ip.ttl(static_cast<std::uint8_t>(ttl));
    ip.id(static_cast<std::uint16_t>(key.id_base + ttl));
    ip.flags(Tins::IP::DONT_FRAGMENT);
    Tins::TCP tcp(key.destination_port, key.source_port);
    tcp.flags(Tins::TCP::SYN);
    tcp.seq(key.seq_base + static_cast<std::uint32_t>(ttl));
    tcp.window(64240);
    tcp.mss(1460);
    ip /= tcp;
    return ip.serialize();
  } catch (const Tins::exception_base&) {
    return {};
  } catch (const std::bad_alloc&) {
    return {};
  }
}

std::optional<Reply> match_reply(std::span<const std::uint8_t> packet, const ProbeKey& key) {
  const std::size_t ihl = ipv4_header(packet, 0);
  if (ihl == 0) return std::nullopt;
  const std::uint32_t from = be32(packet, 12);
  const auto body = packet.subspan(ihl);
  if (packet[9] == kTcp) {
    // The target's answer: from its port to ours, acknowledging probe n's sequence number + 1.
    if (body.size() < 20 || from != key.destination || be16(body, 0) != key.destination_port ||
        be16(body, 2) != key.source_port)
      return std::nullopt;
    const std::uint8_t flags = body[13];
    if ((flags & kAck) == 0) return std::nullopt;
    const int ttl = ttl_from(be32(body, 8) - 1, key.seq_base, key.max_ttl);
    if (ttl == 0) return std::nullopt;
    Reply r;
    r.ttl = ttl;
    r.address = v4_string(from);
    if ((flags & kRst) != 0)
      r.kind = HopKind::Reset;
    else if ((flags & kSyn) != 0)
      r.kind = HopKind::SynAck;
    else
      return std::nullopt;
    return r;
  }
  if (packet[9] != kIcmp || body.size() < 8) return std::nullopt;
  const int type = body[0], code = body[1];
  if (type != kIcmpTimeExceeded && type != kIcmpUnreachable) return std::nullopt;
  // The quoted probe: its IPv4 header and at least the first 8 bytes of its TCP header.
  const auto quoted = body.subspan(8);
  const std::size_t qihl = ipv4_header(quoted, 8);
  if (qihl == 0 || quoted[9] != kTcp || be32(quoted, 12) != key.source ||
      be32(quoted, 16) != key.destination)
    return std::nullopt;
  const auto qtcp = quoted.subspan(qihl);
  if (be16(qtcp, 0) != key.source_port || be16(qtcp, 2) != key.destination_port)
    return std::nullopt;
  // The sequence number first; a device that rewrites it (sequence randomisation) leaves the ID.
  int ttl = ttl_from(be32(qtcp, 4), key.seq_base, key.max_ttl);
  if (ttl == 0) ttl = ttl_from(be16(quoted, 4), key.id_base, key.max_ttl);
  if (ttl == 0) return std::nullopt;
  Reply r;
  r.ttl = ttl;
  r.kind = type == kIcmpTimeExceeded ? HopKind::TimeExceeded : HopKind::Unreachable;
  r.address = v4_string(from);
  r.icmp_type = type;
  r.icmp_code = code;
  return r;
}

namespace {

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

Error system_error(const std::string& what) {
  const int err = errno;
  return make_error(what + ": " + std::system_category().message(err),
                    err == EPERM || err == EACCES ? ErrorKind::Permission : ErrorKind::Io);
}

// One target's state during the trace.
struct Probe {
  ProbeKey key;
  UniqueFd port_owner;  // a bound TCP socket: reserves the source port for the whole trace
  UniqueFd tcp_in;      // raw TCP socket connected to the target: only its packets arrive
  sockaddr_in dest{};
  std::vector<Clock::time_point> sent;
  std::vector<bool> answered;
  bool done = true;
};

// The source address the kernel would use toward `dest` (a UDP connect sends nothing).
std::optional<std::uint32_t> source_for(const sockaddr_in& dest) {
  UniqueFd udp(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in d = dest;
  if (d.sin_port == 0) d.sin_port = htons(9);
  if (!udp || connect(udp.get(), reinterpret_cast<const sockaddr*>(&d), sizeof d) != 0)
    return std::nullopt;
  sockaddr_in src{};
  socklen_t len = sizeof src;
  if (getsockname(udp.get(), reinterpret_cast<sockaddr*>(&src), &len) != 0) return std::nullopt;
  return ntohl(src.sin_addr.s_addr);
}

// Sets up one IPv4 target: source address and port, the raw socket its answers come on.
std::string prepare(Probe& p, const Target& t, std::uint32_t seed, int max_ttl) {
  auto ip = net::parse_ip(t.address);
  if (!ip || ip->family != AF_INET || t.port == 0)
    return "\"" + t.address + "\" port " + std::to_string(t.port) +
           " is not a numeric IPv4 address and port";
  p.dest.sin_family = AF_INET;
  std::memcpy(&p.dest.sin_addr, ip->bytes.data(), 4);
  auto source = source_for(p.dest);
  if (!source) return "no source address toward " + t.address;
  p.port_owner.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(*source);
  socklen_t len = sizeof local;
  if (!p.port_owner ||
      bind(p.port_owner.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0 ||
      getsockname(p.port_owner.get(), reinterpret_cast<sockaddr*>(&local), &len) != 0)
    return "no source port for the probes: " + std::system_category().message(errno);
  p.tcp_in.reset(socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!p.tcp_in ||
      connect(p.tcp_in.get(), reinterpret_cast<const sockaddr*>(&p.dest), sizeof p.dest) != 0)
    return "no raw socket for the answers: " + std::system_category().message(errno);
  p.key.source = *source;
  p.key.destination = ntohl(p.dest.sin_addr.s_addr);
  p.key.source_port = ntohs(local.sin_port);
  p.key.destination_port = t.port;
  p.key.seq_base = seed;
  p.key.id_base = static_cast<std::uint16_t>(1 + (seed >> 8) % (65535 - 2 * 64));
  p.key.max_ttl = max_ttl;
  p.sent.resize(static_cast<std::size_t>(max_ttl));
  p.answered.assign(static_cast<std::size_t>(max_ttl), false);
  p.done = false;
  return {};
}

void settle(Result& r, Probe& p, const Reply& reply, Clock::time_point now) {
  const auto i = static_cast<std::size_t>(reply.ttl - 1);
  if (i >= p.answered.size() || p.answered[i]) return;  // the first answer per TTL counts
  Hop& hop = r.path[i];
  hop.kind = reply.kind;
  hop.address = reply.address;
  hop.icmp_type = reply.icmp_type;
  hop.icmp_code = reply.icmp_code;
  hop.rtt_ms = ms_between(p.sent[i], now);
  p.answered[i] = true;
  if (detail::path_known(r.path, p.answered)) p.done = true;
}

}  // namespace

Expected<std::vector<Result>> trace_raw(const std::vector<Target>& targets,
                                        const Options& options) {
  const int max_ttl = std::clamp(options.max_ttl, 1, 64);
  std::vector<Result> results(targets.size());
  for (std::size_t i = 0; i < targets.size(); ++i) {
    results[i].target = targets[i];
    results[i].method = Method::Paris;
    results[i].path.resize(static_cast<std::size_t>(max_ttl));
    for (int ttl = 1; ttl <= max_ttl; ++ttl) results[i].path[ttl - 1].ttl = ttl;
  }
  if (targets.empty()) return results;
  // IPPROTO_RAW: we write the whole IPv4 header (IP_HDRINCL implied).
  UniqueFd out(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (!out) return system_error("no raw socket to send crafted SYNs (needs CAP_NET_RAW)");
  UniqueFd icmp(socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP));
  if (!icmp) return system_error("no raw ICMP socket for the routers' answers");
  // Only time-exceeded and unreachable reach this socket (the filter names what to block).
  icmp_filter filter{};
  filter.data = ~((1U << kIcmpUnreachable) | (1U << kIcmpTimeExceeded));
  setsockopt(icmp.get(), SOL_RAW, ICMP_FILTER, &filter, sizeof filter);

  std::uint32_t seed = options.seed;
  if (seed == 0) seed = std::random_device{}();
  std::vector<Probe> probes(targets.size());
  for (std::size_t i = 0; i < targets.size(); ++i) {
    // Each target its own sequence space, far apart from the others'.
    results[i].error =
        prepare(probes[i], targets[i], seed + static_cast<std::uint32_t>(i) * 4096, max_ttl);
    if (results[i].error.empty()) results[i].local_ports.push_back(probes[i].key.source_port);
  }

  const auto t0 = Clock::now();
  auto deadline = t0 + options.timeout;
  if (options.deadline && *options.deadline < deadline) deadline = *options.deadline;
  for (std::size_t i = 0; i < probes.size(); ++i) {
    Probe& p = probes[i];
    if (p.done) continue;
    for (int ttl = 1; ttl <= max_ttl; ++ttl) {
      const auto bytes = craft_syn(p.key, ttl);
      p.sent[ttl - 1] = Clock::now();
      const ssize_t n = bytes.empty()
                            ? -1
                            : sendto(out.get(), bytes.data(), bytes.size(), 0,
                                     reinterpret_cast<const sockaddr*>(&p.dest), sizeof p.dest);
      if (n < 0) {
        // Refused locally (no route, a local firewall): ends the path at this TTL, no reporter.
        Reply local;
        local.ttl = ttl;
        local.kind = HopKind::Unreachable;
        settle(results[i], p, local, Clock::now());
      }
    }
  }

  // Bounded by the deadline and by the number of packets read.
  std::size_t read = 0;
  std::vector<std::uint8_t> buf(65536);
  while (read < kMaxPacketsRead &&
         std::any_of(probes.begin(), probes.end(), [](const Probe& p) { return !p.done; })) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    std::vector<pollfd> fds{{icmp.get(), POLLIN, 0}};
    std::vector<std::size_t> owner{probes.size()};
    for (std::size_t i = 0; i < probes.size(); ++i)
      if (!probes[i].done) {
        fds.push_back({probes[i].tcp_in.get(), POLLIN, 0});
        owner.push_back(i);
      }
    const int ready = poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return system_error("waiting for trace answers failed");
    for (std::size_t f = 0; f < fds.size() && ready > 0; ++f) {
      if ((fds[f].revents & POLLIN) == 0) continue;
      // Drain what is queued, within the bound.
      for (int k = 0; k < 64 && read < kMaxPacketsRead; ++k) {
        const ssize_t n = recv(fds[f].fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n <= 0) break;
        ++read;
        const auto now = Clock::now();
        const std::span<const std::uint8_t> packet(buf.data(), static_cast<std::size_t>(n));
        for (std::size_t i = 0; i < probes.size(); ++i) {
          if (probes[i].done || (owner[f] != probes.size() && owner[f] != i)) continue;
          if (auto reply = match_reply(packet, probes[i].key)) {
            settle(results[i], probes[i], *reply, now);
            break;
          }
        }
      }
    }
  }
  const auto end = Clock::now();
  for (std::size_t i = 0; i < probes.size(); ++i) {
    auto& r = results[i];
    if (!r.error.empty()) {
      r.path.clear();
      continue;
    }
    for (std::size_t t = 0; t < r.path.size(); ++t)
      if (!probes[i].answered[t]) r.path[t].rtt_ms = ms_between(probes[i].sent[t], end);
    detail::trim_after_end(r.path);
  }
  return results;
}

}  // namespace midiag::trace::paris
