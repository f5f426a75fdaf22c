#include "platform/linux/netlink_io.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "platform/posix/unique_fd.h"

namespace midiag::platform::nl {
namespace {

constexpr int kRecvTimeoutSec = 1;  // one silent second means the kernel is not answering
constexpr auto kDumpDeadline = std::chrono::seconds(5);  // caps huge (full BGP) tables
// A dump past this many entries is a full Internet table (a BGP router's): not a host to read
// whole per check; the kernel's own lookup still answers for one address.
constexpr std::size_t kMaxDumpMessages = 200000;
constexpr int kDumpAttempts = 3;  // dumps racing a route change are retried, then kept as is

Error sys_error(const char* what) {
  return make_error(std::string("netlink ") + what + ": " + std::strerror(errno));
}

struct Outcome {
  Reply reply;
  bool interrupted = false;  // NLM_F_DUMP_INTR: the table changed under the dump
  bool done = false;
};

// Consumes the messages of one datagram into `out`; returns an Error on a kernel-side failure.
std::optional<Error> absorb(Bytes buf, std::uint32_t seq, std::uint32_t port, bool dump,
                            Outcome& out) {
  while (buf.size() >= sizeof(nlmsghdr) && !out.done) {
    const auto h = *read_as<nlmsghdr>(buf);
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > buf.size()) {
      return make_error("netlink: malformed message from kernel");
    }
    const Bytes payload = buf.subspan(NLMSG_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN);
    const std::size_t step = align4(h.nlmsg_len);
    buf = step >= buf.size() ? Bytes{} : buf.subspan(step);
    if (h.nlmsg_seq != seq || h.nlmsg_pid != port) continue;  // not an answer to our request
    if (h.nlmsg_flags & NLM_F_DUMP_INTR) out.interrupted = true;
    if (h.nlmsg_type == NLMSG_ERROR) {
      const auto e = read_as<nlmsgerr>(payload);
      if (!e) return make_error("netlink: truncated error message");
      out.reply.error = -e->error;
      out.done = true;
    } else if (h.nlmsg_type == NLMSG_DONE) {
      const auto code = read_as<int>(payload);
      if (code && *code < 0) {
        return make_error(std::string("netlink dump failed: ") + std::strerror(-*code));
      }
      out.done = true;
    } else if (h.nlmsg_type >= NLMSG_MIN_TYPE) {
      out.reply.messages.push_back({h.nlmsg_type, {payload.begin(), payload.end()}});
      out.done = !dump;
    }
  }
  return std::nullopt;
}

Expected<Outcome> transact_once(const Request& req, bool strict) {
  const UniqueFd s(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!s) return sys_error("socket");
  const timeval tv{kRecvTimeoutSec, 0};
  if (::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
    return sys_error("SO_RCVTIMEO");
  }
  const int one = 1;
  if (strict) ::setsockopt(s.get(), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  socklen_t len = sizeof local;
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    return sys_error("bind");
  }
  if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    return sys_error("getsockname");
  }
  const std::uint32_t seq = 1;  // fresh socket per request, so any constant is unique
  const auto wire = req.bytes(seq);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(s.get(), wire.data(), wire.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0) {
    return sys_error("send");
  }

  Outcome out;
  std::vector<std::uint8_t> buf;
  const auto deadline = std::chrono::steady_clock::now() + kDumpDeadline;
  while (!out.done) {
    if (std::chrono::steady_clock::now() > deadline) {
      return make_error("netlink: kernel answer took longer than 5s");
    }
    // Peek the datagram size first so no reply is ever truncated.
    const ssize_t size = ::recv(s.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC);
    if (size < 0 && errno == EINTR) continue;
    if (size < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return make_error("netlink: no answer from the kernel within 1s");
    }
    if (size < 0) return sys_error("recv");
    buf.resize(static_cast<std::size_t>(size));
    sockaddr_nl from{};
    socklen_t from_len = sizeof from;
    const ssize_t got = ::recvfrom(s.get(), buf.data(), buf.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
    if (got < 0) return sys_error("recv");
    if (from.nl_pid != 0) continue;  // only the kernel may answer
    const Bytes data(buf.data(), static_cast<std::size_t>(got));
    if (auto err = absorb(data, seq, local.nl_pid, req.is_dump(), out)) return *err;
    if (out.reply.messages.size() > kMaxDumpMessages)
      return make_error("netlink: the kernel's table holds more than " +
                        std::to_string(kMaxDumpMessages) +
                        " entries (a full Internet table); not read whole");
  }
  return out;
}

}  // namespace

Request::Request(std::uint16_t type, std::uint16_t flags)
    : type_(type), flags_(static_cast<std::uint16_t>(flags | NLM_F_REQUEST)) {}

void Request::append(const void* data, std::size_t len) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  body_.insert(body_.end(), p, p + len);
  body_.resize(align4(body_.size()), 0);
}

void Request::add_attr(std::uint16_t type, const void* data, std::size_t len) {
  rtattr a{};
  a.rta_len = static_cast<unsigned short>(sizeof(rtattr) + len);
  a.rta_type = type;
  append(&a, sizeof a);
  append(data, len);
}

std::vector<std::uint8_t> Request::bytes(std::uint32_t seq) const {
  nlmsghdr h{};
  h.nlmsg_len = static_cast<std::uint32_t>(NLMSG_HDRLEN + body_.size());
  h.nlmsg_type = type_;
  h.nlmsg_flags = flags_;
  h.nlmsg_seq = seq;
  std::vector<std::uint8_t> out(h.nlmsg_len, 0);  // sized once: GCC 12 misreads insert()
  std::memcpy(out.data(), &h, sizeof h);
  if (!body_.empty()) std::memcpy(out.data() + NLMSG_HDRLEN, body_.data(), body_.size());
  return out;
}

Expected<Reply> transact(const Request& req, bool strict) {
  for (int attempt = 1;; ++attempt) {
    auto out = transact_once(req, strict);
    if (!out) return out.error();
    if (!out->interrupted || attempt == kDumpAttempts) return std::move(out->reply);
  }
}

std::string format_addr(int family, Bytes b) {
  char text[INET6_ADDRSTRLEN] = {};
  const std::size_t want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
  if (want == 0 || b.size() != want) return "";
  std::uint8_t raw[16] = {};
  std::memcpy(raw, b.data(), want);
  return ::inet_ntop(family, raw, text, sizeof text) ? text : "";
}

}  // namespace midiag::platform::nl
