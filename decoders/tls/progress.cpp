#include "decoders/tls/progress.h"

#include <algorithm>

namespace midiag::tls {

namespace {

constexpr std::size_t kRecordHeader = 5;
constexpr std::size_t kMaxFragment = (1U << 14) + 2048;  // RFC 5246 ciphertext bound
constexpr std::size_t kHandshakeHeader = 4;
constexpr std::uint8_t kChangeCipherSpec = 20, kHandshake = 22, kApplicationData = 23;  // 21: alert

// Splits the cleartext handshake bytes into whole messages and the one cut off.
void walk_messages(std::span<const std::uint8_t> hs, HandshakeProgress& p) {
  std::size_t pos = 0;
  while (hs.size() - pos >= kHandshakeHeader) {
    const std::uint8_t type = hs[pos];
    const std::size_t len = (std::size_t{hs[pos + 1]} << 16) | (std::size_t{hs[pos + 2]} << 8) | hs[pos + 3];
    const std::size_t have = hs.size() - pos - kHandshakeHeader;
    if (have < len) {
      p.cut_type = type;
      p.cut_expected = len;
      p.cut_received = have;
      return;
    }
    p.messages.push_back(type);
    pos += kHandshakeHeader + len;
  }
  if (pos < hs.size()) {
    // Fewer than 4 bytes of the next header: a message was started, its type is known.
    p.cut_type = hs[pos];
    p.cut_expected = 0;
    p.cut_received = 0;
  }
}

std::string hex_byte(std::uint8_t b) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 0xF];
}

}  // namespace

bool HandshakeProgress::saw(std::uint8_t type) const {
  return std::find(messages.begin(), messages.end(), type) != messages.end();
}

std::string HandshakeProgress::describe() const {
  std::string s;
  for (auto t : messages) s += (s.empty() ? "" : ", ") + handshake_type_name(t);
  if (encrypted) s += std::string(s.empty() ? "" : ", ") + "encrypted handshake records";
  if (cut_type) {
    s += std::string(s.empty() ? "" : ", then ") + handshake_type_name(*cut_type) + " cut off";
    if (cut_expected > 0)
      s += " (" + std::to_string(cut_received) + " of " + std::to_string(cut_expected) + " bytes)";
  } else if (record_cut) {
    s += std::string(s.empty() ? "" : ", then ") + "a record cut off (" + std::to_string(record_received) +
         " of " + std::to_string(record_expected) + " bytes)";
  }
  if (not_tls) s += std::string(s.empty() ? "" : "; then ") + "not TLS: " + *not_tls;
  if (s.empty()) s = bytes == 0 ? "nothing" : "no complete handshake message";
  return s;
}

HandshakeProgress handshake_progress(std::span<const std::uint8_t> stream) {
  HandshakeProgress p;
  p.bytes = stream.size();
  std::vector<std::uint8_t> handshake;  // cleartext handshake bytes, records joined
  std::size_t pos = 0;
  while (pos < stream.size()) {
    if (stream.size() - pos < kRecordHeader) {
      p.record_cut = true;  // not even the record header arrived whole
      p.record_received = 0;
      break;
    }
    const std::uint8_t type = stream[pos];
    const std::size_t len = (std::size_t{stream[pos + 3]} << 8) | stream[pos + 4];
    if (type < kChangeCipherSpec || type > kApplicationData || stream[pos + 1] != 0x03 || len > kMaxFragment) {
      p.not_tls = "byte " + std::to_string(pos) + " starts no TLS record (" + hex_byte(type) + ")";
      break;
    }
    const std::size_t have = std::min(len, stream.size() - pos - kRecordHeader);
    const auto fragment = stream.subspan(pos + kRecordHeader, have);
    if (type == kChangeCipherSpec || type == kApplicationData) p.encrypted = true;
    if (type == kHandshake && !p.encrypted) handshake.insert(handshake.end(), fragment.begin(), fragment.end());
    if (have < len) {
      p.record_cut = true;
      p.record_expected = len;
      p.record_received = have;
      break;
    }
    pos += kRecordHeader + len;
  }
  walk_messages(handshake, p);
  return p;
}

std::string handshake_type_name(std::uint8_t type) {
  switch (type) {
    case 0: return "HelloRequest";
    case 1: return "ClientHello";
    case 2: return "ServerHello";
    case 4: return "NewSessionTicket";
    case 8: return "EncryptedExtensions";
    case 11: return "Certificate";
    case 12: return "ServerKeyExchange";
    case 13: return "CertificateRequest";
    case 14: return "ServerHelloDone";
    case 15: return "CertificateVerify";
    case 16: return "ClientKeyExchange";
    case 20: return "Finished";
    default: return "handshake type " + std::to_string(type);
  }
}

}  // namespace midiag::tls
