#include "probes/trace/tcp_trace.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include <gtest/gtest.h>

using namespace midiag::trace;
using namespace std::chrono_literals;

namespace {

// A loopback port: listening (backlog >= 0) or only bound (SYNs get a RST).
class LoopbackPort {
 public:
  explicit LoopbackPort(bool listening) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&sin), len) != 0 ||
        (listening && listen(fd_, 64) != 0) ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len) != 0)
      return;
    port_ = ntohs(sin.sin_port);
  }
  ~LoopbackPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  LoopbackPort(const LoopbackPort&) = delete;
  LoopbackPort& operator=(const LoopbackPort&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }

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
  Options o;
  o.max_ttl = 16;
  o.timeout = 2000ms;
  return o;
}

}  // namespace

TEST(TcpTrace, ListeningLoopbackPortEndsInSynAckAtHopOne) {
  LoopbackPort port(true);
  ASSERT_NE(port.port(), 0);
  auto r = trace_all({{"127.0.0.1", port.port()}}, quick());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  const auto& t = r->front();
  EXPECT_TRUE(t.error.empty()) << t.error;
  ASSERT_EQ(t.path.size(), 1u) << "no hop may follow the target's SYN-ACK";
  EXPECT_EQ(t.path[0].ttl, 1);
  EXPECT_EQ(t.path[0].kind, HopKind::SynAck);
  EXPECT_EQ(t.path[0].address, "127.0.0.1");
  EXPECT_EQ(t.first_silent_ttl(), 0);
  ASSERT_NE(t.last_answer(), nullptr);
  EXPECT_NE(t.summary().find("SYN-ACK from 127.0.0.1 (hop 1)"), std::string::npos) << t.summary();
}

TEST(TcpTrace, ClosedLoopbackPortEndsInResetAtHopOne) {
  LoopbackPort port(false);  // bound, not listening: the kernel answers SYNs with a RST
  ASSERT_NE(port.port(), 0);
  auto r = trace_all({{"127.0.0.1", port.port()}}, quick());
  ASSERT_TRUE(r) << r.error().message;
  const auto& t = r->front();
  ASSERT_EQ(t.path.size(), 1u);
  EXPECT_EQ(t.path[0].kind, HopKind::Reset);
  EXPECT_EQ(t.path[0].address, "127.0.0.1");
  EXPECT_EQ(to_string(t.path[0].kind), "reset");
}

TEST(TcpTrace, ClosesEverySocketItOpened) {
  LoopbackPort open_port(true);
  LoopbackPort closed_port(false);
  const int before = open_fd_count();
  Options o = quick();
  o.max_ttl = 20;
  auto r = trace_all({{"127.0.0.1", open_port.port()}, {"127.0.0.1", closed_port.port()}}, o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(open_fd_count(), before);
}

TEST(TcpTrace, SilentPathIsBoundedByTheDeadlineAndNamesNoHop) {
  // 192.0.2.0/24 is never routed in a test; a destination with no route fails locally, so use a
  // loopback port whose accept queue is full instead: the kernel drops the SYNs silently.
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sin;
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&sin), len), 0);
  ASSERT_EQ(listen(lfd, 0), 0);
  ASSERT_EQ(getsockname(lfd, reinterpret_cast<sockaddr*>(&sin), &len), 0);
  int filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(connect(filler, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  Options o = quick();
  o.max_ttl = 4;
  o.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto r = trace_all({{"127.0.0.1", ntohs(sin.sin_port)}}, o);
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(filler);
  ::close(lfd);
  ASSERT_TRUE(r) << r.error().message;
  const auto& t = r->front();
  ASSERT_EQ(t.path.size(), 4u);
  for (const auto& h : t.path) EXPECT_EQ(h.kind, HopKind::Silent) << "ttl " << h.ttl;
  EXPECT_EQ(t.last_answer(), nullptr);
  EXPECT_EQ(t.first_silent_ttl(), 1);
  EXPECT_LT(took, 2s);
  EXPECT_NE(t.summary().find("no hop answered"), std::string::npos) << t.summary();
}

TEST(TcpTrace, SummaryNamesTheLastAnsweringHopAndWhereSynsVanish) {
  Result r;
  r.target = {"10.250.3.10", 1433};
  r.path = {{1, "10.250.1.1", 0.1, HopKind::TimeExceeded, 11, 0},
            {2, "10.250.2.2", 0.2, HopKind::TimeExceeded, 11, 0},
            {3, "", 1000, HopKind::Silent, -1, -1},
            {4, "", 1000, HopKind::Silent, -1, -1}};
  EXPECT_EQ(r.first_silent_ttl(), 3);
  EXPECT_EQ(r.summary(), "SYNs pass 10.250.2.2 (hop 2), vanish after it (hops 3-4 silent)");
}

TEST(TcpTrace, BadAddressIsAPerTargetError) {
  auto r = trace_all({{"not-an-address", 1433}}, quick());
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->front().error.empty());
  EXPECT_TRUE(r->front().path.empty());
}
