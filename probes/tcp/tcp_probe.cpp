#include "probes/tcp/tcp_probe.h"

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

#include "platform/posix/unique_fd.h"
#include "probes/net/address.h"

namespace midiag::tcp {

std::string_view to_string(State s) {
  switch (s) {
    case State::Open:
      return "open";
    case State::Refused:
      return "refused";
    case State::Filtered:
      return "filtered";
    case State::Unreachable:
      return "unreachable";
    case State::NoRoute:
      return "no_route";
    case State::NotProbed:
      return "not_probed";
  }
  return "unknown";
}

std::string_view to_string(Role r) {
  switch (r) {
    case Role::Gateway:
      return "gateway";
    case Role::Public:
      return "public";
    case Role::Link:
      return "link";
    case Role::Redirect:
      return "redirect";
    case Role::Sweep:
      return "sweep";
    case Role::Custom:
      return "custom";
  }
  return "unknown";
}

namespace {

// Reporters are written as plain IPv4 for ICMPv4 (mapped addresses are unwrapped), so a ':'
// means the report was ICMPv6.
bool is_icmp6(const IcmpReport& r) {
  return r.reporter.find(':') != std::string::npos;
}

// Destination-unreachable code names (RFC 792/1812 for v4, RFC 4443 for v6), indexed by code.
constexpr std::string_view kUnreach4[] = {"network unreachable",
                                          "host unreachable",
                                          "protocol unreachable",
                                          "port unreachable",
                                          "fragmentation needed",
                                          "source route failed",
                                          "destination network unknown",
                                          "destination host unknown",
                                          "source host isolated",
                                          "network administratively prohibited",
                                          "host administratively prohibited",
                                          "network unreachable for TOS",
                                          "host unreachable for TOS",
                                          "communication administratively prohibited"};
constexpr std::string_view kUnreach6[] = {"no route to destination",
                                          "communication administratively prohibited",
                                          "beyond scope of source address",
                                          "address unreachable",
                                          "port unreachable",
                                          "source address failed ingress/egress policy",
                                          "reject route to destination"};

template <std::size_t N>
std::string_view code_name(const std::string_view (&names)[N], int code) {
  if (code >= 0 && static_cast<std::size_t>(code) < N) return names[code];
  return "destination unreachable";
}

std::string_view icmp_name(bool v6, int type, int code) {
  if (v6) {
    if (type == 1) return code_name(kUnreach6, code);
    if (type == 2) return "packet too big";
    if (type == 3) return "time exceeded in transit";
    return type == 4 ? "parameter problem" : "";
  }
  if (type == 3) return code_name(kUnreach4, code);
  if (type == 11) return "time exceeded in transit";
  return type == 12 ? "parameter problem" : "";
}

// Net-unreachable reports mean a router had no route; admin-prohibited ones are firewalls.
bool icmp_says_no_route(const IcmpReport& r) {
  if (is_icmp6(r)) return r.type == 1 && r.code == 0;
  return r.type == 3 && (r.code == 0 || r.code == 6 || r.code == 11);
}

std::string describe_icmp(const IcmpReport& r) {
  bool v6 = is_icmp6(r);
  std::string s =
      (v6 ? "ICMPv6 " : "ICMP ") + std::to_string(r.type) + "/" + std::to_string(r.code);
  auto name = icmp_name(v6, r.type, r.code);
  if (!name.empty()) s += " (" + std::string(name) + ")";
  if (!r.reporter.empty()) s += " from " + r.reporter;
  return s;
}

}  // namespace

State classify_error(int err, const IcmpReport& icmp) {
  // A reset after the handshake (e.g. a full accept queue) still proves the port answered.
  if (err == 0 || err == ECONNRESET) return State::Open;
  if (icmp.type >= 0) return icmp_says_no_route(icmp) ? State::NoRoute : State::Unreachable;
  switch (err) {
    case ECONNREFUSED:
      return State::Refused;
    case ENETUNREACH:
      return State::NoRoute;
    case ETIMEDOUT:
      return State::Filtered;  // the kernel gave up on the SYN before our deadline
    // Local refusals (EHOSTUNREACH, EACCES, EPERM, EADDRNOTAVAIL...) all mean "could not reach".
    default:
      return State::Unreachable;
  }
}

std::string describe_error(int err, const IcmpReport& icmp) {
  std::string why = std::system_category().message(err);
  if (err == 0) return "connected";
  if (err == ECONNRESET) return "handshake completed, then reset by the peer";
  if (icmp.type >= 0) {
    if (icmp_says_no_route(icmp)) return describe_icmp(icmp) + ": that router has no route";
    return describe_icmp(icmp);
  }
  switch (err) {
    case ECONNREFUSED:
      return "connection refused (RST)";
    case ENETUNREACH:
      return "no route from this machine (" + why + ")";
    case ETIMEDOUT:
      return "no answer; the kernel stopped retrying the SYN (" + why + ")";
    case EACCES:
    case EPERM:
      return "blocked on this machine by a firewall rule or policy (" + why + ")";
    default:
      return "connect failed: " + why;
  }
}

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Closes on scope exit so every early return still releases the descriptor.
using Fd = UniqueFd;

struct Slot {
  Fd fd;
  Clock::time_point started;
  bool pending = false;
};

using Dest = net::SocketAddress;

Expected<Dest> to_sockaddr(const Target& t) {
  auto ip = net::parse_ip(t.address);
  if (!ip) return make_error("TCP target \"" + t.address + "\" is not a numeric IP address");
  if (t.port == 0) return make_error("TCP target " + t.address + " has port 0");
  return net::to_socket_address(*ip, t.port);
}

// Best effort: if it fails, socket() reports EMFILE and the batch error says why.
void raise_fd_limit(rlim_t need) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= need) return;
  lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? need : std::min(need, lim.rlim_max);
  setrlimit(RLIMIT_NOFILE, &lim);
}

Error fd_error(int err, std::size_t opened, std::size_t total, rlim_t need) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  return make_error("cannot open TCP probe socket " + std::to_string(opened + 1) + " of " +
                        std::to_string(total) + " (" + std::system_category().message(err) +
                        "): the batch needs about " + std::to_string(need) +
                        " file descriptors; RLIMIT_NOFILE is " + std::to_string(lim.rlim_cur) +
                        " (hard " + std::to_string(lim.rlim_max) + ")",
                    ErrorKind::Resource);
}

std::string address_string(const sockaddr* sa, std::uint8_t origin) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  } else if (sa->sa_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    // ICMPv4 on a v6 socket arrives with a mapped offender; print it as the v4 it is.
    if (origin == SO_EE_ORIGIN_ICMP && IN6_IS_ADDR_V4MAPPED(&a6)) {
      inet_ntop(AF_INET, &a6.s6_addr[12], buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &a6, buf, sizeof buf);
    }
  }
  return buf;
}

}  // namespace

std::uint16_t local_port_of(int fd) {
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return 0;
  if (local.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
  if (local.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port);
  return 0;
}

int read_icmp_report(int fd, IcmpReport& out) {
  int first_errno = 0;
  for (int i = 0; i < 8; ++i) {
    alignas(cmsghdr) char control[512];
    sockaddr_storage from{};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
      bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
      if (!v4 && !v6) continue;
      sock_extended_err ee{};
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
      if (first_errno != 0) continue;
      first_errno = static_cast<int>(ee.ee_errno);
      out.type = ee.ee_type;
      out.code = ee.ee_code;
      // SO_EE_OFFENDER points just past the struct inside the cmsg data.
      const auto* payload = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
      out.reporter = address_string(SO_EE_OFFENDER(payload), ee.ee_origin);
    }
  }
  return first_errno;
}

namespace {

void finish(Result& r, int err, const IcmpReport& icmp, double rtt) {
  r.state = classify_error(err, icmp);
  r.error_number = err;
  r.icmp = icmp;
  r.rtt_ms = rtt;
  r.detail = describe_error(err, icmp);
}

// Reads what ended a pending connect: SO_ERROR first, because draining the error queue clears it.
void settle(Result& r, int fd, std::uint32_t events, double rtt) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  IcmpReport icmp;
  if (err != 0 || (events & EPOLLERR) != 0) {
    int queued = read_icmp_report(fd, icmp);
    if (err == 0) err = queued;
  }
  finish(r, err, icmp, rtt);
}

void enable_recverr(int fd, int family) {
  int on = 1;
  // v6 sockets also get IP_RECVERR: traffic to v4-mapped targets reports through ICMPv4.
  setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on);
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
}

// The sockets of one batch and the epoll set that watches them.
struct Batch {
  std::vector<Result>& results;
  std::vector<Slot> slots;
  Fd ep;
  std::size_t pending = 0;

  // Returns an error only when the batch as a whole cannot go on.
  std::optional<Error> start(std::size_t i, const Dest& d, rlim_t need) {
    int family = d.addr.ss_family;
    Slot& s = slots[i];
    s.fd.reset(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (s.fd.get() < 0) {
      int err = errno;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        return fd_error(err, i, slots.size(), need);
      }
      finish(results[i], err, {}, 0);  // e.g. EAFNOSUPPORT: no IPv6 stack on this machine
      return std::nullopt;
    }
    enable_recverr(s.fd.get(), family);
    s.started = Clock::now();
    int rc = connect(s.fd.get(), reinterpret_cast<const sockaddr*>(&d.addr), d.len);
    int err = rc == 0 ? 0 : errno;
    results[i].local_port = local_port_of(s.fd.get());
    if (err != EINPROGRESS) {
      // Immediate outcomes (ENETUNREACH, EACCES, EADDRNOTAVAIL...) are classified like late ones.
      finish(results[i], err, {}, ms_since(s.started, Clock::now()));
      s.fd.reset();
      return std::nullopt;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = i;
    if (epoll_ctl(ep.get(), EPOLL_CTL_ADD, s.fd.get(), &ev) != 0) {
      return make_error("cannot watch TCP probe sockets: " + std::system_category().message(errno));
    }
    s.pending = true;
    ++pending;
    return std::nullopt;
  }

  // One epoll_wait; settles and closes every socket that reported.
  std::optional<Error> collect(int timeout_ms) {
    epoll_event events[256];
    int n = epoll_wait(ep.get(), events, 256, timeout_ms);
    if (n < 0 && errno != EINTR) {
      return make_error("waiting for TCP probes failed: " + std::system_category().message(errno));
    }
    auto now = Clock::now();
    for (int k = 0; k < n; ++k) {
      auto i = static_cast<std::size_t>(events[k].data.u64);
      if (i >= slots.size() || !slots[i].pending) continue;
      settle(results[i], slots[i].fd.get(), events[k].events, ms_since(slots[i].started, now));
      slots[i].fd.reset();  // reachability is all we need: close right after the handshake
      slots[i].pending = false;
      --pending;
    }
    return std::nullopt;
  }
};

}  // namespace

Expected<std::vector<Result>> probe_all(const std::vector<Target>& targets, const Options& options,
                                        const StillWaiting& still_waiting) {
  std::vector<Dest> dests;
  dests.reserve(targets.size());
  for (const auto& t : targets) {
    auto d = to_sockaddr(t);
    if (!d) return d.error();
    dests.push_back(*d);
  }
  std::vector<Result> results(targets.size());
  if (targets.empty()) return results;
  for (std::size_t i = 0; i < targets.size(); ++i) results[i].target = targets[i];

  const auto need = static_cast<rlim_t>(targets.size() + 64);
  raise_fd_limit(need);
  Batch b{results, std::vector<Slot>(targets.size()), Fd(epoll_create1(EPOLL_CLOEXEC))};
  if (b.ep.get() < 0) return fd_error(errno, 0, targets.size(), need);

  // Batches: as many sockets as the descriptor limit allows, then wait for them, then the next
  // ones. Each batch costs at most one timeout; with enough descriptors there is one batch.
  auto not_probed = [&](std::size_t from, const std::string& why) {
    for (std::size_t i = from; i < targets.size(); ++i) {
      results[i].state = State::NotProbed;
      results[i].detail = why;
    }
  };
  const std::string silent =
      "no answer within " + std::to_string(options.timeout.count()) + " ms (silent drop)";
  std::size_t next = 0;
  bool notified = false;  // still_waiting is called once, for the first batch
  while (next < targets.size()) {
    std::optional<Error> starved;
    const std::size_t first = next;
    while (next < targets.size()) {
      if (options.stop_starting_at && Clock::now() >= *options.stop_starting_at) break;
      if (auto e = b.start(next, dests[next], need)) {
        if (e->kind != ErrorKind::Resource) return *e;
        starved = std::move(e);
        break;
      }
      ++next;
      // Early answers are taken while SYNs still go out, so setup time does not inflate RTTs.
      if ((next - first) % 32 == 0) {
        if (auto e = b.collect(0)) return *e;
      }
    }
    if (b.pending == 0 && next < targets.size()) {
      // Nothing of ours is holding a descriptor: waiting would not free one.
      if (starved) {
        not_probed(next, "no socket: " + starved->message);
      } else {
        not_probed(next, "not probed: the check's time budget ran out");
      }
      break;
    }
    // The deadline starts once the batch's SYNs are out, so each probe gets the full timeout.
    const auto deadline = Clock::now() + options.timeout;
    const auto notify_at = deadline - options.timeout + still_waiting.after;
    while (b.pending > 0) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      if (!notified && still_waiting.call)
        left = std::min(
            left, std::max(std::chrono::milliseconds(0),
                           std::chrono::ceil<std::chrono::milliseconds>(notify_at - Clock::now())));
      if (auto e = b.collect(static_cast<int>(left.count()))) return *e;
      if (!notified && still_waiting.call && Clock::now() >= notify_at) {
        notified = true;
        std::vector<Target> waiting;
        for (std::size_t i = first; i < next; ++i)
          if (b.slots[i].pending) waiting.push_back(targets[i]);
        if (!waiting.empty()) still_waiting.call(waiting);
      }
    }
    const auto end = Clock::now();
    for (std::size_t i = first; i < next; ++i) {
      if (!b.slots[i].pending) continue;
      Result& r = results[i];
      r.state = State::Filtered;
      r.rtt_ms = ms_since(b.slots[i].started, end);
      r.error_number = 0;
      r.detail = silent;
      b.slots[i].fd.reset();
      b.slots[i].pending = false;
    }
    b.pending = 0;
  }
  return results;
}

}  // namespace midiag::tcp
