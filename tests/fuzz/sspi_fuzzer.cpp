// Fuzzes the NTLMSSP / SSPI decoder (decoders/tds/sspi.h): any bytes give a message or a
// Malformed error inside the input, names are valid UTF-8 and bounded, and the token scan
// agrees with the kind it reports.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "decoders/common/utf8.h"
#include "decoders/tds/sspi.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto m = midiag::tds::parse_ntlmssp(bytes);
  if (!m) {
    FUZZ_CHECK(m.error().kind == midiag::ErrorKind::Malformed);
    FUZZ_CHECK(m.error().offset <= size);
  } else {
    for (const std::string* s : {&m->domain, &m->user, &m->workstation}) {
      FUZZ_CHECK(midiag::is_valid_utf8(*s));
      FUZZ_CHECK(s->size() <= 3 * 512);  // 512 input bytes at most, 3 UTF-8 bytes per unit
    }
    if (m->type != midiag::tds::kNtlmAuthenticate) FUZZ_CHECK(m->user.empty());
  }
  const auto found = midiag::tds::find_ntlmssp(bytes);
  FUZZ_CHECK((midiag::tds::sspi_kind(bytes) == "ntlm") == found.has_value());
  if (m) FUZZ_CHECK(found.has_value());  // a message at offset 0 is found by the scan too
  if (found) FUZZ_CHECK(midiag::is_valid_utf8(midiag::tds::ntlm_login_name(*found)));
  return 0;
}
