// DNS evidence with c-ares: every resolver queried concurrently, A and AAAA separately, with the
// CNAME chain and TTLs as the server sent them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "probes/net/address.h"

namespace midiag::dns {

enum class Status { Ok, NxDomain, ServFail, Timeout, Refused, Error };
std::string_view to_string(Status s);  // ok|nxdomain|servfail|timeout|refused|error

// One resolver to ask. `label` is what the report shows: "system" for the resolv.conf servers,
// else the address as the user wrote it ("10.250.1.53:5353").
struct Resolver {
  std::string label;
  std::vector<std::string> servers;  // "IP" or "IP:port" or "[IPv6]:port"
};

struct CnameLink {
  std::string name;
  std::string target;
  std::uint32_t ttl = 0;
};

struct ResolvedAddress {
  std::string address;
  std::uint32_t ttl = 0;
  net::AddressClass cls = net::AddressClass::Public;
};

struct Lookup {
  std::string resolver;  // Resolver::label
  std::string name;
  std::string type;  // "A" or "AAAA"
  Status status = Status::Error;
  std::string error;         // human detail when status != Ok (e.g. "connection refused")
  bool unreachable = false;  // no answer at all from the server(s): timeout or ICMP refusal
  std::vector<CnameLink> cname_chain;
  std::vector<ResolvedAddress> addresses;
  double elapsed_ms = 0;
  // Servers of this resolver that were not asked, one sentence each (a scoped fe80::1%eth0 that
  // c-ares 1.18 cannot use); the others were asked as usual.
  std::vector<std::string> skipped_servers;
};

struct Query {
  std::string name;
};

struct Options {
  std::chrono::milliseconds timeout{3000};  // whole budget for one lookup (all tries)
  std::vector<net::ClassOverride> class_overrides;
};

// Resolves every name with every resolver (A and AAAA), all in flight at once; returns one
// Lookup per (resolver, name, type), in that order. Never throws; failures are statuses.
std::vector<Lookup> resolve_all(const std::vector<Resolver>& resolvers,
                                const std::vector<Query>& names, const Options& options);

}  // namespace midiag::dns
