// One listening socket served by one thread: a poll() loop over the listener, its connections and
// a stop descriptor. Protocol logic lives in Handlers, which never touch sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "platform/posix/unique_fd.h"

namespace midiag::sim {

using Clock = std::chrono::steady_clock;

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void on_data(std::span<const std::uint8_t> bytes, Clock::time_point now) = 0;
  virtual void on_timer(Clock::time_point /*now*/) {}
  // When on_timer wants to run next, if at all.
  [[nodiscard]] virtual std::optional<Clock::time_point> timer() const { return std::nullopt; }
  // True while the connection must stay open though idle (a modelled stall that a FIN would
  // give away); the lifetime limit still applies.
  [[nodiscard]] virtual bool holds_open() const { return false; }

  std::vector<std::uint8_t>& outbox() { return out_; }
  [[nodiscard]] bool closing() const { return closing_; }

 protected:
  void send(std::span<const std::uint8_t> bytes) {
    out_.insert(out_.end(), bytes.begin(), bytes.end());
  }
  void close_after_send() { closing_ = true; }

 private:
  std::vector<std::uint8_t> out_;
  bool closing_ = false;
};

struct TcpServerOptions {
  int stop_fd = -1;  // readable once the owner wants the loop to end; not owned
  std::function<std::unique_ptr<Handler>()> make_handler;
  std::function<void()> on_accept;  // counts connections
  std::chrono::milliseconds idle_timeout{10'000};
  std::chrono::milliseconds max_lifetime{120'000};
  std::size_t max_connections = 64;
};

class TcpServer {
 public:
  // `listener` is bound and listening; the server owns it from now on.
  TcpServer(UniqueFd listener, TcpServerOptions options);
  ~TcpServer();  // joins
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;
  void join();

 private:
  void run();
  UniqueFd listener_;
  TcpServerOptions options_;
  std::thread thread_;
};

}  // namespace midiag::sim
