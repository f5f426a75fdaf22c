// analyze: a capture's reassembled connections in, a report out (sessions, findings). No I/O
// here; agent/analyze_input.h streams files and frames into it.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "decoders/capture/dns_seen.h"
#include "decoders/common/expected.h"
#include "decoders/pcap/flows.h"
#include "decoders/pcap/frame_view.h"
#include "reports/report.h"

namespace midiag::agent {

struct AnalyzeOptions {
  std::string file;  // as the report names it
  std::string tool_version = "unknown";
  std::vector<std::uint16_t> ports;  // server ports that count as SQL; empty: the defaults
  pcap::FlowOptions flow = default_flow_options();
  double redirect_window_s = 10.0;  // an encrypted redirect's next connection starts within this

  // Bounded whatever the capture: the stream bytes of all connections together stay within
  // max_bytes_total, and each kept connection's own state (summaries, delivery marks, resets)
  // within a few KiB, so the tracker's worst case is about 24 + 4,096 x 4 KiB = 40 MiB. The
  // steps analyze decodes (handshake, PRELOGIN, TLS handshake, LOGIN7, login response) sit at the
  // start of each stream: 16 KiB per direction holds them, certificate chains included.
  static pcap::FlowOptions default_flow_options() {
    pcap::FlowOptions f;
    f.max_bytes_per_direction = 16U * 1024U;
    f.max_sessions = 4096;
    f.max_packets_per_session = 16;  // summaries: nothing in the report lists packets
    f.max_bytes_total = 24U * 1024U * 1024U;
    f.drop_duplicates = true;
    return f;
  }
};

// 1433, 3342, 5022, 11000-11999.
std::vector<std::uint16_t> default_sql_ports();

// Links each gateway session whose login was routed (in clear) or encrypted to the connection
// its client made next to the routed node: sets redirect_to / redirected_from /
// redirect_inferred. `sorted_ports`: the SQL ports of the analysis, sorted.
void link_redirects(std::vector<reports::CaptureSession>& sessions, double window_s,
                    const std::vector<std::uint16_t>& sorted_ports);

// What the input side (agent/analyze_input.h: a file, bytes, a live capture) hands over: the
// reassembled connections and what the capture itself was.
struct CaptureInput {
  std::string format = "pcap";  // pcap|pcapng
  std::uint64_t packets = 0;    // frames read
  bool truncated = false;
  std::string truncated_message;
  std::optional<double> first_time, last_time;  // of the first and last frame
  pcap::FlowReport flows;
  capture::DnsSeenReport dns;            // DNS over UDP port 53 in the capture
  std::vector<std::string> limitations;  // the input's own (e.g. a live capture's drops)
};

// The sessions, findings and limitations of a capture already reassembled.
reports::Report analyze_flows(CaptureInput input, const AnalyzeOptions& options);

// The connections a set of frames holds (the SQL ones, or any speaking TDS), explained step by
// step: what check does with its own live capture.
struct FrameAnalysis {
  reports::PacketEvidence packets;  // file/format/truncated are the caller's to fill
  bool capped = false;              // a connection had more bytes than were decoded
  std::size_t skipped = 0;          // TCP packets left out (the `skip` port pairs)
};
// `skip`: (local port, remote port) pairs whose TCP packets are not connections of interest
// (check: the trace's TTL-limited SYNs), in either direction.
FrameAnalysis analyze_frames(const std::vector<pcap::FrameView>& frames,
                             const AnalyzeOptions& options,
                             const std::set<std::pair<std::uint16_t, std::uint16_t>>& skip = {});

// The bytes of a whole capture file, streamed (agent/analyze_input.cpp). An Error
// (ErrorKind::Malformed) when the bytes are not a pcap or pcapng file.
Expected<reports::Report> analyze_capture(std::span<const std::uint8_t> bytes,
                                          const AnalyzeOptions& options);

}  // namespace midiag::agent
