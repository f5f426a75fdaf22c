#include "probes/tcp/tcp_probe.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

using namespace midiag::tcp;
using namespace std::chrono_literals;

namespace {

constexpr int kBoundOnly = -1;  // bound but not listening: SYNs get RST, nobody can take the port

// A loopback TCP socket on an ephemeral port, listening with `backlog` or merely bound.
class LocalPort {
 public:
  LocalPort(int family, int backlog) {
    fd_ = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof *sin;
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_addr = in6addr_loopback;
      len = sizeof *sin6;
    }
    if (bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
        (backlog != kBoundOnly && listen(fd_, backlog) != 0) ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      close_now();
      return;
    }
    port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                    : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  }
  ~LocalPort() { close_now(); }
  LocalPort(const LocalPort&) = delete;
  LocalPort& operator=(const LocalPort&) = delete;
  LocalPort(LocalPort&& o) noexcept : fd_(o.fd_), port_(o.port_) { o.fd_ = -1; }

  [[nodiscard]] bool ok() const { return fd_ >= 0 && port_ != 0; }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  void close_now() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

int open_fd_count() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n;
}

Options quick() {
  return Options{.timeout = 5000ms, .stop_starting_at = {}};
}

// A listener whose accept queue is full: the kernel silently drops further SYNs, a loopback
// stand-in for a filtering firewall.
LocalPort jammed_listener() {
  LocalPort l(AF_INET, 0);
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(l.port());
  bool queued = l.ok() && c >= 0 && connect(c, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0;
  if (c >= 0) ::close(c);  // it stays in the accept queue, which nobody drains
  if (!queued) l.close_now();
  return l;
}

}  // namespace

TEST(PortList, AcceptsGoodLists) {
  struct Case {
    const char* text;
    std::vector<std::uint16_t> want;
  } cases[] = {
      {"1433", {1433}},
      {" 1433 , 5022 ", {1433, 5022}},
      {"\t80\t", {80}},
      {"5022,1433,1433", {1433, 5022}},
      {"11000-11002", {11000, 11001, 11002}},
      {"1433,5022,11000-11001", {1433, 5022, 11000, 11001}},
      {"7-7", {7}},
      {"3-5,4,1-3", {1, 2, 3, 4, 5}},
      {"1,65535", {1, 65535}},
      {" 10 - 11 ", {10, 11}},
  };
  for (const auto& c : cases) {
    auto r = parse_port_list(c.text);
    ASSERT_TRUE(r) << c.text << ": " << r.error().message;
    EXPECT_EQ(*r, c.want) << c.text;
  }
  auto all = parse_port_list("1-65535,1-65535");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 65535u);
}

TEST(PortList, RejectsBadListsNamingTheElement) {
  struct Case {
    const char* text;
    const char* named;  // what the message must mention
  } cases[] = {
      {"0", "\"0\""},      {"70000", "\"70000\""}, {"5-3", "\"5-3\""},
      {"abc", "\"abc\""},  {"", "empty"},          {"   ", "empty"},
      {",,", "empty"},     {"1-", "\"1-\""},       {"-5", "\"-5\""},
      {"1433,", "empty"},  {"1,,2", "#2"},         {"1-2-3", "\"1-2-3\""},
      {"+5", "\"+5\""},    {"1 2", "\"1 2\""},     {"99999999999999999999", "\"9999"},
      {"1433,x", "\"x\""}, {"65536", "\"65536\""}, {"0-5", "\"0-5\""},
  };
  for (const auto& c : cases) {
    auto r = parse_port_list(c.text);
    ASSERT_FALSE(r) << "accepted \"" << c.text << "\"";
    EXPECT_NE(r.error().message.find(c.named), std::string::npos)
        << c.text << " -> " << r.error().message;
  }
}

TEST(TcpNames, StatesAndRoles) {
  EXPECT_EQ(to_string(State::Open), "open");
  EXPECT_EQ(to_string(State::Refused), "refused");
  EXPECT_EQ(to_string(State::Filtered), "filtered");
  EXPECT_EQ(to_string(State::Unreachable), "unreachable");
  EXPECT_EQ(to_string(State::NoRoute), "no_route");
  EXPECT_EQ(to_string(Role::Gateway), "gateway");
  EXPECT_EQ(to_string(Role::Public), "public");
  EXPECT_EQ(to_string(Role::Link), "link");
  EXPECT_EQ(to_string(Role::Redirect), "redirect");
  EXPECT_EQ(to_string(Role::Sweep), "sweep");
  EXPECT_EQ(to_string(Role::Custom), "custom");
}

TEST(TcpClassify, ErrnoAndIcmpToState) {
  struct Case {
    int err;
    IcmpReport icmp;
    State want;
  } cases[] = {
      {0, {}, State::Open},
      {ECONNRESET, {}, State::Open},
      {ECONNREFUSED, {}, State::Refused},
      {ECONNREFUSED, {3, 3, "10.250.1.1"}, State::Unreachable},
      {ECONNREFUSED, {1, 4, "fd00::1"}, State::Unreachable},
      {EHOSTUNREACH, {3, 13, "10.250.1.1"}, State::Unreachable},
      {EHOSTUNREACH, {3, 1, "10.250.1.1"}, State::Unreachable},
      {EHOSTUNREACH, {3, 10, "10.250.1.1"}, State::Unreachable},
      {EHOSTUNREACH, {11, 0, "10.250.1.1"}, State::Unreachable},
      {ENETUNREACH, {3, 9, "10.250.1.1"}, State::Unreachable},  // admin-prohibited: a firewall
      {EACCES, {1, 1, "fd00::1"}, State::Unreachable},
      {EHOSTDOWN, {3, 7, "10.0.0.1"}, State::Unreachable},
      {ENONET, {3, 8, "10.0.0.1"}, State::Unreachable},
      {EHOSTUNREACH, {3, 0, "fd00::1"}, State::Unreachable},  // ICMPv6 3 is time exceeded
      {ENETUNREACH, {}, State::NoRoute},
      {ENETUNREACH, {3, 0, "10.250.1.1"}, State::NoRoute},
      {ENETUNREACH, {3, 6, "10.250.1.1"}, State::NoRoute},
      {ENETUNREACH, {1, 0, "fd00::1"}, State::NoRoute},
      {EHOSTUNREACH, {}, State::Unreachable},
      {EACCES, {}, State::Unreachable},
      {EPERM, {}, State::Unreachable},
      {ENONET, {}, State::Unreachable},
      {EHOSTDOWN, {}, State::Unreachable},
      {EADDRNOTAVAIL, {}, State::Unreachable},
      {EAFNOSUPPORT, {}, State::Unreachable},
      {ETIMEDOUT, {}, State::Filtered},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(classify_error(c.err, c.icmp), c.want)
        << "errno " << c.err << " icmp " << c.icmp.type << "/" << c.icmp.code;
  }
}

TEST(TcpClassify, DetailNamesIcmpAndReporter) {
  auto has = [](const std::string& s, const char* part) {
    return s.find(part) != std::string::npos;
  };
  EXPECT_EQ(describe_error(ECONNREFUSED, {}), "connection refused (RST)");
  EXPECT_EQ(describe_error(EHOSTUNREACH, {3, 13, "10.250.1.1"}),
            "ICMP 3/13 (communication administratively prohibited) from 10.250.1.1");
  EXPECT_TRUE(has(describe_error(EHOSTUNREACH, {3, 1, "10.0.0.1"}), "(host unreachable)"));
  EXPECT_TRUE(has(describe_error(ECONNREFUSED, {3, 3, "10.0.0.1"}), "(port unreachable)"));
  EXPECT_TRUE(has(describe_error(ENETUNREACH, {3, 9, "10.0.0.1"}), "network administratively"));
  EXPECT_TRUE(has(describe_error(EHOSTUNREACH, {3, 10, "10.0.0.1"}), "host administratively"));
  auto net = describe_error(ENETUNREACH, {3, 0, "10.250.1.1"});
  EXPECT_TRUE(has(net, "ICMP 3/0 (network unreachable) from 10.250.1.1")) << net;
  EXPECT_TRUE(has(net, "no route")) << net;
  EXPECT_EQ(describe_error(ECONNREFUSED, {1, 4, "fd00::1"}),
            "ICMPv6 1/4 (port unreachable) from fd00::1");
  EXPECT_TRUE(has(describe_error(ENETUNREACH, {}), "no route from this machine"));
  EXPECT_TRUE(has(describe_error(EPERM, {}), "firewall"));
  EXPECT_FALSE(describe_error(EADDRNOTAVAIL, {}).empty());
}

TEST(TcpSweep, SummarisesSweepResultsPerAddress) {
  auto res = [](const char* a, std::uint16_t p, Role role, State s) {
    Result r;
    r.target = Target{a, p, role};
    r.state = s;
    return r;
  };
  std::vector<Result> rs = {
      res("10.0.0.5", 11005, Role::Sweep, State::Filtered),
      res("10.0.0.5", 11000, Role::Sweep, State::Open),
      res("10.0.0.9", 11500, Role::Sweep, State::Refused),
      res("10.0.0.5", 11999, Role::Sweep, State::Filtered),
      res("10.0.0.5", 1433, Role::Redirect, State::Open),  // not part of the sweep
      res("10.0.0.5", 11001, Role::Sweep, State::Unreachable),
      res("10.0.0.5", 11002, Role::Sweep, State::NoRoute),
  };
  auto s = summarize_sweeps(rs);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].address, "10.0.0.5");
  EXPECT_EQ(s[0].from, 11000);
  EXPECT_EQ(s[0].to, 11999);
  EXPECT_EQ(s[0].open, 1);
  EXPECT_EQ(s[0].filtered, 2);
  EXPECT_EQ(s[0].refused, 0);
  EXPECT_EQ(s[0].unreachable, 1);
  EXPECT_EQ(s[0].no_route, 1);
  EXPECT_EQ(s[1].address, "10.0.0.9");
  EXPECT_EQ(s[1].from, 11500);
  EXPECT_EQ(s[1].to, 11500);
  EXPECT_EQ(s[1].refused, 1);
  EXPECT_TRUE(summarize_sweeps({}).empty());
}

TEST(TcpProbe, ListeningPortIsOpen) {
  LocalPort listener(AF_INET, SOMAXCONN);
  ASSERT_TRUE(listener.ok());
  auto r = probe_all({{"127.0.0.1", listener.port(), Role::Gateway}}, quick());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  const Result& x = r->front();
  EXPECT_EQ(x.state, State::Open) << x.detail;
  EXPECT_GT(x.rtt_ms, 0);
  EXPECT_LT(x.rtt_ms, 5000);
  EXPECT_EQ(x.error_number, 0);
  EXPECT_EQ(x.target.role, Role::Gateway);
  EXPECT_EQ(x.target.port, listener.port());
}

TEST(TcpProbe, ClosedPortIsRefused) {
  LocalPort gone(AF_INET, kBoundOnly);
  ASSERT_TRUE(gone.ok());
  gone.close_now();
  auto r = probe_all({{"127.0.0.1", gone.port(), Role::Custom}}, quick());
  ASSERT_TRUE(r) << r.error().message;
  const Result& x = r->front();
  EXPECT_EQ(x.state, State::Refused) << x.detail;
  EXPECT_EQ(x.error_number, ECONNREFUSED);
  EXPECT_EQ(x.detail, "connection refused (RST)");
  EXPECT_EQ(x.icmp.type, -1);
  EXPECT_GE(x.rtt_ms, 0);
}

TEST(TcpProbe, BadTargetsFailTheBatchBeforeAnyTraffic) {
  auto r =
      probe_all({{"127.0.0.1", 1433, Role::Custom}, {"localhost", 1433, Role::Custom}}, quick());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("localhost"), std::string::npos) << r.error().message;
  auto zero = probe_all({{"127.0.0.1", 0, Role::Custom}}, quick());
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("port 0"), std::string::npos) << zero.error().message;
  auto empty = probe_all({}, quick());
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(TcpProbe, ManyTargetsInOneBatchRaisingTheFdLimit) {
  // Per 6 targets: 1 open, 1 refused, 4 silently dropped; 1200 drops stay pending together.
  constexpr std::size_t kTargets = 1800;
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < kTargets + 200) {
    GTEST_SKIP() << "hard RLIMIT_NOFILE " << saved.rlim_max << " is too low for this test";
  }
  // Start from the common default so the probe has to raise the soft limit itself.
  rlimit low = saved;
  low.rlim_cur = 1024;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);

  std::vector<LocalPort> listeners, closed;
  for (int i = 0; i < 10; ++i) {
    listeners.emplace_back(AF_INET, SOMAXCONN);
    closed.emplace_back(AF_INET, kBoundOnly);
    ASSERT_TRUE(listeners.back().ok() && closed.back().ok());
  }
  LocalPort jam = jammed_listener();
  ASSERT_TRUE(jam.ok());
  std::vector<Target> targets;
  std::vector<State> want;
  for (std::size_t i = 0; i < kTargets; ++i) {
    std::uint16_t port = jam.port();
    want.push_back(State::Filtered);
    if (i % 6 < 2) {
      port = (i % 6 == 0 ? listeners : closed)[(i / 6) % 10].port();
      want.back() = i % 6 == 0 ? State::Open : State::Refused;
    }
    targets.push_back({"127.0.0.1", port, Role::Sweep});
  }

  int fds_before = open_fd_count();
  auto start = std::chrono::steady_clock::now();
  auto r = probe_all(targets, Options{.timeout = 500ms, .stop_starting_at = {}});
  auto took = std::chrono::steady_clock::now() - start;
  rlimit after{};
  getrlimit(RLIMIT_NOFILE, &after);
  setrlimit(RLIMIT_NOFILE, &saved);

  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), kTargets);
  EXPECT_GE(after.rlim_cur, kTargets + 64);
  EXPECT_EQ(open_fd_count(), fds_before) << "probe sockets left open";
  EXPECT_GE(took, 500ms);
  EXPECT_LT(took, 2500ms) << "1200 silent drops must cost about one timeout";
  for (std::size_t i = 0; i < kTargets; ++i) {
    const Result& x = (*r)[i];
    EXPECT_EQ(x.target.port, targets[i].port);
    if (x.state != want[i]) ADD_FAILURE() << i << ": " << to_string(x.state) << " " << x.detail;
  }
  auto sweeps = summarize_sweeps(*r);
  ASSERT_EQ(sweeps.size(), 1u);
  EXPECT_EQ(sweeps[0].open, 300);
  EXPECT_EQ(sweeps[0].refused, 300);
  EXPECT_EQ(sweeps[0].filtered, 1200);
}

namespace {
// Runs in a death-test child: the hard limit can only be lowered for good.
[[noreturn]] void probe_with_128_descriptors(const std::vector<Target>& targets) {
  rlimit lim{};
  lim.rlim_cur = lim.rlim_max = 128;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) std::_Exit(3);
  auto r = probe_all(targets, Options{.timeout = 300ms, .stop_starting_at = {}});
  // 300 held sockets do not fit in 128 descriptors: batches that fit, every target probed.
  if (!r || r->size() != targets.size()) std::_Exit(1);
  for (const auto& x : *r)
    if (x.state != State::Filtered) std::_Exit(2);
  std::_Exit(0);
}
}  // namespace

TEST(TcpProbe, HeldSocketsBeyondTheDescriptorLimitAreProbedInBatches) {
  LocalPort jam = jammed_listener();  // probes stay pending, so every socket is held at once
  ASSERT_TRUE(jam.ok());
  std::vector<Target> targets(300, Target{"127.0.0.1", jam.port(), Role::Sweep});
  EXPECT_EXIT(probe_with_128_descriptors(targets), ::testing::ExitedWithCode(0), "");
}

TEST(TcpProbe, SilentDropsShareOneDeadline) {
  LocalPort jam = jammed_listener();
  ASSERT_TRUE(jam.ok());
  LocalPort gone(AF_INET, kBoundOnly);
  ASSERT_TRUE(gone.ok());
  std::vector<Target> targets(50, Target{"127.0.0.1", jam.port(), Role::Sweep});
  targets.push_back({"127.0.0.1", gone.port(), Role::Sweep});
  auto start = std::chrono::steady_clock::now();
  auto r = probe_all(targets, Options{.timeout = 300ms, .stop_starting_at = {}});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 900ms) << "50 silent drops must cost one timeout, not fifty";
  for (std::size_t i = 0; i < 50; ++i) {
    const Result& x = (*r)[i];
    EXPECT_EQ(x.state, State::Filtered) << i << ": " << x.detail;
    EXPECT_GE(x.rtt_ms, 300);
    EXPECT_EQ(x.error_number, 0);
    EXPECT_EQ(x.detail, "no answer within 300 ms (silent drop)");
  }
  EXPECT_EQ(r->back().state, State::Refused) << "an answer inside a filtered batch still counts";
  EXPECT_LT(r->back().rtt_ms, 300);
}

TEST(TcpProbe, Ipv6LoopbackAndMappedV4) {
  LocalPort listener6(AF_INET6, SOMAXCONN);
  if (!listener6.ok()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  LocalPort gone6(AF_INET6, kBoundOnly);
  ASSERT_TRUE(gone6.ok());
  LocalPort listener4(AF_INET, SOMAXCONN);
  ASSERT_TRUE(listener4.ok());
  auto r = probe_all({{"::1", listener6.port(), Role::Public},
                      {"::1", gone6.port(), Role::Public},
                      {"::ffff:127.0.0.1", listener4.port(), Role::Public}},
                     quick());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)[0].state, State::Open) << (*r)[0].detail;
  EXPECT_GT((*r)[0].rtt_ms, 0);
  EXPECT_EQ((*r)[1].state, State::Refused) << (*r)[1].detail;
  EXPECT_EQ((*r)[1].error_number, ECONNREFUSED);
  EXPECT_EQ((*r)[2].state, State::Open) << (*r)[2].detail;
}

// Issue 7 item 2: with RLIMIT_NOFILE 64 (soft and hard) a 1,000-port sweep used to fail as a
// whole and the redirect looked healthy. Now it runs in batches that fit, and every port is probed.
TEST(TcpProbe, ASweepLargerThanTheFdLimitRunsInBatches) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  std::vector<LocalPort> listeners, closed;
  for (int i = 0; i < 4; ++i) {
    listeners.emplace_back(AF_INET, SOMAXCONN);
    closed.emplace_back(AF_INET, kBoundOnly);
    ASSERT_TRUE(listeners.back().ok() && closed.back().ok());
  }
  std::vector<Target> targets;
  std::vector<State> want;
  for (std::size_t i = 0; i < 300; ++i) {
    const bool open = i % 2 == 0;
    targets.push_back({"127.0.0.1", (open ? listeners : closed)[(i / 2) % 4].port(), Role::Sweep});
    want.push_back(open ? State::Open : State::Refused);
  }
  // A child process, so lowering the hard limit does not outlive the test (only root raises it).
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    rlimit low{64, 64};
    if (setrlimit(RLIMIT_NOFILE, &low) != 0) _exit(10);
    auto r = probe_all(targets, Options{.timeout = 2000ms, .stop_starting_at = {}});
    if (!r) _exit(11);
    if (r->size() != targets.size()) _exit(12);
    for (std::size_t i = 0; i < targets.size(); ++i)
      if ((*r)[i].state != want[i]) _exit(static_cast<int>(20 + static_cast<int>((*r)[i].state)));
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10 setrlimit, 11 probe_all failed, 12 size, 2x wrong state x";
}

// The check's budget: targets that could not be started before it are NotProbed, never "filtered".
TEST(TcpProbe, TargetsPastTheBudgetAreNotProbed) {
  LocalPort listener(AF_INET, SOMAXCONN);
  ASSERT_TRUE(listener.ok());
  std::vector<Target> targets(5, Target{"127.0.0.1", listener.port(), Role::Sweep});
  auto r = probe_all(
      targets, Options{.timeout = 500ms, .stop_starting_at = std::chrono::steady_clock::now()});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 5u);
  for (const auto& x : *r) {
    EXPECT_EQ(x.state, State::NotProbed);
    EXPECT_NE(x.detail.find("budget"), std::string::npos) << x.detail;
  }
}
