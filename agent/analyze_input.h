// The input side of analyze: frames from a capture file (streamed in bounded memory), from bytes
// already in memory, or from a live capture, decoded and reassembled one at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "agent/analyze.h"
#include "decoders/common/expected.h"
#include "decoders/pcap/frame_view.h"

namespace midiag::agent {

// Decodes each frame as it comes and feeds the session tracker: nothing of a frame is kept beyond
// what the tracker keeps (bounded by FlowOptions).
class FrameFeed {
 public:
  explicit FrameFeed(const pcap::FlowOptions& options);
  void add(const pcap::FrameView& frame);
  [[nodiscard]] std::uint64_t frames() const { return frames_; }
  // The tracker is empty afterwards.
  CaptureInput finish(std::string format, bool truncated, std::string truncated_message);

 private:
  pcap::SessionTracker tracker_;
  capture::DnsSeen dns_;
  bool dedup_ = true;  // fingerprints are only worth computing when duplicates are dropped
  std::uint64_t frames_ = 0;
  std::optional<double> first_time_, last_time_;
};

// Streams the capture file at `path` (platform::read_capture_file) into the analysis. Errors as
// read_capture_file's: ErrorKind::Malformed when the file is not a capture, Usage or Io when it
// cannot be read.
Expected<reports::Report> analyze_capture_file(const std::string& path,
                                               const AnalyzeOptions& options);

}  // namespace midiag::agent
