#include "probes/trace/tcp_trace.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "platform/posix/unique_fd.h"
#include "probes/net/address.h"
#include "probes/tcp/tcp_probe.h"
#include "probes/trace/paris_trace.h"

namespace midiag::trace {

std::string_view to_string(Method m) {
  return m == Method::Paris ? "paris" : "socket";
}

std::string_view to_string(HopKind k) {
  switch (k) {
    case HopKind::TimeExceeded:
      return "time_exceeded";
    case HopKind::Unreachable:
      return "unreachable";
    case HopKind::Reset:
      return "reset";
    case HopKind::SynAck:
      return "synack";
    case HopKind::Silent:
      return "silent";
  }
  return "silent";
}

const Hop* Result::last_answer() const {
  for (auto it = path.rbegin(); it != path.rend(); ++it)
    if (it->kind != HopKind::Silent) return &*it;
  return nullptr;
}

int Result::first_silent_ttl() const {
  if (path.empty() || path.back().kind != HopKind::Silent) return 0;
  const Hop* last = last_answer();
  return last == nullptr ? path.front().ttl : last->ttl + 1;
}

std::string Result::summary() const {
  if (!error.empty()) return "trace to " + target.address + " not run: " + error;
  const Hop* last = last_answer();
  const std::string where = target.address + ":" + std::to_string(target.port);
  if (last == nullptr)
    return "no hop answered the trace to " + where + " (TTL 1-" +
           std::to_string(path.empty() ? 0 : path.back().ttl) +
           "): SYNs vanish before the first router, or no router on the path sends ICMP";
  const std::string hop = " (hop " + std::to_string(last->ttl) + ")";
  switch (last->kind) {
    case HopKind::SynAck:
      return "SYN-ACK from " + last->address + hop + ": the trace reached " + where;
    case HopKind::Reset:
      return "reset from " + last->address + hop + ": SYNs reach " + where + " and are refused";
    case HopKind::Unreachable:
      return "SYNs stopped at " + last->address + hop + " with ICMP unreachable " +
             std::to_string(last->icmp_type) + "/" + std::to_string(last->icmp_code);
    default:
      break;
  }
  const int silent = first_silent_ttl();
  if (silent == 0) return "SYNs pass " + last->address + hop;
  return "SYNs pass " + last->address + hop + ", vanish after it (hops " + std::to_string(silent) +
         "-" + std::to_string(path.back().ttl) + " silent)";
}

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

using Dest = net::SocketAddress;

std::optional<Dest> to_sockaddr(const Target& t) {
  auto ip = net::parse_ip(t.address);
  if (!ip || t.port == 0) return std::nullopt;
  return net::to_socket_address(*ip, t.port);
}

// ICMP time exceeded: type 11 (v4), 3 (v6). Reporters of ICMPv6 are written with a ':'.
bool is_time_exceeded(const tcp::IcmpReport& r) {
  const bool v6 = r.reporter.find(':') != std::string::npos;
  return v6 ? r.type == 3 : r.type == 11;
}

void settle(Hop& hop, const Target& t, int err, bool writable, const tcp::IcmpReport& icmp,
            double rtt) {
  hop.rtt_ms = rtt;
  if (icmp.type >= 0) {
    hop.kind = is_time_exceeded(icmp) ? HopKind::TimeExceeded : HopKind::Unreachable;
    hop.address = icmp.reporter;
    hop.icmp_type = icmp.type;
    hop.icmp_code = icmp.code;
    return;
  }
  if (err == ECONNREFUSED) {
    hop.kind = HopKind::Reset;
    hop.address = t.address;
  } else if (err == 0 ? writable : err == ECONNRESET) {
    hop.kind = HopKind::SynAck;  // a reset after the handshake still proves the SYN-ACK
    hop.address = t.address;
  } else {
    hop.kind = HopKind::Unreachable;  // a local refusal (EHOSTUNREACH, EACCES...): no reporter
  }
}

bool ends_path(HopKind k) {
  return k == HopKind::SynAck || k == HopKind::Reset || k == HopKind::Unreachable;
}

bool is_v4(const Target& t) {
  auto ip = net::parse_ip(t.address);
  return ip && ip->str().find(':') == std::string::npos;
}

struct Slot {
  UniqueFd fd;
  std::size_t target = 0;
  int ttl = 0;
  Clock::time_point started;
  bool pending = false;
};

}  // namespace

namespace detail {

bool path_known(const std::vector<Hop>& path, const std::vector<bool>& answered) {
  for (std::size_t i = 0; i < path.size() && i < answered.size(); ++i) {
    if (!answered[i]) return false;
    if (ends_path(path[i].kind)) return true;
  }
  return false;
}

void trim_after_end(std::vector<Hop>& path) {
  auto stop =
      std::find_if(path.begin(), path.end(), [](const Hop& h) { return ends_path(h.kind); });
  if (stop != path.end()) path.erase(stop + 1, path.end());
}

}  // namespace detail

Expected<std::vector<Result>> trace_all(const std::vector<Target>& targets,
                                        const Options& options) {
  if (options.method == MethodChoice::Socket) return trace_with_sockets(targets, options);
  // Paris-style for the IPv4 targets when raw sockets are allowed; the rest by sockets.
  std::vector<Target> v4, other;
  std::vector<std::pair<bool, std::size_t>> where;  // (by raw probes, index there)
  for (const auto& t : targets) {
    auto& list = is_v4(t) ? v4 : other;
    where.emplace_back(&list == &v4, list.size());
    list.push_back(t);
  }
  auto raw = paris::trace_raw(v4, options);
  if (!raw) {
    if (options.method == MethodChoice::Paris) return raw.error();
    return trace_with_sockets(targets, options);  // no CAP_NET_RAW (or no raw socket at all)
  }
  auto rest = trace_with_sockets(other, options);
  if (!rest) return rest.error();
  std::vector<Result> out;
  out.reserve(targets.size());
  for (const auto& [paris_side, index] : where)
    out.push_back(std::move(paris_side ? (*raw)[index] : (*rest)[index]));
  return out;
}

Expected<std::vector<Result>> trace_with_sockets(const std::vector<Target>& targets,
                                                 const Options& options) {
  std::vector<Result> results(targets.size());
  const int max_ttl = std::clamp(options.max_ttl, 1, 64);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    results[i].target = targets[i];
    results[i].path.resize(static_cast<std::size_t>(max_ttl));
    for (int ttl = 1; ttl <= max_ttl; ++ttl) results[i].path[ttl - 1].ttl = ttl;
  }
  if (targets.empty()) return results;
  UniqueFd ep(epoll_create1(EPOLL_CLOEXEC));
  if (!ep)
    return make_error(
        "cannot create an epoll set for the trace: " + std::system_category().message(errno),
        ErrorKind::Resource);

  const auto t0 = Clock::now();
  auto deadline = t0 + options.timeout;
  if (options.deadline && *options.deadline < deadline) deadline = *options.deadline;

  std::vector<Slot> slots(targets.size() * static_cast<std::size_t>(max_ttl));
  std::vector<std::vector<bool>> answered(targets.size(),
                                          std::vector<bool>(static_cast<std::size_t>(max_ttl)));
  std::size_t pending = 0;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    auto dest = to_sockaddr(targets[i]);
    if (!dest) {
      results[i].error = "\"" + targets[i].address + "\" port " + std::to_string(targets[i].port) +
                         " is not a numeric address and port";
      continue;
    }
    const int family = dest->addr.ss_family;
    for (int ttl = 1; ttl <= max_ttl && results[i].error.empty(); ++ttl) {
      Slot& s = slots[i * static_cast<std::size_t>(max_ttl) + static_cast<std::size_t>(ttl - 1)];
      s.target = i;
      s.ttl = ttl;
      s.fd.reset(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (!s.fd) {
        results[i].error = "no socket for TTL " + std::to_string(ttl) + ": " +
                           std::system_category().message(errno);
        break;
      }
      int on = 1;
      bool ok = false;
      if (family == AF_INET) {
        ok = setsockopt(s.fd.get(), IPPROTO_IP, IP_RECVERR, &on, sizeof on) == 0 &&
             setsockopt(s.fd.get(), IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) == 0;
      } else {
        // Best effort: v4-mapped destinations report through ICMPv4.
        setsockopt(s.fd.get(), IPPROTO_IP, IP_RECVERR, &on, sizeof on);
        ok = setsockopt(s.fd.get(), IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on) == 0 &&
             setsockopt(s.fd.get(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl) == 0;
      }
      if (!ok) {
        results[i].error = "cannot set the TTL or IP_RECVERR on a socket: " +
                           std::system_category().message(errno);
        break;
      }
      s.started = Clock::now();
      const int rc = connect(s.fd.get(), reinterpret_cast<const sockaddr*>(&dest->addr), dest->len);
      const int err = rc == 0 ? 0 : errno;
      if (const auto port = tcp::local_port_of(s.fd.get()); port != 0)
        results[i].local_ports.push_back(port);
      if (err != EINPROGRESS) {
        tcp::IcmpReport icmp;
        if (err != 0) tcp::read_icmp_report(s.fd.get(), icmp);
        settle(results[i].path[ttl - 1], targets[i], err, true, icmp,
               ms_between(s.started, Clock::now()));
        answered[i][ttl - 1] = true;
        s.fd.reset();
        continue;
      }
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.u64 = i * static_cast<std::size_t>(max_ttl) + static_cast<std::size_t>(ttl - 1);
      if (epoll_ctl(ep.get(), EPOLL_CTL_ADD, s.fd.get(), &ev) != 0)
        return make_error("cannot watch trace sockets: " + std::system_category().message(errno),
                          ErrorKind::Resource);
      s.pending = true;
      ++pending;
    }
  }

  // Each round settles at least one socket or runs into the deadline: bounded both ways.
  for (std::size_t round = 0; pending > 0 && round <= slots.size(); ++round) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    epoll_event events[64];
    const int n = epoll_wait(ep.get(), events, 64, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR)
      return make_error("waiting for trace answers failed: " +
                        std::system_category().message(errno));
    const auto now = Clock::now();
    for (int k = 0; k < n; ++k) {
      const auto idx = static_cast<std::size_t>(events[k].data.u64);
      if (idx >= slots.size() || !slots[idx].pending) continue;
      Slot& s = slots[idx];
      // SO_ERROR first: draining the error queue clears it.
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(s.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      tcp::IcmpReport icmp;
      if (err != 0 || (events[k].events & EPOLLERR) != 0) {
        const int queued = tcp::read_icmp_report(s.fd.get(), icmp);
        if (err == 0) err = queued;
      }
      settle(results[s.target].path[s.ttl - 1], targets[s.target], err,
             (events[k].events & EPOLLOUT) != 0, icmp, ms_between(s.started, now));
      answered[s.target][s.ttl - 1] = true;
      s.fd.reset();
      s.pending = false;
      --pending;
    }
    // A target whose path is known waits no longer for TTLs past its end.
    for (auto& s : slots)
      if (s.pending && detail::path_known(results[s.target].path, answered[s.target])) {
        s.fd.reset();
        s.pending = false;
        --pending;
      }
  }
  const auto end = Clock::now();
  for (auto& s : slots) {
    if (!s.pending) continue;
    results[s.target].path[s.ttl - 1].rtt_ms = ms_between(s.started, end);  // stays silent
    s.fd.reset();
    s.pending = false;
  }
  // Hops past the one that ended the path say nothing new (every later TTL reaches it too).
  for (auto& r : results) {
    if (!r.error.empty()) {
      r.path.clear();
      continue;
    }
    detail::trim_after_end(r.path);
  }
  return results;
}

}  // namespace midiag::trace
