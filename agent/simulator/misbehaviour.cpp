#include "agent/simulator/misbehaviour.h"

#include <random>
#include <string_view>

#include "decoders/tds/packet.h"

namespace midiag::sim {

namespace {

constexpr std::size_t kGarbageBytes = 64;
constexpr std::chrono::seconds kTrickleInterval{1};

class Silent : public Handler {
 public:
  void on_data(std::span<const std::uint8_t>, Clock::time_point) override {}
};

class Garbage : public Handler {
 public:
  explicit Garbage(std::uint32_t seed) : rng_(seed) {}
  void on_data(std::span<const std::uint8_t>, Clock::time_point) override {
    std::vector<std::uint8_t> bytes(kGarbageBytes);
    std::uniform_int_distribution<int> dist(0, 255);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(dist(rng_));
    // No TDS packet type (0x01..0x12) and no TLS record (0x14..0x17) may start it.
    bytes[0] = static_cast<std::uint8_t>(0xC0 | (bytes[0] & 0x3F));
    send(bytes);
    close_after_send();
  }

 private:
  std::mt19937 rng_;
};

class HugeLengthThenStall : public Handler {
 public:
  void on_data(std::span<const std::uint8_t>, Clock::time_point) override {
    if (sent_) return;
    sent_ = true;
    // A TabularResult header announcing 65535 bytes, none of which ever follow.
    const std::uint8_t header[tds::kHeaderSize] = {0x04, 0x01, 0xFF, 0xFF, 0x00, 0x00, 0x01, 0x00};
    send(header);
  }

 private:
  bool sent_ = false;
};

class Slowloris : public Handler {
 public:
  explicit Slowloris(std::vector<std::uint8_t> answer) : answer_(std::move(answer)) {}
  void on_data(std::span<const std::uint8_t>, Clock::time_point now) override {
    if (!next_ && sent_ == 0) trickle(now);
  }
  void on_timer(Clock::time_point now) override { trickle(now); }
  [[nodiscard]] std::optional<Clock::time_point> timer() const override { return next_; }

 private:
  void trickle(Clock::time_point now) {
    if (sent_ >= answer_.size()) {
      next_.reset();
      return;
    }
    send(std::span(answer_).subspan(sent_++, 1));
    next_ = now + kTrickleInterval;
  }
  std::vector<std::uint8_t> answer_;
  std::size_t sent_ = 0;
  std::optional<Clock::time_point> next_;
};

class NotTds : public Handler {
 public:
  void on_data(std::span<const std::uint8_t>, Clock::time_point) override {
    constexpr std::string_view kAnswer =
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
        "Connection: close\r\n\r\nBad Request";
    send(std::span(reinterpret_cast<const std::uint8_t*>(kAnswer.data()), kAnswer.size()));
    close_after_send();
  }
};

}  // namespace

std::unique_ptr<Handler> make_misbehaving_handler(Behaviour behaviour, const ServerVersion& version,
                                                  tds::Encryption encryption, std::uint32_t seed) {
  switch (behaviour) {
    case Behaviour::Normal:
      return nullptr;
    case Behaviour::SilentAfterAccept:
      return std::make_unique<Silent>();
    case Behaviour::Garbage:
      return std::make_unique<Garbage>(seed);
    case Behaviour::HugeLengthThenStall:
      return std::make_unique<HugeLengthThenStall>();
    case Behaviour::Slowloris:
      return std::make_unique<Slowloris>(
          tds::frame(tds::PacketType::TabularResult, prelogin_response(version, encryption)));
    case Behaviour::NotTds:
      return std::make_unique<NotTds>();
    case Behaviour::PlainTls:  // served by plain_tls.h, with the instance's TLS context
      return nullptr;
  }
  return nullptr;
}

}  // namespace midiag::sim
