// Classic pcap (tcpdump.org/manpages/pcap-savefile.5) and pcapng (draft-ietf-opsawg-pcapng),
// parsed as they arrive: each unit (file header, record, block) is parsed straight from the
// caller's chunk when it lies inside it, and only a unit cut by a chunk boundary is copied.
#include "decoders/pcap/stream.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <utility>

namespace midiag::pcap {
namespace {

constexpr std::uint32_t kShb = 0x0A0D0D0A, kIdb = 1, kOldPacket = 2, kSpb = 3, kEpb = 6;
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr std::uint16_t kOptEnd = 0, kOptTsResol = 9, kOptTsOffset = 14;
constexpr std::size_t kPcapHeader = 24;

__extension__ typedef __int128 Wide;  // timestamps: 64-bit ticks times 10^9 do not fit 64 bits

std::int64_t clamp64(Wide v) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  return v > kMax ? kMax : v < kMin ? kMin : static_cast<std::int64_t>(v);
}

// if_tsresol: bit 7 clear, 10^-n seconds; set, 2^-n seconds.
std::int64_t to_ns(std::uint64_t ticks, std::uint8_t tsresol, std::int64_t tsoffset_s) {
  const unsigned exp = tsresol & 0x7FU;
  Wide ns = 0;
  if ((tsresol & 0x80U) != 0) {
    ns = exp >= 100 ? 0 : (static_cast<Wide>(ticks) * 1'000'000'000) >> exp;
  } else if (exp <= 9) {
    Wide mul = 1;
    for (unsigned i = exp; i < 9; ++i) mul *= 10;
    ns = static_cast<Wide>(ticks) * mul;
  } else {
    Wide div = 1;
    for (unsigned i = 9; i < exp && div <= static_cast<Wide>(ticks); ++i) div *= 10;
    ns = static_cast<Wide>(ticks) / div;
  }
  return clamp64(ns + static_cast<Wide>(tsoffset_s) * 1'000'000'000);
}

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(v));
  return buf;
}

}  // namespace

CaptureStream::CaptureStream(FrameCallback on_frame, StreamOptions options)
    : on_frame_(std::move(on_frame)), options_(options), duplicates_(options.duplicates) {}

bool CaptureStream::feed(std::span<const std::uint8_t> chunk) {
  stats_.bytes += chunk.size();
  while (!chunk.empty() && state_ != State::Stopped) {
    if (pending_.empty()) {
      const std::size_t used = parse(chunk);
      chunk = chunk.subspan(used);
      if (state_ == State::Stopped || chunk.empty()) break;
      // What is left is the start of a unit this chunk does not complete (need_ is capped).
      pending_.assign(chunk.begin(), chunk.end());
      break;
    }
    const std::size_t take = std::min(need_ - pending_.size(), chunk.size());
    pending_.insert(pending_.end(), chunk.begin(),
                    chunk.begin() + static_cast<std::ptrdiff_t>(take));
    chunk = chunk.subspan(take);
    if (pending_.size() < need_) break;
    const std::size_t used = parse(pending_);
    // parse() consumes the whole unit or asks for more of it (need_ grew); never a part.
    if (used == pending_.size()) {
      pending_.clear();
    } else {
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(used));
    }
  }
  return state_ != State::Stopped;
}

std::size_t CaptureStream::parse(std::span<const std::uint8_t> avail) {
  std::size_t used = 0;
  while (state_ != State::Stopped) {
    const auto rest = avail.subspan(used);
    const State before = state_;
    std::size_t n = 0;
    switch (state_) {
      case State::Magic:
        n = parse_magic(rest);
        break;
      case State::PcapHeader:
        n = parse_pcap_header(rest);
        break;
      case State::PcapRecord:
        n = parse_pcap_record(rest);
        break;
      case State::NgBlock:
        n = parse_ng_block(rest);
        break;
      case State::NgSkip:
        n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_left_, rest.size()));
        skip_left_ -= n;
        if (skip_left_ == 0) state_ = State::NgBlock;
        need_ = skip_left_ == 0 ? 8 : 1;
        break;
      case State::Stopped:
        break;
    }
    if (n == 0 && state_ == before) break;  // the next unit is incomplete
    used += n;
    offset_ += n;
  }
  return used;
}

std::size_t CaptureStream::parse_magic(std::span<const std::uint8_t> avail) {
  need_ = 4;
  if (avail.size() < 4) return 0;
  const std::uint32_t magic = ByteReader(avail).u32be();
  switch (magic) {
    case 0xA1B2C3D4:  // microseconds
    case 0xA1B23C4D:  // nanoseconds
    case 0xA1B2CD34:  // Kuznetzov's modified pcap: 8 more bytes per record header
      order_ = ByteOrder::Big;
      break;
    case 0xD4C3B2A1:
    case 0x4D3CB2A1:
    case 0x34CDB2A1:
      order_ = ByteOrder::Little;
      break;
    case kShb:
      stats_.format = FileFormat::Pcapng;
      state_ = State::NgBlock;
      need_ = 12;
      return 0;
    default:
      error_ = make_error("not a pcap or pcapng file: unknown magic " + hex32(magic),
                          ErrorKind::Malformed, 0);
      state_ = State::Stopped;
      return 0;
  }
  stats_.format = FileFormat::Pcap;
  nanoseconds_ = magic == 0xA1B23C4D || magic == 0x4D3CB2A1;
  record_header_ = (magic == 0xA1B2CD34 || magic == 0x34CDB2A1) ? 24 : 16;
  state_ = State::PcapHeader;
  need_ = kPcapHeader;
  return 0;
}

std::size_t CaptureStream::parse_pcap_header(std::span<const std::uint8_t> avail) {
  need_ = kPcapHeader;
  if (avail.size() < kPcapHeader) return 0;
  ByteReader c(avail, order_);
  c.skip(4 + 2 + 2 + 4 + 4 + 4);   // magic, version, thiszone, sigfigs, snaplen (0 means "any")
  link_type_ = c.u32() & 0xFFFFU;  // the upper bits carry FCS information
  stats_.interfaces = 1;
  state_ = State::PcapRecord;
  need_ = record_header_;
  return kPcapHeader;
}

std::size_t CaptureStream::parse_pcap_record(std::span<const std::uint8_t> avail) {
  need_ = record_header_;
  if (avail.size() < record_header_) return 0;
  ByteReader c(avail, order_);
  const std::uint32_t sec = c.u32();
  const std::uint32_t frac = c.u32();
  const std::uint32_t captured = c.u32();
  const std::uint32_t original = c.u32();
  if (captured > kMaxFrameBytes) {
    stop(offset_, "record claims " + std::to_string(captured) + " captured bytes, more than the " +
                      std::to_string(kMaxFrameBytes) + "-byte limit for one packet");
    return 0;
  }
  need_ = record_header_ + captured;
  if (avail.size() < need_) return 0;
  FrameView f;
  f.timestamp_ns = static_cast<std::int64_t>(sec) * 1'000'000'000 +
                   static_cast<std::int64_t>(frac) * (nanoseconds_ ? 1 : 1000);
  f.link_type = link_type_;
  f.data = avail.subspan(record_header_, captured);
  f.original_length = original;
  f.file_offset = offset_;
  emit(f);
  const std::size_t n = need_;
  need_ = record_header_;
  return n;
}

std::size_t CaptureStream::parse_ng_block(std::span<const std::uint8_t> avail) {
  need_ = 8;
  if (avail.size() < 8) return 0;
  const bool shb = ByteReader(avail).u32be() == kShb;
  if (shb) {
    need_ = 12;
    if (avail.size() < 12) return 0;
    const std::uint32_t bom = ByteReader(avail.subspan(8)).u32be();
    if (bom != kByteOrderMagic && bom != 0x4D3C2B1A) {
      stop(offset_, "section header has an unknown byte-order magic " + hex32(bom));
      return 0;
    }
    order_ = bom == kByteOrderMagic ? ByteOrder::Big : ByteOrder::Little;
  }
  ByteReader c(avail, order_);
  const std::uint32_t type = c.u32();
  const std::uint32_t length = c.u32();
  if (length < 12 || length % 4 != 0) {
    stop(offset_, "block type " + hex32(type) + " has an invalid length " + std::to_string(length));
    return 0;
  }
  const bool parsed = shb || type == kIdb || type == kEpb || type == kSpb || type == kOldPacket;
  if (!parsed) {
    // Blocks we do not read (statistics, name resolution, secrets, custom...) are passed by their
    // length without being buffered, however long they claim to be.
    if (avail.size() >= length) {
      need_ = 8;
      return length;
    }
    skip_start_ = offset_;
    skip_length_ = length;
    skip_left_ = length - avail.size();
    state_ = State::NgSkip;
    need_ = 1;
    return avail.size();
  }
  if (length > kMaxBlockBytes) {
    stop(offset_, "block type " + hex32(type) + " claims " + std::to_string(length) +
                      " bytes, more than the " + std::to_string(kMaxBlockBytes) +
                      "-byte limit for one block");
    return 0;
  }
  need_ = length;
  if (avail.size() < length) return 0;
  ByteReader trailer(avail.subspan(length - 4, 4), order_);
  if (const std::uint32_t again = trailer.u32(); again != length) {
    stop(offset_, "block type " + hex32(type) + " of " + std::to_string(length) +
                      " bytes ends with a different length, " + std::to_string(again));
    return 0;
  }
  ng_block(type, ByteReader(avail.subspan(8, length - 12), offset_ + 8, order_));
  if (state_ == State::Stopped) return 0;
  need_ = 8;
  return length;
}

void CaptureStream::ng_block(std::uint32_t type, ByteReader body) {
  if (type == kShb) {
    ++stats_.sections;
    interfaces_.clear();  // interface ids are per section
  } else if (type == kIdb) {
    if (interfaces_.size() >= kMaxInterfaces) {
      return stop(offset_,
                  "more than " + std::to_string(kMaxInterfaces) + " interfaces in one section");
    }
    Interface iface;
    iface.link_type = body.u16();
    body.skip(2);
    iface.snaplen = body.u32();
    if (!body.ok()) return stop(offset_, "interface description block is too short");
    // Options: code u16, length u16, value padded to 4 bytes.
    while (body.ok() && body.remaining() >= 4) {
      const std::uint16_t code = body.u16();
      const std::uint16_t length = body.u16();
      ByteReader value = body;  // same byte order, positioned at the value
      body.skip((static_cast<std::size_t>(length) + 3U) & ~std::size_t{3});
      if (code == kOptEnd || !body.ok()) break;
      if (code == kOptTsResol && length >= 1) iface.tsresol = value.u8();
      if (code == kOptTsOffset && length == 8) {
        iface.tsoffset = static_cast<std::int64_t>(value.u64());
      }
    }
    interfaces_.push_back(iface);
    ++stats_.interfaces;
  } else if (type == kEpb || type == kOldPacket) {
    const std::uint32_t id = type == kEpb ? body.u32() : body.u16();
    if (type == kOldPacket) body.skip(2);      // drops count
    const std::uint64_t ts_high = body.u32();  // two statements: operand order is unspecified
    const std::uint64_t ticks = (ts_high << 32) | body.u32();
    const std::uint32_t captured = body.u32();
    const std::uint32_t original = body.u32();
    const auto data = body.bytes(captured);
    if (!body.ok()) {
      return stop(offset_, "packet block claims " + std::to_string(captured) +
                               " captured bytes, more than the block holds");
    }
    if (id >= interfaces_.size()) {
      return stop(offset_, "packet refers to undeclared interface " + std::to_string(id));
    }
    const Interface& iface = interfaces_[id];
    ng_packet(id, data, original, to_ns(ticks, iface.tsresol, iface.tsoffset));
  } else if (type == kSpb) {
    if (interfaces_.empty()) return stop(offset_, "simple packet block before any interface");
    const std::uint32_t original = body.u32();
    std::size_t captured = std::min<std::size_t>(original, body.remaining());
    if (interfaces_[0].snaplen != 0) {
      captured = std::min<std::size_t>(captured, interfaces_[0].snaplen);
    }
    const auto data = body.bytes(captured);
    if (!body.ok()) return stop(offset_, "simple packet block is too short");
    // No timestamp of its own: keep capture order by reusing the previous frame's.
    ng_packet(0, data, original, last_timestamp_ns_);
  }
}

void CaptureStream::ng_packet(std::uint32_t id, std::span<const std::uint8_t> data,
                              std::uint32_t original, std::int64_t timestamp_ns) {
  FrameView f;
  f.timestamp_ns = timestamp_ns;
  f.link_type = interfaces_[id].link_type;
  f.interface_id = id;
  f.data = data;
  f.original_length = original;
  f.file_offset = offset_;
  emit(f);
}

void CaptureStream::emit(const FrameView& frame) {
  last_timestamp_ns_ = frame.timestamp_ns;
  if (options_.drop_duplicates && duplicates_.is_duplicate(frame)) {
    ++stats_.duplicates;
    return;
  }
  ++stats_.frames;
  stats_.frame_bytes += frame.data.size();
  if (on_frame_) on_frame_(frame);
}

void CaptureStream::stop(std::uint64_t offset, const std::string& why) {
  stats_.truncated = true;
  stats_.message = "capture cut short at byte offset " + std::to_string(offset) + ": " + why +
                   "; nothing from there on was read";
  // pending_ may be what the caller is parsing: finish() releases it.
  state_ = State::Stopped;
}

std::string CaptureStream::describe_cut() const {
  const std::size_t have = pending_.size();
  switch (state_) {
    case State::PcapHeader:
      return "the 24-byte file header is incomplete (" + std::to_string(have) + " bytes)";
    case State::PcapRecord:
      if (have < record_header_) {
        return "the " + std::to_string(record_header_) + "-byte record header is incomplete (" +
               std::to_string(have) + " bytes)";
      }
      return "the file ends inside a record of " + std::to_string(need_) + " bytes (" +
             std::to_string(have) + " present)";
    case State::NgBlock:
      if (have < 8) {
        return "the block header is incomplete (" + std::to_string(have) + " bytes)";
      }
      return "the file ends inside a block of " + std::to_string(need_) + " bytes (" +
             std::to_string(have) + " present)";
    default:
      return "the file ends early";
  }
}

Expected<StreamStats> CaptureStream::finish() {
  if (error_) return *error_;
  if (state_ == State::Magic) {
    return make_error(stats_.bytes == 0 ? std::string("not a capture file: it is empty")
                                        : "not a capture file: " + std::to_string(stats_.bytes) +
                                              " bytes, fewer than a 4-byte magic number",
                      ErrorKind::Malformed, 0);
  }
  if (state_ == State::NgSkip) {
    stats_.truncated = true;
    stats_.message = "capture cut short at byte offset " + std::to_string(skip_start_) +
                     ": block of " + std::to_string(skip_length_) + " bytes, the file ends " +
                     std::to_string(skip_length_ - skip_left_) + " bytes into it";
  } else if (state_ != State::Stopped && !pending_.empty()) {
    stats_.truncated = true;
    stats_.message = "capture cut short at byte offset " + std::to_string(offset_) + ": " +
                     describe_cut() + "; those bytes were not read";
  } else if (state_ == State::PcapHeader) {
    stats_.truncated = true;
    stats_.message = "capture cut short at byte offset 0: " + describe_cut();
  }
  state_ = State::Stopped;
  pending_.clear();
  pending_.shrink_to_fit();
  return stats_;
}

}  // namespace midiag::pcap
