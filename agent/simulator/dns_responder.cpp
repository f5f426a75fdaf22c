#include "agent/simulator/dns_responder.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace midiag::sim {

namespace {

constexpr std::size_t kHeader = 12;
constexpr std::uint8_t kFormErr = 1, kNxDomain = 3, kNotImp = 4, kRefused = 5;
constexpr std::uint16_t kTypeA = 1, kTypeCname = 5, kTypeAny = 255, kClassIn = 1;
constexpr int kDatagramsPerWake = 64;

struct Question {
  std::string name;  // lower case, no trailing dot
  std::uint16_t type = 0, klass = 0;
  std::size_t end = 0;  // offset just past the question
};

std::optional<Question> parse_question(std::span<const std::uint8_t> q) {
  Question out;
  std::size_t i = kHeader;
  // Queries carry no compression pointers; a label is 1..63 bytes and a name at most 255.
  for (int labels = 0; labels < 128; ++labels) {
    if (i >= q.size()) return std::nullopt;
    std::uint8_t len = q[i++];
    if (len == 0) break;
    if (len > 63 || i + len > q.size() || out.name.size() + len > 254) return std::nullopt;
    if (!out.name.empty()) out.name += '.';
    for (std::size_t k = 0; k < len; ++k) {
      out.name += static_cast<char>(std::tolower(q[i + k]));
    }
    i += len;
  }
  if (i + 4 > q.size()) return std::nullopt;
  out.type = static_cast<std::uint16_t>(q[i] << 8 | q[i + 1]);
  out.klass = static_cast<std::uint16_t>(q[i + 2] << 8 | q[i + 3]);
  out.end = i + 4;
  return out;
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xFF));
}

// A DNS name in wire form, uncompressed ("a.b" -> 1 a 1 b 0).
void put_name(std::vector<std::uint8_t>& out, const std::string& name) {
  std::size_t start = 0;
  while (start < name.size()) {
    auto dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    const auto len = std::min<std::size_t>(dot - start, 63);
    out.push_back(static_cast<std::uint8_t>(len));
    out.insert(out.end(), name.begin() + static_cast<long>(start),
               name.begin() + static_cast<long>(start + len));
    start = dot + 1;
  }
  out.push_back(0);
}

// The address a name has here, if any.
std::optional<in_addr> address_of(const DnsZone& zone, const std::string& name) {
  for (const auto& n : zone.names)
    if (n == name) return zone.address;
  for (const auto& r : zone.records)
    if (r.name == name) return r.address;
  return std::nullopt;
}

void put_a(std::vector<std::uint8_t>& out, std::uint32_t ttl, const in_addr& address) {
  put16(out, kTypeA);
  put16(out, kClassIn);
  put16(out, static_cast<std::uint16_t>(ttl >> 16));
  put16(out, static_cast<std::uint16_t>(ttl & 0xFFFF));
  put16(out, 4);
  const auto* a = reinterpret_cast<const std::uint8_t*>(&address.s_addr);
  out.insert(out.end(), a, a + 4);  // already in network order
}

bool in_zone(const std::string& name, const std::string& zone) {
  return name == zone || (name.size() > zone.size() && name.ends_with(zone) &&
                          name[name.size() - zone.size() - 1] == '.');
}

}  // namespace

std::optional<std::vector<std::uint8_t>> dns_reply(std::span<const std::uint8_t> query,
                                                   const DnsZone& zone) {
  if (query.size() < kHeader || (query[2] & 0x80) != 0) return std::nullopt;
  std::vector<std::uint8_t> out(query.begin(), query.begin() + kHeader);
  std::uint8_t opcode = (query[2] >> 3) & 0x0F;
  std::uint16_t qdcount = static_cast<std::uint16_t>(query[4] << 8 | query[5]);
  auto question = qdcount == 1 ? parse_question(query) : std::nullopt;
  std::uint8_t rcode = opcode != 0 ? kNotImp : question ? 0 : kFormErr;

  bool authoritative = false;
  std::uint16_t answers = 0;
  std::optional<in_addr> address;
  const DnsAlias* alias = nullptr;
  if (rcode == 0) {
    address = address_of(zone, question->name);
    for (const auto& a : zone.aliases)
      if (a.name == question->name) alias = &a;
    const bool known = address || alias;
    authoritative = known || in_zone(question->name, zone.zone);
    if (!authoritative) {
      rcode = kRefused;
    } else if (!known && question->name != zone.zone) {
      rcode = kNxDomain;
    } else if (alias && question->klass == kClassIn) {
      // A CNAME answers every type; the target's address follows for A and ANY.
      answers = 1;
      address = std::nullopt;
      if (question->type == kTypeA || question->type == kTypeAny)
        address = address_of(zone, alias->target);
      if (address) answers = 2;
    } else if (address && question->klass == kClassIn &&
               (question->type == kTypeA || question->type == kTypeAny)) {
      answers = 1;
    }
  }

  // QR, the query's opcode and RD; AA for our zone; no recursion offered.
  out[2] = static_cast<std::uint8_t>(0x80 | (query[2] & 0x79) | (authoritative ? 0x04 : 0));
  out[3] = rcode;
  std::fill(out.begin() + 4, out.end(), 0);
  if (!question) return out;
  out[5] = 1;
  out[7] = static_cast<std::uint8_t>(answers);
  out.insert(out.end(), query.begin() + kHeader, query.begin() + static_cast<long>(question->end));
  if (alias && answers > 0) {
    put16(out, 0xC00C);  // the name in the question
    put16(out, kTypeCname);
    put16(out, kClassIn);
    put16(out, static_cast<std::uint16_t>(alias->ttl >> 16));
    put16(out, static_cast<std::uint16_t>(alias->ttl & 0xFFFF));
    std::vector<std::uint8_t> target;
    put_name(target, alias->target);
    put16(out, static_cast<std::uint16_t>(target.size()));
    out.insert(out.end(), target.begin(), target.end());
    if (address) {
      put_name(out, alias->target);
      put_a(out, zone.ttl, *address);
    }
  } else if (answers == 1) {
    put16(out, 0xC00C);  // the name in the question
    put_a(out, zone.ttl, *address);
  }
  return out;
}

DnsResponder::DnsResponder(UniqueFd udp, int stop_fd, DnsZone zone,
                           std::atomic<std::uint64_t>* queries)
    : fd_(std::move(udp)), stop_fd_(stop_fd), zone_(std::move(zone)), queries_(queries) {
  thread_ = std::thread([this] { run(); });
}

DnsResponder::~DnsResponder() {
  join();
}

void DnsResponder::join() {
  if (thread_.joinable()) thread_.join();
}

void DnsResponder::run() {
  std::uint8_t buf[1500];
  for (;;) {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {fd_.get(), POLLIN, 0}};
    int rc = poll(fds, 2, 1000);
    if (rc < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;
    if ((fds[1].revents & POLLIN) == 0) continue;
    for (int i = 0; i < kDatagramsPerWake; ++i) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      ssize_t n = recvfrom(fd_.get(), buf, sizeof buf, MSG_DONTWAIT,
                           reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) break;
      queries_->fetch_add(1);
      auto reply = dns_reply(std::span(buf, static_cast<std::size_t>(n)), zone_);
      if (reply) {
        sendto(fd_.get(), reply->data(), reply->size(), MSG_DONTWAIT,
               reinterpret_cast<sockaddr*>(&from), from_len);
      }
    }
  }
  fd_.reset();  // closed when the loop ends, as before, not when the owner destroys us
}

}  // namespace midiag::sim
