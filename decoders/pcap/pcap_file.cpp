// read_capture(): the stream reader fed the whole buffer, each frame copied out.
#include "decoders/pcap/pcap_file.h"

#include "decoders/pcap/stream.h"

namespace midiag::pcap {

Expected<CaptureFile> read_capture(std::span<const std::uint8_t> bytes) {
  CaptureFile file;
  CaptureStream stream([&file](const FrameView& f) {
    file.frames.push_back(Frame{static_cast<double>(f.timestamp_ns) / 1e9, f.link_type,
                                std::vector<std::uint8_t>(f.data.begin(), f.data.end()),
                                f.original_length});
  });
  stream.feed(bytes);
  auto stats = stream.finish();
  if (!stats) return stats.error();
  file.format = stats->format;
  file.truncated = stats->truncated;
  file.message = std::move(stats->message);
  return file;
}

}  // namespace midiag::pcap
