// Fuzzes the TLS record splitter and the cleartext handshake summary (ClientHello, ServerHello,
// Certificate, alerts), one direction through summarize_handshake and both directions through
// HandshakeWalker; and the stall view (handshake_progress) of the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

#include "decoders/tls/progress.h"
#include "decoders/tls/records.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace tls = midiag::tls;

void touch(const tls::HandshakeSummary& s) {
  if (s.client_hello) {
    (void)tls::version_name(s.client_hello->legacy_version);
    for (auto v : s.client_hello->supported_versions) (void)tls::version_name(v);
  }
  if (s.server_hello) (void)tls::version_name(s.server_hello->negotiated_version());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> stream(data, size);
  // Any bytes at all: a description, and a cut-off message never claims more than arrived.
  const auto progress = tls::handshake_progress(stream);
  FUZZ_CHECK(progress.bytes == size);
  FUZZ_CHECK(!progress.describe().empty());
  FUZZ_CHECK(progress.cut_expected == 0 || progress.cut_received < progress.cut_expected);
  FUZZ_CHECK(progress.record_received <= size);

  auto split = tls::split_records(stream);
  if (!split) {
    FUZZ_CHECK(!split.error().message.empty());
    FUZZ_CHECK(split.error().kind == midiag::ErrorKind::Malformed);
    FUZZ_CHECK(split.error().offset <= size);
    return 0;
  }
  // Every record is its 5-byte header plus its fragment, and only whole records are consumed.
  std::size_t total = 0;
  for (const auto& rec : split->records) {
    total += 5 + rec.fragment.size();
    (void)tls::version_name(rec.version);
  }
  FUZZ_CHECK(total == split->consumed);
  FUZZ_CHECK(split->consumed <= size);

  auto summary = tls::summarize_handshake(split->records);
  if (summary) {
    FUZZ_CHECK(summary->records == split->records.size());
    touch(*summary);
  } else {
    FUZZ_CHECK(!summary.error().message.empty());
    FUZZ_CHECK(summary.error().kind == midiag::ErrorKind::Malformed);
    FUZZ_CHECK(summary.error().offset <= size);  // an offset in the handshake bytes, fewer still
  }

  // Both directions interleaved: the low bit of each record's version picks the sender. The
  // walker reports a malformed message and stays usable.
  tls::HandshakeWalker walker;
  for (const auto& rec : split->records) {
    const auto from =
        (rec.version & 1) != 0 ? tls::Direction::ServerToClient : tls::Direction::ClientToServer;
    (void)walker.feed(rec, from);
  }
  FUZZ_CHECK(walker.summary().records == split->records.size());
  touch(walker.summary());
  return 0;
}
