#include "decoders/capture/dns_seen.h"

#include <utility>

namespace midiag::capture {
namespace {

void take_answer(DnsLookupSeen& l, const dns::Message& m, double when) {
  l.answered = true;
  l.answer_time = when;
  l.rcode = m.header.rcode();
  l.truncated = m.header.truncated();
  auto chain = dns::follow_cname_chain(m, l.name);
  l.cname_chain = std::move(chain.chain);
  for (const auto& rr : chain.addresses) {
    DnsAddressSeen a;
    a.address.family = rr.type == dns::kTypeA ? 4 : 6;
    a.address.bytes = rr.address;
    a.ttl = rr.ttl;
    l.addresses.push_back(a);
  }
}

}  // namespace

void DnsSeen::add_dns(const pcap::Packet& p) {
  add_message(p.payload, {p.src, p.udp->src_port}, {p.dst, p.udp->dst_port}, p.timestamp);
}

void DnsSeen::add_tcp(const pcap::Session& s) {
  for (const bool up : {true, false}) {  // queries first, so each answer finds its query
    const auto& dir = up ? s.to_server : s.to_client;
    const std::span<const std::uint8_t> b(dir.bytes);
    std::size_t at = 0;
    while (b.size() - at >= 2) {
      const std::size_t len = static_cast<std::size_t>(b[at] << 8 | b[at + 1]);
      if (len == 0 || b.size() - at - 2 < len) break;  // cut by the capture or the byte cap
      const double when = dir.time_of(at + 2 + len).value_or(s.first_time);
      add_message(b.subspan(at + 2, len), up ? s.client : s.server, up ? s.server : s.client, when);
      at += 2 + len;
    }
  }
}

void DnsSeen::add_message(std::span<const std::uint8_t> wire, const pcap::Endpoint& src,
                          const pcap::Endpoint& dst, double when) {
  auto parsed = dns::parse_message(wire);
  if (!parsed || parsed->questions.empty()) {
    ++report_.malformed;
    return;
  }
  ++report_.messages;
  const dns::Message& m = *parsed;
  const bool answer = m.header.is_response();
  // A query goes client -> resolver:53; an answer comes back resolver:53 -> client.
  const pcap::Endpoint& client = answer ? dst : src;
  const pcap::Endpoint& resolver = answer ? src : dst;
  const std::string name = dns::canonical_name(m.questions.front().name);
  const std::uint16_t type = m.questions.front().type;
  const Key key{client, resolver, m.header.id};

  DnsLookupSeen* open = nullptr;
  if (auto it = last_.find(key); it != last_.end()) {
    DnsLookupSeen& l = report_.lookups[it->second];
    if (l.name == name && l.type == type) open = &l;
  }
  if (!answer) {
    if (open != nullptr && !open->answered) {  // a retransmission of the same query
      // Closer than any resolver's retry timer: the same packet captured twice.
      if (when - open->last_query_time < pcap::kDuplicateWindow) return;
      ++open->queries;
      open->last_query_time = when;
      return;
    }
  } else if (open != nullptr) {
    if (!open->answered) take_answer(*open, m, when);  // else a copy already paired
    return;
  }
  // A new query, or an answer whose query the capture does not hold.
  if (report_.lookups.size() >= max_) {
    if (!answer) ++report_.not_kept;  // its answer, when it comes, is not counted again
    return;
  }
  DnsLookupSeen l;
  l.client = client;
  l.resolver = resolver;
  l.id = m.header.id;
  l.name = name;
  l.type = type;
  l.query_seen = !answer;
  l.query_time = l.last_query_time = when;
  l.queries = answer ? 0 : 1;
  if (answer) take_answer(l, m, when);
  report_.lookups.push_back(std::move(l));
  last_[key] = report_.lookups.size() - 1;
}

DnsSeenReport DnsSeen::finish() {
  DnsSeenReport out = std::move(report_);
  report_ = {};
  last_.clear();
  return out;
}

}  // namespace midiag::capture
