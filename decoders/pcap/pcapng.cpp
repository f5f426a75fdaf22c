// pcapng (draft-ietf-opsawg-pcapng): a sequence of sections, each an SHB then IDB/EPB/SPB/...
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "decoders/common/byte_reader.h"
#include "decoders/pcap/formats.h"

namespace midiag::pcap::detail {
namespace {

constexpr std::uint32_t kShb = 0x0A0D0D0A, kIdb = 1, kOldPacket = 2, kSpb = 3, kEpb = 6;
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr std::uint16_t kOptEnd = 0, kOptTsResol = 9, kOptTsOffset = 14;

struct Interface {
  std::uint32_t link_type = 0;
  std::uint32_t snaplen = 0;
  std::uint8_t tsresol = 6;  // default: microseconds
  std::int64_t tsoffset = 0;
};

double to_seconds(std::uint64_t ts, const Interface& iface) {
  const bool binary = (iface.tsresol & 0x80U) != 0;
  const unsigned exp = iface.tsresol & 0x7FU;
  double seconds = 0;
  if ((binary && exp < 64) || (!binary && exp <= 19)) {
    std::uint64_t div = 1;
    for (unsigned i = 0; i < exp; ++i) div *= binary ? 2 : 10;
    seconds =
        static_cast<double>(ts / div) + static_cast<double>(ts % div) / static_cast<double>(div);
  } else {
    seconds = static_cast<double>(ts) * std::pow(binary ? 2.0 : 10.0, -static_cast<double>(exp));
  }
  return seconds + static_cast<double>(iface.tsoffset);
}

// IDB options: code u16, length u16, value padded to 4 bytes.
Interface read_idb(ByteReader c) {
  Interface iface;
  iface.link_type = c.u16();
  c.skip(2);
  iface.snaplen = c.u32();
  while (c.ok() && c.remaining() >= 4) {
    const std::uint16_t code = c.u16();
    const std::uint16_t length = c.u16();
    ByteReader value = c;  // same byte order, positioned at the value
    c.skip((static_cast<std::size_t>(length) + 3U) & ~std::size_t{3});
    if (code == kOptEnd || !c.ok()) break;
    if (code == kOptTsResol && length >= 1) iface.tsresol = value.u8();
    if (code == kOptTsOffset && length == 8)
      iface.tsoffset = static_cast<std::int64_t>(value.u64());
  }
  return iface;
}

class NgReader {
 public:
  explicit NgReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {
    file_.format = FileFormat::Pcapng;
  }

  CaptureFile run() {
    std::size_t off = 0;
    while (off < bytes_.size() && !file_.truncated) {
      const auto rest = bytes_.subspan(off);
      if (rest.size() < 12) return stop(off, "block header is incomplete");
      if (ByteReader(rest).u32be() == kShb && !read_byte_order(rest, off)) break;
      ByteReader c(rest, off, order_);
      const std::uint32_t type = c.u32();
      const std::uint32_t length = c.u32();
      if (length < 12 || length % 4 != 0) {
        return stop(off, "block length " + std::to_string(length) + " is invalid");
      }
      if (length > rest.size()) {
        return stop(off, "block of " + std::to_string(length) + " bytes, " +
                             std::to_string(rest.size()) + " remain");
      }
      block(type, ByteReader(rest.subspan(8, length - 12), off + 8, order_), off);
      off += length;
    }
    return std::move(file_);
  }

 private:
  CaptureFile stop(std::size_t off, const std::string& why) {
    stop_at(file_, off, why);
    return std::move(file_);
  }

  bool read_byte_order(std::span<const std::uint8_t> rest, std::size_t off) {
    const std::uint32_t bom = ByteReader(rest.subspan(8)).u32be();
    if (bom != kByteOrderMagic && bom != 0x4D3C2B1A) {
      stop_at(file_, off, "section header has an unknown byte-order magic");
      return false;
    }
    order_ = bom == kByteOrderMagic ? ByteOrder::Big : ByteOrder::Little;
    return true;
  }

  void block(std::uint32_t type, ByteReader body, std::size_t off) {
    if (type == kShb) {
      interfaces_.clear();  // interface ids are per section
    } else if (type == kIdb) {
      interfaces_.push_back(read_idb(body));
    } else if (type == kEpb || type == kOldPacket) {
      const std::uint32_t id = type == kEpb ? body.u32() : body.u16();
      if (type == kOldPacket) body.skip(2);      // drops count
      const std::uint64_t ts_high = body.u32();  // two statements: operand order is unspecified
      const std::uint64_t ts = (ts_high << 32) | body.u32();
      const std::uint32_t captured = body.u32();
      const std::uint32_t original = body.u32();
      const auto data = body.bytes(captured);
      packet(off, id, body.ok(), data, original, ts);
    } else if (type == kSpb) {
      const std::uint32_t original = body.u32();
      std::size_t captured = std::min<std::size_t>(original, body.remaining());
      if (!interfaces_.empty() && interfaces_[0].snaplen != 0) {
        captured = std::min<std::size_t>(captured, interfaces_[0].snaplen);
      }
      const auto data = body.bytes(captured);
      packet(off, 0, body.ok(), data, original, std::nullopt);
    }
  }

  void packet(std::size_t off, std::uint32_t id, bool ok, std::span<const std::uint8_t> data,
              std::uint32_t original, std::optional<std::uint64_t> ts) {
    if (!ok) return stop_at(file_, off, "packet block is shorter than its captured length");
    if (id >= interfaces_.size()) {
      return stop_at(file_, off, "packet refers to undeclared interface " + std::to_string(id));
    }
    const Interface& iface = interfaces_[id];
    // A simple packet block has no timestamp: keep capture order by reusing the previous one.
    const double when =
        ts ? to_seconds(*ts, iface) : (file_.frames.empty() ? 0.0 : file_.frames.back().timestamp);
    file_.frames.push_back(Frame{when, iface.link_type,
                                 std::vector<std::uint8_t>(data.begin(), data.end()), original});
  }

  std::span<const std::uint8_t> bytes_;
  CaptureFile file_;
  std::vector<Interface> interfaces_;
  ByteOrder order_ = ByteOrder::Little;
};

}  // namespace

CaptureFile read_pcapng(std::span<const std::uint8_t> bytes) {
  return NgReader(bytes).run();
}

}  // namespace midiag::pcap::detail
