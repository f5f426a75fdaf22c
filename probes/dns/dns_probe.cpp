#include "probes/dns/dns_probe.h"

#include <ares.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "decoders/dns/message.h"
#include "probes/dns/ares_result.h"
#include "probes/dns/servers.h"

namespace midiag::dns {

std::string_view to_string(Status s) {
  switch (s) {
    case Status::Ok:
      return "ok";
    case Status::NxDomain:
      return "nxdomain";
    case Status::ServFail:
      return "servfail";
    case Status::Timeout:
      return "timeout";
    case Status::Refused:
      return "refused";
    case Status::Error:
      return "error";
  }
  return "error";
}

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kTries = 2;
constexpr milliseconds kGrace{250};  // the safety stop fires this long after the budget
constexpr int kMaxLoops = 100000;    // each loop handles at least one event or timer

struct ChannelDeleter {
  void operator()(ares_channel c) const { ares_destroy(c); }
};
using Channel = std::unique_ptr<std::remove_pointer_t<ares_channel>, ChannelDeleter>;

// What the callback of one query needs: where to write and what the run was asked for.
struct Pending {
  Lookup* lookup = nullptr;
  Clock::time_point sent;
  int* outstanding = nullptr;
  const Options* options = nullptr;
  bool done = false;
};

void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* p = static_cast<Pending*>(arg);
  if (p->done) return;
  p->done = true;
  --*p->outstanding;
  p->lookup->elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - p->sent).count();
  std::span<const std::uint8_t> answer;
  if (abuf != nullptr && alen > 0) answer = {abuf, static_cast<std::size_t>(alen)};
  apply_ares_result(*p->lookup, status, answer, p->options->timeout, p->options->class_overrides);
}

void init_library_once() {
  static const int rc = ares_library_init(ARES_LIB_INIT_ALL);  // thread-safe static init
  (void)rc;
}

// c-ares doubles the per-try timeout on every pass over the server list, so with two tries the
// whole query costs 3 × timeoutms × servers: divide the budget accordingly.
int per_try_ms(milliseconds budget, std::size_t servers) {
  const auto ms = budget.count() / (3 * static_cast<long long>(std::max<std::size_t>(servers, 1)));
  return static_cast<int>(std::clamp<long long>(ms, 1, 1'000'000));
}

Expected<Channel> open_channel(const ServerList& servers, milliseconds budget) {
  ares_options opts{};
  char lookups[] = "b";          // DNS only: never answer from /etc/hosts
  char no_conf[] = "/dev/null";  // nothing from /etc/resolv.conf (options, search, rotate)
  // NOCHECKRESP: c-ares 1.18 otherwise drops SERVFAIL/REFUSED answers and reports ECONNREFUSED.
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
  opts.timeout = per_try_ms(budget, servers.count);
  opts.tries = kTries;
  opts.lookups = lookups;
  opts.resolvconf_path = no_conf;
  opts.ndomains = 0;
  const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS |
                   ARES_OPT_DOMAINS | ARES_OPT_NOROTATE | ARES_OPT_RESOLVCONF;
  ares_channel raw = nullptr;
  const int rc = ares_init_options(&raw, &opts, mask);
  Channel channel(raw);
  if (rc != ARES_SUCCESS) return make_error(std::string("c-ares init: ") + ares_strerror(rc));
  const int set = ares_set_servers_ports_csv(raw, servers.csv.c_str());
  if (set != ARES_SUCCESS) {
    return make_error("c-ares rejected servers " + servers.csv + ": " + ares_strerror(set));
  }
  return Expected<Channel>(std::move(channel));
}

int ceil_ms(const timeval& tv) {
  return static_cast<int>(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
}

// One poll over every channel's sockets, then let each channel read, write and expire timers.
void drive_once(const std::vector<Channel>& channels, Clock::time_point deadline) {
  std::vector<pollfd> fds;
  std::vector<ares_channel> owners;
  const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
  int wait_ms = static_cast<int>(std::max<long long>(left, 0));
  for (const auto& ch : channels) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(ch.get(), socks, ARES_GETSOCK_MAXNUM);
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
      if (events == 0) continue;
      fds.push_back({socks[i], events, 0});
      owners.push_back(ch.get());
    }
    timeval max{wait_ms / 1000, (wait_ms % 1000) * 1000};
    timeval tv{};
    if (const timeval* t = ares_timeout(ch.get(), &max, &tv))
      wait_ms = std::min(wait_ms, ceil_ms(*t));
  }
  if (poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) return;
  for (std::size_t i = 0; i < fds.size(); ++i) {
    const short ev = fds[i].revents;
    if (ev == 0) continue;
    // An ICMP refusal shows up as POLLERR: c-ares must read to learn of it.
    const bool readable = (ev & (POLLIN | POLLERR | POLLHUP)) != 0;
    ares_process_fd(owners[i], readable ? fds[i].fd : ARES_SOCKET_BAD,
                    (ev & POLLOUT) != 0 ? fds[i].fd : ARES_SOCKET_BAD);
  }
  for (const auto& ch : channels) ares_process_fd(ch.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

}  // namespace

std::vector<Lookup> resolve_all(const std::vector<Resolver>& resolvers,
                                const std::vector<Query>& names, const Options& options) {
  init_library_once();
  std::vector<Lookup> lookups;
  lookups.reserve(resolvers.size() * names.size() * 2);
  for (const auto& r : resolvers) {
    for (const auto& q : names) {
      for (const char* type : {"A", "AAAA"}) {
        Lookup& l = lookups.emplace_back();
        l.resolver = r.label;
        l.name = q.name;
        l.type = type;
      }
    }
  }
  // Pending entries are handed to c-ares by address: sized once, and they outlive the channels.
  std::vector<Pending> pending(lookups.size());
  int outstanding = 0;
  std::vector<Channel> channels;
  const auto start = Clock::now();
  std::size_t next = 0;
  for (const auto& r : resolvers) {
    auto servers = usable_servers(r.servers);
    auto channel =
        servers ? open_channel(*servers, options.timeout) : Expected<Channel>(servers.error());
    for (std::size_t i = 0; i < names.size() * 2; ++i, ++next) {
      Lookup& l = lookups[next];
      if (servers) l.skipped_servers = servers->skipped;
      if (!channel) {
        l.error = channel.error().message;
        continue;
      }
      pending[next] = {&l, Clock::now(), &outstanding, &options, false};
      ++outstanding;
      ares_query(channel->get(), l.name.c_str(), kClassIn, l.type == "A" ? kTypeA : kTypeAaaa,
                 on_answer, &pending[next]);
    }
    if (channel) channels.push_back(std::move(*channel));
  }
  const auto deadline = start + options.timeout + kGrace;
  for (int loop = 0; loop < kMaxLoops && outstanding > 0 && Clock::now() < deadline; ++loop) {
    drive_once(channels, deadline);
  }
  // Anything still open past the safety bound ends as a timeout via ARES_ECANCELLED.
  for (const auto& ch : channels) ares_cancel(ch.get());
  channels.clear();
  return lookups;
}

}  // namespace midiag::dns
