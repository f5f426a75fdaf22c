#include "decoders/pcap/pcap_file.h"

#include <cstdio>

#include "decoders/common/byte_reader.h"
#include "decoders/pcap/formats.h"

namespace midiag::pcap {
namespace detail {

void stop_at(CaptureFile& file, std::size_t offset, const std::string& why) {
  file.truncated = true;
  file.message = "capture cut short at byte offset " + std::to_string(offset) + ": " + why;
}

CaptureFile read_classic(std::span<const std::uint8_t> bytes, ByteOrder order, bool nanoseconds) {
  CaptureFile file;
  file.format = FileFormat::Pcap;
  ByteReader c(bytes, order);
  c.skip(4 + 2 + 2 + 4 + 4 + 4);                      // magic, version, thiszone, sigfigs, snaplen
  const std::uint32_t link_type = c.u32() & 0xFFFFU;  // upper bits carry FCS information
  if (!c.ok()) {
    stop_at(file, 0, "the 24-byte file header is incomplete");
    return file;
  }
  const double divisor = nanoseconds ? 1e9 : 1e6;
  while (c.remaining() > 0) {
    const std::size_t at = c.pos();
    const std::uint32_t sec = c.u32();
    const std::uint32_t frac = c.u32();
    const std::uint32_t captured = c.u32();
    const std::uint32_t original = c.u32();
    if (!c.ok()) {
      stop_at(file, at, "the 16-byte record header is incomplete");
      return file;
    }
    const std::size_t left = c.remaining();
    const auto data = c.bytes(captured);
    if (!c.ok()) {
      stop_at(file, at,
              "record claims " + std::to_string(captured) + " captured bytes, " +
                  std::to_string(left) + " remain");
      return file;
    }
    file.frames.push_back(Frame{static_cast<double>(sec) + static_cast<double>(frac) / divisor,
                                link_type, std::vector<std::uint8_t>(data.begin(), data.end()),
                                original});
  }
  return file;
}

}  // namespace detail

Expected<CaptureFile> read_capture(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 4) {
    return make_error("not a capture file: fewer than 4 bytes", ErrorKind::Malformed, 0);
  }
  const std::uint32_t magic = ByteReader(bytes).u32be();
  switch (magic) {
    case 0xA1B2C3D4:
      return detail::read_classic(bytes, ByteOrder::Big, false);
    case 0xD4C3B2A1:
      return detail::read_classic(bytes, ByteOrder::Little, false);
    case 0xA1B23C4D:
      return detail::read_classic(bytes, ByteOrder::Big, true);
    case 0x4D3CB2A1:
      return detail::read_classic(bytes, ByteOrder::Little, true);
    case 0x0A0D0D0A:
      return detail::read_pcapng(bytes);
    default:
      break;
  }
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08x", static_cast<unsigned>(magic));
  return make_error(std::string("not a pcap or pcapng file: unknown magic ") + hex,
                    ErrorKind::Malformed, 0);
}

}  // namespace midiag::pcap
