// Live packet capture with libpcap: a BPF filter, a background thread that keeps the packets in
// bounded memory and, when asked, writes them to a pcap file. Two ways to take packets from the
// kernel: immediate mode (each packet as it arrives, one wakeup each, one ring slot of the snap
// length each) or batched (libpcap's TPACKET_V3 ring: packets packed into blocks the kernel hands
// over when full or after a timeout; stop() waits, bounded, for the block still open).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "decoders/common/expected.h"

struct pcap_pkthdr;  // <pcap/pcap.h>, kept out of this header

namespace midiag::platform {

struct CapturedPacket {
  std::int64_t timestamp_ns = 0;
  std::uint32_t original_length = 0;
  std::vector<std::uint8_t> data;  // up to the snap length
};

struct LiveCaptureOptions {
  std::string interface = "any";  // "any": every interface (Linux cooked headers)
  std::string filter;             // BPF; empty: everything
  int snaplen = 65535;
  // The kernel's ring (pcap_set_buffer_size). In immediate mode every packet takes a slot of
  // about the snap length, so this divided by the snap length is the burst the ring absorbs.
  int buffer_bytes = 16 << 20;
  // false: batched. A check's few dozen packets then cost a few wakeups instead of one each, and
  // a 4 MiB ring holds a 2,000-packet sweep that 256 immediate-mode slots could not.
  bool immediate = true;
  std::size_t max_packets = 200'000;  // kept in memory; later ones are counted, not kept
  std::size_t max_bytes = 64u << 20;  // the same for captured bytes
  std::string write_path;             // non-empty: also written here as pcap (pcap_dump)
};

struct LiveCaptureStats {
  std::uint64_t packets = 0;         // seen by us
  std::uint64_t not_kept = 0;        // past max_packets / max_bytes
  std::uint64_t kernel_dropped = 0;  // pcap_stats ps_drop
  int link_type = 0;                 // DLT of the capture
};

class LiveCapture {
 public:
  // Opens and activates the capture and starts its thread. Errors: ErrorKind::Permission when
  // the process may not capture (no CAP_NET_RAW), Usage for an unknown interface or a filter
  // that does not compile, Io otherwise.
  static Expected<std::unique_ptr<LiveCapture>> start(const LiveCaptureOptions& options);
  ~LiveCapture();
  LiveCapture(const LiveCapture&) = delete;
  LiveCapture& operator=(const LiveCapture&) = delete;

  // Replaces the BPF filter while capturing (e.g. once a redirect names another address).
  Expected<bool> set_filter(const std::string& filter);
  // Stops the thread after taking what the kernel still holds, closes the dump file.
  void stop();
  // Packets so far (a copy; safe while running). After stop(): all of them.
  [[nodiscard]] std::vector<CapturedPacket> packets() const;
  [[nodiscard]] LiveCaptureStats stats() const;
  [[nodiscard]] int link_type() const { return link_type_; }

 private:
  LiveCapture() = default;
  void run();
  void finish();  // kernel drop count, dump file closed, stop() released, handle closed
  // The pcap_handler: keeps the packet (bounded) and writes it to the dump file.
  static void on_packet(unsigned char* user, const ::pcap_pkthdr* header,
                        const unsigned char* bytes);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int link_type_ = 0;
};

}  // namespace midiag::platform
