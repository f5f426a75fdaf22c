// How far one direction of a TLS handshake got, from the bytes that arrived: the handshake
// messages that arrived whole and the one cut off, with how many of its bytes came. A stalled
// handshake is then told apart by where it stopped (nothing of the server's flight, or the
// Certificate message cut off, is what a path-MTU black hole looks like).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace midiag::tls {

struct HandshakeProgress {
  std::size_t bytes = 0;                 // stream bytes looked at
  std::vector<std::uint8_t> messages;    // handshake types that arrived whole, in order
  bool encrypted = false;                // ChangeCipherSpec or application data seen: later
                                         // handshake content (all of it after TLS 1.3's
                                         // ServerHello) cannot be read
  std::optional<std::uint8_t> cut_type;  // the handshake message cut off, if its header came
  std::size_t cut_expected = 0;          // that message's announced body length
  std::size_t cut_received = 0;          // of which arrived
  bool record_cut = false;               // the stream ends inside a record (or its header)
  std::size_t record_expected = 0;       // that record's announced fragment length; 0 when
                                         // the 5-byte header itself was cut
  std::size_t record_received = 0;       // of which arrived (header bytes if it was cut)
  std::optional<std::string> not_tls;    // the stream stopped looking like TLS here (why)

  // True when nothing is cut off: the stream ended on a record and message boundary.
  [[nodiscard]] bool complete() const { return !record_cut && !cut_type; }
  [[nodiscard]] bool saw(std::uint8_t type) const;
  // One line, e.g. "ServerHello, then Certificate cut off (612 of 1830 bytes)".
  [[nodiscard]] std::string describe() const;
};

// Never fails: garbage ends the walk and is named in `not_tls`.
HandshakeProgress handshake_progress(std::span<const std::uint8_t> stream);

// "ClientHello", "ServerHello", "Certificate", ... or "handshake type N".
std::string handshake_type_name(std::uint8_t type);

}  // namespace midiag::tls
