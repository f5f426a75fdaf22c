// Makes a big classic pcap for the reader benchmark by repeating a small one: repetition r moves
// every IPv4 address to 127.(r>>8).(r&255).x's network (checksum fixed) and shifts the timestamps,
// so each copy is its own set of conversations.
//   make_capture IN.pcap OUT.pcap PACKETS
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
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
