#include "agent/analyze_input.h"

#include <utility>

#include "decoders/pcap/link_layer.h"
#include "decoders/pcap/stream.h"
#include "platform/capture/capture_file.h"

namespace midiag::agent {

FrameFeed::FrameFeed(const pcap::FlowOptions& options)
    : tracker_(options), dedup_(options.drop_duplicates) {}

void FrameFeed::add(const pcap::FrameView& frame) {
  ++frames_;
  const double t = static_cast<double>(frame.timestamp_ns) / 1e9;
  if (!first_time_) first_time_ = t;
  last_time_ = t;
  auto packet = pcap::decode_packet(frame);
  if (!packet) {
    tracker_.add_undecoded();
    return;
  }
  if (packet->udp) {  // TCP packets pass this one test and nothing more
    dns_.add(*packet);
    return;
  }
  tracker_.add(*packet, dedup_ ? pcap::packet_fingerprint(frame.data, *packet) : 0);
}

CaptureInput FrameFeed::finish(std::string format, bool truncated, std::string truncated_message) {
  CaptureInput in;
  in.format = std::move(format);
  in.packets = frames_;
  in.truncated = truncated;
  in.truncated_message = std::move(truncated_message);
  in.first_time = first_time_;
  in.last_time = last_time_;
  in.flows = tracker_.finish();
  for (const auto& s : in.flows.sessions)
    if (s.server.port == capture::kDnsPort) dns_.add_tcp(s);
  in.dns = dns_.finish();
  return in;
}

namespace {

std::string format_name(const pcap::StreamStats& s) {
  return s.format == pcap::FileFormat::Pcapng ? "pcapng" : "pcap";
}

}  // namespace

Expected<reports::Report> analyze_capture(std::span<const std::uint8_t> bytes,
                                          const AnalyzeOptions& options) {
  FrameFeed feed(options.flow);
  pcap::CaptureStream stream([&](const pcap::FrameView& f) { feed.add(f); });
  stream.feed(bytes);
  auto stats = stream.finish();
  if (!stats) return stats.error();
  return analyze_flows(feed.finish(format_name(*stats), stats->truncated, stats->message), options);
}

Expected<reports::Report> analyze_capture_file(const std::string& path,
                                               const AnalyzeOptions& options) {
  FrameFeed feed(options.flow);
  auto stats = platform::read_capture_file(path, [&](const pcap::FrameView& f) { feed.add(f); });
  if (!stats) return stats.error();
  return analyze_flows(feed.finish(format_name(*stats), stats->truncated, stats->message), options);
}

}  // namespace midiag::agent
