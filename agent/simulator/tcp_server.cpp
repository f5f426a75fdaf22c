#include "agent/simulator/tcp_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace midiag::sim {

namespace {

using std::chrono::milliseconds;

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kAcceptsPerWake = 16;
constexpr milliseconds kDrainTime{1000};  // after our FIN, wait this long for the client's
constexpr milliseconds kMaxPollWait{1000};

struct Conn {
  UniqueFd fd;
  std::unique_ptr<Handler> handler;
  Clock::time_point opened, last_activity, drain_deadline;
  bool draining = false;  // we sent FIN after the last byte; reading until the client closes
  bool dead = false;

  [[nodiscard]] Clock::time_point deadline(const TcpServerOptions& o) const {
    auto d = handler->holds_open()
                 ? opened + o.max_lifetime
                 : std::min(last_activity + o.idle_timeout, opened + o.max_lifetime);
    return draining ? std::min(d, drain_deadline) : d;
  }
};

void read_once(Conn& c, Clock::time_point now) {
  std::vector<std::uint8_t> buf(kReadChunk);
  ssize_t n = recv(c.fd.get(), buf.data(), buf.size(), MSG_DONTWAIT);
  if (n > 0) {
    c.last_activity = now;
    // Closing connections ignore input: their answer is already decided.
    if (!c.draining && !c.handler->closing()) {
      c.handler->on_data(std::span(buf.data(), static_cast<std::size_t>(n)), now);
    }
  } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    c.dead = true;
  }
}

void flush(Conn& c, Clock::time_point now) {
  auto& out = c.handler->outbox();
  std::size_t sent = 0;
  while (!c.dead && sent < out.size()) {
    ssize_t n =
        ::send(c.fd.get(), out.data() + sent, out.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      c.last_activity = now;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      break;
    } else {
      c.dead = true;
    }
  }
  out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(sent));
  if (!c.dead && !c.draining && c.handler->closing() && out.empty()) {
    // FIN, not close(): unread input at close() would turn into a RST that can eat our answer.
    shutdown(c.fd.get(), SHUT_WR);
    c.draining = true;
    c.drain_deadline = now + kDrainTime;
  }
}

}  // namespace

TcpServer::TcpServer(UniqueFd listener, TcpServerOptions options)
    : listener_(std::move(listener)), options_(std::move(options)) {
  thread_ = std::thread([this] { run(); });
}

TcpServer::~TcpServer() {
  join();
}

void TcpServer::join() {
  if (thread_.joinable()) thread_.join();
}

void TcpServer::run() {
  const auto& o = options_;
  std::vector<Conn> conns;
  std::vector<pollfd> fds;
  for (;;) {
    auto now = Clock::now();
    fds.clear();
    fds.push_back({o.stop_fd, POLLIN, 0});
    fds.push_back(
        {listener_.get(), static_cast<short>(conns.size() < o.max_connections ? POLLIN : 0), 0});
    auto wake = now + kMaxPollWait;
    for (auto& c : conns) {
      short events = POLLIN;
      if (!c.handler->outbox().empty()) events |= POLLOUT;
      fds.push_back({c.fd.get(), events, 0});
      wake = std::min(wake, c.deadline(o));
      if (auto t = c.handler->timer()) wake = std::min(wake, *t);
    }
    auto wait = std::chrono::duration_cast<milliseconds>(wake - now).count() + 1;
    int rc = poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(wait, 0, 1000)));
    if (rc < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;
    now = Clock::now();

    for (std::size_t i = 0; i < conns.size(); ++i) {
      auto& c = conns[i];
      if ((fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)) != 0) read_once(c, now);
      if (auto t = c.handler->timer(); t && *t <= now && !c.dead) c.handler->on_timer(now);
      flush(c, now);
      if (now >= c.deadline(o)) c.dead = true;
    }
    std::erase_if(conns, [](const Conn& c) { return c.dead; });  // each closes as it goes

    if ((fds[1].revents & POLLIN) != 0) {
      for (int i = 0; i < kAcceptsPerWake && conns.size() < o.max_connections; ++i) {
        UniqueFd fd(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) break;
        if (o.on_accept) o.on_accept();
        conns.push_back(Conn{std::move(fd), o.make_handler(), now, now, now});
      }
    }
  }
  conns.clear();  // closes every connection, then the listener: the loop is over
  listener_.reset();
}

}  // namespace midiag::sim
