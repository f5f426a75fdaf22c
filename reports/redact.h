// Redaction for everything that leaves the machine in a bundle (spec §7): the secrets this run
// knows (the password, a connection string's secrets) wherever they appear and in every encoding
// a capture can carry them in, plus rules for secrets it does not know (connection-string keys,
// tokens, keys). Counts what was removed per rule and member, never the values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace midiag::reports {

// What one rule removed from one member (redactions.json).
struct RedactionCount {
  std::string rule;    // e.g. "known-secret", "connection-string:Password"
  std::string member;  // e.g. "report.json", "system/resolv.conf"
  std::size_t count = 0;
};

inline constexpr std::string_view kRedacted = "[REDACTED]";

class Redactor {
 public:
  // A secret this run knows: removed wherever it appears, as UTF-8, UTF-16LE and the LOGIN7
  // password obfuscation (UTF-16LE, nibbles swapped, XOR 0xA5). Empty strings are ignored.
  void add_known_secret(std::string_view secret);

  // A text member: the rules, then the known secrets, each replaced by kRedacted.
  std::string redact_text(std::string_view text, std::string_view member);

  // A binary member (capture.pcap): the known secrets in all three encodings overwritten in place
  // by as many '*' bytes, so every offset and length in the file stays valid.
  void scrub_bytes(std::span<std::uint8_t> bytes, std::string_view member);

  [[nodiscard]] const std::vector<RedactionCount>& counts() const { return counts_; }

 private:
  void count(std::string_view rule, std::string_view member, std::size_t n);
  std::vector<std::string> secrets_;                  // UTF-8
  std::vector<std::vector<std::uint8_t>> encodings_;  // every secret in every encoding
  std::vector<RedactionCount> counts_;
};

// The byte forms a secret takes on the wire or on disk (UTF-8, UTF-16LE, TDS-obfuscated).
std::vector<std::vector<std::uint8_t>> secret_encodings(std::string_view secret);

}  // namespace midiag::reports
