// DNS over UDP (and TCP) port 53 in a capture: each query paired with its answer by (client,
// resolver, id, question), with the rcode, CNAME chain, addresses and TTLs the answer held; a query
// no answer came back for stays unanswered. Pure and bounded: packets in, lookups out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "decoders/dns/message.h"
#include "decoders/pcap/flows.h"

namespace midiag::capture {

inline constexpr std::uint16_t kDnsPort = 53;
inline constexpr std::size_t kMaxDnsLookups = 1024;

struct DnsAddressSeen {
  pcap::Address address;
  std::uint32_t ttl = 0;
};

struct DnsLookupSeen {
  pcap::Endpoint client, resolver;
  std::uint16_t id = 0;
  std::string name;         // the question's name (escaped like dig), lower case, no root dot
  std::uint16_t type = 0;   // question type (A 1, AAAA 28, ...)
  bool query_seen = false;  // false: the capture holds the answer only (it started later)
  double query_time = 0;    // the first query (the answer's time when no query was seen)
  double last_query_time = 0;
  std::uint32_t queries = 0;  // the query and its retransmissions (same id and question)
  bool answered = false;
  double answer_time = 0;
  std::uint8_t rcode = 0;
  bool truncated = false;  // TC: the full answer would follow over TCP
  std::vector<dns::CnameHop> cname_chain;
  std::vector<DnsAddressSeen> addresses;  // A/AAAA of the chain's final name
};

struct DnsSeenReport {
  std::vector<DnsLookupSeen> lookups;  // in the order of their first message
  std::size_t messages = 0;            // DNS messages decoded
  std::size_t malformed = 0;           // port-53 datagrams that were not a DNS message
  std::size_t not_kept = 0;            // queries past the limit: counted, not kept
};

class DnsSeen {
 public:
  explicit DnsSeen(std::size_t max_lookups = kMaxDnsLookups) : max_(max_lookups) {}
  // Any decoded packet: anything but UDP to or from port 53 returns at the first test.
  void add(const pcap::Packet& p) {
    if (p.udp && (p.udp->dst_port == kDnsPort || p.udp->src_port == kDnsPort)) add_dns(p);
  }
  // DNS over TCP (RFC 7766: each message after a 2-byte length) in a reassembled session to
  // port 53: its queries and answers, timed by the packet that completed each.
  void add_tcp(const pcap::Session& s);
  // The lookups seen; the tracker is empty afterwards.
  DnsSeenReport finish();

 private:
  void add_dns(const pcap::Packet& p);
  void add_message(std::span<const std::uint8_t> wire, const pcap::Endpoint& src,
                   const pcap::Endpoint& dst, double when);
  // (client, resolver, id): the transaction a DNS answer names.
  using Key = std::tuple<pcap::Endpoint, pcap::Endpoint, std::uint16_t>;
  std::size_t max_;
  DnsSeenReport report_;
  std::map<Key, std::size_t> last_;  // the latest lookup of each transaction key
};

}  // namespace midiag::capture
