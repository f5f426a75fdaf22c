// Reading a capture file (pcap, pcapng) from disk through the stream reader, a chunk at a time:
// memory stays the same whatever the file's size.
#pragma once

#include <cstddef>
#include <string>

#include "decoders/common/expected.h"
#include "decoders/pcap/stream.h"

namespace midiag::platform {

struct CaptureFileOptions {
  std::size_t chunk_bytes = 1024U * 1024U;  // one read(2) at a time, one buffer for the whole file
  pcap::StreamOptions stream;
};

// Streams the capture at `path` to `on_frame` (views valid during the call only) and returns the
// reader's stats: `truncated` and `message` say what was not read when the file is cut short or
// broken. Errors:
//   - a directory, FIFO, socket or device (ErrorKind::Usage), refused before any read;
//   - a file that cannot be opened or read (ErrorKind::Io);
//   - a file that is not a capture at all: empty, or an unknown magic (ErrorKind::Malformed).
// Every message starts with "capture file <path>: ".
Expected<pcap::StreamStats> read_capture_file(const std::string& path,
                                              const pcap::FrameCallback& on_frame,
                                              const CaptureFileOptions& options = {});

}  // namespace midiag::platform
