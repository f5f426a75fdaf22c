// lab_imds_standin ADDRESS PORT DOCUMENT LOG
//
// The lab's Azure Instance Metadata Service: listens on ADDRESS:PORT (169.254.169.254:80 in the
// router namespace) and answers GET /metadata/instance... with the JSON in DOCUMENT, only when
// the request carries `Metadata: true` (HTTP 400 otherwise, as IMDS does; 404 for other paths).
// One connection at a time, each bounded to 2 s and 16 KiB of request. Appends one line per
// request to LOG ("<status> <request line>") so the lab can tell what was asked. Prints "ready"
// once listening; stops on SIGTERM/SIGINT, and by itself after 900 s.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "platform/posix/unique_fd.h"

namespace {

constexpr auto kLifetime = std::chrono::seconds(900);
constexpr int kRequestMs = 2000;
constexpr std::size_t kMaxRequest = 16 * 1024;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void send_all(int fd, const std::string& s) {
  std::size_t sent = 0;
  while (sent < s.size()) {
    const ssize_t n = ::send(fd, s.data() + sent, s.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

std::string response(int status, const std::string& body) {
  const char* reason = status == 200 ? "OK" : status == 400 ? "Bad Request" : "Not Found";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

void serve_one(int conn, const std::string& document, std::FILE* log) {
  std::string req;
  std::array<char, 4096> buf{};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kRequestMs);
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < kMaxRequest) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    pollfd p{conn, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return;
    const ssize_t n = ::recv(conn, buf.data(), buf.size(), 0);
    if (n <= 0) return;
    req.append(buf.data(), static_cast<std::size_t>(n));
  }
  const std::string line = req.substr(0, req.find("\r\n"));
  const bool instance = line.starts_with("GET /metadata/instance");
  const bool header = lower(req).find("\r\nmetadata: true\r\n") != std::string::npos;
  int status = 404;
  std::string body = "{\"error\":\"Not found\"}";
  if (instance && !header) {
    status = 400;
    body = "{\"error\":\"Bad request. Required metadata header not specified\"}";
  } else if (instance) {
    status = 200;
    body = document;
  }
  send_all(conn, response(status, body));
  std::fprintf(log, "%d %s\n", status, line.c_str());
  std::fflush(log);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: lab_imds_standin ADDRESS PORT DOCUMENT LOG\n");
    return 2;
  }
  unsigned port = 0;
  const std::string_view port_text(argv[2]);
  const auto [ptr, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || port == 0 ||
      port > 65535 || ::inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
    std::fprintf(stderr, "lab_imds_standin: bad address or port\n");
    return 2;
  }
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  std::ifstream in(argv[3], std::ios::binary);
  const std::string document((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  std::FILE* log = std::fopen(argv[4], "a");
  if (!in || log == nullptr) {
    std::fprintf(stderr, "lab_imds_standin: cannot read %s or write %s\n", argv[3], argv[4]);
    return 2;
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  const midiag::UniqueFd sig(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  const midiag::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  if (!sig || !fd) return 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd.get(), 16) != 0) {
    std::fprintf(stderr, "lab_imds_standin: %s:%u: %s\n", argv[1], port, std::strerror(errno));
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);

  const auto end = std::chrono::steady_clock::now() + kLifetime;
  while (std::chrono::steady_clock::now() < end) {
    std::array<pollfd, 2> p{{{sig.get(), POLLIN, 0}, {fd.get(), POLLIN, 0}}};
    if (::poll(p.data(), p.size(), 1000) < 0 && errno != EINTR) return 1;
    if ((p[0].revents & POLLIN) != 0) break;
    if ((p[1].revents & POLLIN) == 0) continue;
    const midiag::UniqueFd conn(::accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (conn) serve_one(conn.get(), document, log);
  }
  std::fclose(log);
  return 0;
}
