// Fuzzes the DNS response decoder (name compression, pointer loops, record bounds) and the CNAME
// chain walk over whatever it decodes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "decoders/dns/message.h"
#include "tests/fuzz/fuzz_check.h"

namespace dns = midiag::dns;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = dns::parse_message(std::span<const std::uint8_t>(data, size));
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().message.empty());
    FUZZ_CHECK(parsed.error().kind == midiag::ErrorKind::Malformed);
    FUZZ_CHECK(parsed.error().offset <= size);
    return 0;
  }
  const dns::Message& m = *parsed;
  FUZZ_CHECK(m.answers.size() == m.header.ancount);
  (void)m.header.rcode();
  (void)m.header.truncated();

  for (const auto& rr : m.answers) {
    // Escaped presentation form: an encoded name is at most 255 bytes, each byte at most "\ddd".
    FUZZ_CHECK(rr.name.size() <= 4 * 255);
    FUZZ_CHECK(rr.target.size() <= 4 * 255);
    const std::string c = dns::canonical_name(rr.name);
    FUZZ_CHECK(dns::canonical_name(c) == c || (!c.empty() && c.back() == '.'));
  }

  // Walk from every owner name (bounded: the walk is linear in the answers per start).
  const std::size_t starts = m.answers.size() < 16 ? m.answers.size() : 16;
  for (std::size_t i = 0; i < starts; ++i) {
    const auto chain = dns::follow_cname_chain(m, m.answers[i].name);
    FUZZ_CHECK(chain.chain.size() <= m.answers.size());
    FUZZ_CHECK(chain.addresses.size() <= m.answers.size());
    for (const auto& a : chain.addresses) {
      FUZZ_CHECK(a.type == dns::kTypeA || a.type == dns::kTypeAaaa);
    }
  }
  (void)dns::follow_cname_chain(m, "");
  return 0;
}
