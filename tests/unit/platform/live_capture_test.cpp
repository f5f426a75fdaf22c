// Live capture on the loopback interface: the packets of a connection this test makes are seen,
// kept and written to a pcap file that our own reader reads back the same.
#include "platform/capture/live_capture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "decoders/pcap/flows.h"
#include "decoders/pcap/pcap_file.h"
#include "platform/posix/unique_fd.h"

namespace midiag::platform {
namespace {

// A listener on 127.0.0.1 with an ephemeral port, and one connection made to it and closed.
struct LoopbackConnection {
  std::uint16_t port = 0;
  bool ok = false;
  LoopbackConnection() {
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener.get(), 4) != 0 ||
        ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port = ntohs(a.sin_port);
    listener_ = std::move(listener);
  }
  bool connect_once() {
    UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ok = ::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    return ok;
  }
  UniqueFd listener_;
};

std::size_t syns_to(const std::vector<CapturedPacket>& packets, int link_type, std::uint16_t port) {
  std::size_t n = 0;
  for (const auto& p : packets) {
    pcap::Frame f{0, static_cast<std::uint32_t>(link_type), p.data, p.original_length};
    auto d = pcap::decode_packet(f);
    if (d && d->tcp && d->tcp->dst_port == port &&
        (d->tcp->flags & (pcap::tcp_flags::kSyn | pcap::tcp_flags::kAck)) == pcap::tcp_flags::kSyn)
      ++n;
  }
  return n;
}

TEST(LiveCapture, SeesItsOwnLoopbackConnectionAndWritesItToAFile) {
  if (geteuid() != 0) GTEST_SKIP() << "capturing needs root or CAP_NET_RAW";
  LoopbackConnection conn;
  ASSERT_NE(conn.port, 0);
  const auto file = std::filesystem::temp_directory_path() /
                    ("mi-diag-live-" + std::to_string(getpid()) + ".pcap");
  LiveCaptureOptions o;
  o.interface = "lo";
  o.filter = "tcp port " + std::to_string(conn.port);
  o.write_path = file.string();
  auto cap = LiveCapture::start(o);
  ASSERT_TRUE(cap) << cap.error().message;
  ASSERT_TRUE(conn.connect_once());
  (*cap)->stop();
  const auto packets = (*cap)->packets();
  const auto stats = (*cap)->stats();
  EXPECT_EQ(stats.packets, packets.size());
  EXPECT_EQ(syns_to(packets, (*cap)->link_type(), conn.port), 1u);
  EXPECT_GE(packets.size(), 3u);  // SYN, SYN-ACK, ACK at least

  std::ifstream in(file, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  std::filesystem::remove(file);
  auto read = pcap::read_capture(bytes);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_FALSE(read->truncated) << read->message;
  ASSERT_EQ(read->frames.size(), packets.size());
  for (std::size_t i = 0; i < packets.size(); ++i) EXPECT_EQ(read->frames[i].data, packets[i].data);
}

std::size_t fins_to(const std::vector<CapturedPacket>& packets, int link_type, std::uint16_t port) {
  std::size_t n = 0;
  for (const auto& p : packets) {
    pcap::Frame f{0, static_cast<std::uint32_t>(link_type), p.data, p.original_length};
    auto d = pcap::decode_packet(f);
    if (d && d->tcp && d->tcp->dst_port == port && (d->tcp->flags & pcap::tcp_flags::kFin) != 0)
      ++n;
  }
  return n;
}

// The packets sent just before stop() are in the capture, in both ways of taking packets: batched
// mode keeps them in a block the kernel hands over only at its next timer tick, and stop() waits
// for it while the kernel counts packets not seen (a loopback packet counted twice).
class LiveCaptureUpToStop : public ::testing::TestWithParam<std::tuple<const char*, bool>> {};

TEST_P(LiveCaptureUpToStop, TheLastPacketsBeforeStopAreKept) {
  if (geteuid() != 0) GTEST_SKIP() << "capturing needs root or CAP_NET_RAW";
  const auto [interface, immediate] = GetParam();
  for (int round = 0; round < 5; ++round) {
    LoopbackConnection conn;
    ASSERT_NE(conn.port, 0);
    LiveCaptureOptions o;
    o.interface = interface;
    o.immediate = immediate;
    o.buffer_bytes = 4 << 20;
    o.filter = "tcp port " + std::to_string(conn.port);
    auto cap = LiveCapture::start(o);
    ASSERT_TRUE(cap) << cap.error().message;
    ASSERT_TRUE(conn.connect_once());  // closed at once: its FIN is the last packet
    (*cap)->stop();
    const auto packets = (*cap)->packets();
    EXPECT_EQ(syns_to(packets, (*cap)->link_type(), conn.port), 1u) << "round " << round;
    EXPECT_EQ(fins_to(packets, (*cap)->link_type(), conn.port), 1u) << "round " << round;
    EXPECT_EQ((*cap)->stats().kernel_dropped, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, LiveCaptureUpToStop,
                         ::testing::Combine(::testing::Values("lo", "any"), ::testing::Bool()),
                         [](const auto& param_info) {
                           return std::string(std::get<0>(param_info.param)) +
                                  (std::get<1>(param_info.param) ? "_immediate" : "_batched");
                         });

TEST(LiveCapture, KeepsNoMoreThanItsBoundAndCountsTheRest) {
  if (geteuid() != 0) GTEST_SKIP() << "capturing needs root or CAP_NET_RAW";
  LoopbackConnection conn;
  ASSERT_NE(conn.port, 0);
  LiveCaptureOptions o;
  o.interface = "lo";
  o.filter = "tcp port " + std::to_string(conn.port);
  o.max_packets = 2;
  auto cap = LiveCapture::start(o);
  ASSERT_TRUE(cap) << cap.error().message;
  ASSERT_TRUE(conn.connect_once());
  (*cap)->stop();
  EXPECT_EQ((*cap)->packets().size(), 2u);
  const auto stats = (*cap)->stats();
  EXPECT_GE(stats.packets, 3u);
  EXPECT_EQ(stats.not_kept, stats.packets - 2);
}

// A redirect names an address the check did not know when the capture started: the filter is
// replaced while capturing, and only what follows is seen.
TEST(LiveCapture, AFilterReplacedWhileCapturingTakesEffect) {
  if (geteuid() != 0) GTEST_SKIP() << "capturing needs root or CAP_NET_RAW";
  LoopbackConnection first, second;
  ASSERT_NE(first.port, 0);
  ASSERT_NE(second.port, 0);
  LiveCaptureOptions o;
  o.interface = "lo";
  o.filter = "tcp port " + std::to_string(first.port);
  auto cap = LiveCapture::start(o);
  ASSERT_TRUE(cap) << cap.error().message;
  ASSERT_TRUE(second.connect_once());  // not matched yet
  auto set = (*cap)->set_filter("tcp port " + std::to_string(second.port));
  ASSERT_TRUE(set) << set.error().message;
  ASSERT_TRUE(second.connect_once());
  (*cap)->stop();
  EXPECT_EQ(syns_to((*cap)->packets(), (*cap)->link_type(), second.port), 1u);
  EXPECT_FALSE((*cap)->set_filter("tcp port banana"));
}

TEST(LiveCapture, BadInterfaceAndBadFilterAreUsageErrors) {
  if (geteuid() != 0) GTEST_SKIP() << "capturing needs root or CAP_NET_RAW";
  LiveCaptureOptions o;
  o.interface = "no-such-if0";
  auto cap = LiveCapture::start(o);
  ASSERT_FALSE(cap);
  EXPECT_EQ(cap.error().kind, ErrorKind::Usage) << cap.error().message;
  o.interface = "lo";
  o.filter = "tcp port banana";
  cap = LiveCapture::start(o);
  ASSERT_FALSE(cap);
  EXPECT_EQ(cap.error().kind, ErrorKind::Usage) << cap.error().message;
  EXPECT_NE(cap.error().message.find("banana"), std::string::npos);
}

// Without CAP_NET_RAW the capture says so with its own kind (check: capture "denied"; capture
// command: exit 3). The child drops to nobody, which clears every capability; this test process
// has no other threads, so the fork is safe.
TEST(LiveCapture, WithoutPrivilegeItIsAPermissionError) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop to nobody";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    LiveCaptureOptions o;
    o.interface = "lo";
    auto cap = LiveCapture::start(o);
    if (cap) _exit(11);
    if (cap.error().kind != ErrorKind::Permission) _exit(12);
    if (cap.error().message.find("CAP_NET_RAW") == std::string::npos) _exit(13);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 setuid, 11 captured anyway, 12 wrong kind, 13 message";
}

}  // namespace
}  // namespace midiag::platform
