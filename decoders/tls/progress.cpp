#include "decoders/tls/progress.h"

#include <algorithm>

#include "decoders/tls/records.h"

namespace midiag::tls {

namespace {

constexpr std::size_t kHandshakeHeader = 4;

}  // namespace

bool HandshakeProgress::saw(std::uint8_t type) const {
  return std::find(messages.begin(), messages.end(), type) != messages.end();
}

std::string HandshakeProgress::describe() const {
  std::string s;
  for (auto t : messages) s += (s.empty() ? "" : ", ") + handshake_type_name(t);
  if (encrypted) s += std::string(s.empty() ? "" : ", ") + "then encrypted records";
  if (cut_type) {
    s += std::string(s.empty() ? "" : ", then ") + handshake_type_name(*cut_type) + " cut off";
    if (cut_expected > 0)
      s += " (" + std::to_string(cut_received) + " of " + std::to_string(cut_expected) + " bytes)";
  } else if (record_cut && record_expected == 0) {
    s += std::string(s.empty() ? "" : ", then ") + "a record header cut off (" +
         std::to_string(record_received) + " of 5 bytes)";
  } else if (record_cut) {
    s += std::string(s.empty() ? "" : ", then ") + "a record cut off (" +
         std::to_string(record_received) + " of " + std::to_string(record_expected) + " bytes)";
  }
  if (not_tls) s += std::string(s.empty() ? "" : "; then ") + "not TLS: " + *not_tls;
  if (s.empty()) s = bytes == 0 ? "nothing" : "no complete handshake message";
  return s;
}

HandshakeProgress handshake_progress(std::span<const std::uint8_t> stream) {
  HandshakeProgress p;
  p.bytes = stream.size();
  // The records as they came, the last one possibly cut short: the walker joins handshake
  // messages across records and keeps what does not yet form a whole one.
  HandshakeWalker walker;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const auto rest = stream.subspan(pos);
    auto header = parse_record_header(rest);
    if (!header) {
      p.not_tls = header.error().message + " at byte " + std::to_string(pos);
      break;
    }
    if (!*header) {  // not even the record header arrived whole
      p.record_cut = true;
      p.record_received = rest.size();
      break;
    }
    const std::size_t have = std::min((*header)->length, rest.size() - kRecordHeaderSize);
    Record record;
    record.content_type = (*header)->content_type;
    record.version = (*header)->version;
    const auto fragment = rest.subspan(kRecordHeaderSize, have);
    record.fragment.assign(fragment.begin(), fragment.end());
    (void)walker.feed(record,
                      Direction::ServerToClient);  // a malformed body still counts as arrived
    if (have < (*header)->length) {
      p.record_cut = true;
      p.record_expected = (*header)->length;
      p.record_received = have;
      break;
    }
    pos += kRecordHeaderSize + (*header)->length;
  }
  const auto& summary = walker.summary();
  p.messages = summary.handshake_types;
  p.encrypted = summary.saw_change_cipher_spec || summary.saw_application_data;
  const auto pending = walker.pending(Direction::ServerToClient);
  if (!pending.empty()) {
    p.cut_type = pending[0];
    if (pending.size() >= kHandshakeHeader) {
      p.cut_expected =
          (std::size_t{pending[1]} << 16) | (std::size_t{pending[2]} << 8) | pending[3];
      p.cut_received = pending.size() - kHandshakeHeader;
    }
  }
  return p;
}

std::string handshake_type_name(std::uint8_t type) {
  switch (type) {
    case 0:
      return "HelloRequest";
    case 1:
      return "ClientHello";
    case 2:
      return "ServerHello";
    case 4:
      return "NewSessionTicket";
    case 8:
      return "EncryptedExtensions";
    case 11:
      return "Certificate";
    case 12:
      return "ServerKeyExchange";
    case 13:
      return "CertificateRequest";
    case 14:
      return "ServerHelloDone";
    case 15:
      return "CertificateVerify";
    case 16:
      return "ClientKeyExchange";
    case 20:
      return "Finished";
    default:
      return "handshake type " + std::to_string(type);
  }
}

}  // namespace midiag::tls
