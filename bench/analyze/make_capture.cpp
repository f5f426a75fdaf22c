// Makes a big classic pcap for the reader benchmark by repeating a small one: repetition r moves
// every IPv4 address to 127.(r>>8 & 255).(r & 255).x (IP checksum fixed), adds r>>16 to the
// client's port (the side that sent the SYN; the higher port when no SYN was captured) and shifts
// the timestamps, so every copy is its own set of connections: no 4-tuple repeats across copies
// (up to 2^16 * 64,000 copies). TCP checksums are left as they are (nothing here checks them).
//   make_capture IN.pcap OUT.pcap PACKETS
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <utility>
#include <vector>

#include "decoders/pcap/link_layer.h"
#include "decoders/pcap/pcap_file.h"

namespace {

void put32(std::vector<char>& out, std::uint32_t v) {
  const char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 24)};
  out.insert(out.end(), b, b + 4);
}

void fix_ipv4_checksum(std::uint8_t* ip, std::size_t ihl) {
  ip[10] = ip[11] = 0;
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < ihl; i += 2)
    sum += static_cast<std::uint32_t>(ip[i] << 8 | ip[i + 1]);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  ip[10] = static_cast<std::uint8_t>(~sum >> 8);
  ip[11] = static_cast<std::uint8_t>(~sum);
}

// Where the TCP header of an IPv4 frame starts, if it is one (not a later fragment).
std::size_t tcp_at(const midiag::pcap::NetworkLayer& net, const std::vector<std::uint8_t>& data) {
  const auto& ip = net.bytes;
  if (ip.size() < 20 || (ip[0] >> 4) != 4 || ip[9] != 6 || (ip[7] | (ip[6] & 0x1F)) != 0) return 0;
  const std::size_t at = net.offset + (ip[0] & 0x0FU) * 4U;
  return at + 20 <= data.size() ? at : 0;
}

std::uint16_t port_at(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: make_capture IN.pcap OUT.pcap PACKETS\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                        std::istreambuf_iterator<char>());
  auto capture = midiag::pcap::read_capture(bytes);
  if (!capture || capture->frames.empty()) {
    std::cerr << argv[1] << ": not a capture with frames\n";
    return 1;
  }
  const auto& frames = capture->frames;
  const std::uint32_t link = frames[0].link_type;
  const std::uint64_t wanted = std::strtoull(argv[3], nullptr, 10);
  const double span = frames.back().timestamp - frames.front().timestamp + 0.001;

  // Client endpoints (IPv4 source address and port) of the input: those that sent a pure SYN.
  std::set<std::pair<std::uint32_t, std::uint16_t>> clients;
  for (const auto& f : frames) {
    auto net = midiag::pcap::network_layer(f.link_type, f.data);
    if (!net) continue;
    const std::size_t at = tcp_at(*net, f.data);
    if (at == 0 || (f.data[at + 13] & 0x12) != 0x02) continue;
    const auto* ip = f.data.data() + net->offset;
    clients.insert({static_cast<std::uint32_t>(ip[12] << 24 | ip[13] << 16 | ip[14] << 8 | ip[15]),
                    port_at(f.data.data() + at)});
  }

  std::ofstream out(argv[2], std::ios::binary);
  std::vector<char> buf;
  put32(buf, 0xA1B23C4D);  // nanosecond pcap, little-endian
  put32(buf, 0x00040002);
  put32(buf, 0);
  put32(buf, 0);
  put32(buf, 262144);
  put32(buf, link);
  std::uint64_t written = 0;
  for (std::uint64_t r = 0; written < wanted; ++r) {
    for (const auto& f : frames) {
      if (written == wanted) break;
      std::vector<std::uint8_t> data = f.data;
      auto net = midiag::pcap::network_layer(f.link_type, data);
      if (net && net->bytes.size() >= 20 && (net->bytes[0] >> 4) == 4) {
        auto* ip = data.data() + net->offset;
        if (const std::size_t at = tcp_at(*net, data); at != 0 && r >= 65536) {
          // The client's port moves by r>>16 (within 1024-65535) once the addresses wrap.
          const auto src =
              static_cast<std::uint32_t>(ip[12] << 24 | ip[13] << 16 | ip[14] << 8 | ip[15]);
          const auto dst =
              static_cast<std::uint32_t>(ip[16] << 24 | ip[17] << 16 | ip[18] << 8 | ip[19]);
          const std::uint16_t sport = port_at(data.data() + at),
                              dport = port_at(data.data() + at + 2);
          bool src_client = clients.count({src, sport}) > 0;
          if (!src_client && clients.count({dst, dport}) == 0) src_client = sport > dport;
          auto* port = data.data() + at + (src_client ? 0 : 2);
          const std::uint32_t p = port_at(port);
          const auto moved = static_cast<std::uint16_t>(
              p < 1024 ? p : 1024 + (p - 1024 + (r >> 16)) % (65536 - 1024));
          port[0] = static_cast<std::uint8_t>(moved >> 8);
          port[1] = static_cast<std::uint8_t>(moved);
        }
        for (std::size_t at : {12U, 16U}) {  // source, destination
          ip[at + 1] = static_cast<std::uint8_t>(r >> 8);
          ip[at + 2] = static_cast<std::uint8_t>(r);
        }
        fix_ipv4_checksum(ip, (ip[0] & 0x0FU) * 4U);
      }
      const double when = f.timestamp + static_cast<double>(r) * span;
      const auto ns = static_cast<std::uint64_t>(when * 1e9);
      put32(buf, static_cast<std::uint32_t>(ns / 1000000000U));
      put32(buf, static_cast<std::uint32_t>(ns % 1000000000U));
      put32(buf, static_cast<std::uint32_t>(data.size()));
      put32(buf, f.original_length);
      buf.insert(buf.end(), data.begin(), data.end());
      ++written;
      if (buf.size() > (1U << 20)) {
        out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
        buf.clear();
      }
    }
  }
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  std::cout << argv[2] << ": " << written << " packets\n";
  return out ? 0 : 1;
}
