// lab_tcp_listener PORT [PORT...]
//
// The lab's stand-in for the gateway / public endpoint: listens on 0.0.0.0 on every
// port given, accepts each connection and closes it at once (a TCP handshake that
// completes is all the lab's TCP scenarios need). Prints "ready" on stdout once every
// port is bound and listening, so the lab waits for that line instead of sleeping.
// Stops on SIGTERM/SIGINT, and by itself after 900 s so a lost lab never leaves it
// running forever.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/posix/unique_fd.h"

namespace {

constexpr auto kLifetime = std::chrono::seconds(900);

bool parse_port(std::string_view text, std::uint16_t& port) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value == 0 || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

midiag::UniqueFd listen_on(std::uint16_t port) {
  midiag::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd.get(), 128) != 0) {
    const int saved = errno;
    fd.reset();
    errno = saved;  // for the caller's message: close() may have changed it
  }
  return fd;
}

// Signals are read from a signalfd in the same poll() as the sockets: no race between
// checking a flag and going to sleep.
midiag::UniqueFd block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return midiag::UniqueFd();
  return midiag::UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

void accept_and_close_all(int listen_fd) {
  // Bounded: the backlog is finite and the socket is non-blocking.
  for (int i = 0; i < 1024; ++i) {
    const midiag::UniqueFd conn(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: lab_tcp_listener PORT [PORT...]\n");
    return 2;
  }
  const midiag::UniqueFd sig_fd = block_stop_signals();
  if (!sig_fd) {
    std::perror("lab_tcp_listener: signalfd");
    return 1;
  }

  std::vector<midiag::UniqueFd> listeners;  // owned here; `fds` only borrows them for poll()
  std::vector<pollfd> fds;
  fds.push_back({sig_fd.get(), POLLIN, 0});
  for (int i = 1; i < argc; ++i) {
    std::uint16_t port = 0;
    if (!parse_port(argv[i], port)) {
      std::fprintf(stderr, "lab_tcp_listener: bad port '%s'\n", argv[i]);
      return 2;
    }
    midiag::UniqueFd fd = listen_on(port);
    if (!fd) {
      std::fprintf(stderr, "lab_tcp_listener: port %u: %s\n", static_cast<unsigned>(port),
                   std::strerror(errno));
      return 1;
    }
    fds.push_back({fd.get(), POLLIN, 0});
    listeners.push_back(std::move(fd));
  }
  std::printf("ready\n");
  std::fflush(stdout);

  const auto deadline = std::chrono::steady_clock::now() + kLifetime;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      std::fprintf(stderr, "lab_tcp_listener: lifetime over, exiting\n");
      return 0;
    }
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) {
      std::perror("lab_tcp_listener: poll");
      return 1;
    }
    if (n <= 0) continue;
    if (fds[0].revents != 0) return 0;  // SIGTERM or SIGINT
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if ((fds[i].revents & POLLIN) != 0) accept_and_close_all(fds[i].fd);
    }
  }
}
