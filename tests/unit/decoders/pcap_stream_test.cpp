// The streaming capture reader (decoders/pcap/stream.h), the link layers of decode_packet
// (link_layer.h), the duplicate filter and the file side (platform/capture/capture_file.h).
// Captures are built here byte by byte; the real ones are read in place from ../shared.
#include "decoders/pcap/stream.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "decoders/pcap/duplicates.h"
#include "decoders/pcap/link_layer.h"
#include "decoders/pcap/pcap_file.h"
#include "platform/capture/capture_file.h"

using namespace midiag::pcap;
using midiag::ErrorKind;

namespace {

using Bytes = std::vector<std::uint8_t>;

// Appends integers in a chosen byte order.
struct Writer {
  bool big = false;
  Bytes out;
  void u8(std::uint32_t v) { out.push_back(static_cast<std::uint8_t>(v)); }
  void u16(std::uint32_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void put(std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i) {
      const int shift = 8 * (big ? width - 1 - i : i);
      out.push_back(static_cast<std::uint8_t>(v >> shift));
    }
  }
  void bytes(const Bytes& b) { out.insert(out.end(), b.begin(), b.end()); }
  void pad4() {
    while (out.size() % 4 != 0) out.push_back(0);
  }
};

// 10.0.0.1:50000 -> 10.0.0.2:1433 SYN, with IP ID `id` (IPv4 header + 20-byte TCP header).
Bytes ipv4_syn(std::uint16_t id = 1, std::uint8_t ttl = 64) {
  Bytes b = {0x45, 0x00, 0x00, 40, static_cast<std::uint8_t>(id >> 8),
             static_cast<std::uint8_t>(id), 0x40, 0x00, ttl, 6, 0x00, 0x00, 10, 0, 0, 1, 10, 0, 0,
             2,
             // TCP: ports 50000 -> 1433, seq 7, ack 0, data offset 5, SYN, window 65535
             0xC3, 0x50, 0x05, 0x99, 0, 0, 0, 7, 0, 0, 0, 0, 0x50, 0x02, 0xFF, 0xFF, 0, 0, 0, 0};
  return b;
}

// [2001:db8::1]:50000 -> [2001:db8::2]:1433 SYN.
Bytes ipv6_syn() {
  Bytes b = {0x60, 0, 0, 0, 0, 20, 6, 64};
  for (int host : {1, 2}) {
    const Bytes a = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                     0,    0,    0,    0,    0, 0, 0, static_cast<std::uint8_t>(host)};
    b.insert(b.end(), a.begin(), a.end());
  }
  const Bytes tcp = {0xC3, 0x50, 0x05, 0x99, 0,    0,    0, 7, 0, 0,
                     0,    0,    0x50, 0x02, 0xFF, 0xFF, 0, 0, 0, 0};
  b.insert(b.end(), tcp.begin(), tcp.end());
  return b;
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Rec {
  std::uint32_t sec = 0, frac = 0;
  Bytes data;
  std::uint32_t original = 0;  // 0: data.size()
};

Bytes classic(bool big, bool nano, std::uint32_t link, const std::vector<Rec>& recs,
              std::uint32_t snaplen = 65535) {
  Writer w{big, {}};
  w.u32(nano ? 0xA1B23C4D : 0xA1B2C3D4);
  w.u16(2);
  w.u16(4);
  w.u32(0);
  w.u32(0);
  w.u32(snaplen);
  w.u32(link);
  for (const Rec& r : recs) {
    w.u32(r.sec);
    w.u32(r.frac);
    w.u32(static_cast<std::uint32_t>(r.data.size()));
    w.u32(r.original != 0 ? r.original : static_cast<std::uint32_t>(r.data.size()));
    w.bytes(r.data);
  }
  return w.out;
}

Bytes ng_block(bool big, std::uint32_t type, const Bytes& body) {
  Writer w{big, {}};
  const auto length = static_cast<std::uint32_t>(12 + ((body.size() + 3) & ~std::size_t{3}));
  w.u32(type);
  w.u32(length);
  w.bytes(body);
  w.pad4();
  w.u32(length);
  return w.out;
}

Bytes shb(bool big) {
  Writer w{big, {}};
  w.u32(0x1A2B3C4D);
  w.u16(1);
  w.u16(0);
  w.put(~std::uint64_t{0}, 8);  // section length unknown
  return ng_block(big, 0x0A0D0D0A, w.out);
}

// IDB; `tsresol` < 0 leaves the option out (microseconds).
Bytes idb(bool big, std::uint16_t link, int tsresol = -1, std::uint32_t snaplen = 0) {
  Writer w{big, {}};
  w.u16(link);
  w.u16(0);
  w.u32(snaplen);
  if (tsresol >= 0) {
    w.u16(9);
    w.u16(1);
    w.u8(static_cast<std::uint32_t>(tsresol));
    w.pad4();
    w.u16(0);
    w.u16(0);
  }
  return ng_block(big, 1, w.out);
}

Bytes epb(bool big, std::uint32_t iface, std::uint64_t ticks, const Bytes& data) {
  Writer w{big, {}};
  w.u32(iface);
  w.u32(static_cast<std::uint32_t>(ticks >> 32));
  w.u32(static_cast<std::uint32_t>(ticks));
  w.u32(static_cast<std::uint32_t>(data.size()));
  w.u32(static_cast<std::uint32_t>(data.size()));
  w.bytes(data);
  return ng_block(big, 6, w.out);
}

struct Seen {
  std::int64_t ts = 0;
  std::uint32_t link = 0, iface = 0, original = 0;
  Bytes data;
  std::uint64_t offset = 0;
  bool operator==(const Seen&) const = default;
};

struct Result {
  std::vector<Seen> frames;
  midiag::Expected<StreamStats> stats = StreamStats{};
};

// Feeds `file` in chunks of `chunk` bytes (0: whole).
Result stream(const Bytes& file, std::size_t chunk = 0, StreamOptions options = {}) {
  Result r;
  CaptureStream s(
      [&r](const FrameView& f) {
        r.frames.push_back(Seen{f.timestamp_ns, f.link_type, f.interface_id, f.original_length,
                                Bytes(f.data.begin(), f.data.end()), f.file_offset});
      },
      options);
  const std::span<const std::uint8_t> all(file);
  if (chunk == 0) chunk = file.size() + 1;
  for (std::size_t at = 0; at < file.size(); at += chunk) {
    s.feed(all.subspan(at, std::min(chunk, file.size() - at)));
  }
  r.stats = s.finish();
  return r;
}

Bytes ether(std::initializer_list<std::uint16_t> types, const Bytes& ip) {
  Bytes b(12, 0xEE);  // MACs
  for (std::uint16_t t : types) {
    b.push_back(static_cast<std::uint8_t>(t >> 8));
    b.push_back(static_cast<std::uint8_t>(t));
  }
  return concat(b, ip);
}

// A file of mixed content for the chunking and truncation tests: pcapng, two sections of opposite
// byte order, two interfaces with different link types, an unknown block, an SPB.
Bytes mixed_pcapng() {
  Bytes f = shb(false);
  f = concat(f, idb(false, 1, 9));    // Ethernet, ns
  f = concat(f, idb(false, 101, 3));  // raw IP, ms
  f = concat(f, epb(false, 0, 1'000'000'123, ether({0x0800}, ipv4_syn(1))));
  f = concat(f, ng_block(false, 0x0BAD, Bytes(10, 0x55)));  // unknown: skipped by its length
  f = concat(f, epb(false, 1, 2'500, ipv4_syn(2)));
  f = concat(f, shb(true));
  f = concat(f, idb(true, 113, 0x8A));  // SLL, 2^-10 s
  Bytes sll = {0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00};
  f = concat(f, epb(true, 0, 1536, concat(sll, ipv4_syn(3))));
  Writer spb{true, {}};
  const Bytes payload = concat(sll, ipv4_syn(4));
  spb.u32(static_cast<std::uint32_t>(payload.size()));
  spb.bytes(payload);
  f = concat(f, ng_block(true, 3, spb.out));
  return f;
}

}  // namespace

TEST(PcapStream, ClassicByteOrdersAndNanoseconds) {
  for (const bool big : {false, true}) {
    for (const bool nano : {false, true}) {
      const Bytes file =
          classic(big, nano, kLinkRaw, {{7, nano ? 5000U : 5U, ipv4_syn(), 0}, {8, 0, {1, 2}, 60}});
      const Result r = stream(file);
      ASSERT_TRUE(r.stats.ok()) << r.stats.error().message;
      EXPECT_EQ(r.stats->format, FileFormat::Pcap);
      EXPECT_FALSE(r.stats->truncated) << r.stats->message;
      ASSERT_EQ(r.frames.size(), 2U);
      EXPECT_EQ(r.frames[0].ts, 7'000'005'000);
      EXPECT_EQ(r.frames[0].data, ipv4_syn());
      EXPECT_EQ(r.frames[0].offset, 24U);
      EXPECT_EQ(r.frames[1].ts, 8'000'000'000);
      EXPECT_EQ(r.frames[1].original, 60U);
      EXPECT_EQ(r.frames[1].offset, 24U + 16U + 40U);
      EXPECT_EQ(r.stats->frames, 2U);
      EXPECT_EQ(r.stats->frame_bytes, 42U);
      EXPECT_EQ(r.stats->bytes, file.size());
    }
  }
}

TEST(PcapStream, ModifiedPcapMagicHas24ByteRecordHeaders) {
  Writer w{false, {}};
  w.u32(0xA1B2CD34);
  w.u16(2);
  w.u16(4);
  w.u32(0);
  w.u32(0);
  w.u32(65535);
  w.u32(kLinkRaw);
  const Bytes ip = ipv4_syn();
  w.u32(3);
  w.u32(4);
  w.u32(40);
  w.u32(40);
  w.u32(2);  // ifindex
  w.u16(0x0800);
  w.u8(0);
  w.u8(0);
  w.bytes(ip);
  const Result r = stream(w.out);
  ASSERT_TRUE(r.stats.ok());
  EXPECT_FALSE(r.stats->truncated) << r.stats->message;
  ASSERT_EQ(r.frames.size(), 1U);
  EXPECT_EQ(r.frames[0].data, ip);
  EXPECT_EQ(r.frames[0].ts, 3'000'004'000);
}

TEST(PcapStream, PcapngSectionsByteOrdersInterfacesAndResolutions) {
  const Result r = stream(mixed_pcapng());
  ASSERT_TRUE(r.stats.ok()) << r.stats.error().message;
  EXPECT_EQ(r.stats->format, FileFormat::Pcapng);
  EXPECT_FALSE(r.stats->truncated) << r.stats->message;
  EXPECT_EQ(r.stats->sections, 2U);
  EXPECT_EQ(r.stats->interfaces, 3U);
  ASSERT_EQ(r.frames.size(), 4U);
  EXPECT_EQ(r.frames[0].link, kLinkEthernet);
  EXPECT_EQ(r.frames[0].ts, 1'000'000'123);  // if_tsresol 9: nanoseconds
  EXPECT_EQ(r.frames[1].link, kLinkRaw);     // the second interface's own link type
  EXPECT_EQ(r.frames[1].iface, 1U);
  EXPECT_EQ(r.frames[1].ts, 2'500'000'000);    // if_tsresol 3: milliseconds
  EXPECT_EQ(r.frames[2].link, kLinkLinuxSll);  // big-endian section, interface 0 again
  EXPECT_EQ(r.frames[2].iface, 0U);
  EXPECT_EQ(r.frames[2].ts, 1'500'000'000);  // 1536 ticks of 2^-10 s
  EXPECT_EQ(r.frames[3].ts, 1'500'000'000);  // SPB: the previous frame's time
  EXPECT_EQ(r.frames[3].link, kLinkLinuxSll);
  for (const Seen& f : r.frames) {
    auto p = decode_packet(FrameView{f.ts, f.link, f.iface, f.data, f.original, f.offset});
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->dst.str(), "10.0.0.2");
    EXPECT_EQ(p->tcp->dst_port, 1433);
  }
}

TEST(PcapStream, ChunkSizesDoNotChangeFrames) {
  const Bytes files[] = {mixed_pcapng(),
                         classic(true, true, kLinkRaw, {{1, 2, ipv4_syn(), 0}, {3, 4, {}, 0}})};
  for (const Bytes& file : files) {
    const Result whole = stream(file);
    ASSERT_TRUE(whole.stats.ok());
    for (std::size_t chunk : {1U, 2U, 3U, 7U, 13U, 64U, 4096U}) {
      const Result parts = stream(file, chunk);
      ASSERT_TRUE(parts.stats.ok());
      EXPECT_EQ(parts.frames, whole.frames) << "chunk " << chunk;
      EXPECT_EQ(parts.stats->truncated, whole.stats->truncated);
    }
  }
}

TEST(PcapStream, CutAtEveryOffset) {
  const Bytes file = mixed_pcapng();
  const Result whole = stream(file);
  ASSERT_EQ(whole.frames.size(), 4U);
  for (std::size_t n = 0; n <= file.size(); ++n) {
    const Bytes cut(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(n));
    for (std::size_t chunk : {0U, 7U}) {
      const Result r = stream(cut, chunk);
      if (n < 4) {
        ASSERT_FALSE(r.stats.ok()) << n;
        EXPECT_EQ(r.stats.error().kind, ErrorKind::Malformed);
        continue;
      }
      ASSERT_TRUE(r.stats.ok()) << n;
      // Exactly the frames whose blocks end before the cut (EPB: 32 bytes + data, SPB: 16).
      std::size_t expected = 0;
      bool inside_frame = false;
      for (std::size_t i = 0; i < whole.frames.size(); ++i) {
        const Seen& f = whole.frames[i];
        const std::size_t end = f.offset + (i == 3 ? 16U : 32U) + ((f.data.size() + 3) & ~3U);
        expected += end <= n ? 1 : 0;
        inside_frame = inside_frame || (f.offset < n && n < end);
      }
      ASSERT_EQ(r.frames.size(), expected) << "cut at " << n;
      for (std::size_t i = 0; i < r.frames.size(); ++i) EXPECT_EQ(r.frames[i], whole.frames[i]);
      if (inside_frame) {
        EXPECT_TRUE(r.stats->truncated) << "cut at " << n;
        EXPECT_NE(r.stats->message.find("byte offset"), std::string::npos) << r.stats->message;
      }
    }
  }
  // A cut one byte short of the end: the last frame is lost and the cut is reported.
  const Bytes short_one(file.begin(), file.end() - 1);
  const Result r = stream(short_one);
  ASSERT_TRUE(r.stats.ok());
  EXPECT_EQ(r.frames.size(), 3U);
  EXPECT_TRUE(r.stats->truncated);
}

TEST(PcapStream, CutClassicAtEveryOffsetKeepsFramesBefore) {
  const Bytes file =
      classic(false, false, kLinkRaw, {{1, 0, ipv4_syn(1), 0}, {2, 0, ipv4_syn(2), 0}});
  // Records end at 24+56=80 and 136.
  for (std::size_t n = 4; n <= file.size(); ++n) {
    const Bytes cut(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(n));
    const Result r = stream(cut, 3);
    ASSERT_TRUE(r.stats.ok()) << n;
    const std::size_t expected = n >= 136 ? 2 : n >= 80 ? 1 : 0;
    EXPECT_EQ(r.frames.size(), expected) << "cut at " << n;
    const bool on_boundary = n == 24 || n == 80 || n == 136;
    EXPECT_EQ(r.stats->truncated, !on_boundary) << "cut at " << n << ": " << r.stats->message;
    if (n > 24 && n < 80) {
      EXPECT_NE(r.stats->message.find("byte offset 24"), std::string::npos) << r.stats->message;
    }
  }
}

TEST(PcapStream, NotACaptureIsAnError) {
  for (const Bytes& bad :
       {Bytes{}, Bytes{0xD4, 0xC3}, Bytes{'G', 'E', 'T', ' ', '/', '\n'}, Bytes(100, 0x00)}) {
    const Result r = stream(bad, 1);
    ASSERT_FALSE(r.stats.ok());
    EXPECT_EQ(r.stats.error().kind, ErrorKind::Malformed);
    EXPECT_EQ(r.stats.error().offset, 0U);
    EXPECT_NE(r.stats.error().message.find("not a"), std::string::npos);
  }
  EXPECT_NE(stream(Bytes{}).stats.error().message.find("empty"), std::string::npos);
  EXPECT_NE(stream(Bytes(8, 0)).stats.error().message.find("0x00000000"), std::string::npos);
}

TEST(PcapStream, HugeClaimedLengthsStopWithoutAllocating) {
  // Classic record claiming 4 GB: stopped at its header's offset, frames before it kept.
  Bytes file = classic(false, false, kLinkRaw, {{1, 0, ipv4_syn(), 0}});
  Writer w{false, {}};
  w.u32(2);
  w.u32(0);
  w.u32(0xFFFFFFF0);
  w.u32(0xFFFFFFF0);
  file = concat(file, w.out);
  Result r = stream(file, 5);
  ASSERT_TRUE(r.stats.ok());
  EXPECT_EQ(r.frames.size(), 1U);
  EXPECT_TRUE(r.stats->truncated);
  EXPECT_NE(r.stats->message.find("byte offset 80"), std::string::npos) << r.stats->message;
  EXPECT_NE(r.stats->message.find("4294967280"), std::string::npos) << r.stats->message;

  // An EPB claiming 4 GB: the same.
  Bytes ng = concat(concat(shb(false), idb(false, 101)), epb(false, 0, 1, ipv4_syn()));
  const std::size_t at = ng.size();
  Writer b{false, {}};
  b.u32(6);
  b.u32(0xFFFFFFFC);
  ng = concat(ng, b.out);
  ng.resize(ng.size() + 64, 0);
  r = stream(ng);
  ASSERT_TRUE(r.stats.ok());
  EXPECT_EQ(r.frames.size(), 1U);
  EXPECT_TRUE(r.stats->truncated);
  EXPECT_NE(r.stats->message.find("byte offset " + std::to_string(at)), std::string::npos)
      << r.stats->message;
  EXPECT_NE(r.stats->message.find("limit"), std::string::npos) << r.stats->message;

  // An unknown block claiming 4 GB is passed over unbuffered until the file ends inside it.
  Bytes unknown = concat(shb(false), idb(false, 101));
  const std::size_t unknown_at = unknown.size();
  Writer u{false, {}};
  u.u32(0x0BAD);
  u.u32(0xFFFFFFFC);
  unknown = concat(unknown, u.out);
  unknown = concat(unknown, epb(false, 0, 1, ipv4_syn()));  // swallowed by the huge block
  r = stream(unknown, 7);
  ASSERT_TRUE(r.stats.ok());
  EXPECT_EQ(r.frames.size(), 0U);
  EXPECT_TRUE(r.stats->truncated);
  EXPECT_NE(r.stats->message.find("byte offset " + std::to_string(unknown_at)), std::string::npos)
      << r.stats->message;
}

TEST(PcapStream, BrokenPcapngStructures) {
  const Bytes head = concat(shb(false), idb(false, 101));
  // A block length that is not a multiple of 4.
  Bytes odd = head;
  Writer w{false, {}};
  w.u32(6);
  w.u32(13);
  odd = concat(odd, w.out);
  odd.resize(odd.size() + 20, 0);
  Result r = stream(odd);
  ASSERT_TRUE(r.stats.ok());
  EXPECT_TRUE(r.stats->truncated);
  EXPECT_NE(r.stats->message.find("invalid length 13"), std::string::npos) << r.stats->message;

  // A block whose trailing length differs from its leading one.
  Bytes trailer = concat(head, epb(false, 0, 1, ipv4_syn()));
  trailer.back() ^= 0x01;
  r = stream(trailer);
  ASSERT_TRUE(r.stats.ok());
  EXPECT_EQ(r.frames.size(), 0U);
  EXPECT_TRUE(r.stats->truncated);
  EXPECT_NE(r.stats->message.find("different length"), std::string::npos) << r.stats->message;

  // A packet on an interface the section never declared.
  r = stream(concat(head, epb(false, 3, 1, ipv4_syn())));
  ASSERT_TRUE(r.stats.ok());
  EXPECT_TRUE(r.stats->truncated);
  EXPECT_NE(r.stats->message.find("undeclared interface 3"), std::string::npos);

  // A section header with a bad byte-order magic after a good section.
  Bytes bom = concat(concat(head, epb(false, 0, 1, ipv4_syn())), shb(false));
  const std::size_t at = bom.size() - 28;
  bom[at + 8] = 0x99;
  r = stream(bom);
  ASSERT_TRUE(r.stats.ok());
  EXPECT_EQ(r.frames.size(), 1U);
  EXPECT_NE(r.stats->message.find("byte offset " + std::to_string(at)), std::string::npos);
}

TEST(PcapStream, SnaplenZeroAndEmptyRecordsAreRead) {
  const Result r = stream(classic(false, false, kLinkRaw, {{1, 0, ipv4_syn(), 0}, {1, 1, {}, 0}},
                                  /*snaplen=*/0));
  ASSERT_TRUE(r.stats.ok());
  EXPECT_FALSE(r.stats->truncated);
  EXPECT_EQ(r.frames.size(), 2U);
}

TEST(PcapLinkTypes, EveryLinkTypeDecodes) {
  const Bytes v4 = ipv4_syn();
  const Bytes sll = {0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00};
  const Bytes sll2 = {0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0};
  const struct {
    std::uint32_t link;
    Bytes frame;
  } cases[] = {
      {kLinkEthernet, ether({0x0800}, v4)},
      {kLinkEthernet, ether({0x8100, 0x0005, 0x0800}, v4)},                  // 802.1Q
      {kLinkEthernet, ether({0x88A8, 0x0064, 0x8100, 0x0005, 0x0800}, v4)},  // 802.1ad QinQ
      {kLinkRaw, v4},
      {kLinkRawBsd12, v4},
      {kLinkRawBsd14, v4},
      {kLinkIpv4, v4},
      {kLinkLinuxSll, concat(sll, v4)},
      {kLinkLinuxSll2, concat(sll2, v4)},
      {kLinkNull, concat({2, 0, 0, 0}, v4)},  // little-endian host
      {kLinkNull, concat({0, 0, 0, 2}, v4)},  // big-endian host
      {kLinkLoop, concat({0, 0, 0, 2}, v4)},
  };
  for (const auto& c : cases) {
    const FrameView f{5, c.link, 0, c.frame, static_cast<std::uint32_t>(c.frame.size()), 0};
    auto p = decode_packet(f);
    ASSERT_TRUE(p.ok()) << c.link << ": " << p.error().message;
    EXPECT_EQ(p->src.str(), "10.0.0.1") << c.link;
    EXPECT_EQ(p->dst.str(), "10.0.0.2") << c.link;
    EXPECT_EQ(p->tcp->src_port, 50000) << c.link;
    EXPECT_EQ(p->tcp->flags, tcp_flags::kSyn) << c.link;
  }
  const Bytes v6 = ipv6_syn();
  const Bytes sll2_v6 = {0x86, 0xDD, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0};
  const struct {
    std::uint32_t link;
    Bytes frame;
  } v6_cases[] = {
      {kLinkEthernet, ether({0x86DD}, v6)},
      {kLinkRaw, v6},
      {kLinkIpv6, v6},
      {kLinkLinuxSll2, concat(sll2_v6, v6)},
      {kLinkNull, concat({24, 0, 0, 0}, v6)},  // NetBSD/OpenBSD AF_INET6
      {kLinkNull, concat({28, 0, 0, 0}, v6)},  // FreeBSD
      {kLinkNull, concat({0, 0, 0, 30}, v6)},  // macOS, big-endian host
      {kLinkLoop, concat({0, 0, 0, 24}, v6)},
  };
  for (const auto& c : v6_cases) {
    const FrameView f{5, c.link, 0, c.frame, static_cast<std::uint32_t>(c.frame.size()), 0};
    auto p = decode_packet(f);
    ASSERT_TRUE(p.ok()) << c.link << ": " << p.error().message;
    EXPECT_EQ(p->dst.str(), "2001:db8::2") << c.link;
    EXPECT_EQ(p->tcp->dst_port, 1433) << c.link;
  }
  // An unknown link type is an undecoded frame (Other), not malformed bytes.
  const FrameView unknown{0, 147, 0, v4, 40, 0};
  auto p = decode_packet(unknown);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().kind, ErrorKind::Other);
  EXPECT_NE(p.error().message.find("147"), std::string::npos);
  // A cut header is Malformed with an offset inside the frame.
  const Bytes short_sll2(sll2.begin(), sll2.begin() + 10);
  auto cut = decode_packet(FrameView{0, kLinkLinuxSll2, 0, short_sll2, 10, 0});
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().kind, ErrorKind::Malformed);
  EXPECT_LE(cut.error().offset, short_sll2.size());
  // The Frame overload agrees with the FrameView one.
  const Frame frame{1.25, kLinkLinuxSll, concat(sll, v4), 56};
  auto old = decode_packet(frame);
  ASSERT_TRUE(old.ok());
  EXPECT_DOUBLE_EQ(old->timestamp, 1.25);
  EXPECT_EQ(old->src.str(), "10.0.0.1");
}

// `tcpdump -i any` on loopback: each packet recorded leaving (packet type 4, outgoing) and
// arriving (0, to us), with SLL2 headers that differ only in that byte.
TEST(PcapDuplicates, Sll2AnyInterfaceCopiesAreDropped) {
  Bytes out = {0x08, 0x00, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 4, 6, 0, 0, 0, 0, 0, 0, 0, 0};
  Bytes in = out;
  in[10] = 0;  // packet type: to us
  std::vector<Rec> recs;
  for (std::uint16_t id = 1; id <= 3; ++id) {
    recs.push_back({1, id * 100U, concat(out, ipv4_syn(id)), 0});
    recs.push_back({1, id * 100U + 1, concat(in, ipv4_syn(id)), 0});
  }
  // A retransmission: same bytes 1 s later is kept.
  recs.push_back({2, 100, concat(out, ipv4_syn(1)), 0});
  const Bytes file = classic(false, false, kLinkLinuxSll2, recs);
  StreamOptions dedup;
  dedup.drop_duplicates = true;
  const Result r = stream(file, 0, dedup);
  ASSERT_TRUE(r.stats.ok());
  EXPECT_EQ(r.stats->duplicates, 3U);
  EXPECT_EQ(r.stats->frames, 4U);
  ASSERT_EQ(r.frames.size(), 4U);
  EXPECT_EQ(r.frames[3].ts, 2'000'100'000);
  // Without the option every frame comes through.
  EXPECT_EQ(stream(file).frames.size(), 7U);
}

TEST(PcapDuplicates, FilterWindowAndTime) {
  DuplicateFilter filter(DuplicateOptions{4, 1'000'000});
  const Bytes a = ipv4_syn(1);
  const FrameView f{0, kLinkRaw, 0, a, 40, 0};
  EXPECT_FALSE(filter.is_duplicate(f));
  EXPECT_TRUE(filter.is_duplicate(f));
  // Different IP ID: not the same packet.
  const Bytes b = ipv4_syn(2);
  EXPECT_FALSE(filter.is_duplicate(FrameView{10, kLinkRaw, 0, b, 40, 0}));
  // Same bytes, 2 ms later: a retransmission, kept.
  EXPECT_FALSE(filter.is_duplicate(FrameView{2'000'000, kLinkRaw, 0, a, 40, 0}));
  // Push the first copies out of the 4-frame window.
  std::vector<Bytes> others;
  for (std::uint16_t id = 10; id < 14; ++id) others.push_back(ipv4_syn(id));
  for (const Bytes& o : others) filter.is_duplicate(FrameView{2'000'000, kLinkRaw, 0, o, 40, 0});
  EXPECT_FALSE(filter.is_duplicate(FrameView{2'000'000, kLinkRaw, 0, a, 40, 0}));
  // Different TTL (seen before and after a router): not an exact duplicate.
  const Bytes ttl = ipv4_syn(1, 63);
  EXPECT_FALSE(filter.is_duplicate(FrameView{2'000'000, kLinkRaw, 0, ttl, 40, 0}));
  // Non-IP frames compare whole bytes and link type.
  const Bytes arp = ether({0x0806}, Bytes(28, 1));
  EXPECT_FALSE(filter.is_duplicate(FrameView{0, kLinkEthernet, 0, arp, 42, 0}));
  EXPECT_TRUE(filter.is_duplicate(FrameView{0, kLinkEthernet, 0, arp, 42, 0}));
}

namespace {

const std::string kShared = MIDIAG_SOURCE_DIR "/../shared/fixtures/";

bool shared_missing() {
  if (std::filesystem::exists(kShared)) return false;
  if (const char* ci = std::getenv("CI"); ci != nullptr && std::string(ci) == "true") {
    ADD_FAILURE() << "fixtures missing (CI has ../shared): " << kShared;
  }
  return true;
}

Bytes load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// "### name" then "Number of packets:   N" in the tshark answer key.
std::map<std::string, std::size_t> answer_key(const std::string& summary) {
  std::map<std::string, std::size_t> counts;
  std::ifstream in(summary);
  std::string line, name;
  while (std::getline(in, line)) {
    if (line.rfind("### ", 0) == 0) name = line.substr(4);
    if (line.rfind("Number of packets:", 0) == 0 && !name.empty()) {
      counts[name] = std::stoul(line.substr(line.find(':') + 1));
    }
  }
  return counts;
}

}  // namespace

TEST(CaptureFile, EveryFixtureHasItsAnswerKeyFrameCount) {
  if (shared_missing()) GTEST_SKIP() << "no ../shared fixtures";
  // The driver captures: counts from `capinfos -c` (tshark 4.0) and the folder's README.
  std::map<std::string, std::size_t> expected = {
      {"pcap/tedious-redirect-plain.pcap", 26},
      {"pcap/tedious-redirect-tls.pcap", 34},
      {"pcap/tsql-login-failed.pcap", 16},
      {"pcap/tsql-redirect.pcap", 32},
  };
  for (const auto& [name, count] : answer_key(kShared + "realworld/pcap/SUMMARY.txt")) {
    expected["realworld/pcap/" + name] = count;
  }
  ASSERT_GE(expected.size(), 18U);
  // Every capture in the two folders has an answer.
  for (const char* dir : {"pcap", "realworld/pcap"}) {
    for (const auto& entry : std::filesystem::directory_iterator(kShared + dir)) {
      const std::string ext = entry.path().extension().string();
      if (ext == ".pcap" || ext == ".pcapng") {
        EXPECT_TRUE(expected.count(std::string(dir) + "/" + entry.path().filename().string()))
            << entry.path();
      }
    }
  }
  for (const auto& [name, count] : expected) {
    const std::string path = kShared + name;
    std::size_t frames = 0, decoded = 0;
    midiag::platform::CaptureFileOptions options;
    options.chunk_bytes = 4096;  // several chunks even for these small files
    auto stats = midiag::platform::read_capture_file(
        path,
        [&](const FrameView& f) {
          ++frames;
          decoded += decode_packet(f).ok() ? 1 : 0;
        },
        options);
    ASSERT_TRUE(stats.ok()) << name << ": " << stats.error().message;
    EXPECT_EQ(frames, count) << name;
    EXPECT_EQ(stats->frames, count) << name;
    EXPECT_FALSE(stats->truncated) << name << ": " << stats->message;
    EXPECT_GT(decoded, 0U) << name;
    // Fed byte by byte, the same frames as read_capture over the whole buffer.
    const Bytes bytes = load(path);
    const Result one = stream(bytes, 1);
    auto whole = read_capture(bytes);
    ASSERT_TRUE(whole.ok());
    ASSERT_EQ(one.frames.size(), whole->frames.size()) << name;
    for (std::size_t i = 0; i < one.frames.size(); ++i) {
      EXPECT_EQ(one.frames[i].data, whole->frames[i].data) << name << " frame " << i;
      EXPECT_EQ(one.frames[i].link, whole->frames[i].link_type) << name;
    }
  }
}

TEST(CaptureFile, RefusesWhatIsNotARegularFileOrNotACapture) {
  auto dir = midiag::platform::read_capture_file("/tmp", {});
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().kind, ErrorKind::Usage);
  EXPECT_NE(dir.error().message.find("directory"), std::string::npos) << dir.error().message;

  const std::string base = ::testing::TempDir() + "capture_file_test_" + std::to_string(::getpid());
  const std::string fifo = base + ".fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto pipe = midiag::platform::read_capture_file(fifo, {});  // must not block
  ::unlink(fifo.c_str());
  ASSERT_FALSE(pipe.ok());
  EXPECT_EQ(pipe.error().kind, ErrorKind::Usage);
  EXPECT_NE(pipe.error().message.find("FIFO"), std::string::npos);

  auto missing = midiag::platform::read_capture_file(base + ".missing", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::Io);

  const std::string text = base + ".txt";
  std::ofstream(text) << "hello, not a capture\n";
  auto not_capture = midiag::platform::read_capture_file(text, {});
  ::unlink(text.c_str());
  ASSERT_FALSE(not_capture.ok());
  EXPECT_EQ(not_capture.error().kind, ErrorKind::Malformed);
  EXPECT_NE(not_capture.error().message.find(text), std::string::npos);

  const std::string cut = base + ".pcap";
  const Bytes file = mixed_pcapng();
  std::ofstream(cut, std::ios::binary)
      .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(100));
  std::size_t frames = 0;
  auto partial = midiag::platform::read_capture_file(cut, [&](const FrameView&) { ++frames; });
  ::unlink(cut.c_str());
  ASSERT_TRUE(partial.ok());
  EXPECT_TRUE(partial->truncated);
  EXPECT_EQ(frames, 0U);
  EXPECT_NE(partial->message.find("byte offset"), std::string::npos);
}
