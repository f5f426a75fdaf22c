// Paris-style TCP traceroute (needs CAP_NET_RAW; IPv4): every TTL's SYN has the same 5-tuple
// (one reserved source port), so a per-flow load balancer sends them all down one path. A probe
// is told from another by its sequence number (and IP ID): ICMP errors quote both, a SYN-ACK or
// RST acknowledges the sequence number + 1. Replies are read from raw sockets and matched here,
// not by libtins' send_recv (which mismatches ICMP).
//
// The kernel answers each SYN-ACK with a RST (no socket owns the connection): harmless for a
// probe, like any SYN scan, and the traced port sees no half-open connection left behind.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "probes/trace/tcp_trace.h"

namespace midiag::trace::paris {

// What identifies one target's probes and their answers. Addresses in host byte order.
struct ProbeKey {
  std::uint32_t source = 0, destination = 0;
  std::uint16_t source_port = 0, destination_port = 0;
  std::uint32_t seq_base = 0;  // the TTL-n probe has sequence number seq_base + n
  std::uint16_t id_base = 0;   // ... and IP ID id_base + n
  int max_ttl = 16;
};

// The TTL-limited SYN for `ttl` as an IPv4 packet (libtins); empty if it cannot be built.
std::vector<std::uint8_t> craft_syn(const ProbeKey& key, int ttl);

// One answer to one probe.
struct Reply {
  int ttl = 0;
  HopKind kind = HopKind::Silent;
  std::string address;  // the ICMP reporter, or the target for SYN-ACK / RST
  int icmp_type = -1, icmp_code = -1;
};

// The probe an IPv4 packet (from a raw socket, IP header first) answers, if it answers one of
// `key`'s: ICMP time-exceeded / unreachable quoting the probe (matched by quoted addresses,
// ports and sequence number, else the quoted IP ID), or a SYN-ACK / RST acknowledging it.
std::optional<Reply> match_reply(std::span<const std::uint8_t> packet, const ProbeKey& key);

// Traces IPv4 targets with raw sockets. ErrorKind::Permission when raw sockets are not allowed;
// per-target problems (not IPv4, no source address) go to Result::error.
Expected<std::vector<Result>> trace_raw(const std::vector<Target>& targets, const Options& options);

}  // namespace midiag::trace::paris
