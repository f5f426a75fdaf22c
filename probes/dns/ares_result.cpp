#include "probes/dns/ares_result.h"

#include <ares.h>
#include <sys/socket.h>

#include "decoders/dns/message.h"

namespace midiag::dns {
namespace {

void set_status(Lookup& l, int ares_status, std::chrono::milliseconds timeout) {
  l.unreachable = false;
  l.error.clear();
  switch (ares_status) {
    case ARES_SUCCESS:
    case ARES_ENODATA:  // the name exists but has no record of this type
      l.status = Status::Ok;
      return;
    case ARES_ENOTFOUND:
      l.status = Status::NxDomain;
      l.error = "no such name (NXDOMAIN)";
      return;
    case ARES_ESERVFAIL:
      l.status = Status::ServFail;
      l.error = "server failure (SERVFAIL)";
      return;
    case ARES_EREFUSED:
      l.status = Status::Refused;
      l.error = "query refused (REFUSED)";
      return;
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED:  // only our safety stop cancels: the budget ran out
    case ARES_EDESTRUCTION:
      l.status = Status::Timeout;
      l.unreachable = true;
      l.error = "no answer within " + std::to_string(timeout.count()) + " ms";
      return;
    case ARES_ECONNREFUSED:
      l.status = Status::Error;
      l.unreachable = true;
      l.error = "connection refused (no DNS server listening)";
      return;
    default:
      l.status = Status::Error;
      l.error = ares_strerror(ares_status);
  }
}

}  // namespace

void apply_ares_result(Lookup& lookup, int ares_status, std::span<const std::uint8_t> answer,
                       std::chrono::milliseconds timeout,
                       const std::vector<net::ClassOverride>& overrides) {
  set_status(lookup, ares_status, timeout);
  if (answer.empty()) return;
  auto message = parse_message(answer);
  if (!message) {
    if (lookup.status == Status::Ok) {
      lookup.status = Status::Error;
      lookup.error = "undecodable answer: " + message.error().message;
    }
    return;
  }
  if (message->header.rcode() == kRcodeNxDomain && lookup.status == Status::Ok) {
    set_status(lookup, ARES_ENOTFOUND, timeout);
  }
  // The chain is evidence even for NXDOMAIN: it shows which link of it does not exist.
  auto result = follow_cname_chain(*message, lookup.name);
  for (auto& hop : result.chain) {
    lookup.cname_chain.push_back({std::move(hop.name), std::move(hop.target), hop.ttl});
  }
  const std::uint16_t want = lookup.type == "AAAA" ? kTypeAaaa : kTypeA;
  for (const auto& rr : result.addresses) {
    if (rr.type != want) continue;
    net::IpAddress ip;
    ip.family = rr.type == kTypeA ? AF_INET : AF_INET6;
    ip.bytes = rr.address;
    lookup.addresses.push_back({ip.str(), rr.ttl, net::classify(ip, overrides)});
  }
}

}  // namespace midiag::dns
