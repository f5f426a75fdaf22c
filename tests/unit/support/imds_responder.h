// A stand-in IMDS on 127.0.0.1 for the client and check tests: answers like IMDS (200 with the
// document only when `Metadata: true` is sent, 400 otherwise), or misbehaves on purpose (never
// accepts, sends a body over the client's bound, is not HTTP). Every wait is bounded.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <mutex>
#include <string>
#include <thread>

namespace midiag::test_support {

class ImdsResponder {
 public:
  enum class Mode { Imds, Silent, Huge, NotHttp };

  ImdsResponder(Mode mode, std::string body) : mode_(mode), body_(std::move(body)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0 ||
        ::listen(listen_fd_, 8) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
      return;
    port_ = ntohs(sa.sin_port);
    if (::pipe2(stop_.data(), O_CLOEXEC) != 0) return;
    thread_ = std::thread([this] { serve(); });
  }
  ~ImdsResponder() {
    if (stop_[1] >= 0) (void)!::write(stop_[1], "x", 1);
    if (thread_.joinable()) thread_.join();
    for (int fd : {listen_fd_, stop_[0], stop_[1]})
      if (fd >= 0) ::close(fd);
  }
  ImdsResponder(const ImdsResponder&) = delete;
  ImdsResponder& operator=(const ImdsResponder&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] int requests() const { return requests_; }
  [[nodiscard]] std::string last_request() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_request_;
  }

 private:
  static bool has_metadata_header(const std::string& request) {
    std::string lower(request);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower.find("\r\nmetadata: true\r\n") != std::string::npos;
  }

  static void send_all(int fd, const std::string& s) {
    std::size_t sent = 0;
    while (sent < s.size()) {
      ssize_t n = ::send(fd, s.data() + sent, s.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;  // the client closed (it may stop reading at its bound)
      sent += static_cast<std::size_t>(n);
    }
  }

  void serve() {
    // At most 16 connections and 10 s, whatever the test does.
    for (int round = 0; round < 16; ++round) {
      std::array<pollfd, 2> p{{{stop_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}}};
      const nfds_t n = mode_ == Mode::Silent ? 1 : 2;  // silent: never accepts
      if (::poll(p.data(), n, 10000) <= 0 || (p[0].revents & POLLIN) != 0) return;
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string req;
      std::array<char, 4096> buf{};
      while (req.find("\r\n\r\n") == std::string::npos && req.size() < 16384) {
        pollfd r{c, POLLIN, 0};
        if (::poll(&r, 1, 2000) <= 0) break;
        ssize_t got = ::recv(c, buf.data(), buf.size(), 0);
        if (got <= 0) break;
        req.append(buf.data(), static_cast<std::size_t>(got));
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        last_request_ = req;
      }
      ++requests_;
      if (mode_ == Mode::NotHttp) {
        send_all(c, "SSH-2.0-OpenSSH_9.6\r\n");
      } else if (mode_ == Mode::Huge) {
        const std::string body(body_.size(), 'x');
        send_all(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body);
      } else if (!has_metadata_header(req)) {
        const std::string err =
            "{\"error\":\"Bad request. Required metadata header not specified\"}";
        send_all(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: " + std::to_string(err.size()) +
                        "\r\n\r\n" + err);
      } else {
        send_all(c,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                 "Content-Length: " +
                     std::to_string(body_.size()) + "\r\n\r\n" + body_);
      }
      ::close(c);
    }
  }

  Mode mode_;
  std::string body_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::array<int, 2> stop_{-1, -1};
  std::thread thread_;
  std::atomic<int> requests_{0};
  mutable std::mutex mutex_;
  std::string last_request_;
};

}  // namespace midiag::test_support
