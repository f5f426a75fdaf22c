// Fuzzes TDS packet reassembly: the input is one direction of a TCP stream. It is fed to a
// MessageReader whole and, separately, in chunks whose sizes are derived from the input; both
// must agree. Each complete message goes to the decoder for its type, and through frame() back
// into a fresh reader.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

#include "decoders/tds/login7.h"
#include "decoders/tds/packet.h"
#include "decoders/tds/prelogin.h"
#include "decoders/tds/tokens.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace tds = midiag::tds;

// Deterministic per input (libFuzzer must be able to replay a crash), but different for every
// input: FNV-1a of the bytes seeds a xorshift generator.
class Chunker {
 public:
  explicit Chunker(std::span<const std::uint8_t> data) {
    for (std::uint8_t b : data) state_ = (state_ ^ b) * 0x100000001B3ULL;
    if (state_ == 0) state_ = 1;
  }
  std::uint64_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  // Mostly small chunks (including empty feeds and splits inside the 8-byte header), now and
  // then a large one.
  std::size_t chunk() {
    const std::uint64_t r = next();
    if ((r & 0xF) == 0) return static_cast<std::size_t>((r >> 8) % 4096);
    return static_cast<std::size_t>((r >> 8) % 17);
  }

 private:
  std::uint64_t state_ = 0xCBF29CE484222325ULL;
};

std::vector<tds::Message> drain(tds::MessageReader& reader) {
  std::vector<tds::Message> out;
  while (reader.has_message()) out.push_back(reader.take());
  FUZZ_CHECK(reader.take().packets == 0);  // take() on an empty queue is harmless
  return out;
}

void decode(const tds::Message& m) {
  switch (m.type) {
    case static_cast<std::uint8_t>(tds::PacketType::Prelogin):
      (void)tds::parse_prelogin(m.payload);
      break;
    case static_cast<std::uint8_t>(tds::PacketType::TabularResult):
      (void)tds::parse_prelogin(m.payload);  // the PRELOGIN answer travels as type 0x04 too
      (void)tds::parse_tokens(m.payload);
      break;
    case static_cast<std::uint8_t>(tds::PacketType::Login7):
      (void)tds::parse_login7(m.payload);
      break;
    default:
      break;
  }
}

// frame() then a fresh reader gives back exactly the message, whatever the packet size.
void check_reframe(const tds::Message& m, std::size_t packet_size) {
  const auto wire = tds::frame(static_cast<tds::PacketType>(m.type), m.payload, packet_size, 1);
  tds::MessageReader reader;
  reader.feed(wire);
  FUZZ_CHECK(!reader.failed());
  FUZZ_CHECK(reader.pending_bytes() == 0);
  FUZZ_CHECK(reader.has_message());
  const tds::Message back = reader.take();
  FUZZ_CHECK(!reader.has_message());
  FUZZ_CHECK(back.type == m.type);
  FUZZ_CHECK(back.payload == m.payload);
  FUZZ_CHECK(back.packets >= 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> stream(data, size);
  Chunker chunker(stream);

  // A small limit now and then, so the "message too large" path is reached too.
  const std::size_t max_message = (chunker.next() & 3) == 0
                                      ? static_cast<std::size_t>(chunker.next() % 2048)
                                      : tds::kDefaultMaxMessage;

  tds::MessageReader whole(max_message);
  whole.feed(stream);
  (void)whole.pending_header();

  tds::MessageReader pieces(max_message);
  std::vector<tds::Message> from_pieces;
  for (std::size_t pos = 0; pos < size;) {
    const std::size_t n = std::min(chunker.chunk(), size - pos);
    pieces.feed(stream.subspan(pos, n));
    pos += n;
    (void)pieces.pending_header();
    // Taking messages while feeding must not change what comes out.
    if ((chunker.next() & 1) != 0) {
      for (auto& m : drain(pieces)) from_pieces.push_back(std::move(m));
    }
  }
  for (auto& m : drain(pieces)) from_pieces.push_back(std::move(m));
  const std::vector<tds::Message> from_whole = drain(whole);

  FUZZ_CHECK(whole.failed() == pieces.failed());
  FUZZ_CHECK(whole.error() == pieces.error());
  if (!whole.failed()) {
    FUZZ_CHECK(whole.pending_bytes() == pieces.pending_bytes());
    FUZZ_CHECK(whole.pending_header().has_value() == pieces.pending_header().has_value());
    // What arrived of the message still awaited is the same however the bytes came, and never
    // more than the bytes fed.
    const auto pending = whole.pending_payload();
    FUZZ_CHECK(pending == pieces.pending_payload());
    FUZZ_CHECK(pending.size() <= size);
  }
  FUZZ_CHECK(from_whole.size() == from_pieces.size());
  for (std::size_t i = 0; i < from_whole.size(); ++i) {
    FUZZ_CHECK(from_whole[i].type == from_pieces[i].type);
    FUZZ_CHECK(from_whole[i].payload == from_pieces[i].payload);
    FUZZ_CHECK(from_whole[i].packets == from_pieces[i].packets);
    FUZZ_CHECK(from_whole[i].payload.size() <= max_message);
  }

  for (const auto& m : from_whole) {
    decode(m);
    check_reframe(m, tds::kHeaderSize + 1 + chunker.next() % 600);
  }

  // Parsing a header on its own agrees with what the reader saw.
  if (auto h = tds::parse_header(stream)) FUZZ_CHECK(h->length >= tds::kHeaderSize);
  return 0;
}
