#include "reports/explain.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "reports/route_rules.h"

namespace midiag::reports {

namespace {

// How one resolver fared for the target name, across its A and AAAA lookups.
enum class NameOutcome { Resolved, NoRecords, NxDomain, Failure, Unreachable };

struct ResolverView {
  std::string label;
  NameOutcome outcome = NameOutcome::Unreachable;
  std::vector<const dns::Lookup*> lookups;
};

std::vector<ResolverView> views_for_target(const Evidence& ev) {
  std::vector<ResolverView> views;
  for (const auto& l : ev.lookups) {
    if (l.name != ev.target.host) continue;
    auto it = std::find_if(views.begin(), views.end(),
                           [&](const ResolverView& v) { return v.label == l.resolver; });
    if (it == views.end()) it = views.insert(views.end(), ResolverView{l.resolver, {}, {}});
    it->lookups.push_back(&l);
  }
  for (auto& v : views) {
    bool any_addr = false, any_ok = false, any_nx = false, any_fail = false;
    for (const auto* l : v.lookups) {
      any_ok |= l->status == dns::Status::Ok;
      any_addr |= l->status == dns::Status::Ok && !l->addresses.empty();
      any_nx |= l->status == dns::Status::NxDomain;
      any_fail |= l->status == dns::Status::ServFail || l->status == dns::Status::Refused ||
                  (l->status == dns::Status::Error && !l->unreachable);
    }
    v.outcome = any_addr   ? NameOutcome::Resolved
                : any_nx   ? NameOutcome::NxDomain
                : any_fail ? NameOutcome::Failure
                : any_ok   ? NameOutcome::NoRecords
                           : NameOutcome::Unreachable;
  }
  return views;
}

// The addresses applications on this host get: the hosts file if it names the target,
// else the system resolver's answers.
std::vector<std::string> application_addresses(const Evidence& ev) {
  std::vector<std::string> out;
  for (const auto& h : ev.hosts_entries) out.push_back(h.address);
  if (!out.empty()) return out;
  bool system_asked = false;
  for (const auto& l : ev.lookups)
    if (l.resolver == kSystemResolver && l.name == ev.target.host) {
      system_asked = true;
      for (const auto& a : l.addresses) out.push_back(a.address);
    }
  // analyze: a capture's lookups name the resolvers the application itself asked.
  if (!system_asked && ev.packets && ev.capture.interface.empty())
    for (const auto& l : ev.lookups)
      if (l.name == ev.target.host)
        for (const auto& a : l.addresses)
          if (std::find(out.begin(), out.end(), a.address) == out.end()) out.push_back(a.address);
  return out;
}

net::AddressClass class_of(const Evidence& ev, const std::string& address) {
  auto ip = net::parse_ip(address);
  return ip ? net::classify(*ip, ev.class_overrides) : net::AddressClass::Reserved;
}

bool is_vnet_side(EndpointKind k) {
  return k == EndpointKind::VnetLocal || k == EndpointKind::PrivateEndpoint ||
         k == EndpointKind::FailoverListenerRw || k == EndpointKind::FailoverListenerRo;
}

std::string endpoint_words(EndpointKind k) {
  switch (k) {
    case EndpointKind::Public:
      return "the public endpoint";
    case EndpointKind::VnetLocal:
      return "the VNet-local endpoint";
    case EndpointKind::PrivateEndpoint:
      return "a private endpoint";
    case EndpointKind::FailoverListenerRw:
      return "a failover-group read-write listener";
    case EndpointKind::FailoverListenerRo:
      return "a failover-group read-only listener";
    default:
      return "this endpoint";
  }
}

}  // namespace

std::string describe_lookup(const dns::Lookup& l) {
  std::string s = "dns[" + l.resolver + "] " + l.type + " " + l.name + " -> ";
  if (l.status != dns::Status::Ok) {
    s += std::string(dns::to_string(l.status));
    if (!l.error.empty()) s += " (" + l.error + ")";
  } else if (l.addresses.empty()) {
    s += "no records";
  } else {
    for (size_t i = 0; i < l.addresses.size(); ++i) {
      if (i) s += ", ";
      s += l.addresses[i].address + " [" + std::string(net::to_string(l.addresses[i].cls)) +
           ", ttl " + std::to_string(l.addresses[i].ttl) + "]";
    }
  }
  for (const auto& c : l.cname_chain) s += " via CNAME " + c.name + " -> " + c.target;
  return s + " in " + format_ms(l.elapsed_ms);
}

std::string format_ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", v);
  return buf;
}

std::string format_ports(std::vector<std::uint16_t> ports) {
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  std::string out;
  for (size_t i = 0; i < ports.size();) {
    size_t j = i;
    while (j + 1 < ports.size() && ports[j + 1] == ports[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += std::to_string(ports[i]);
    if (j > i) out += "-" + std::to_string(ports[j]);
    i = j + 1;
  }
  return out;
}

std::vector<Finding> explain_target(const Evidence& ev) {
  std::vector<Finding> out;
  const auto& t = ev.target;
  if (t.kind == EndpointKind::IpLiteral) {
    out.push_back(make_finding(
        Code::TargetIsIpLiteral, "Target " + t.host + " is an IP address, not the instance's name",
        "Managed Instance's gateway and its TLS certificate work with the DNS name; an address "
        "bypasses name-based routing, breaks certificate validation and changes without notice.",
        {"input: " + t.input}));
  }
  auto want = expected_ports(t.kind);
  if (!want.empty() && std::find(want.begin(), want.end(), t.port) == want.end()) {
    out.push_back(make_finding(
        Code::WrongPortForEndpoint,
        "Port " + std::to_string(t.port) + " used with " + endpoint_words(t.kind) +
            ", which listens on " + format_ports(want),
        t.kind == EndpointKind::Public
            ? "The public endpoint accepts connections on 3342 only; 1433 is the VNet-local port."
            : "The VNet-local endpoint, private endpoints and listeners accept 1433; 3342 belongs "
              "to the public endpoint (<mi>.public.<zone>...).",
        {"input: " + t.input, "endpoint kind: " + std::string(to_string(t.kind))}));
  }
  return out;
}

std::vector<Finding> explain_dns(const Evidence& ev) {
  std::vector<Finding> out;
  if (!ev.dns_ran) return out;
  const auto views = views_for_target(ev);
  const bool hosts_decides = !ev.hosts_entries.empty();
  bool system_resolved = false;
  for (const auto& v : views)
    if (v.label == kSystemResolver && v.outcome == NameOutcome::Resolved) system_resolved = true;

  for (const auto& v : views) {
    if (v.outcome == NameOutcome::Resolved) continue;
    std::vector<std::string> evidence;
    for (const auto* l : v.lookups) evidence.push_back(describe_lookup(*l));
    const std::string who = v.label == kSystemResolver
                                ? "the system resolver (" +
                                      std::to_string(ev.system_servers.size()) +
                                      " server(s) in resolv.conf)"
                                : "resolver " + v.label;
    Finding f = [&] {
      switch (v.outcome) {
        case NameOutcome::NxDomain:
          return make_finding(Code::DnsNameNotFound,
                              ev.target.host + " does not exist according to " + who,
                              "The resolver answered NXDOMAIN: no such name.", evidence);
        case NameOutcome::NoRecords:
          return make_finding(Code::DnsNameNotFound,
                              ev.target.host + " has no A or AAAA record according to " + who,
                              "The name exists but carries no address (NODATA).", evidence);
        case NameOutcome::Failure:
          return make_finding(Code::DnsServerFailure, who + " failed to resolve " + ev.target.host,
                              "The server answered with an error (SERVFAIL/REFUSED) instead of "
                              "an address.",
                              evidence);
        default:
          return make_finding(Code::DnsResolverUnreachable,
                              who + " did not answer for " + ev.target.host,
                              "No DNS answer arrived before the timeout (or the server port was "
                              "closed).",
                              evidence);
      }
    }();
    // Only the resolver applications use decides the verdict; the others are comparisons.
    if (v.label != kSystemResolver && system_resolved) f.severity = Severity::Warning;
    if (v.label == kSystemResolver && hosts_decides) {
      f.severity = Severity::Warning;
      f.detail += " Applications still get an address from the hosts file.";
    }
    if (ev.addresses.empty())
      f.detail += " Nothing could be probed: there is no address to connect to.";
    out.push_back(std::move(f));
  }

  if (hosts_decides) {
    std::vector<std::string> evidence;
    for (const auto& h : ev.hosts_entries)
      evidence.push_back("hosts file line " + std::to_string(h.line) + ": " + h.address);
    std::string dns_view;
    for (const auto& l : ev.lookups)
      if (l.resolver == kSystemResolver && l.name == ev.target.host)
        for (const auto& a : l.addresses) dns_view += (dns_view.empty() ? "" : ", ") + a.address;
    auto f = make_finding(
        Code::DnsHostsFileOverride,
        "The hosts file pins " + ev.target.host + " to " + ev.hosts_entries.front().address,
        dns_view.empty() ? "DNS is not consulted for this name by applications on this host."
                         : "DNS would answer " + dns_view + "; applications use the hosts file.",
        evidence);
    for (const auto& h : ev.hosts_entries) f.addresses.push_back(h.address);
    out.push_back(std::move(f));
  }

  // Address-class rules judge what applications actually get.
  const auto kind = ev.target.kind;
  std::vector<std::string> wrong, wrong_addresses;
  for (const auto& a : application_addresses(ev)) {
    auto c = class_of(ev, a);
    bool bad = is_vnet_side(kind) ? c == net::AddressClass::Public
               : kind == EndpointKind::Public
                   ? (c == net::AddressClass::Private || c == net::AddressClass::Cgnat ||
                      c == net::AddressClass::Ula || c == net::AddressClass::LinkLocal)
                   : false;
    if (bad) {
      wrong.push_back(a + " (" + std::string(net::to_string(c)) + ")");
      wrong_addresses.push_back(a);
    }
  }
  if (!wrong.empty()) {
    std::vector<std::string> evidence;
    for (const auto& l : ev.lookups)
      if (l.name == ev.target.host && l.status == dns::Status::Ok && !l.addresses.empty())
        evidence.push_back(describe_lookup(l));
    std::string list;
    for (const auto& w : wrong) list += (list.empty() ? "" : ", ") + w;
    if (is_vnet_side(kind)) {
      out.push_back(make_finding(Code::DnsPublicAddressForVnetLocal,
                                 ev.target.host + " resolved to public address " + list,
                                 "A VNet-local name must resolve to the private address of the "
                                 "instance's subnet (its internal load balancer).",
                                 evidence));
    } else {
      out.push_back(make_finding(Code::DnsPrivateAddressForPublicEndpoint,
                                 ev.target.host + " resolved to non-public address " + list,
                                 "The public endpoint's name must resolve to a public address; "
                                 "something on this host's DNS path overrides it.",
                                 evidence));
    }
    out.back().addresses = wrong_addresses;
  }

  // Disagreement: resolvers that answered (addresses or NXDOMAIN) must give the same set.
  for (std::string type : {"A", "AAAA"}) {
    std::map<std::set<std::string>, std::vector<std::string>> answers;
    std::vector<std::string> evidence;
    for (const auto& l : ev.lookups) {
      if (l.name != ev.target.host || l.type != type) continue;
      if (l.status != dns::Status::Ok && l.status != dns::Status::NxDomain) continue;
      std::set<std::string> set;
      for (const auto& a : l.addresses) set.insert(a.address);
      if (l.status == dns::Status::NxDomain) set.insert("NXDOMAIN");
      answers[set].push_back(l.resolver);
      evidence.push_back(describe_lookup(l));
    }
    if (answers.size() > 1) {
      std::string detail;
      for (const auto& [set, who] : answers) {
        std::string addrs, names;
        for (const auto& a : set) addrs += (addrs.empty() ? "" : ", ") + a;
        for (const auto& w : who) names += (names.empty() ? "" : ", ") + w;
        detail +=
            (detail.empty() ? "" : "; ") + names + " -> " + (addrs.empty() ? "no records" : addrs);
      }
      auto f = make_finding(Code::DnsResolversDisagree,
                            "Resolvers disagree on the " + type + " records of " + ev.target.host,
                            detail + ".", evidence);
      // The disputed addresses: those some resolvers gave and others did not.
      for (const auto& [set, who] : answers)
        for (const auto& a : set)
          if (a != "NXDOMAIN" &&
              std::any_of(answers.begin(), answers.end(),
                          [&](const auto& other) { return other.first.count(a) == 0; }) &&
              std::find(f.addresses.begin(), f.addresses.end(), a) == f.addresses.end())
            f.addresses.push_back(a);
      out.push_back(std::move(f));
    }
  }
  return out;
}

std::vector<Finding> explain_routes(const Evidence& ev) {
  std::vector<Finding> out;
  for (const auto& r : ev.routes) {
    if (r.kind != "no_route" && r.kind != "unreachable" && r.kind != "prohibit" &&
        r.kind != "blackhole")
      continue;
    std::string how = r.kind == "no_route" ? "the kernel has no route (" + r.error + ")"
                                           : "the matching route is of type " + r.kind;
    auto f = make_finding(Code::RouteMissing, "No route from this host to " + r.destination,
                          "Route lookup for " + r.destination + ": " + how + ".",
                          {"route get " + r.destination + " -> " + r.kind +
                           (r.error.empty() ? "" : " (" + r.error + ")")});
    f.addresses = {r.destination};
    out.push_back(std::move(f));
  }
  // The route model's rules (the same as `routes --to`) on this host's tables: a private address
  // going out by the default route while a VPN carries other private networks. The kernel's own
  // answer above stays the word on whether a route exists.
  if (!ev.route_table) return out;
  for (const auto& c : ev.route_choices) {
    auto to = platform::routes::Address::parse(c.address);
    if (!to || std::any_of(out.begin(), out.end(), [&](const Finding& f) {
          return std::find(f.addresses.begin(), f.addresses.end(), c.address) != f.addresses.end();
        }))
      continue;
    RouteQuestion q;
    q.table = &*ev.route_table;
    q.to = *to;
    q.lookup = c.lookup;
    q.where = "this host";
    q.own_host = true;
    q.on_azure = ev.on_azure;
    for (const auto& t : ev.tcp) {
      if (t.target.address != c.address) continue;
      q.address_answered = q.address_answered.value_or(false) || t.state == tcp::State::Open;
    }
    if (!q.address_answered) continue;  // not probed (budget, unroutable): no evidence either way
    for (auto& f : route_findings(q))
      if (f.code == Code::RouteUnexpectedPath) out.push_back(std::move(f));
  }
  return out;
}

std::vector<Finding> explain_tcp(const Evidence& ev, const std::vector<Finding>& earlier) {
  std::vector<Finding> out;
  auto find_earlier = [&](Code c) {
    return std::any_of(earlier.begin(), earlier.end(),
                       [c](const Finding& f) { return f.code == c; });
  };
  // Group failures by address and state so a 1,000-port sweep is one finding, not 1,000.
  std::map<std::pair<std::string, tcp::State>, std::vector<const tcp::Result*>> groups;
  std::set<std::uint16_t> open_ports;
  // check with its own capture: refusals whose reset could not have come from the target.
  // A reset a TTL ladder placed before the target is a middlebox's too, with or without capture.
  struct Reset {
    const tcp::Result* result;
    const CaptureSession* session;  // nullptr: no packets of it
    const trace::ResetLadder* ladder;
  };
  std::map<std::string, std::vector<Reset>> middlebox;
  std::map<const tcp::Result*, std::string> packet_words;  // what the packets add to a refusal
  std::map<const tcp::Result*, std::string> ladder_words;  // what a TTL ladder adds to it
  std::set<const tcp::Result*> cannot_tell;  // no other packet from the address to compare
  for (const auto& r : ev.tcp) {
    if (r.state == tcp::State::NotProbed) continue;  // the tcp collector reports these
    if (r.state == tcp::State::Open) {
      open_ports.insert(r.target.port);
      continue;
    }
    const trace::ResetLadder* ladder = nullptr;
    if (r.state == tcp::State::Refused)
      for (const auto& l : ev.ladders)
        if (l.plan.address == r.target.address && l.plan.refused_port == r.target.port) ladder = &l;
    const bool placed =
        ladder != nullptr && ladder->place.placement == trace::Placement::BeforeTarget;
    if (ladder != nullptr && !placed) ladder_words[&r] = ladder->summary();
    const CaptureSession* session = nullptr;
    if (r.state == tcp::State::Refused)
      if (const auto* s = session_for(ev, r); s != nullptr && s->rst && !s->rst->from_client)
        session = s;
    if (placed) {
      middlebox[r.target.address].push_back({&r, session, ladder});
      continue;
    }
    if (const auto* s = session; s != nullptr) {
      const auto judged = judge_reset(*s->rst);
      if (judged == ResetJudgement::Middlebox || judged == ResetJudgement::Likely) {
        middlebox[r.target.address].push_back({&r, s, ladder});
        continue;
      }
      if (judged == ResetJudgement::Unknown) {
        cannot_tell.insert(&r);
        packet_words[&r] = reset_line(*s) + ": the packets cannot tell whether " +
                           r.target.address + " or a device in the path sent it";
      } else {
        packet_words[&r] = reset_line(*s) + ": the same distance, the target's own reset";
      }
    }
    groups[{r.target.address, r.state}].push_back(&r);
  }
  for (const auto& [address, list] : middlebox) {
    std::vector<std::uint16_t> ports;
    std::vector<std::string> evidence;
    bool sure = false, by_packets = false, by_ladder = false;
    for (const auto& [r, s, ladder] : list) {
      ports.push_back(r->target.port);
      const bool placed =
          ladder != nullptr && ladder->place.placement == trace::Placement::BeforeTarget;
      const bool packets_say = s != nullptr && judge_reset(*s->rst) == ResetJudgement::Middlebox;
      by_packets = by_packets || packets_say;
      by_ladder = by_ladder || placed;
      sure = sure || packets_say || placed;
      if (evidence.size() >= 8) continue;
      evidence.push_back("tcp " + address + ":" + std::to_string(r->target.port) + " [" +
                         std::string(tcp::to_string(r->target.role)) + "] -> refused after " +
                         format_ms(r->rtt_ms) + (r->detail.empty() ? "" : ": " + r->detail));
      if (ladder != nullptr) evidence.push_back(ladder->summary());
      if (s != nullptr) {
        evidence.push_back(reset_line(*s));
        if (s->rst->race) evidence.push_back(s->rst->race_detail);
      }
    }
    std::string detail;
    if (by_ladder)
      detail =
          "The socket saw 'connection refused', but a TTL ladder draws the reset with fewer hops "
          "than the target's own SYN-ACK needs: a device before the target (a firewall, proxy or "
          "IDS) sent it, at the hop named below. The port may well be open on the target.";
    else if (by_packets)
      detail =
          "The socket saw 'connection refused', but the reset's hop count does not match the "
          "target's own packets in the capture: a device at another distance from this host "
          "(a firewall, proxy or IDS) sent it. The port may well be open on the target.";
    else
      detail =
          "The socket saw 'connection refused'; the reset's TTL is one hop off the target's "
          "own packets: likely a device in the path, not certain (paths can change).";
    auto f =
        make_finding(Code::TcpResetByMiddlebox,
                     std::string(sure ? "" : "Likely: ") + address + ":" + format_ports(ports) +
                         ": the reset came from a device in the path, not the target",
                     detail, evidence);
    // Hedged or not, the connection was refused: the severity is the refusal's.
    f.addresses = {address};
    out.push_back(std::move(f));
  }
  for (const auto& [key, results] : groups) {
    // Plain locals: lambdas below capture them (clang 14 cannot capture structured bindings).
    const std::string address = key.first;
    const tcp::State state = key.second;
    std::vector<std::uint16_t> ports;
    std::vector<std::string> evidence;
    for (const auto* r : results) {
      ports.push_back(r->target.port);
      if (evidence.size() < 8) {
        evidence.push_back("tcp " + address + ":" + std::to_string(r->target.port) + " [" +
                           std::string(tcp::to_string(r->target.role)) + "] -> " +
                           std::string(tcp::to_string(state)) + " after " + format_ms(r->rtt_ms) +
                           (r->detail.empty() ? "" : ": " + r->detail));
        if (auto w = packet_words.find(r); w != packet_words.end()) evidence.push_back(w->second);
        if (auto w = ladder_words.find(r); w != ladder_words.end()) evidence.push_back(w->second);
      }
    }
    if (results.size() > evidence.size())
      evidence.push_back("... and " + std::to_string(results.size() - evidence.size()) +
                         " more ports in the same state");
    const std::string where = address + ":" + format_ports(ports);
    const std::string what = results.size() == 1 ? where
                                                 : address + " ports " + format_ports(ports) +
                                                       " (" + std::to_string(results.size()) + ")";
    // Where the SYNs stop, from the TCP traceroute of this address (when one ran).
    if (state == tcp::State::Filtered)
      for (const auto& t : ev.paths)
        if (t.target.address == address)
          evidence.push_back("trace to " + address + ":" + std::to_string(t.target.port) + " (" +
                             std::string(trace::to_string(t.method)) + "): " + t.summary());
    const auto* first = results.front();
    // Computed here: clang 14 (the fuzz build) cannot capture the structured binding `results`.
    const bool sender_untold =
        std::any_of(results.begin(), results.end(),
                    [&](const tcp::Result* r) { return cannot_tell.count(r) > 0; });
    Finding f = [&] {
      switch (state) {
        case tcp::State::Filtered:
          return make_finding(Code::TcpFiltered, what + ": no answer to SYN (silent drop)",
                              "Nothing came back before the deadline: a firewall, NSG or NVA on "
                              "the path drops the packets.",
                              evidence);
        case tcp::State::Refused:
          return make_finding(
              Code::TcpRefused, what + ": connection refused (TCP RST)",
              sender_untold ? "A TCP reset came back for the SYN. The capture cannot say who sent "
                              "it: nothing else came from that address to compare its TTL with, so "
                              "a device in the path is not ruled out."
                            : "A TCP reset came back for the SYN.",
              evidence);
        case tcp::State::Unreachable:
          return make_finding(Code::IcmpUnreachable, what + ": " + first->detail,
                              first->icmp.reporter.empty()
                                  ? "The connection failed with a host-unreachable error."
                                  : "Router " + first->icmp.reporter +
                                        " reported the destination unreachable (ICMP type " +
                                        std::to_string(first->icmp.type) + " code " +
                                        std::to_string(first->icmp.code) + ").",
                              evidence);
        default:
          return make_finding(
              Code::RouteMissing, what + ": no route to the network",
              first->detail.empty() ? "connect() failed: network unreachable." : first->detail,
              evidence);
      }
    }();
    f.addresses = {address};
    auto about = [&](const Finding& e) {
      return std::find(e.addresses.begin(), e.addresses.end(), address) != e.addresses.end();
    };
    // The same address may already have a ROUTE_MISSING from the route lookup: one is enough.
    if (f.code == Code::RouteMissing &&
        std::any_of(earlier.begin(), earlier.end(),
                    [&](const Finding& e) { return e.code == Code::RouteMissing && about(e); }))
      continue;
    if (find_earlier(Code::WrongPortForEndpoint) &&
        std::find(ports.begin(), ports.end(), ev.target.port) != ports.end())
      f.caused_by = Code::WrongPortForEndpoint;
    // MI_LINK_PORT_UNREACHABLE is about the instance's 5022 only: it explains no other port.
    const bool mirroring_only =
        std::all_of(ports.begin(), ports.end(), [](std::uint16_t p) { return p == 5022; });
    for (const auto& e : earlier)
      if (!f.caused_by && e.code == Code::MiLinkPortUnreachable && about(e) && mirroring_only)
        f.caused_by = Code::MiLinkPortUnreachable;
    for (auto c : {Code::RouteUnexpectedPath, Code::DnsPublicAddressForVnetLocal,
                   Code::DnsPrivateAddressForPublicEndpoint, Code::DnsResolversDisagree,
                   Code::DnsHostsFileOverride})
      for (const auto& e : earlier)
        if (!f.caused_by && e.code == c && about(e)) f.caused_by = c;
    // Another address answering on the same port means clients can still get through.
    if (std::all_of(ports.begin(), ports.end(), [&](auto p) { return open_ports.count(p) > 0; }) &&
        f.severity == Severity::Error) {
      f.severity = Severity::Warning;
      f.detail += " Another address of the target answers on the same port.";
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<Finding> explain_link(const Evidence& ev) {
  std::vector<Finding> out;
  if (ev.mode != Mode::Link) return out;
  const auto& t = ev.target;
  // Replication runs over the VNet-local endpoint only (not public, not a private endpoint).
  std::string wrong;
  if (t.kind == EndpointKind::Public)
    wrong = "the instance's public endpoint (" + t.host + ")";
  else if (t.kind == EndpointKind::PrivateEndpoint)
    wrong = "a private endpoint (" + t.host + ")";
  else
    for (const auto& a : ev.addresses)
      if (auto ip = net::parse_ip(a);
          ip && net::classify(*ip, ev.class_overrides) == net::AddressClass::Public) {
        wrong = "a public address (" + t.host + " resolves to " + a + ")";
        break;
      }
  if (!wrong.empty())
    out.push_back(
        make_finding(Code::MiLinkNeedsVnetLocal, "The MI link cannot run over " + wrong,
                     "The link's replication (database mirroring endpoint, 5022 and "
                     "11000-11999) is reachable only over the VNet-local endpoint.",
                     {"target: " + t.input + " (" + std::string(to_string(t.kind)) + ")"}));
  // The instance's mirroring endpoint, per address: 5022 must connect. (The 11000-11999 range is
  // swept on the redirect node: REDIRECT_PORTS_FILTERED says when it is dropped.)
  for (const auto& r : ev.tcp) {
    if (r.target.port != 5022 || r.target.role != tcp::Role::Link || r.state == tcp::State::Open)
      continue;
    std::vector<std::string> evidence = {"tcp " + r.target.address + ":5022 [link] -> " +
                                         std::string(tcp::to_string(r.state)) +
                                         (r.detail.empty() ? "" : ": " + r.detail)};
    for (const auto& p : ev.paths)
      if (p.target.address == r.target.address)
        evidence.push_back("trace to " + r.target.address + ":" + std::to_string(p.target.port) +
                           ": " + p.summary());
    auto f = make_finding(Code::MiLinkPortUnreachable,
                          r.target.address +
                              ": the instance's mirroring endpoint (5022) cannot "
                              "be reached",
                          "The instance's database mirroring endpoint did not accept the "
                          "connection: the link cannot replicate.",
                          evidence);
    f.addresses = {r.target.address};
    out.push_back(std::move(f));
  }
  // The local SQL Server's build against the link's documented minimum (--sql-version).
  if (ev.link && ev.link->version_fact && ev.link->version_fact->known &&
      !ev.link->version_fact->meets)
    out.push_back(make_finding(Code::MiLinkSqlVersionUnsupported,
                               ev.link->version_fact->release + " " + ev.link->sql_version->text +
                                   " is older than the MI link supports",
                               ev.link->version_fact->words,
                               {"--sql-version " + ev.link->sql_version->text}));
  // This host's own mirroring endpoint, which the instance connects back to.
  if (ev.link && ev.link->listening && !*ev.link->listening) {
    const std::string port = std::to_string(ev.link->endpoint_port);
    out.push_back(make_finding(
        Code::MiLinkPortUnreachable,
        "Nothing on this host listens on " + port +
            ": the instance cannot connect back to its endpoint",
        "The link needs this SQL Server's database mirroring endpoint listening on port " + port +
            " (a named instance may use another: --link-endpoint-port).",
        {"socket tables (/proc/net/tcp, tcp6): no listener on port " + port}));
  }
  return out;
}

std::vector<Finding> explain_collectors(const Evidence& ev) {
  std::vector<Finding> out;
  for (const auto& c : ev.collectors) {
    if (!c.leaves_unknown()) continue;
    const std::string unknown = c.name == "dns"      ? "the addresses the name resolves to"
                                : c.name == "routes" ? "how this host routes to the instance"
                                : c.name == "tcp"    ? "whether the instance's ports are reachable"
                                : c.name == "tds"    ? "PRELOGIN, TLS and the login at the gateway"
                                : c.name == "entra"  ? "whether the Entra ID authority is reachable"
                                : c.name == "redirect"
                                    ? "whether the redirect node is reachable and accepts the login"
                                    : "what this step checks";
    out.push_back(
        make_finding(Code::CheckIncomplete,
                     "The " + c.name + " step " + std::string(to_string(c.status)) + ": " + c.error,
                     "This part of the path is unknown, not healthy: " + unknown + ".",
                     {"collector " + c.name + ": " + std::string(to_string(c.status)) + " after " +
                      format_ms(c.duration_ms) + " (" + c.error + ")"}));
  }
  return out;
}

// --mode link: the 11000-11999 range blocked toward the node the login was routed to is the link's
// HADR range blocked (spec §2: the link needs 5022 and 11000-11999), MI_LINK_PORT_UNREACHABLE; the
// redirect finding, which holds the sweep's evidence, follows from it.
void link_range_blocked(const Evidence& ev, std::vector<Finding>& all) {
  if (ev.mode != Mode::Link || !ev.redirect || ev.redirect->port < 11000 ||
      ev.redirect->port > 11999)
    return;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].code != Code::RedirectPortsFiltered || all[i].caused_by) continue;
    const std::string node = ev.redirect->host + ":" + std::to_string(ev.redirect->port);
    auto f = make_finding(Code::MiLinkPortUnreachable,
                          "The HADR port range toward " + node + " is blocked for the MI link",
                          "The link's replication uses 11000-11999 as well as 5022; the "
                          "instance's node does not answer there from this host.",
                          all[i].evidence);
    f.addresses = all[i].addresses;
    all[i].caused_by = Code::MiLinkPortUnreachable;
    all.push_back(std::move(f));
    return;
  }
}

std::vector<Finding> explain(const Evidence& ev) {
  std::vector<Finding> all = explain_target(ev);
  for (auto& f : explain_dns(ev)) all.push_back(std::move(f));
  for (auto& f : explain_routes(ev)) all.push_back(std::move(f));
  for (auto& f : explain_link(ev)) all.push_back(std::move(f));
  for (auto& f : explain_tcp(ev, all)) all.push_back(std::move(f));
  for (auto& f : explain_tds(ev)) all.push_back(std::move(f));
  for (auto& f : explain_entra(ev, all)) all.push_back(std::move(f));
  for (auto& f : explain_collectors(ev)) all.push_back(std::move(f));
  for (auto& f : explain_capture(ev)) all.push_back(std::move(f));
  confirm_with_packets(ev, all);
  link_range_blocked(ev, all);
  for (auto& f : explain_failover_group(ev, all)) all.push_back(std::move(f));
  std::stable_sort(all.begin(), all.end(), [](const Finding& a, const Finding& b) {
    auto key = [](const Finding& f) {
      return std::tuple(f.caused_by.has_value(), f.severity, catalogue(f.code).rank);
    };
    return key(a) < key(b);
  });
  return all;
}

}  // namespace midiag::reports
