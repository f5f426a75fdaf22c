// Fuzzes the LOGIN7 decoder (with and without the password) and the parse -> build -> parse
// round trip.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "decoders/tds/login7.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using midiag::tds::Login7;

constexpr std::uint8_t kExtensionFlag = 0x10;  // build_login7 never sends a feature extension
constexpr std::size_t kMaxChars = 128;         // build_login7 cuts every string to this

// A decoded string survives the builder only when it fits its 128 UTF-16 code units.
bool fits(const std::string& s) {
  return midiag::tds::to_utf16le(s).size() <= 2 * kMaxChars;
}

void same_string(const std::string& before, const std::string& after) {
  if (fits(before)) FUZZ_CHECK(after == before);
}

void check_round_trip(const Login7& l) {
  const auto wire = midiag::tds::build_login7(l);
  auto again = midiag::tds::parse_login7(wire, /*reveal_password=*/true);
  FUZZ_CHECK(again.ok());
  const Login7& m = *again;
  FUZZ_CHECK(m.tds_version == l.tds_version);
  FUZZ_CHECK(m.packet_size == l.packet_size);
  FUZZ_CHECK(m.client_prog_version == l.client_prog_version);
  FUZZ_CHECK(m.client_pid == l.client_pid);
  FUZZ_CHECK(m.connection_id == l.connection_id);
  FUZZ_CHECK(m.option_flags1 == l.option_flags1);
  FUZZ_CHECK(m.option_flags2 == l.option_flags2);
  FUZZ_CHECK(m.type_flags == l.type_flags);
  FUZZ_CHECK(m.option_flags3 == (l.option_flags3 & static_cast<std::uint8_t>(~kExtensionFlag)));
  same_string(l.host_name, m.host_name);
  same_string(l.user_name, m.user_name);
  same_string(l.password, m.password);
  same_string(l.app_name, m.app_name);
  same_string(l.server_name, m.server_name);
  same_string(l.library_name, m.library_name);
  same_string(l.language, m.language);
  same_string(l.database, m.database);
  // Once through the builder, the bytes are a fixed point.
  FUZZ_CHECK(midiag::tds::build_login7(m) == wire);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> payload(data, size);

  // The UTF-16 helpers on their own: any bytes decode, and the UTF-8 they give is lossless.
  const std::string text = midiag::tds::from_utf16le(payload);
  FUZZ_CHECK(midiag::tds::from_utf16le(midiag::tds::to_utf16le(text)) == text);

  auto hidden = midiag::tds::parse_login7(payload);
  auto revealed = midiag::tds::parse_login7(payload, /*reveal_password=*/true);
  FUZZ_CHECK(hidden.ok() == revealed.ok());
  if (!revealed) {
    FUZZ_CHECK(revealed.error().kind == midiag::ErrorKind::Malformed);
    FUZZ_CHECK(revealed.error().offset <= size);
    return 0;
  }
  FUZZ_CHECK(hidden->password.empty());  // reports must never carry the password
  FUZZ_CHECK(hidden->user_name == revealed->user_name);
  check_round_trip(*revealed);
  return 0;
}
