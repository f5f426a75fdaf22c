// Whole TDS packets out of a byte stream, with the bytes after the last whole packet still
// reachable: when the TLS handshake ends, what follows on the socket is raw TLS, not TDS.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "decoders/common/expected.h"
#include "decoders/tds/packet.h"

namespace midiag::sim {

struct Packet {
  tds::PacketHeader header;
  std::vector<std::uint8_t> payload;
};

class PacketStream {
 public:
  void append(std::span<const std::uint8_t> bytes) {
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  }

  // The next whole packet, nothing while one is incomplete, an Error for a malformed header.
  Expected<std::optional<Packet>> next() {
    if (buffer_.size() < tds::kHeaderSize) return std::optional<Packet>{};
    auto header = tds::parse_header(buffer_);
    if (!header) return header.error();
    if (buffer_.size() < header->length) return std::optional<Packet>{};
    auto end = buffer_.begin() + header->length;
    Packet p{*header, std::vector<std::uint8_t>(buffer_.begin() + tds::kHeaderSize, end)};
    buffer_.erase(buffer_.begin(), end);
    return std::optional<Packet>(std::move(p));
  }

  std::vector<std::uint8_t> take_rest() { return std::exchange(buffer_, {}); }

 private:
  std::vector<std::uint8_t> buffer_;
};

}  // namespace midiag::sim
