// Reader benchmark: streams a capture file through platform::read_capture_file (1 MiB chunks)
// and decode_packet(FrameView) for every frame, on one thread, and prints packets/s and the
// process's peak RSS.
//   read_bench FILE [--dedup] [--no-decode]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "decoders/pcap/link_layer.h"
#include "platform/capture/capture_file.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: read_bench FILE [--dedup] [--no-decode]\n");
    return 2;
  }
  midiag::platform::CaptureFileOptions options;
  bool decode = true;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--dedup") == 0) options.stream.drop_duplicates = true;
    if (std::strcmp(argv[i], "--no-decode") == 0) decode = false;
  }
  std::uint64_t frames = 0, decoded = 0, tcp_payload = 0;
  const auto start = std::chrono::steady_clock::now();
  auto stats = midiag::platform::read_capture_file(
      argv[1],
      [&](const midiag::pcap::FrameView& f) {
        ++frames;
        if (!decode) return;
        if (auto p = midiag::pcap::decode_packet(f); p) {
          ++decoded;
          tcp_payload += p->payload.size();
        }
      },
      options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!stats) {
    std::fprintf(stderr, "%s\n", stats.error().message.c_str());
    return 1;
  }
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "file=%s frames=%llu decoded=%llu duplicates=%llu bytes=%llu truncated=%d seconds=%.3f "
      "packets_per_s=%.0f MB_per_s=%.1f peak_rss_kib=%ld\n",
      argv[1], static_cast<unsigned long long>(frames), static_cast<unsigned long long>(decoded),
      static_cast<unsigned long long>(stats->duplicates),
      static_cast<unsigned long long>(stats->bytes), stats->truncated ? 1 : 0, seconds,
      static_cast<double>(frames) / seconds, static_cast<double>(stats->bytes) / seconds / 1e6,
      usage.ru_maxrss);
  (void)tcp_payload;
  return 0;
}
