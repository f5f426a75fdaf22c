// Bad input files end the check with exit 2 before any traffic; good ones are read whole.
// Everything here stays on 127.0.0.0/8: resolv.conf files name loopback servers only.
#include "agent/cli.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include "tests/unit/support/temp_dir.h"

using midiag::agent::run_cli;

namespace {

struct Run {
  int code;
  std::string out, err;
};

Run cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = run_cli(args, out, err);
  return {code, out.str(), err.str()};
}

using midiag::test_support::TempDir;

// A UDP socket on 127.0.0.1 given as --resolver: any DNS question of the check lands here.
class DnsSentinel {
 public:
  DnsSentinel() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  DnsSentinel(const DnsSentinel&) = delete;
  DnsSentinel& operator=(const DnsSentinel&) = delete;
  ~DnsSentinel() { ::close(fd_); }
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] bool asked() const {
    char buf[512];
    return ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT) >= 0;
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

constexpr const char* kTarget = "mi1.lab0001.database.windows.net";

}  // namespace

TEST(CliInput, UnusableCaFileIsExit2BeforeAnyTraffic) {
  TempDir dir;
  const auto resolv = dir.file("resolv.conf", "nameserver 127.0.0.1\n");
  const auto hosts = dir.file("hosts", "");
  const struct {
    std::string path;
    const char* says;
  } cases[] = {{"/dev/null", "no PEM certificate in it"},
               {dir.file("garbage.pem", "garbage\n"), "no PEM certificate in it"},
               {"/tmp", "is a directory"}};
  for (const auto& c : cases) {
    DnsSentinel dns;
    // Was: the TLS step failed to load it and the report blamed middleboxes and MTU (exit 1).
    auto r = cli({"check", kTarget, "--ca-file", c.path, "--resolver", dns.address(),
                  "--resolv-conf", resolv, "--hosts-file", hosts, "--timeout-ms", "300"});
    EXPECT_EQ(r.code, 2) << c.path << ": " << r.err;
    EXPECT_NE(r.err.find("--ca-file " + c.path + ": " + c.says), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_FALSE(dns.asked()) << "the check started before refusing " << c.path;
  }
}

TEST(CliInput, FifoResolvConfIsExit2Promptly) {
  TempDir dir;
  const auto fifo = dir.track("resolv.conf");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  DnsSentinel dns;
  const auto start = std::chrono::steady_clock::now();
  auto r = cli({"check", kTarget, "--resolv-conf", fifo, "--resolver", dns.address(),
                "--timeout-ms", "300"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(fifo + ": is a FIFO"), std::string::npos) << r.err;
  EXPECT_FALSE(dns.asked());
}

TEST(CliInput, OversizedResolvConfIsExit2WithItsSize) {
  TempDir dir;
  const auto big = dir.file("resolv.conf", "nameserver 127.0.0.1\n");
  ASSERT_EQ(::truncate(big.c_str(), 20 << 20), 0);  // sparse: 20 MiB of holes after the line
  DnsSentinel dns;
  auto r = cli(
      {"check", kTarget, "--resolv-conf", big, "--resolver", dns.address(), "--timeout-ms", "300"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("20971520 bytes (20.0 MiB)"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_FALSE(dns.asked());
}

TEST(CliInput, HostsOverridePastTheFirstMegabyteIsFound) {
  TempDir dir;
  std::string text;
  for (int i = 0; text.size() < (2u << 20); ++i)
    text += "0.0.0.0 ads" + std::to_string(i) + ".tracker.example\n";
  text += std::string("127.0.0.1 ") + kTarget + " # pinned at the very end\n";
  const auto hosts = dir.file("hosts", text);
  const auto resolv = dir.file("resolv.conf", "nameserver 127.0.0.1\n");
  auto r = cli({"check", kTarget, "--json", "--no-login", "--timeout-ms", "300", "--hosts-file",
                hosts, "--resolv-conf", resolv});
  ASSERT_FALSE(r.out.empty()) << r.err;
  auto j = nlohmann::json::parse(r.out);
  std::string codes;
  for (const auto& f : j["findings"]) codes += f["code"].get<std::string>() + " ";
  EXPECT_NE(codes.find("DNS_HOSTS_FILE_OVERRIDE"), std::string::npos) << codes;
  ASSERT_EQ(j["dns"]["hosts_entries"].size(), 1u) << j["dns"].dump();
  EXPECT_EQ(j["dns"]["hosts_entries"][0]["address"], "127.0.0.1");
}

// One scoped nameserver used to make c-ares refuse the whole list: every system lookup failed
// with "invalid DNS server 'fe80::1%eth0'" and the report blamed the DNS servers.
TEST(CliInput, ScopedNameserverDoesNotBreakTheOthers) {
  TempDir dir;
  const auto resolv = dir.file("resolv.conf", "nameserver fe80::1%eth0\nnameserver 127.0.0.1\n");
  const auto hosts = dir.file("hosts", "");
  auto r = cli({"check", kTarget, "--json", "--no-login", "--timeout-ms", "300", "--hosts-file",
                hosts, "--resolv-conf", resolv});
  ASSERT_FALSE(r.out.empty()) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["dns"]["system_servers"], nlohmann::json::array({"127.0.0.1"})) << j["dns"].dump();
  for (const auto& l : j["dns"]["lookups"])
    EXPECT_EQ(l.value("error", "").find("fe80"), std::string::npos) << l.dump();
  for (const auto& f : j["findings"]) EXPECT_NE(f["code"], "DNS_SERVER_FAILURE") << f.dump();
}
