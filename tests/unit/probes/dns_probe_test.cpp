#include "probes/dns/dns_probe.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "probes/dns/servers.h"

using namespace midiag;
using namespace midiag::dns;
using Clock = std::chrono::steady_clock;

namespace {

int bind_loopback_udp() {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  return fd;
}

std::string address_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

// Builds a response by hand; repeated names become compression pointers, as servers do.
class Reply {
 public:
  Reply(const std::vector<std::uint8_t>& query, std::size_t question_end, std::uint8_t rcode) {
    bytes_.assign(query.begin(), query.begin() + static_cast<long>(question_end));
    bytes_[2] = static_cast<std::uint8_t>(0x84 | (query[2] & 0x01));  // QR AA, RD echoed
    bytes_[3] = static_cast<std::uint8_t>(0x80 | rcode);              // RA + rcode
    bytes_[6] = bytes_[7] = 0;  // ancount, filled as records are added
    bytes_[8] = bytes_[9] = bytes_[10] = bytes_[11] = 0;
  }
  void name_at(const std::string& name, std::size_t offset) { offsets_[name] = offset; }
  void cname(const std::string& owner, const std::string& target, std::uint32_t ttl) {
    auto rdlen_at = record(owner, 5, ttl);
    const auto start = bytes_.size();
    put_name(target);
    set16(rdlen_at, bytes_.size() - start);
  }
  void a(const std::string& owner, std::uint32_t ttl, std::vector<std::uint8_t> ip) {
    set16(record(owner, 1, ttl), ip.size());
    bytes_.insert(bytes_.end(), ip.begin(), ip.end());
  }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  std::size_t record(const std::string& owner, std::uint16_t type, std::uint32_t ttl) {
    set16(6, ((bytes_[6] << 8) | bytes_[7]) + 1u);
    put_name(owner);
    for (auto b : {0, static_cast<int>(type), 0, 1}) bytes_.push_back(static_cast<std::uint8_t>(b));
    for (int shift = 24; shift >= 0; shift -= 8)
      bytes_.push_back(static_cast<std::uint8_t>(ttl >> shift));
    bytes_.push_back(0);
    bytes_.push_back(0);
    return bytes_.size() - 2;
  }
  void put_name(const std::string& name) {
    if (auto it = offsets_.find(name); it != offsets_.end()) {
      bytes_.push_back(static_cast<std::uint8_t>(0xC0 | it->second >> 8));
      bytes_.push_back(static_cast<std::uint8_t>(it->second));
      return;
    }
    offsets_[name] = bytes_.size();
    std::size_t start = 0;
    while (start < name.size()) {
      const auto dot = std::min(name.find('.', start), name.size());
      bytes_.push_back(static_cast<std::uint8_t>(dot - start));
      bytes_.insert(bytes_.end(), name.begin() + static_cast<long>(start),
                    name.begin() + static_cast<long>(dot));
      start = dot + 1;
    }
    bytes_.push_back(0);
  }
  void set16(std::size_t at, std::size_t v) {
    bytes_[at] = static_cast<std::uint8_t>(v >> 8);
    bytes_[at + 1] = static_cast<std::uint8_t>(v);
  }
  std::vector<std::uint8_t> bytes_;
  std::map<std::string, std::size_t> offsets_;
};

// Answers for the scripted names; anything else is NXDOMAIN.
std::vector<std::uint8_t> answer(const std::vector<std::uint8_t>& q) {
  std::size_t pos = 12;
  std::string name;
  while (pos < q.size() && q[pos] != 0 && q[pos] < 64) {  // queries carry no pointers
    if (!name.empty()) name += '.';
    name.append(q.begin() + static_cast<long>(pos) + 1,
                q.begin() + static_cast<long>(pos + 1 + q[pos]));
    pos += 1u + q[pos];
  }
  const std::size_t end = pos + 5;
  if (end > q.size()) return {};
  const int type = q[pos + 1] << 8 | q[pos + 2];
  std::uint8_t rcode = 3;
  if (name == "chain.mi.test" || name == "nodata.mi.test") rcode = 0;
  if (name == "fail.mi.test") rcode = 2;
  if (name == "refused.mi.test") rcode = 5;
  Reply r(q, end, rcode);
  r.name_at(name, 12);
  if (name == "chain.mi.test") {
    r.cname("chain.mi.test", "alias.mi.test", 300);
    r.cname("alias.mi.test", "node.mi.test", 60);
    if (type == 1) r.a("node.mi.test", 10, {10, 250, 1, 4});
    if (type == 1) r.a("node.mi.test", 20, {10, 250, 200, 10});
  } else if (name == "nodata.mi.test" && type == 1) {
    r.a("nodata.mi.test", 120, {20, 38, 1, 2});
  }
  return r.bytes();
}

// A scripted DNS server on 127.0.0.1 plus a socket that swallows every query.
class FakeDns {
 public:
  FakeDns() : answering_(bind_loopback_udp()), silent_(bind_loopback_udp()) {
    thread_ = std::thread([this] { run(); });
  }
  ~FakeDns() {
    stop_ = true;
    thread_.join();
    close(answering_);
    close(silent_);
  }
  std::string answering() const { return address_of(answering_); }
  std::string silent() const { return address_of(silent_); }
  int ignored() const { return ignored_; }

 private:
  void run() {
    const auto give_up = Clock::now() + std::chrono::seconds(30);
    for (int i = 0; i < 5000 && !stop_ && Clock::now() < give_up; ++i) {
      pollfd fds[2] = {{answering_, POLLIN, 0}, {silent_, POLLIN, 0}};
      if (poll(fds, 2, 20) <= 0) continue;
      std::vector<std::uint8_t> buf(512);
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const int fd = (fds[0].revents & POLLIN) ? answering_ : silent_;
      const auto n =
          recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) continue;
      if (fd == silent_) {
        ++ignored_;
        continue;
      }
      buf.resize(static_cast<std::size_t>(n));
      const auto reply = answer(buf);
      sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  int answering_;
  int silent_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ignored_{0};
  std::thread thread_;
};

// A loopback port nobody listens on: bound for its number, then released.
std::string dead_port() {
  const int fd = bind_loopback_udp();
  auto addr = address_of(fd);
  close(fd);
  return addr;
}

const Lookup& find(const std::vector<Lookup>& all, const std::string& name,
                   const std::string& type) {
  for (const auto& l : all) {
    if (l.name == name && l.type == type) return l;
  }
  throw std::runtime_error("no lookup for " + name + " " + type);
}

}  // namespace

TEST(DnsProbe, StatusNames) {
  EXPECT_EQ(to_string(Status::Ok), "ok");
  EXPECT_EQ(to_string(Status::NxDomain), "nxdomain");
  EXPECT_EQ(to_string(Status::ServFail), "servfail");
  EXPECT_EQ(to_string(Status::Timeout), "timeout");
  EXPECT_EQ(to_string(Status::Refused), "refused");
  EXPECT_EQ(to_string(Status::Error), "error");
}

TEST(DnsProbe, ServerStringsNormalised) {
  auto list =
      usable_servers({"127.0.0.1", "127.0.0.2:5353", "[::1]:53", "[fd00::53]", "2001:db8::1"});
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(list->csv, "127.0.0.1:53,127.0.0.2:5353,[::1]:53,[fd00::53]:53,[2001:db8::1]:53");
  EXPECT_EQ(list->count, 5u);
  EXPECT_TRUE(list->skipped.empty());
  for (const char* bad : {"dns.example", "127.0.0.1:0", "127.0.0.1:", "[::1", "[::1]x",
                          "fe80::1%eth0", "bogus%eth0"}) {
    auto r = usable_servers({bad});
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(usable_servers({}));
}

// c-ares 1.18 rejects a whole server list for one scoped address: that one is left out, by name.
TEST(DnsProbe, ScopedServerIsSkippedNotFatal) {
  auto list = usable_servers({"fe80::1%eth0", "127.0.0.1", "[fe80::2%2]:5353"});
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(list->csv, "127.0.0.1:53");
  EXPECT_EQ(list->count, 1u);
  ASSERT_EQ(list->skipped.size(), 2u);
  EXPECT_EQ(list->skipped[0],
            "DNS server fe80::1%eth0: scoped address (%zone), which c-ares 1.18 cannot use; "
            "skipped");
  EXPECT_NE(list->skipped[1].find("[fe80::2%2]:5353"), std::string::npos) << list->skipped[1];
  // A typo next to a scoped address is still a typo.
  EXPECT_FALSE(usable_servers({"fe80::1%eth0", "dns.example"}));
}

TEST(DnsProbe, ScopedServerDoesNotPoisonTheOthers) {
  FakeDns server;
  Options opts;
  opts.timeout = std::chrono::milliseconds(2000);
  auto all =
      resolve_all({{"mixed", {"fe80::1%eth0", server.answering()}}}, {{"chain.mi.test"}}, opts);
  ASSERT_EQ(all.size(), 2u);
  for (const auto& l : all) {
    EXPECT_EQ(l.status, Status::Ok) << l.error;
    ASSERT_EQ(l.skipped_servers.size(), 1u);
    EXPECT_NE(l.skipped_servers[0].find("fe80::1%eth0"), std::string::npos);
  }
  EXPECT_EQ(find(all, "chain.mi.test", "A").addresses.size(), 2u);

  auto only_scoped = resolve_all({{"scoped", {"fe80::1%eth0"}}}, {{"chain.mi.test"}}, opts);
  ASSERT_EQ(only_scoped.size(), 2u);
  EXPECT_EQ(only_scoped[0].status, Status::Error);
  EXPECT_NE(only_scoped[0].error.find("no usable DNS server"), std::string::npos)
      << only_scoped[0].error;
  EXPECT_NE(only_scoped[0].error.find("fe80::1%eth0"), std::string::npos);
}

TEST(DnsProbe, ChainNxDomainServFailRefusedNoData) {
  FakeDns server;
  Options opts;
  opts.timeout = std::chrono::milliseconds(2000);
  auto o = net::parse_class_override("10.250.200.0/24=public");
  ASSERT_TRUE(o);
  opts.class_overrides = {*o};
  const std::vector<Query> names = {
      {"chain.mi.test"}, {"nx.mi.test"}, {"fail.mi.test"}, {"refused.mi.test"}, {"nodata.mi.test"}};
  auto all = resolve_all({{"fake", {server.answering()}}}, names, opts);
  ASSERT_EQ(all.size(), 10u);
  for (std::size_t i = 0; i < all.size(); ++i) {  // order: resolver, name, then A before AAAA
    EXPECT_EQ(all[i].resolver, "fake");
    EXPECT_EQ(all[i].name, names[i / 2].name);
    EXPECT_EQ(all[i].type, i % 2 == 0 ? "A" : "AAAA");
    EXPECT_FALSE(all[i].unreachable) << all[i].name;
    EXPECT_GT(all[i].elapsed_ms, 0.0);
    EXPECT_LT(all[i].elapsed_ms, 1000.0);
  }

  const auto& chain = find(all, "chain.mi.test", "A");
  EXPECT_EQ(chain.status, Status::Ok) << chain.error;
  ASSERT_EQ(chain.cname_chain.size(), 2u);
  EXPECT_EQ(chain.cname_chain[0].name, "chain.mi.test");
  EXPECT_EQ(chain.cname_chain[0].target, "alias.mi.test");
  EXPECT_EQ(chain.cname_chain[0].ttl, 300u);
  EXPECT_EQ(chain.cname_chain[1].name, "alias.mi.test");
  EXPECT_EQ(chain.cname_chain[1].target, "node.mi.test");
  EXPECT_EQ(chain.cname_chain[1].ttl, 60u);
  ASSERT_EQ(chain.addresses.size(), 2u);
  EXPECT_EQ(chain.addresses[0].address, "10.250.1.4");
  EXPECT_EQ(chain.addresses[0].ttl, 10u);
  EXPECT_EQ(chain.addresses[0].cls, net::AddressClass::Private);
  EXPECT_EQ(chain.addresses[1].address, "10.250.200.10");
  EXPECT_EQ(chain.addresses[1].ttl, 20u);
  EXPECT_EQ(chain.addresses[1].cls, net::AddressClass::Public);  // by the override

  const auto& chain6 = find(all, "chain.mi.test", "AAAA");  // the chain, but no AAAA at its end
  EXPECT_EQ(chain6.status, Status::Ok);
  EXPECT_EQ(chain6.cname_chain.size(), 2u);
  EXPECT_TRUE(chain6.addresses.empty());

  for (const char* type : {"A", "AAAA"}) {
    EXPECT_EQ(find(all, "nx.mi.test", type).status, Status::NxDomain);
    EXPECT_EQ(find(all, "fail.mi.test", type).status, Status::ServFail);
    EXPECT_EQ(find(all, "refused.mi.test", type).status, Status::Refused);
  }
  EXPECT_EQ(find(all, "nx.mi.test", "A").error, "no such name (NXDOMAIN)");

  const auto& nodata_a = find(all, "nodata.mi.test", "A");
  EXPECT_EQ(nodata_a.status, Status::Ok);
  ASSERT_EQ(nodata_a.addresses.size(), 1u);
  EXPECT_EQ(nodata_a.addresses[0].address, "20.38.1.2");
  EXPECT_EQ(nodata_a.addresses[0].ttl, 120u);
  EXPECT_EQ(nodata_a.addresses[0].cls, net::AddressClass::Public);
  const auto& nodata = find(all, "nodata.mi.test", "AAAA");
  EXPECT_EQ(nodata.status, Status::Ok);
  EXPECT_TRUE(nodata.addresses.empty());
  EXPECT_TRUE(nodata.error.empty());
}

TEST(DnsProbe, NothingListeningIsUnreachable) {
  Options opts;
  opts.timeout = std::chrono::milliseconds(2000);
  const auto start = Clock::now();
  auto all = resolve_all({{"dead", {dead_port()}}}, {{"chain.mi.test"}}, opts);
  ASSERT_EQ(all.size(), 2u);
  for (const auto& l : all) {
    EXPECT_EQ(l.status, Status::Error);
    EXPECT_TRUE(l.unreachable);
    EXPECT_EQ(l.error, "connection refused (no DNS server listening)");
  }
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1000));  // ICMP, not the timeout
}

TEST(DnsProbe, SilentServerTimesOutWithinBudget) {
  FakeDns server;
  Options opts;
  opts.timeout = std::chrono::milliseconds(300);
  const auto start = Clock::now();
  auto all = resolve_all({{"silent", {server.silent()}}}, {{"chain.mi.test"}}, opts);
  const auto took = Clock::now() - start;
  ASSERT_EQ(all.size(), 2u);
  for (const auto& l : all) {
    EXPECT_EQ(l.status, Status::Timeout);
    EXPECT_TRUE(l.unreachable);
    EXPECT_EQ(l.error, "no answer within 300 ms");
    EXPECT_GE(l.elapsed_ms, 250.0);
    EXPECT_LE(l.elapsed_ms, 600.0);
  }
  EXPECT_LT(took, std::chrono::milliseconds(800));
  EXPECT_GE(server.ignored(), 4);  // two tries each for A and AAAA
}

TEST(DnsProbe, AllResolversInFlightTogether) {
  FakeDns server;
  Options opts;
  opts.timeout = std::chrono::milliseconds(300);
  const std::vector<Resolver> resolvers = {{"good", {server.answering()}},
                                           {"silent", {server.silent()}},
                                           {"dead", {dead_port()}},
                                           {"typo", {"dns.example"}},
                                           {"none", {}}};
  const auto start = Clock::now();
  auto all = resolve_all(resolvers, {{"chain.mi.test"}, {"nx.mi.test"}}, opts);
  const auto took = Clock::now() - start;
  ASSERT_EQ(all.size(), 20u);
  // Four silent lookups at 300 ms each would take 1.2 s one after another.
  EXPECT_LT(took, std::chrono::milliseconds(800));
  EXPECT_EQ(all[0].resolver, "good");
  EXPECT_EQ(all[0].status, Status::Ok);
  EXPECT_EQ(all[2].status, Status::NxDomain);
  for (int i = 4; i < 8; ++i) EXPECT_EQ(all[i].status, Status::Timeout);
  for (int i = 8; i < 12; ++i) EXPECT_TRUE(all[i].unreachable);
  for (int i = 12; i < 16; ++i) {
    EXPECT_EQ(all[i].status, Status::Error);
    EXPECT_NE(all[i].error.find("invalid DNS server 'dns.example'"), std::string::npos);
  }
  for (int i = 16; i < 20; ++i) EXPECT_EQ(all[i].error, "no DNS server to ask");
}
