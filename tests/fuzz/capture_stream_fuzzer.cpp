// Fuzzes the streaming capture reader (decoders/pcap/stream.h) and decode_packet(FrameView).
// The input's first byte picks the chunk sizes the rest is fed in, so chunk boundaries fall
// everywhere; the frames must not depend on them, and every frame must lie inside the input.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "decoders/pcap/duplicates.h"
#include "decoders/pcap/link_layer.h"
#include "decoders/pcap/stream.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace pcap = midiag::pcap;

struct Seen {
  std::uint64_t offset = 0;
  std::size_t size = 0;
  std::uint64_t hash = 0;
  std::uint32_t link = 0;
  std::int64_t ts = 0;
  bool operator==(const Seen&) const = default;
};

struct Run {
  std::vector<Seen> frames;
  bool ok = false;
  bool truncated = false;
  std::uint64_t duplicates = 0;
};

Run run(std::span<const std::uint8_t> file, std::uint8_t seed, bool dedup) {
  Run r;
  pcap::StreamOptions options;
  options.drop_duplicates = dedup;
  pcap::CaptureStream stream(
      [&](const pcap::FrameView& f) {
        FUZZ_CHECK(f.data.size() <= pcap::kMaxFrameBytes);
        FUZZ_CHECK(f.file_offset < file.size());
        FUZZ_CHECK(f.data.size() <= file.size() - f.file_offset);
        r.frames.push_back(Seen{f.file_offset, f.data.size(), pcap::hash_bytes(f.data), f.link_type,
                                f.timestamp_ns});
        if (auto p = pcap::decode_packet(f); p) {
          (void)p->src.str();
          FUZZ_CHECK(p->payload.size() <= p->payload_length);
          FUZZ_CHECK(p->payload.size() <= f.data.size());
        } else {
          const auto& e = p.error();
          FUZZ_CHECK(!e.message.empty());
          FUZZ_CHECK(e.kind != midiag::ErrorKind::Malformed || e.offset <= f.data.size());
        }
      },
      options);
  // Chunk sizes cycle through a few values derived from the seed: 1 byte up to 4 KiB.
  const std::size_t sizes[] = {1U + (seed & 7U), 1U + (seed >> 3U) * 97U, 4096, 3};
  std::size_t at = 0;
  for (std::size_t i = 0; at < file.size(); ++i) {
    const std::size_t n = std::min(sizes[i % 4], file.size() - at);
    const bool more = stream.feed(file.subspan(at, n));
    at += n;
    if (!more) break;
  }
  FUZZ_CHECK(stream.stats().bytes <= file.size());
  auto stats = stream.finish();
  if (stats) {
    r.ok = true;
    r.truncated = stats->truncated;
    r.duplicates = stats->duplicates;
    if (stats->truncated) FUZZ_CHECK(stats->message.find("byte offset") != std::string::npos);
    FUZZ_CHECK(stats->frames == r.frames.size());
    FUZZ_CHECK(stats->frames <= file.size());
  } else {
    FUZZ_CHECK(stats.error().kind == midiag::ErrorKind::Malformed);
    FUZZ_CHECK(stats.error().offset == 0);
    FUZZ_CHECK(r.frames.empty());
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> file(data + 1, size - 1);
  const Run chunked = run(file, data[0], false);
  const Run whole = run(file, 0xFF, false);  // chunks of 8, 2979, 4096, 3 bytes
  FUZZ_CHECK(chunked.ok == whole.ok);
  FUZZ_CHECK(chunked.truncated == whole.truncated);
  FUZZ_CHECK(chunked.frames == whole.frames);
  const Run dedup = run(file, data[0], true);
  FUZZ_CHECK(dedup.frames.size() + dedup.duplicates == whole.frames.size());
  return 0;
}
