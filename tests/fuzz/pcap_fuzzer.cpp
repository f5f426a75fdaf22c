// Fuzzes the capture readers (classic pcap, pcapng), the frame decoder (link layers, IPv4/IPv6,
// TCP, ICMP unreachable) and TCP session reassembly. An input that is not a capture file is
// taken as one frame, its first byte choosing the link type, so the frame decoder is reached
// without the file format in the way.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

#include "decoders/pcap/flows.h"
#include "decoders/pcap/pcap_file.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace pcap = midiag::pcap;

constexpr std::uint32_t kLinkTypes[] = {pcap::kLinkNull,     pcap::kLinkEthernet, pcap::kLinkRaw,
                                        pcap::kLinkLinuxSll, pcap::kLinkIpv4,     pcap::kLinkIpv6,
                                        pcap::kLinkLinuxSll2};

// A small per-direction cap so the capped path is reached and memory stays bounded.
constexpr std::size_t kCap = 4096;

void check_sessions(const std::vector<pcap::Frame>& frames) {
  std::size_t decoded = 0;
  for (const auto& f : frames) {
    auto p = pcap::decode_packet(f);
    if (!p) continue;
    ++decoded;
    (void)p->src.str();
    (void)p->dst.str();
    FUZZ_CHECK(p->payload.size() <= p->payload_length);  // the snaplen only ever cuts
  }
  pcap::FlowOptions options;
  options.max_bytes_per_direction = kCap;
  const pcap::FlowReport report = pcap::reassemble(frames, options);
  FUZZ_CHECK(report.undecoded_frames <= frames.size());
  std::size_t packets = 0;
  for (const auto& s : report.sessions) {
    (void)s.client.str();
    (void)s.server.str();
    (void)pcap::is_sql_port(s.server.port);
    packets += s.packets.size();
    FUZZ_CHECK(s.to_server.bytes.size() <= kCap);
    FUZZ_CHECK(s.to_client.bytes.size() <= kCap);
    FUZZ_CHECK(s.to_server.bytes.size() <= s.to_server.delivered);
    FUZZ_CHECK(s.to_client.bytes.size() <= s.to_client.delivered);
  }
  FUZZ_CHECK(packets <= frames.size());
  (void)decoded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto capture = pcap::read_capture(bytes);
  if (capture) {
    if (capture->truncated) FUZZ_CHECK(!capture->message.empty());
    std::size_t captured = 0;
    for (const auto& f : capture->frames) captured += f.data.size();
    FUZZ_CHECK(captured <= size);  // frames are copies of file bytes, never more
    check_sessions(capture->frames);
    return 0;
  }
  FUZZ_CHECK(!capture.error().message.empty());
  FUZZ_CHECK(capture.error().kind == midiag::ErrorKind::Malformed);
  FUZZ_CHECK(capture.error().offset <= size);
  if (size == 0) return 0;

  pcap::Frame frame;
  frame.link_type = kLinkTypes[data[0] % (sizeof kLinkTypes / sizeof kLinkTypes[0])];
  frame.data.assign(data + 1, data + size);
  frame.original_length = static_cast<std::uint32_t>(frame.data.size());
  if (auto packet = pcap::decode_packet(frame); !packet) {
    // Unsupported content (not IP, a later fragment) is Other; bad bytes name where they are.
    const auto& e = packet.error();
    FUZZ_CHECK(e.kind != midiag::ErrorKind::Malformed || e.offset <= frame.data.size());
  }
  check_sessions({frame});
  return 0;
}
