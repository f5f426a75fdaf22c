// TDS packet framing (MS-TDS 2.2.3): 8-byte header, messages reassembled until EOM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::tds {

enum class PacketType : std::uint8_t {
  SqlBatch = 0x01,
  PreTds7Login = 0x02,
  Rpc = 0x03,
  TabularResult = 0x04,  // server responses, including the PRELOGIN answer
  Attention = 0x06,
  BulkLoad = 0x07,
  FedAuthToken = 0x08,
  TransactionManager = 0x0E,
  Login7 = 0x10,
  Sspi = 0x11,
  Prelogin = 0x12,
};

inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::uint8_t kStatusEom = 0x01;
inline constexpr std::size_t kDefaultMaxMessage = 4 * 1024 * 1024;  // decoder refuses beyond this

struct PacketHeader {
  std::uint8_t type = 0;
  std::uint8_t status = 0;
  std::uint16_t length = 0;  // whole packet, header included (big-endian on the wire)
  std::uint16_t spid = 0;    // big-endian on the wire
  std::uint8_t packet_id = 0;
  std::uint8_t window = 0;
  [[nodiscard]] bool eom() const { return (status & kStatusEom) != 0; }
};

// Parses the 8 header bytes; rejects length < 8.
Expected<PacketHeader> parse_header(std::span<const std::uint8_t> bytes);

// One complete message: the payloads of its packets concatenated.
struct Message {
  std::uint8_t type = 0;
  std::vector<std::uint8_t> payload;
  int packets = 0;
};

// Incremental reassembly from a byte stream (a TCP direction). Feed bytes as they arrive; take
// complete messages out. A malformed header or a message over the limit is a sticky error.
class MessageReader {
 public:
  explicit MessageReader(std::size_t max_message = kDefaultMaxMessage) : max_(max_message) {}
  void feed(std::span<const std::uint8_t> bytes);
  // Next complete message, if one is ready.
  [[nodiscard]] bool has_message() const { return !ready_.empty(); }
  Message take();
  [[nodiscard]] bool failed() const { return !error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }
  // Bytes buffered that do not yet form a complete packet (a stall shows up here).
  [[nodiscard]] std::size_t pending_bytes() const { return buffer_.size(); }
  // The header of the packet being waited for, when at least 8 bytes are buffered.
  [[nodiscard]] std::optional<PacketHeader> pending_header() const;
  // The payload of the message being waited for, as far as it arrived: its complete packets'
  // payloads and the part of the next packet after its header (a stalled TLS flight, say).
  [[nodiscard]] std::vector<std::uint8_t> pending_payload() const;

 private:
  std::size_t max_;
  std::vector<std::uint8_t> buffer_;
  Message current_;
  bool in_message_ = false;
  std::vector<Message> ready_;
  std::string error_;
  std::size_t stream_offset_ = 0;  // bytes of the stream consumed so far, for error offsets
};

// Splits a payload into packets of at most `packet_size` bytes (header included), EOM on the last.
std::vector<std::uint8_t> frame(PacketType type, std::span<const std::uint8_t> payload,
                                std::size_t packet_size = 4096, std::uint8_t first_packet_id = 1);

}  // namespace midiag::tds
