#include "agent/check.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <set>

#include <spdlog/spdlog.h>

namespace midiag::agent {

namespace {

constexpr size_t kMaxAddresses = 8;  // a name with more addresses is not an MI name
constexpr std::uint16_t kMirroringPort = 5022;

std::string utc_now_iso8601() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

tcp::Role role_for(const reports::Target& t, std::uint16_t gateway_port, std::uint16_t port) {
  if (port == gateway_port)
    return t.kind == reports::EndpointKind::Public ? tcp::Role::Public : tcp::Role::Gateway;
  if (port == kMirroringPort) return tcp::Role::Link;
  if (port >= 11000 && port <= 11999) return tcp::Role::Sweep;
  return tcp::Role::Custom;
}

void add_unique(std::vector<std::string>& list, const std::string& a) {
  if (std::find(list.begin(), list.end(), a) == list.end()) list.push_back(a);
}

// What applications get first (hosts file, else the system resolver; IPv4 before IPv6), then
// what the other resolvers said, so a disagreement is probed too.
std::vector<std::string> addresses_to_probe(const reports::Evidence& ev) {
  std::vector<std::string> out;
  for (const auto& h : ev.hosts_entries) add_unique(out, h.address);
  for (bool system : {true, false})
    for (std::string type : {"A", "AAAA"})
      for (const auto& l : ev.lookups)
        if ((l.resolver == reports::kSystemResolver) == system && l.type == type &&
            l.name == ev.target.host)
          for (const auto& a : l.addresses) add_unique(out, a.address);
  if (out.size() > kMaxAddresses) out.resize(kMaxAddresses);
  return out;
}

constexpr std::uint16_t kRedirectFrom = 11000, kRedirectTo = 11999;

tdsprobe::Options tds_options(const CheckOptions& o, const std::string& address, std::uint16_t port) {
  tdsprobe::Options t;
  t.address = address;
  t.port = port;
  t.server_name = o.target.host;  // drivers send the original name, also to the node
  t.timeout = o.timeout;
  t.strict = o.strict;
  t.login = o.login;
  t.credentials = o.credentials;
  t.ca_file = o.ca_file;
  return t;
}

// The gateway said "go to host:port": resolve it, probe that port and its range, log in there.
reports::RedirectEvidence follow_redirect(const CheckOptions& o, const reports::Evidence& ev,
                                          const tds::Routing& routing) {
  reports::RedirectEvidence rd;
  rd.host = routing.host;
  rd.port = routing.port;
  if (net::parse_ip(rd.host)) {
    rd.addresses.push_back(net::parse_ip(rd.host)->str());
  } else {
    dns::Options dopt;
    dopt.timeout = o.timeout;
    dopt.class_overrides = o.class_overrides;
    auto lookups = dns::resolve_all({{std::string(reports::kSystemResolver), ev.system_servers}},
                                    {{rd.host}}, dopt);
    for (const auto& l : lookups) {
      for (const auto& a : l.addresses) add_unique(rd.addresses, a.address);
      if (l.status != dns::Status::Ok && rd.resolve_error.empty())
        rd.resolve_error = l.type + " " + std::string(dns::to_string(l.status)) + (l.error.empty() ? "" : ": " + l.error);
    }
    if (rd.addresses.empty() && rd.resolve_error.empty()) rd.resolve_error = "no A or AAAA record";
  }
  if (rd.addresses.empty()) return rd;
  const auto& address = rd.addresses.front();
  std::vector<tcp::Target> targets{{address, rd.port, tcp::Role::Redirect}};
  // Classic redirect ports: sweep the range so the report can say "one port" or "all of them".
  if (rd.port >= kRedirectFrom && rd.port <= kRedirectTo) {
    rd.sweep_from = kRedirectFrom;
    rd.sweep_to = kRedirectTo;
    for (std::uint32_t p = kRedirectFrom; p <= kRedirectTo; ++p)
      if (p != rd.port) targets.push_back({address, static_cast<std::uint16_t>(p), tcp::Role::Sweep});
  }
  tcp::Options topt;
  topt.timeout = o.timeout;
  auto results = tcp::probe_all(targets, topt);
  if (results) rd.tcp = std::move(*results);
  if (!rd.tcp.empty() && rd.tcp.front().state == tcp::State::Open)
    rd.node_login = tdsprobe::run_tds_probe(tds_options(o, address, rd.port));
  return rd;
}

}  // namespace

Expected<std::string> parse_resolver(std::string_view text) {
  std::string_view host = text, port;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos || (close + 1 < text.size() && text[close + 1] != ':'))
      return make_error("bad --resolver '" + std::string(text) + "': expected [IPv6]:port");
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) port = text.substr(close + 2);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  }
  if (!net::parse_ip(host))
    return make_error("bad --resolver '" + std::string(text) +
                      "': not an IP address (write IP, IP:port or [IPv6]:port)");
  if (!port.empty() || text.ends_with(':')) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p == 0 ||
        p > 65535)
      return make_error("bad --resolver '" + std::string(text) + "': port must be 1-65535");
  }
  return std::string(text);
}

CheckOutcome run_check(const CheckOptions& options, const Clock& clock) {
  CheckOutcome out;
  const auto t0 = clock.now();
  reports::Evidence ev;
  ev.target = options.target;
  ev.mode = options.mode;
  ev.class_overrides = options.class_overrides;
  ev.started_at = clock.wall_iso8601 ? clock.wall_iso8601() : utc_now_iso8601();

  if (ev.target.kind == reports::EndpointKind::IpLiteral) {
    ev.addresses.push_back(ev.target.host);
  } else {
    // The demo names its own DNS server; everything else reads the system's resolv.conf.
    auto conf = options.system_servers.empty()
                    ? platform::load_resolv_conf(options.resolv_conf)
                    : Expected<platform::ResolvConf>(platform::ResolvConf{options.system_servers, {}, 5, 2});
    if (!conf)
      return {false,
              {},
              {2, conf.error().message + " (pass --resolver IP to name a DNS server)"}};
    if (conf->nameservers.empty()) {
      // glibc and c-ares both fall back to the local host then; say so rather than guess.
      conf->nameservers.push_back("127.0.0.1");
      ev.limitations.push_back(options.resolv_conf +
                               " names no nameserver; the system resolver falls back to 127.0.0.1");
    }
    ev.system_servers = conf->nameservers;
    auto hosts = platform::load_hosts(options.hosts_file);
    if (!hosts) {
      if (options.hosts_file_given) return {false, {}, {2, hosts.error().message}};
      ev.limitations.push_back(hosts.error().message + "; hosts-file overrides not checked");
    } else {
      ev.hosts_entries = platform::hosts_entries_for(*hosts, ev.target.host);
    }

    std::vector<dns::Resolver> resolvers{
        {std::string(reports::kSystemResolver), conf->nameservers}};
    for (const auto& r : options.resolvers) resolvers.push_back({r, {r}});
    dns::Options dopt;
    dopt.timeout = options.timeout;
    dopt.class_overrides = options.class_overrides;
    spdlog::debug("resolving {} with {} resolver(s)", ev.target.host, resolvers.size());
    ev.lookups = dns::resolve_all(resolvers, {{ev.target.host}}, dopt);
    ev.dns_ran = true;
    for (const auto& l : ev.lookups)
      if (l.resolver == reports::kSystemResolver && !l.cname_chain.empty()) {
        reports::refine_with_cname_chain(ev.target, l.cname_chain);
        break;
      }
    ev.addresses = addresses_to_probe(ev);
  }

  for (const auto& a : ev.addresses) {
    auto route = platform::lookup_route(a);
    if (route)
      ev.routes.push_back(*route);
    else
      spdlog::warn("route lookup for {} failed: {}", a, route.error().message);
  }

  std::vector<std::uint16_t> ports = options.ports;
  const std::uint16_t gateway_port = options.connect_port.value_or(ev.target.port);
  if (ports.empty()) ports.push_back(gateway_port);
  if (options.mode == reports::Mode::Link &&
      std::find(ports.begin(), ports.end(), kMirroringPort) == ports.end())
    ports.push_back(kMirroringPort);
  std::vector<tcp::Target> targets;
  for (const auto& a : ev.addresses) {
    // An address the kernel cannot route is not worth a socket: the route lookup already says why.
    bool routable =
        std::none_of(ev.routes.begin(), ev.routes.end(), [&](const platform::RouteInfo& r) {
          return r.destination == a && r.kind != "unicast" && r.kind != "local";
        });
    if (!routable) continue;
    for (auto p : ports) targets.push_back({a, p, role_for(ev.target, gateway_port, p)});
  }
  if (!targets.empty()) {
    tcp::Options topt;
    topt.timeout = options.timeout;
    spdlog::debug("probing {} TCP target(s)", targets.size());
    auto results = tcp::probe_all(targets, topt);
    if (!results) return {false, {}, {3, "cannot run the TCP probes: " + results.error().message}};
    ev.tcp = std::move(*results);
  }

  if (options.tds) {
    auto open = std::find_if(ev.tcp.begin(), ev.tcp.end(), [&](const tcp::Result& r) {
      return r.target.port == gateway_port && r.state == tcp::State::Open;
    });
    if (open != ev.tcp.end()) {
      spdlog::debug("TDS exchange with {}:{}", open->target.address, open->target.port);
      ev.tds = tdsprobe::run_tds_probe(tds_options(options, open->target.address, gateway_port));
      if (ev.tds->routing) {
        if (ev.system_servers.empty())
          if (auto conf = platform::load_resolv_conf(options.resolv_conf)) ev.system_servers = conf->nameservers;
        ev.redirect = follow_redirect(options, ev, *ev.tds->routing);
      }
    }
    if (!options.login) ev.limitations.push_back("login: not attempted (--no-login), so a redirect cannot be seen");
  }
  ev.limitations.push_back(
      "packet capture: not available in this version, so a reset injected by a middlebox looks "
      "like the target's own (TCP_REFUSED)");
  ev.duration_ms = std::chrono::duration<double, std::milli>(clock.now() - t0).count();
  out.ok = true;
  out.report = reports::make_report(MIDIAG_VERSION, std::move(ev));
  return out;
}

}  // namespace midiag::agent
