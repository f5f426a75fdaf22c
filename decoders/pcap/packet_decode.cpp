// Link layer -> IPv4/IPv6 (extension headers) -> TCP or ICMP destination unreachable.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "decoders/common/byte_reader.h"
#include "decoders/pcap/flows.h"
#include "decoders/pcap/link_layer.h"

namespace midiag::pcap {
namespace {

using Bytes = std::span<const std::uint8_t>;

constexpr std::uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86DD;
constexpr std::uint16_t kDnsPort = 53;

Error malformed(const std::string& what, std::size_t at) {
  return make_error(what, ErrorKind::Malformed, at);
}

std::string hex16(std::uint32_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", v & 0xFFFFU);
  return buf;
}

// BSD loopback address families: AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD, OpenBSD),
// 28 (FreeBSD), 30 (macOS) and 10 on Linux.
std::uint16_t loopback_ethertype(std::uint32_t family) {
  if (family == 2) return kEtherIpv4;
  if (family == 10 || family == 24 || family == 28 || family == 30) return kEtherIpv6;
  return 0xFFFF;
}

struct IpLayer {
  Address src, dst;
  std::uint8_t protocol = 0, ttl = 0;
  bool later_fragment = false;  // the transport header is in another fragment
  Bytes transport;
  std::size_t transport_at = 0;  // where `transport` starts in the frame
  std::size_t uncaptured = 0;    // transport bytes the IP header declares but the capture lacks
};

Address read_address(ByteReader& c, std::uint8_t family) {
  Address a;
  a.family = family;
  const auto b = c.bytes(family == 4 ? 4 : 16);
  std::copy(b.begin(), b.end(), a.bytes.begin());
  return a;
}

// `at`: where `data` starts in the frame, so errors name frame offsets.
Expected<IpLayer> parse_ipv4(Bytes data, std::size_t at) {
  IpLayer ip;
  ByteReader c(data, at);
  const std::uint8_t vihl = c.u8();
  c.skip(1);  // DSCP/ECN
  const std::size_t total = c.u16();
  c.skip(2);  // identification
  const std::uint16_t frag = c.u16();
  ip.ttl = c.u8();
  ip.protocol = c.u8();
  c.skip(2);  // checksum
  ip.src = read_address(c, 4);
  ip.dst = read_address(c, 4);
  const std::size_t ihl = (vihl & 0x0FU) * 4U;
  if (!c.ok() || (vihl >> 4) != 4 || ihl < 20 || ihl > data.size()) {
    return malformed("malformed IPv4 header", c.ok() ? at : c.fail_offset());
  }
  // Total length 0 appears with TCP segmentation offload: trust the captured size then.
  const std::size_t end = total == 0 ? data.size() : std::min(total, data.size());
  if (end < ihl) return malformed("IPv4 total length shorter than its header", at + 2);
  ip.later_fragment = (frag & 0x1FFFU) != 0;
  ip.transport = data.subspan(ihl, end - ihl);
  ip.transport_at = at + ihl;
  ip.uncaptured = total > end ? total - end : 0;
  return ip;
}

Expected<IpLayer> parse_ipv6(Bytes data, std::size_t at) {
  IpLayer ip;
  ByteReader c(data, at);
  const std::uint8_t version = c.u8() >> 4;
  c.skip(3);  // traffic class, flow label
  const std::size_t payload = c.u16();
  std::uint8_t next = c.u8();
  ip.ttl = c.u8();
  ip.src = read_address(c, 6);
  ip.dst = read_address(c, 6);
  if (!c.ok() || version != 6) {
    return malformed("malformed IPv6 header", c.ok() ? at : c.fail_offset());
  }
  const std::size_t end = payload == 0 ? data.size() : std::min(40 + payload, data.size());
  ByteReader ext(data.subspan(40, end - 40), at + 40);
  ip.uncaptured = 40 + payload > end ? 40 + payload - end : 0;
  // Extension headers: hop-by-hop 0, routing 43, fragment 44, AH 51, destination options 60.
  for (int hops = 0; hops < 16 && ext.ok(); ++hops) {
    if (next == 0 || next == 43 || next == 60) {
      const std::uint8_t after = ext.u8();
      ext.skip(ext.u8() * 8U + 6U);  // (length + 1) * 8 bytes in all
      next = after;
    } else if (next == 44) {
      const std::uint8_t after = ext.u8();
      ext.skip(1);
      ip.later_fragment = (ext.u16() >> 3) != 0;
      ext.skip(4);
      next = after;
    } else if (next == 51) {
      const std::uint8_t after = ext.u8();
      ext.skip((ext.u8() + 2U) * 4U - 2U);
      next = after;
    } else {
      break;
    }
  }
  if (!ext.ok()) return malformed("IPv6 extension headers truncated", ext.fail_offset());
  ip.protocol = next;
  ip.transport = ext.rest();
  ip.transport_at = ext.offset();
  return ip;
}

Expected<IpLayer> parse_ip(Bytes data, std::uint16_t ethertype, std::size_t at) {
  if (ethertype == 0 && !data.empty()) ethertype = (data[0] >> 4) == 6 ? kEtherIpv6 : kEtherIpv4;
  if (ethertype == kEtherIpv4) return parse_ipv4(data, at);
  if (ethertype == kEtherIpv6) return parse_ipv6(data, at);
  return make_error("not an IP packet (ethertype " + hex16(ethertype) + ")");
}

void read_tcp_options(Bytes options, TcpHeader& h) {
  ByteReader opts(options);
  while (opts.remaining() > 0) {
    const std::uint8_t kind = opts.u8();
    if (kind == 0) break;     // end of options
    if (kind == 1) continue;  // NOP
    const std::uint8_t length = opts.u8();
    if (length < 2) break;
    const auto value = opts.bytes(length - 2U);
    if (kind == 2 && value.size() == 2)
      h.mss = static_cast<std::uint16_t>(value[0] << 8 | value[1]);
  }
}

Expected<TcpHeader> parse_tcp(Bytes data, std::size_t at, Bytes& payload) {
  TcpHeader h;
  ByteReader c(data, at);
  h.src_port = c.u16();
  h.dst_port = c.u16();
  h.seq = c.u32();
  h.ack = c.u32();
  const std::size_t offset = (c.u8() >> 4) * 4U;
  h.flags = c.u8();
  h.window = c.u16();
  if (!c.ok() || offset < 20 || offset > data.size()) {
    return malformed("malformed TCP header", c.ok() ? at + 12 : c.fail_offset());
  }
  read_tcp_options(data.subspan(20, offset - 20), h);
  payload = data.subspan(offset);
  return h;
}

std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

std::uint32_t be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

// Most frames of a capture: IPv4 (not a later fragment) or IPv6 without extension headers,
// carrying a whole TCP header. Read in one pass straight into `p`, with the same checks and
// results as the general path below (parse_ip, parse_tcp); false for anything else, every error
// included, which the general path then decodes (or reports) as before.
bool decode_tcp_fast(const NetworkLayer& link, double timestamp, Packet& p) {
  const Bytes data = link.bytes;
  std::uint16_t ethertype = link.ethertype;
  if (ethertype == 0 && !data.empty()) ethertype = (data[0] >> 4) == 6 ? kEtherIpv6 : kEtherIpv4;
  const std::uint8_t* d = data.data();
  Bytes transport;
  std::size_t uncaptured = 0;
  if (ethertype == kEtherIpv4) {
    if (data.size() < 20 || (d[0] >> 4) != 4 || d[9] != kProtoTcp) return false;
    const std::size_t ihl = (d[0] & 0x0FU) * 4U;
    if (ihl < 20 || ihl > data.size()) return false;
    const std::size_t total = be16(d + 2);
    const std::size_t end = total == 0 ? data.size() : std::min(total, data.size());
    if (end < ihl || (be16(d + 6) & 0x1FFFU) != 0) return false;
    p.src.family = p.dst.family = 4;
    std::memcpy(p.src.bytes.data(), d + 12, 4);
    std::memcpy(p.dst.bytes.data(), d + 16, 4);
    p.ttl = d[8];
    transport = data.subspan(ihl, end - ihl);
    uncaptured = total > end ? total - end : 0;
  } else if (ethertype == kEtherIpv6) {
    if (data.size() < 40 || (d[0] >> 4) != 6 || d[6] != kProtoTcp) return false;
    const std::size_t payload = be16(d + 4);
    const std::size_t end = payload == 0 ? data.size() : std::min(40 + payload, data.size());
    p.src.family = p.dst.family = 6;
    std::memcpy(p.src.bytes.data(), d + 8, 16);
    std::memcpy(p.dst.bytes.data(), d + 24, 16);
    p.ttl = d[7];
    transport = data.subspan(40, end - 40);
    uncaptured = 40 + payload > end ? 40 + payload - end : 0;
  } else {
    return false;
  }
  const std::uint8_t* t = transport.data();
  if (transport.size() < 20) return false;
  const std::size_t offset = (t[12] >> 4) * 4U;
  if (offset < 20 || offset > transport.size()) return false;
  TcpHeader& h = p.tcp.emplace();
  h.src_port = be16(t);
  h.dst_port = be16(t + 2);
  h.seq = be32(t + 4);
  h.ack = be32(t + 8);
  h.flags = t[13];
  h.window = be16(t + 14);
  if (offset > 20) read_tcp_options(transport.subspan(20, offset - 20), h);
  p.timestamp = timestamp;
  p.protocol = kProtoTcp;
  p.payload = transport.subspan(offset);
  p.payload_length = p.payload.size() + uncaptured;
  return true;
}

// The quoted packet in an ICMP error: its IP header and at least 8 bytes of transport.
std::optional<IcmpUnreachable> parse_unreachable(Bytes quote, std::uint16_t ethertype) {
  auto ip = parse_ip(quote, ethertype, 0);
  if (!ip) return std::nullopt;
  IcmpUnreachable u;
  u.protocol = ip->protocol;
  u.original_src.address = ip->src;
  u.original_dst.address = ip->dst;
  ByteReader ports(ip->transport);
  const std::uint16_t sport = ports.u16(), dport = ports.u16();
  if (ports.ok() && !ip->later_fragment && (u.protocol == kProtoTcp || u.protocol == kProtoUdp)) {
    u.original_src.port = sport;
    u.original_dst.port = dport;
  }
  return u;
}

Expected<Packet> decode(std::uint32_t link_type, Bytes data, double timestamp) {
  auto link = network_layer(link_type, data);
  if (!link) return link.error();
  if (Packet fast; decode_tcp_fast(*link, timestamp, fast)) return fast;
  auto ip = parse_ip(link->bytes, link->ethertype, link->offset);
  if (!ip) return ip.error();
  if (ip->later_fragment) return make_error("a later IP fragment (no transport header)");
  Packet p;
  p.timestamp = timestamp;
  p.src = ip->src;
  p.dst = ip->dst;
  p.protocol = ip->protocol;
  p.ttl = ip->ttl;
  if (p.protocol == kProtoTcp) {
    Bytes payload;
    auto tcp = parse_tcp(ip->transport, ip->transport_at, payload);
    if (!tcp) return tcp.error();
    p.tcp = *tcp;
    p.payload = payload;
    p.payload_length = payload.size() + ip->uncaptured;
  } else if (p.protocol == kProtoIcmp || p.protocol == kProtoIcmpv6) {
    ByteReader c(ip->transport);
    const std::uint8_t type = c.u8(), code = c.u8();
    c.skip(2);                           // checksum
    const std::uint32_t word = c.u32();  // unused, or the MTU (v4: low 16 bits; v6 type 2)
    const bool v4 = p.protocol == kProtoIcmp;
    const bool too_big = v4 ? (type == 3 && code == 4) : type == 2;
    if (c.ok() && (type == (v4 ? 3 : 1) || too_big)) {
      p.icmp_unreachable = parse_unreachable(c.rest(), v4 ? kEtherIpv4 : kEtherIpv6);
      if (p.icmp_unreachable) {
        p.icmp_unreachable->timestamp = timestamp;
        p.icmp_unreachable->reporter = p.src;
        p.icmp_unreachable->type = type;
        p.icmp_unreachable->code = code;
        if (too_big) p.icmp_unreachable->mtu = v4 ? (word & 0xFFFFU) : word;
      }
    }
  } else if (p.protocol == kProtoUdp) {  // ports and payload only (DNS in captures)
    ByteReader c(ip->transport);
    UdpHeader u;
    u.src_port = c.u16();
    u.dst_port = c.u16();
    c.skip(4);  // length, checksum
    // Only DNS is read from UDP: other datagrams keep their ports, not a view of their bytes.
    if (c.ok()) {
      p.udp = u;
      if (u.src_port != kDnsPort && u.dst_port != kDnsPort) return p;
      p.payload = c.rest();
      p.payload_length = p.payload.size() + ip->uncaptured;
    }
  }
  return p;
}

}  // namespace

Expected<NetworkLayer> network_layer(std::uint32_t link_type, Bytes data) {
  ByteReader c(data);
  switch (link_type) {
    case kLinkEthernet: {
      c.skip(12);  // destination and source MAC
      std::uint16_t type = c.u16();
      // 802.1Q / 802.1ad tags (at most a few): skip the tag control, read the inner type.
      for (int tags = 0; tags < 4 && (type == 0x8100 || type == 0x88A8 || type == 0x9100); ++tags) {
        c.skip(2);
        type = c.u16();
      }
      if (!c.ok()) return malformed("Ethernet header truncated", c.fail_offset());
      return NetworkLayer{type, c.rest(), c.offset()};
    }
    case kLinkNull: {
      // The family is in the capturing host's byte order, which the file does not say: either.
      const std::uint32_t be = c.u32();
      if (!c.ok()) return malformed("loopback header truncated", c.fail_offset());
      const std::uint32_t le = ByteReader(data).u32le();
      std::uint16_t type = loopback_ethertype(le);
      if (type == 0xFFFF) type = loopback_ethertype(be);
      if (type == 0xFFFF) return make_error("loopback family " + std::to_string(le) + " is not IP");
      return NetworkLayer{type, c.rest(), c.offset()};
    }
    case kLinkLoop: {
      const std::uint32_t family = c.u32be();
      if (!c.ok()) return malformed("loopback header truncated", c.fail_offset());
      const std::uint16_t type = loopback_ethertype(family);
      if (type == 0xFFFF) {
        return make_error("loopback family " + std::to_string(family) + " is not IP");
      }
      return NetworkLayer{type, c.rest(), c.offset()};
    }
    case kLinkRaw:
    case kLinkRawBsd12:
    case kLinkRawBsd14:
      return NetworkLayer{0, data, 0};
    case kLinkIpv4:
      return NetworkLayer{kEtherIpv4, data, 0};
    case kLinkIpv6:
      return NetworkLayer{kEtherIpv6, data, 0};
    case kLinkLinuxSll: {
      c.skip(14);  // packet type, ARPHRD type, address length, 8 address bytes
      const std::uint16_t type = c.u16();
      if (!c.ok()) return malformed("Linux cooked header truncated", c.fail_offset());
      return NetworkLayer{type, c.rest(), c.offset()};
    }
    case kLinkLinuxSll2: {
      const std::uint16_t type = c.u16();
      c.skip(18);  // reserved, interface index, ARPHRD type, packet type, address length, address
      if (!c.ok()) return malformed("Linux cooked v2 header truncated", c.fail_offset());
      return NetworkLayer{type, c.rest(), c.offset()};
    }
    default:
      return make_error("unsupported link type " + std::to_string(link_type));
  }
}

Expected<Packet> decode_packet(const Frame& frame) {
  return decode(frame.link_type, frame.data, frame.timestamp);
}

Expected<Packet> decode_packet(const FrameView& frame) {
  return decode(frame.link_type, frame.data, static_cast<double>(frame.timestamp_ns) / 1e9);
}

}  // namespace midiag::pcap
