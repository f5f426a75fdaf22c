#include "decoders/tls/records.h"

#include <cstdio>

#include "decoders/common/byte_reader.h"
#include "decoders/tls/messages.h"

namespace midiag::tls {
namespace {

constexpr std::size_t kRecordHeader = kRecordHeaderSize;
constexpr std::size_t kMaxFragment = (1U << 14) + 2048;  // RFC 5246 6.2.3 ciphertext limit
constexpr std::size_t kHandshakeHeader = 4;
using handshake::kCertificate;
using handshake::kClientHello;
using handshake::kServerHello;

bool known_content_type(std::uint8_t t) {
  return t >= static_cast<std::uint8_t>(ContentType::ChangeCipherSpec) &&
         t <= static_cast<std::uint8_t>(ContentType::ApplicationData);
}

// Stores a parsed message in its slot of the summary, or hands back why it failed.
template <typename T, typename Slot>
std::optional<Error> keep(Expected<T> parsed, Slot& slot) {
  if (!parsed) return parsed.error();
  slot = std::move(*parsed);
  return std::nullopt;
}

}  // namespace

Expected<std::optional<RecordHeader>> parse_record_header(std::span<const std::uint8_t> stream) {
  if (stream.size() < kRecordHeader) return std::optional<RecordHeader>{};
  ByteReader r(stream);
  RecordHeader h;
  h.content_type = r.u8();
  h.version = r.u16();
  h.length = r.u16();
  if (!known_content_type(h.content_type))
    return make_error("TLS record with unknown content type " + std::to_string(h.content_type),
                      ErrorKind::Malformed, 0);
  if (h.length > kMaxFragment)
    return make_error("TLS record length " + std::to_string(h.length) + " over the limit",
                      ErrorKind::Malformed, 3);
  return std::optional<RecordHeader>(h);
}

Expected<RecordSplit> split_records(std::span<const std::uint8_t> stream) {
  RecordSplit split;
  while (true) {
    const auto rest = stream.subspan(split.consumed);
    auto header = parse_record_header(rest);
    if (!header) {
      return make_error(
          header.error().message + " at stream offset " + std::to_string(split.consumed),
          ErrorKind::Malformed, split.consumed + header.error().offset);
    }
    if (!*header || rest.size() - kRecordHeader < (*header)->length) break;  // wait for more bytes
    Record rec;
    rec.content_type = (*header)->content_type;
    rec.version = (*header)->version;
    const auto fragment = rest.subspan(kRecordHeader, (*header)->length);
    rec.fragment.assign(fragment.begin(), fragment.end());
    split.records.push_back(std::move(rec));
    split.consumed += kRecordHeader + (*header)->length;
  }
  return split;
}

std::optional<Error> HandshakeWalker::feed(const Record& record, Direction from) {
  Side& side = sides_[static_cast<std::size_t>(from) & 1U];
  ++summary_.records;
  switch (static_cast<ContentType>(record.content_type)) {
    case ContentType::ChangeCipherSpec:
      summary_.saw_change_cipher_spec = true;
      side.encrypted = true;
      side.pending.clear();
      return std::nullopt;
    case ContentType::ApplicationData:
      summary_.saw_application_data = true;
      return std::nullopt;
    case ContentType::Alert:
      // A 2-byte alert is cleartext even after CCS: an encrypted one carries a MAC or tag.
      if (side.encrypted && record.fragment.size() != 2) return std::nullopt;
      for (std::size_t i = 0; i + 1 < record.fragment.size(); i += 2) {
        summary_.alerts.push_back(Alert{record.fragment[i], record.fragment[i + 1]});
      }
      return std::nullopt;
    case ContentType::Handshake:
      if (side.encrypted) return std::nullopt;
      side.pending.insert(side.pending.end(), record.fragment.begin(), record.fragment.end());
      return drain(side);
  }
  return std::nullopt;
}

std::optional<Error> HandshakeWalker::drain(Side& side) {
  std::optional<Error> error;
  std::size_t pos = 0;
  while (side.pending.size() - pos >= kHandshakeHeader) {
    ByteReader r(std::span<const std::uint8_t>(side.pending).subspan(pos));
    const std::uint8_t type = r.u8();
    const std::size_t length = r.u24();
    const auto body = r.bytes(length);
    if (!r.ok()) break;  // the message continues in a later record
    summary_.handshake_types.push_back(type);
    std::optional<Error> bad;
    if (type == kClientHello) bad = keep(detail::parse_client_hello(body), summary_.client_hello);
    if (type == kServerHello) bad = keep(detail::parse_server_hello(body), summary_.server_hello);
    if (type == kCertificate) bad = keep(detail::parse_certificate(body), summary_.certificates);
    if (bad && !error) {
      bad->message += " at handshake byte " + std::to_string(side.consumed + pos);
      bad->offset += side.consumed + pos + kHandshakeHeader;  // from the body to this side's stream
      error = std::move(bad);
    }
    pos += kHandshakeHeader + length;
  }
  side.pending.erase(side.pending.begin(), side.pending.begin() + static_cast<std::ptrdiff_t>(pos));
  side.consumed += pos;
  return error;
}

Expected<HandshakeSummary> summarize_handshake(const std::vector<Record>& records) {
  HandshakeWalker walker;
  for (const Record& record : records) {
    if (auto error = walker.feed(record, Direction::ClientToServer)) return std::move(*error);
  }
  return walker.summary();
}

std::string version_name(std::uint16_t v) {
  static constexpr const char* kNames[] = {"SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
  if (v >= 0x0300 && v <= 0x0304) return kNames[v - 0x0300];
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", static_cast<unsigned>(v));
  return buf;
}

}  // namespace midiag::tls
