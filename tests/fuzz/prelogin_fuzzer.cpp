// Fuzzes the PRELOGIN decoder (either direction) and the parse -> build -> parse round trip.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

#include "decoders/tds/prelogin.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using midiag::tds::Prelogin;

// build_prelogin cuts every option to 1024 bytes (the instance name includes its NUL).
constexpr std::size_t kBuilderCap = 1024;

void check_round_trip(const Prelogin& p) {
  const auto wire = midiag::tds::build_prelogin(p);
  auto again = midiag::tds::parse_prelogin(wire);
  FUZZ_CHECK(again.ok());
  const Prelogin& q = *again;

  // VERSION is always sent (zeros when absent), so it round-trips only when it was there.
  FUZZ_CHECK(q.version.has_value());
  if (p.version) {
    FUZZ_CHECK(q.version->major == p.version->major);
    FUZZ_CHECK(q.version->minor == p.version->minor);
    FUZZ_CHECK(q.version->build == p.version->build);
    FUZZ_CHECK(q.version->sub_build == p.version->sub_build);
    FUZZ_CHECK(q.version->raw.size() == 6);
  }
  FUZZ_CHECK(q.encryption == p.encryption);
  FUZZ_CHECK(q.client_cert == p.client_cert);
  if (p.instance && p.instance->size() < kBuilderCap) FUZZ_CHECK(q.instance == p.instance);
  FUZZ_CHECK(q.instance.has_value() == p.instance.has_value());
  FUZZ_CHECK(q.thread_id == p.thread_id);
  FUZZ_CHECK(q.thread_id_present == p.thread_id_present);
  FUZZ_CHECK(q.mars == p.mars);
  if (p.trace_id && p.trace_id->size() <= kBuilderCap) FUZZ_CHECK(q.trace_id == p.trace_id);
  FUZZ_CHECK(q.trace_id.has_value() == p.trace_id.has_value());
  FUZZ_CHECK(q.fedauth_required == p.fedauth_required);
  if (p.nonce && p.nonce->size() <= kBuilderCap) FUZZ_CHECK(q.nonce == p.nonce);
  FUZZ_CHECK(q.nonce.has_value() == p.nonce.has_value());
  FUZZ_CHECK(q.unknown_options.empty());  // the builder only writes the options it knows

  // Once through the builder, the bytes are a fixed point: build(parse(build(p))) == build(p).
  FUZZ_CHECK(midiag::tds::build_prelogin(q) == wire);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = midiag::tds::parse_prelogin(std::span<const std::uint8_t>(data, size));
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().message.empty());
    FUZZ_CHECK(parsed.error().kind == midiag::ErrorKind::Malformed);
    FUZZ_CHECK(parsed.error().offset <= size);
    return 0;
  }
  if (parsed->version) (void)parsed->version->str();
  if (parsed->encryption) (void)midiag::tds::to_string(*parsed->encryption);
  check_round_trip(*parsed);
  return 0;
}
