// TLS record walker (RFC 5246/8446 framing): content types, handshake messages, the fields a
// diagnosis needs (ClientHello SNI/ALPN/versions, ServerHello version, Certificate chain bytes).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::tls {

enum class ContentType : std::uint8_t {
  ChangeCipherSpec = 20,
  Alert = 21,
  Handshake = 22,
  ApplicationData = 23
};

// Handshake message types (RFC 5246 §7.4, RFC 8446 §4) the diagnosis names or reads.
namespace handshake {
inline constexpr std::uint8_t kClientHello = 1, kServerHello = 2, kCertificate = 11,
                              kServerHelloDone = 14;
}  // namespace handshake

struct Record {
  std::uint8_t content_type = 0;
  std::uint16_t version = 0;  // record-layer version (0x0303 for TLS 1.2 and 1.3)
  std::vector<std::uint8_t> fragment;
};

struct ClientHello {
  std::uint16_t legacy_version = 0;
  std::optional<std::string> sni;
  std::vector<std::string> alpn;
  std::vector<std::uint16_t> supported_versions;  // extension 43
  std::vector<std::uint16_t> cipher_suites;
};

struct ServerHello {
  std::uint16_t legacy_version = 0;
  std::optional<std::uint16_t> selected_version;  // supported_versions ext (TLS 1.3)
  std::uint16_t cipher_suite = 0;
  std::optional<std::string> alpn;
  [[nodiscard]] std::uint16_t negotiated_version() const {
    return selected_version.value_or(legacy_version);
  }
};

struct Alert {
  std::uint8_t level = 0, description = 0;
};

struct HandshakeSummary {
  std::vector<std::uint8_t>
      handshake_types;  // in order (1 ClientHello, 2 ServerHello, 11 Certificate...)
  std::optional<ClientHello> client_hello;
  std::optional<ServerHello> server_hello;
  std::vector<std::vector<std::uint8_t>> certificates;  // DER, leaf first (TLS 1.2 Certificate)
  std::vector<Alert> alerts;                            // only cleartext alerts
  bool saw_change_cipher_spec = false;
  bool saw_application_data = false;
  std::size_t records = 0;
};

// Splits a byte stream into records; returns the complete ones and how many bytes were consumed
// (a partial record at the end stays unconsumed). A record with an impossible header (unknown
// content type, length > 2^14+2048) is an Error naming the offset.
struct RecordSplit {
  std::vector<Record> records;
  std::size_t consumed = 0;
};
Expected<RecordSplit> split_records(std::span<const std::uint8_t> stream);

// The 5-byte header at the start of `stream`: nothing while fewer than 5 bytes are there, an
// Error when it cannot start a TLS record (the rule split_records applies to every record).
struct RecordHeader {
  std::uint8_t content_type = 0;
  std::uint16_t version = 0;
  std::size_t length = 0;  // of the fragment that follows
};
inline constexpr std::size_t kRecordHeaderSize = 5;
Expected<std::optional<RecordHeader>> parse_record_header(std::span<const std::uint8_t> stream);

// Walks cleartext handshake records (one direction or both, in order) into a summary. Handshake
// messages may span records. Encrypted handshake content after ChangeCipherSpec is not parsed.
Expected<HandshakeSummary> summarize_handshake(const std::vector<Record>& records);

std::string version_name(std::uint16_t v);  // 0x0303 -> "TLSv1.2"

// Both directions of one connection in capture order: each direction keeps its own handshake
// reassembly and ChangeCipherSpec state, so one side's CCS does not hide the other's cleartext.
enum class Direction : std::uint8_t { ClientToServer = 0, ServerToClient = 1 };

class HandshakeWalker {
 public:
  // An Error names a malformed cleartext message; the walker skips it and stays usable.
  std::optional<Error> feed(const Record& record, Direction from);
  [[nodiscard]] const HandshakeSummary& summary() const { return summary_; }
  // Handshake bytes of one direction that do not yet form a whole message (its header first).
  [[nodiscard]] std::span<const std::uint8_t> pending(Direction from) const {
    return sides_[static_cast<std::size_t>(from) & 1U].pending;
  }

 private:
  struct Side {
    std::vector<std::uint8_t> pending;  // handshake bytes not yet forming a whole message
    std::size_t consumed = 0;           // handshake bytes already parsed (for error offsets)
    bool encrypted = false;             // set by this side's ChangeCipherSpec
  };
  std::optional<Error> drain(Side& side);
  Side sides_[2];
  HandshakeSummary summary_;
};

}  // namespace midiag::tls
