#include "platform/capture/capture_file.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <vector>

#include "platform/text/input_file.h"

namespace midiag::platform {

Expected<pcap::StreamStats> read_capture_file(const std::string& path,
                                              const pcap::FrameCallback& on_frame,
                                              const CaptureFileOptions& options) {
  const std::string name = "capture file " + path;
  auto fd = open_input_file(path, "capture file");
  if (!fd) return fd.error();

  pcap::CaptureStream stream(on_frame, options.stream);
  std::vector<std::uint8_t> buffer(std::max<std::size_t>(options.chunk_bytes, 4096));
  for (;;) {
    const ssize_t n = ::read(fd->get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(name + ": cannot be read: " + std::generic_category().message(errno),
                        ErrorKind::Io);
    }
    if (n == 0) break;
    // Once the reader has stopped (a broken structure) the rest of the file is not read.
    if (!stream.feed(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)))) {
      break;
    }
  }
  auto stats = stream.finish();
  if (!stats) {
    Error e = stats.error();
    e.message = name + ": " + e.message;
    return e;
  }
  return stats;
}

}  // namespace midiag::platform
