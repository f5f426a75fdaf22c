#include "decoders/tds/packet.h"

#include <algorithm>
#include <string>

#include "decoders/common/byte_reader.h"
#include "decoders/tds/writer.h"

namespace midiag::tds {

Expected<PacketHeader> parse_header(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kHeaderSize) {
    return make_error(
        "TDS packet header at offset 0: " + std::to_string(bytes.size()) + " bytes, need 8",
        ErrorKind::Malformed, 0);
  }
  ByteReader r(bytes.first(kHeaderSize));
  PacketHeader h;
  h.type = r.u8();
  h.status = r.u8();
  h.length = r.u16be();
  h.spid = r.u16be();
  h.packet_id = r.u8();
  h.window = r.u8();
  if (h.length < kHeaderSize) {
    return make_error("TDS packet header at offset 2: length " + std::to_string(h.length) +
                          " is shorter than the 8-byte header",
                      ErrorKind::Malformed, 2);
  }
  return h;
}

std::optional<PacketHeader> MessageReader::pending_header() const {
  if (buffer_.size() < kHeaderSize) return std::nullopt;
  auto h = parse_header(buffer_);
  if (!h) return std::nullopt;
  return *h;
}

std::vector<std::uint8_t> MessageReader::pending_payload() const {
  std::vector<std::uint8_t> out;
  if (in_message_) out = current_.payload;
  if (auto h = pending_header(); h && (!in_message_ || h->type == current_.type)) {
    const std::size_t body = std::min<std::size_t>(buffer_.size(), h->length) - kHeaderSize;
    out.insert(out.end(), buffer_.begin() + kHeaderSize, buffer_.begin() + kHeaderSize + body);
  }
  return out;
}

void MessageReader::feed(std::span<const std::uint8_t> bytes) {
  if (failed()) return;  // sticky: a stream that lost framing cannot be resynchronised
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  std::size_t used = 0;
  while (buffer_.size() - used >= kHeaderSize) {
    const std::span<const std::uint8_t> rest(buffer_.data() + used, buffer_.size() - used);
    const std::size_t at = stream_offset_ + used;
    auto h = parse_header(rest);
    if (!h) {
      error_ = "TDS packet at stream offset " + std::to_string(at) + ": " + h.error().message;
      break;
    }
    if (in_message_ && h->type != current_.type) {
      error_ = "TDS packet at stream offset " + std::to_string(at) + ": type " + hex_byte(h->type) +
               " arrived in the middle of a message of type " + hex_byte(current_.type);
      break;
    }
    const std::size_t body = h->length - kHeaderSize;
    if (current_.payload.size() + body > max_) {
      error_ = "TDS packet at stream offset " + std::to_string(at) + ": the message grows past " +
               std::to_string(max_) + " bytes";
      break;
    }
    if (rest.size() < h->length) break;  // wait for the rest of this packet
    if (!in_message_) {
      current_ = Message{};
      current_.type = h->type;
      in_message_ = true;
    }
    const auto payload = rest.subspan(kHeaderSize, body);
    current_.payload.insert(current_.payload.end(), payload.begin(), payload.end());
    ++current_.packets;
    used += h->length;
    if (h->eom()) {
      ready_.push_back(std::move(current_));
      current_ = Message{};
      in_message_ = false;
    }
  }
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(used));
  stream_offset_ += used;
}

Message MessageReader::take() {
  if (ready_.empty()) return Message{};
  Message m = std::move(ready_.front());
  ready_.erase(ready_.begin());
  return m;
}

std::vector<std::uint8_t> frame(PacketType type, std::span<const std::uint8_t> payload,
                                std::size_t packet_size, std::uint8_t first_packet_id) {
  // The length field is 16 bits and each packet must carry at least one payload byte.
  const std::size_t size = std::clamp<std::size_t>(packet_size, kHeaderSize + 1, 0xFFFF);
  const std::size_t chunk = size - kHeaderSize;
  detail::Bytes out;
  out.reserve(payload.size() + (payload.size() / chunk + 1) * kHeaderSize);
  std::uint8_t id = first_packet_id;
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min(chunk, payload.size() - pos);
    const bool last = pos + n == payload.size();
    detail::put_be(out, static_cast<std::uint8_t>(type), 1);
    detail::put_be(out, last ? kStatusEom : 0, 1);
    detail::put_be(out, n + kHeaderSize, 2);
    detail::put_be(out, 0, 2);  // SPID: 0 from a client, unused by our simulator
    detail::put_be(out, id++, 1);
    detail::put_be(out, 0, 1);  // window: always 0 per MS-TDS
    detail::put_bytes(out, payload.subspan(pos, n));
    pos += n;
  } while (pos < payload.size());
  return out;
}

}  // namespace midiag::tds
