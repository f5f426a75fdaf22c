#include "agent/check.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <functional>
#include <future>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "agent/analyze.h"
#include "agent/check_entra.h"
#include "agent/failover_group.h"
#include "decoders/pcap/frame_view.h"
#include "platform/azure/imds.h"
#include "platform/capture/live_capture.h"
#include "platform/linux/host_routes.h"
#include "platform/linux/listening.h"
#include "platform/linux/system_snapshot.h"
#include "probes/tds/tls_client.h"

namespace midiag::agent {

namespace {

constexpr size_t kMaxAddresses = 8;  // a name with more addresses is not an MI name
constexpr std::uint16_t kMirroringPort = 5022;
// TTL ladders per check (refused address:port pairs), each with a ladder to a working port.
constexpr std::size_t kMaxLadders = 4;

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

tdsprobe::Options tds_options(const CheckOptions& o, const std::string& address,
                              std::uint16_t port) {
  tdsprobe::Options t;
  t.address = address;
  t.port = port;
  t.server_name = o.target.host;  // drivers send the original name, also to the node
  t.timeout = o.timeout;
  t.strict = o.strict;
  t.login = o.login;
  t.read_only_intent = o.read_only_intent;
  t.credentials = o.credentials;
  t.ca_file = o.ca_file;
  t.encrypt = o.encrypt;
  t.trust_server_certificate = o.trust_server_certificate;
  t.host_name_in_certificate = o.host_name_in_certificate;
  t.fedauth_required = o.entra;  // --auth entra: PRELOGIN says so, as the driver's would
  return t;
}

// One step of the pipeline: times itself and records how it ended in ev.collectors.
class Step {
 public:
  Step(reports::Evidence& ev, const Clock& clock, std::string name)
      : ev_(ev), clock_(clock), start_(clock.now()) {
    rec_.name = std::move(name);
  }
  void end(reports::CollectorStatus status, std::string error = {},
           reports::Shortfall why = reports::Shortfall::None) {
    rec_.status = status;
    rec_.error = std::move(error);
    rec_.shortfall = why;
  }
  void skip(std::string error, reports::Shortfall why) {
    end(reports::CollectorStatus::Skipped, std::move(error), why);
  }
  // For work that ran beside another step: its own duration, not the time spent collecting it.
  void took(double ms) { took_ms_ = ms; }
  ~Step() {
    rec_.duration_ms =
        took_ms_.value_or(std::chrono::duration<double, std::milli>(clock_.now() - start_).count());
    ev_.collectors.push_back(std::move(rec_));
  }
  Step(const Step&) = delete;
  Step& operator=(const Step&) = delete;

 private:
  reports::Evidence& ev_;
  const Clock& clock_;
  std::chrono::steady_clock::time_point start_;
  reports::CollectorRecord rec_;
  std::optional<double> took_ms_;
};

// The TCP traceroute that runs beside the TCP step: started (on its own thread) for the
// endpoint-port targets whose SYN is still unanswered after 200 ms, so a healthy check sends
// none and a filtered one still ends within about one timeout.
struct TraceJob {
  double duration_ms = 0;
  Expected<std::vector<trace::Result>> result = std::vector<trace::Result>{};
};

void start_trace(std::future<TraceJob>& job, const std::vector<tcp::Target>& waiting,
                 std::uint16_t port, std::chrono::milliseconds timeout) {
  std::vector<trace::Target> targets;
  for (const auto& w : waiting)
    if (w.port == port && std::none_of(targets.begin(), targets.end(),
                                       [&](const auto& t) { return t.address == w.address; }))
      targets.push_back({w.address, w.port});
  if (targets.empty() || job.valid()) return;
  trace::Options topt;
  topt.timeout = timeout;
  try {
    job = std::async(std::launch::async, [targets, topt] {
      const auto t0 = std::chrono::steady_clock::now();
      TraceJob j;
      j.result = trace::trace_all(targets, topt);
      j.duration_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      return j;
    });
  } catch (const std::system_error& e) {
    std::promise<TraceJob> failed;
    failed.set_value(
        {0, make_error(std::string("no thread for the trace: ") + e.what(), ErrorKind::Resource)});
    job = failed.get_future();
  }
}

// The whole 11000-11999 range is swept only toward a node that is plausibly the instance's: a
// private address, a name in the target's DNS zone, or the target's own address. Anything else
// a routing token names gets one probe of the routed port, not a port scan.
std::string sweep_withheld(const CheckOptions& o, const reports::Evidence& ev,
                           const std::string& host, const std::string& address) {
  if (std::find(ev.addresses.begin(), ev.addresses.end(), address) != ev.addresses.end()) return {};
  if (auto ip = net::parse_ip(address)) {
    auto c = net::classify(*ip, o.class_overrides);
    if (c == net::AddressClass::Private || c == net::AddressClass::Ula ||
        c == net::AddressClass::Cgnat || c == net::AddressClass::Loopback)
      return {};
  }
  const auto& t = ev.target;
  if (!t.zone.empty() && !t.suffix.empty() && host.ends_with("." + t.zone + "." + t.suffix))
    return {};
  return "the routed address " + address + " is public, not the target's and " + host +
         " is outside the target's DNS zone: only the routed port was probed, not the range";
}

// The gateway said "go to host:port": resolve it, probe that port (and its range where that is
// safe), and log in there with the original server name, under the same credential rules.
void follow_redirect(const CheckOptions& o, reports::Evidence& ev, const tds::Routing& routing,
                     std::chrono::steady_clock::time_point budget_end,
                     const std::function<bool()>& over_budget, Step& step,
                     const std::function<void(const std::string&)>& before_probing) {
  reports::RedirectEvidence rd;
  rd.host = routing.host;
  rd.port = routing.port;
  auto done = [&](reports::CollectorStatus status, std::string error, reports::Shortfall why) {
    step.end(status, std::move(error), why);
    ev.redirect = std::move(rd);
  };
  if (rd.port == 0) rd.invalid = "the routing token names port 0";
  if (rd.host.empty()) rd.invalid = "the routing token names no host";
  if (!rd.invalid.empty())
    return done(reports::CollectorStatus::Skipped, rd.invalid, reports::Shortfall::Explained);

  if (auto ip = net::parse_ip(rd.host)) {
    rd.addresses.push_back(ip->str());
  } else {
    dns::Options dopt;
    dopt.timeout = o.timeout;
    dopt.class_overrides = o.class_overrides;
    auto lookups = dns::resolve_all({{std::string(reports::kSystemResolver), ev.system_servers}},
                                    {{rd.host}}, dopt);
    for (const auto& l : lookups) {
      for (const auto& a : l.addresses) add_unique(rd.addresses, a.address);
      if (l.status != dns::Status::Ok && rd.resolve_error.empty())
        rd.resolve_error = l.type + " " + std::string(dns::to_string(l.status)) +
                           (l.error.empty() ? "" : ": " + l.error);
    }
    if (rd.addresses.empty() && rd.resolve_error.empty()) rd.resolve_error = "no A or AAAA record";
  }
  if (rd.addresses.empty())
    return done(reports::CollectorStatus::Partial, "the routed host does not resolve",
                reports::Shortfall::Explained);
  if (over_budget())
    return done(reports::CollectorStatus::Partial,
                "the check's time budget ran out before the node could be probed",
                reports::Shortfall::Budget);

  const auto& address = rd.addresses.front();
  before_probing(address);
  std::vector<tcp::Target> targets{{address, rd.port, tcp::Role::Redirect}};
  // Classic redirect ports: sweep the range so the report can say "one port" or "all of them".
  if (rd.port >= kRedirectFrom && rd.port <= kRedirectTo) {
    rd.sweep_withheld = sweep_withheld(o, ev, rd.host, address);
    if (rd.sweep_withheld.empty()) {
      rd.sweep_from = kRedirectFrom;
      rd.sweep_to = kRedirectTo;
      for (std::uint32_t p = kRedirectFrom; p <= kRedirectTo; ++p)
        if (p != rd.port)
          targets.push_back({address, static_cast<std::uint16_t>(p), tcp::Role::Sweep});
    }
  }
  tcp::Options topt;
  topt.timeout = o.timeout;
  topt.stop_starting_at = budget_end;
  auto results = tcp::probe_all(targets, topt);
  if (!results)
    return done(reports::CollectorStatus::Failed,
                "TCP probes of the node: " + results.error().message,
                reports::Shortfall::ToolFailure);
  rd.tcp = std::move(*results);
  const bool open = !rd.tcp.empty() && rd.tcp.front().state == tcp::State::Open;
  if (!open) return done(reports::CollectorStatus::Ok, {}, reports::Shortfall::None);
  if (!o.login)
    return done(reports::CollectorStatus::Partial, "login at the node not attempted (--no-login)",
                reports::Shortfall::UserChoice);
  if (over_budget())
    return done(reports::CollectorStatus::Partial,
                "the check's time budget ran out before the login at the node",
                reports::Shortfall::Budget);
  rd.node_login = tdsprobe::run_tds_probe(tds_options(o, address, rd.port));
  done(reports::CollectorStatus::Ok, {}, reports::Shortfall::None);
}

// <x>.public.<zone> does not exist: is <x>.<zone> a failover-group listener (a CNAME to an
// instance)? Listeners have no public-endpoint name, so that is the likely mistake (spec §2).
void ask_public_sibling(reports::Evidence& ev, const dns::Resolver& system,
                        const dns::Options& dopt) {
  const auto& t = ev.target;
  if (t.kind != reports::EndpointKind::Public || !ev.addresses.empty() ||
      !ev.hosts_entries.empty() || system.label != reports::kSystemResolver)
    return;
  const bool nxdomain = std::any_of(ev.lookups.begin(), ev.lookups.end(), [&](const auto& l) {
    return l.resolver == system.label && l.name == t.host && l.status == dns::Status::NxDomain;
  });
  if (!nxdomain) return;
  reports::Evidence::PublicSibling sibling;
  sibling.name = t.instance + "." + t.zone + "." + t.suffix;
  spdlog::debug("{} does not exist: asking its VNet-local sibling {}", t.host, sibling.name);
  sibling.lookups = dns::resolve_all({system}, {{sibling.name}}, dopt);
  ev.public_sibling = std::move(sibling);
}

// The probe's own connections in the live capture, per connection (the packet rules' input): the
// ports probed and the SQL ones, without the trace's TTL-limited SYNs.
reports::PacketEvidence sessions_of(const reports::Evidence& ev, std::vector<std::uint16_t> ports,
                                    std::uint16_t gateway_port,
                                    const std::set<std::pair<std::uint16_t, std::uint16_t>>& skip) {
  AnalyzeOptions aopt;
  aopt.file = ev.capture.file;
  for (auto p : default_sql_ports()) ports.push_back(p);
  ports.push_back(gateway_port);
  if (ev.redirect && ev.redirect->port != 0) ports.push_back(ev.redirect->port);
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  aopt.ports = std::move(ports);
  std::vector<pcap::FrameView> views;
  views.reserve(ev.capture.frames.size());
  for (const auto& f : ev.capture.frames) {
    pcap::FrameView v;
    v.timestamp_ns = f.timestamp_ns;
    v.link_type = static_cast<std::uint32_t>(ev.capture.link_type);
    v.data = f.data;
    v.original_length = f.original_length;
    views.push_back(v);
  }
  auto analysis = analyze_frames(views, aopt, skip);
  auto& packets = analysis.packets;
  packets.format = "live";
  // The redirect range's sweep refused by the node is a thousand look-alike connections: counted,
  // not listed (the sweep summary speaks for them); the other sweep ports stay listed.
  if (ev.redirect) {
    // By (local port, swept port): the kernel reuses a local port toward another port of the
    // same host, so the local port alone also matched an earlier probe's connection.
    std::set<std::pair<std::uint16_t, std::uint16_t>> sweep_ports;
    for (const auto& r : ev.redirect->tcp)
      if (r.target.role == tcp::Role::Sweep && r.state == tcp::State::Refused && r.local_port != 0)
        sweep_ports.insert({r.local_port, r.target.port});
    // The socket saw the refusal; a capture that lost the RST (kernel drops in the burst) would
    // show the same connection as filtered or midstream: listed only if a middlebox reset it.
    auto& list = packets.sessions;
    const auto kept = std::remove_if(list.begin(), list.end(), [&](const auto& s) {
      return s.state != "reset_by_middlebox" &&
             sweep_ports.count({s.client_port, s.server_port}) > 0;
    });
    packets.sweep_refusals_not_listed = static_cast<std::size_t>(list.end() - kept);
    list.erase(kept, list.end());
  }
  return std::move(packets);
}

// IMDS on its own thread beside DNS and the probes (spec: 1 s bound, no proxy): started before
// DNS, collected at the end, so an IMDS that answers fast adds nothing to the check's time.
std::future<platform::azure::ImdsAnswer> start_imds(const CheckOptions& o) {
  platform::azure::ImdsRequest rq;
  rq.base = o.imds_base;
  rq.timeout = o.imds_timeout;
  try {
    return std::async(std::launch::async, [rq] { return platform::azure::imds_get(rq); });
  } catch (const std::system_error& e) {
    std::promise<platform::azure::ImdsAnswer> failed;
    platform::azure::ImdsAnswer a;
    a.error = std::string("no thread for the IMDS query: ") + e.what();
    a.kind = ErrorKind::Resource;
    failed.set_value(std::move(a));
    return failed.get_future();
  }
}

platform::azure::AddressScope scope_of(const CheckOptions& o, const std::string& address) {
  auto ip = net::parse_ip(address);
  if (!ip) return platform::azure::AddressScope::Other;
  switch (net::classify(*ip, o.class_overrides)) {
    case net::AddressClass::Private:
    case net::AddressClass::Cgnat:
    case net::AddressClass::Ula:
      return platform::azure::AddressScope::Private;
    case net::AddressClass::Public:
      return platform::azure::AddressScope::Public;
    default:
      return platform::azure::AddressScope::Other;
  }
}

// The "azure" collector: what DMI said, what IMDS answered (waited for here, within its bound)
// and where each probed address lies from this VM. IMDS is not on the connection's path: its
// silence is a limitation of this run (what cannot be said), never a finding, never health.
void collect_azure(const CheckOptions& o, reports::Evidence& ev, const Clock& clock,
                   reports::AzureEvidence az, std::future<platform::azure::ImdsAnswer>& job) {
  using reports::CollectorStatus;
  using reports::Shortfall;
  Step step(ev, clock, "azure");
  auto relate_all = [&](const std::string& relation, const std::string& detail) {
    for (const auto& a : ev.addresses) az.relations.push_back({a, relation, detail});
  };
  if (!job.valid()) {
    step.skip(o.azure == CheckOptions::Azure::Never ? "not asked (--no-imds, or the demo)"
                                                    : "not an Azure VM (DMI); --imds asks anyway",
              Shortfall::Explained);
    if (o.azure == CheckOptions::Azure::Auto)
      relate_all("not on Azure",
                 "this host is not an Azure VM by its DMI and --imds was not given: IMDS not "
                 "asked");
    ev.azure = std::move(az);
    return;
  }
  platform::azure::ImdsAnswer answer;
  try {
    answer = job.get();
  } catch (const std::exception& e) {  // no memory in the IMDS thread: an error, not a crash
    answer.error = std::string("the IMDS query failed: ") + e.what();
    answer.kind = ErrorKind::Resource;
  }
  step.took(answer.elapsed_ms);
  az.imds_elapsed_ms = answer.elapsed_ms;
  std::string why;
  if (answer.ok()) {
    auto info = platform::azure::parse_imds(answer.body);
    if (info) {
      az.imds_status = "answered";
      ev.on_azure = true;
      for (const auto& a : ev.addresses)
        az.relations.push_back(platform::azure::relate(*info, a, scope_of(o, a)));
      if (!info->unread.empty())
        step.end(CollectorStatus::Partial,
                 std::to_string(info->unread.size()) + " IMDS member(s) not read, first " +
                     info->unread.front().where + ": " + info->unread.front().why,
                 Shortfall::Explained);
      az.vm = std::move(*info);
      ev.azure = std::move(az);
      return;
    }
    why = "answered, but " + info.error().message;
    az.imds_status = "error";
    az.imds_error = info.error().message;
  } else {
    az.imds_status = answer.silent() ? "silent" : "error";
    az.imds_error = answer.error;
    why = (answer.silent() ? "silent: " : "") + answer.error;
  }
  step.end(CollectorStatus::Failed, "IMDS " + why, Shortfall::Explained);
  const std::string status = answer.silent() ? "silent" : "error";
  relate_all("unknown (IMDS " + status + ")",
             "IMDS " + why +
                 ": this VM's subnets are unknown, so whether this address is in its "
                 "VNet cannot be said");
  ev.limitations.push_back(
      "Azure: the instance metadata service (" + o.imds_base + ") " +
      (answer.silent() ? "did not answer within " + platform::azure::duration_words(o.imds_timeout)
                       : why) +
      ", so this VM's subnets and addresses are unknown and the report cannot say whether the "
      "target is in this VM's VNet or behind peering");
  ev.azure = std::move(az);
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

// The check's capture takes packets in batches (libpcap's TPACKET_V3 blocks): a check's few dozen
// packets then cost a few wakeups of the capture thread instead of one each, and the ring is
// filled by what packets really take, not one 64 KiB slot per packet. 4 MiB holds the redirect
// sweep's ~2,000 packets several times over (256 immediate-mode slots in 16 MiB dropped dozens of
// them in the lab) and costs little to map; 16 MiB when more than 1,000 ports are listed.
int capture_ring_bytes(const CheckOptions& o, std::size_t addresses) {
  const std::size_t probes = addresses * std::max<std::size_t>(1, o.ports.size());
  return probes > 1000 ? 16 << 20 : 4 << 20;
}

// The probe's own flows and the ICMP about them (ICMP is rare enough to take whole: the packet
// rules match its quoted header to a flow).
std::string capture_filter(const std::vector<std::string>& addresses) {
  std::string hosts;
  for (const auto& a : addresses) hosts += (hosts.empty() ? "host " : " or host ") + a;
  return "(tcp and (" + hosts + ")) or icmp or icmp6";
}

CheckOutcome run_check(const CheckOptions& options, const Clock& clock) {
  if (options.mode == reports::Mode::FailoverGroup) return run_failover_group_check(options, clock);
  return run_single_check(options, clock);
}

CheckOutcome run_single_check(const CheckOptions& options, const Clock& clock) {
  using reports::CollectorStatus;
  using reports::Shortfall;
  CheckOutcome out;
  const auto t0 = clock.now();
  const auto budget_end = t0 + 5 * options.timeout;
  const std::function<bool()> over_budget = [&] { return clock.now() >= budget_end; };
  const std::string budget_words =
      "the check's time budget (5 x --timeout-ms = " + std::to_string(5 * options.timeout.count()) +
      " ms) ran out before this step";
  reports::Evidence ev;
  ev.target = options.target;
  ev.mode = options.mode;
  ev.class_overrides = options.class_overrides;
  ev.started_at = clock.wall_iso8601 ? clock.wall_iso8601() : utc_now_iso8601();
  ev.limitations = options.notes;
  { Step target(ev, clock, "target"); }
  // Azure: DMI now (a file read); IMDS on its own thread from here to the end of the check.
  const bool dmi_azure = platform::on_azure(options.dmi_dir);
  const bool azure_vm = options.azure == CheckOptions::Azure::Always ||
                        (options.azure == CheckOptions::Azure::Auto && dmi_azure);
  reports::AzureEvidence azure;
  std::future<platform::azure::ImdsAnswer> imds_job;  // waited for by collect_azure (or its dtor)
  if (azure_vm) {
    azure.source = dmi_azure ? "dmi" : "--imds";
    imds_job = start_imds(options);
  }
  // --auth entra: the authority (DNS, TCP, TLS) on its own thread, collected at the end.
  std::future<entra::Result> entra_job = start_entra(options);
  // The TLS client's CA store loads beside DNS, routes, the capture's start and TCP (it is most of
  // a TLS client's cost); the TDS step waits for it if it is not done. Joined before returning.
  std::jthread tls_warmup;
  if (options.tds)
    tls_warmup = std::jthread([ca = options.ca_file] { (void)tdsprobe::TlsClient::prepare(ca); });

  if (ev.target.kind == reports::EndpointKind::IpLiteral) {
    Step dns_step(ev, clock, "dns");
    dns_step.skip("the target is an IP address: nothing to resolve", Shortfall::Explained);
    ev.addresses.push_back(ev.target.host);
  } else {
    // The demo names its own DNS server; everything else reads the system's resolv.conf.
    auto conf = options.system_servers.empty()
                    ? platform::load_resolv_conf(options.resolv_conf)
                    : Expected<platform::ResolvConf>(
                          platform::ResolvConf{options.system_servers, {}, 5, 2});
    if (!conf)
      return {false, {}, {2, conf.error().message + " (pass --resolver IP to name a DNS server)"}};
    Step dns_step(ev, clock, "dns");
    // A server c-ares cannot use (a scoped link-local address) is skipped by name, not allowed
    // to break the whole channel.
    for (const auto& sk : conf->skipped) ev.limitations.push_back(sk.reason);
    if (conf->nameservers.empty() && !conf->skipped.empty()) {
      dns_step.end(reports::CollectorStatus::Failed,
                   "no nameserver in " + options.resolv_conf + " is usable by this tool (" +
                       conf->skipped.front().reason + "); name one with --resolver IP",
                   Shortfall::ToolFailure);
    }
    if (conf->nameservers.empty() && conf->skipped.empty()) {
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

    std::vector<dns::Resolver> resolvers;
    if (!conf->nameservers.empty())
      resolvers.push_back({std::string(reports::kSystemResolver), conf->nameservers});
    for (const auto& r : options.resolvers) resolvers.push_back({r, {r}});
    // Spec §4 step 2: on an Azure VM also Azure DNS (unless --resolver already names it).
    if (azure_vm && std::find(options.resolvers.begin(), options.resolvers.end(),
                              platform::azure::kAzureDns) == options.resolvers.end())
      resolvers.push_back({std::string(reports::kAzureDnsResolver), {platform::azure::kAzureDns}});
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
    if (!resolvers.empty()) ask_public_sibling(ev, resolvers.front(), dopt);
  }

  {
    Step routes(ev, clock, "routes");
    std::string failures;
    ev.on_azure = dmi_azure;
    // The tables and rules once, for the model's account of each kernel answer below.
    if (!ev.addresses.empty()) {
      auto table = platform::host_route_table();
      if (table)
        ev.route_table = std::move(*table);
      else
        ev.limitations.push_back("route tables: " + table.error().message +
                                 ", so which rule and entry chose each route is not shown (the "
                                 "kernel's own answer for each address stands)");
    }
    for (const auto& a : ev.addresses) {
      auto route = platform::lookup_route(a);
      if (route) {
        ev.routes.push_back(*route);
      } else {
        spdlog::warn("route lookup for {} failed: {}", a, route.error().message);
        failures += (failures.empty() ? "" : "; ") + a + ": " + route.error().message;
      }
      auto to = platform::routes::Address::parse(a);
      if (ev.route_table && to)
        ev.route_choices.push_back({a, platform::routes::lookup(*ev.route_table, *to)});
    }
    if (ev.addresses.empty())
      routes.skip("no address to look up", Shortfall::Explained);
    else if (!failures.empty())
      routes.end(ev.routes.empty() ? CollectorStatus::Failed : CollectorStatus::Partial,
                 "route lookup failed for " + failures, Shortfall::ToolFailure);
  }

  // Capture: from before the first SYN to after the last probe (the redirect's), so the packet
  // rules see every flow of the check.
  std::unique_ptr<platform::LiveCapture> live;
  std::optional<Step> capture_step;
  std::vector<std::string> captured_hosts = ev.addresses;
  if (!options.capture) {
    Step s(ev, clock, "capture");
    s.skip("not requested (--no-capture)", Shortfall::UserChoice);
    ev.capture.error = "not requested (--no-capture)";
    ev.limitations.push_back(
        "packet capture: off (--no-capture), so a reset injected by a middlebox cannot be told "
        "from the target's own and a path-MTU black hole is not seen in packets");
  } else if (ev.addresses.empty()) {
    Step s(ev, clock, "capture");
    s.skip("no address to capture traffic for", Shortfall::Explained);
  } else {
    capture_step.emplace(ev, clock, "capture");
    platform::LiveCaptureOptions co;
    co.interface = options.capture_interface;
    co.filter = capture_filter(captured_hosts);
    co.write_path = options.capture_file;
    co.buffer_bytes = capture_ring_bytes(options, captured_hosts.size());
    co.immediate = false;
    ev.capture.interface = co.interface;
    ev.capture.filter = co.filter;
    auto started = platform::LiveCapture::start(co);
    if (started) {
      live = std::move(*started);
      ev.capture.status = "on";
    } else {
      const auto& e = started.error();
      if (e.kind == ErrorKind::Usage && !options.capture_file.empty())
        return {false, {}, {2, "--capture-file: " + e.message}};
      ev.capture.status = e.kind == ErrorKind::Permission ? "denied" : "off";
      ev.capture.error = e.message;
      capture_step->end(CollectorStatus::Skipped, e.message, Shortfall::Explained);
      capture_step.reset();
      ev.limitations.push_back(
          "packet capture: " + ev.capture.status + " (" + e.message +
          "), so a reset injected by a middlebox cannot be told from the target's own and a "
          "path-MTU black hole is only inferred, not seen in packets");
    }
  }

  std::vector<std::uint16_t> ports = options.ports;
  const std::uint16_t gateway_port = options.connect_port.value_or(ev.target.port);
  if (ports.empty()) ports.push_back(gateway_port);
  if (options.mode == reports::Mode::Link) {
    // The MI link: the instance's mirroring endpoint (CLI: an explicit --ports must hold 5022;
    // the 11000-11999 range is swept on the node the login is redirected to, as for clients),
    // and this host's own endpoint, which the instance connects back to.
    if (std::find(ports.begin(), ports.end(), kMirroringPort) == ports.end())
      ports.push_back(kMirroringPort);
    reports::Evidence::LinkEvidence link;
    link.endpoint_port = options.link_endpoint_port;
    if (options.sql_version) {
      link.sql_version = options.sql_version;
      link.version_fact = reports::link_version_fact(*options.sql_version);
    }
    auto listening = platform::tcp_port_listening(options.link_endpoint_port);
    if (listening)
      link.listening = *listening;
    else
      link.error = listening.error().message;
    ev.link = link;
    ev.limitations.push_back(
        "MI link: the instance must also reach this host's mirroring endpoint (port " +
        std::to_string(options.link_endpoint_port) +
        ") inbound, through the instance's NSG, any firewall between and this host's firewall; "
        "that direction cannot be tested from here");
  }
  std::future<TraceJob> trace_job;  // waited for (joined) on every path out of run_check
  // The trace's sockets (local port, traced port): their SYNs are left out of the sessions.
  std::set<std::pair<std::uint16_t, std::uint16_t>> trace_flows;
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
  if (targets.size() > kMaxProbes)
    return {false,
            {},
            {2, "--ports " + std::to_string(ports.size()) + " ports x " +
                    std::to_string(ev.addresses.size()) + " addresses = " +
                    std::to_string(targets.size()) + " connection attempts; the limit is " +
                    std::to_string(kMaxProbes) + ": name fewer ports"}};
  {
    Step tcp_step(ev, clock, "tcp");
    if (targets.empty()) {
      tcp_step.skip(ev.addresses.empty() ? "no address to probe" : "no routable address to probe",
                    Shortfall::Explained);
    } else if (over_budget()) {
      tcp_step.skip(budget_words, Shortfall::Budget);
    } else {
      tcp::Options topt;
      topt.timeout = options.timeout;
      topt.stop_starting_at = budget_end;
      tcp::StillWaiting still_waiting;
      if (options.trace) {
        // The trace ends with the probe it explains: what is left of the probe's timeout.
        const auto trace_timeout =
            std::max(options.timeout - still_waiting.after, options.timeout / 2);
        // trace_timeout by value: this block ends before probe_all calls back (a reference
        // dangled, and the trace ran with whatever the stack held: often no time at all).
        still_waiting.call = [&, trace_timeout](const std::vector<tcp::Target>& waiting) {
          spdlog::debug("{} SYN(s) unanswered after {} ms: tracing", waiting.size(),
                        still_waiting.after.count());
          start_trace(trace_job, waiting, gateway_port, trace_timeout);
        };
      }
      spdlog::debug("probing {} TCP target(s)", targets.size());
      auto results = tcp::probe_all(targets, topt, still_waiting);
      if (!results) {
        tcp_step.end(CollectorStatus::Failed,
                     "TCP probes could not run: " + results.error().message,
                     Shortfall::ToolFailure);
      } else {
        ev.tcp = std::move(*results);
        // The first target not probed says why for all of them (no socket, or the budget).
        const auto first = std::find_if(ev.tcp.begin(), ev.tcp.end(), [](const tcp::Result& r) {
          return r.state == tcp::State::NotProbed;
        });
        if (first != ev.tcp.end())
          tcp_step.end(CollectorStatus::Partial,
                       std::to_string(ev.tcp.end() - first) + " of " +
                           std::to_string(ev.tcp.size()) +
                           " connection attempts could not be made (" + first->detail + ")",
                       Shortfall::ToolFailure);
      }
    }
  }

  {
    Step trace_step(ev, clock, "trace");
    if (!options.trace) {
      trace_step.skip("not requested (--no-trace)", Shortfall::UserChoice);
    } else if (!trace_job.valid()) {
      trace_step.skip("no SYN to port " + std::to_string(gateway_port) +
                          " was still unanswered after 200 ms: nothing to trace",
                      Shortfall::Explained);
    } else {
      auto job = trace_job.get();
      trace_step.took(job.duration_ms);
      if (!job.result) {
        trace_step.end(CollectorStatus::Failed,
                       "the trace could not run: " + job.result.error().message,
                       Shortfall::ToolFailure);
      } else {
        // Only the addresses that stayed filtered: a late SYN-ACK makes the trace moot.
        std::string errors;
        for (auto& t : *job.result) {
          for (auto p : t.local_ports) trace_flows.insert({p, t.target.port});
          const bool filtered =
              std::any_of(ev.tcp.begin(), ev.tcp.end(), [&](const tcp::Result& r) {
                return r.target.address == t.target.address && r.target.port == t.target.port &&
                       r.state == tcp::State::Filtered;
              });
          if (!filtered) continue;
          if (!t.error.empty()) errors += (errors.empty() ? "" : "; ") + t.error;
          ev.paths.push_back(std::move(t));
        }
        if (!errors.empty())
          trace_step.end(CollectorStatus::Partial, "trace: " + errors, Shortfall::ToolFailure);
      }
    }
  }

  // A refused port: TTL ladders to it and to a port of the same address that answered, to place
  // the reset before the target or at it. Never for the redirect sweep (that is after this).
  if (auto plans = trace::plan_ladders(ev.tcp, gateway_port, kMaxLadders); !plans.empty()) {
    Step ladder_step(ev, clock, "ladder");
    if (!options.trace) {
      ladder_step.skip("not requested (--no-trace)", Shortfall::UserChoice);
    } else if (over_budget()) {
      ladder_step.skip(budget_words, Shortfall::Explained);  // the refusal itself is known
    } else {
      std::vector<trace::Target> ladder_targets;
      auto index_of = [&](const std::string& address, std::uint16_t port) {
        for (std::size_t i = 0; i < ladder_targets.size(); ++i)
          if (ladder_targets[i].address == address && ladder_targets[i].port == port) return i;
        ladder_targets.push_back({address, port});
        return ladder_targets.size() - 1;
      };
      std::vector<std::pair<std::size_t, std::optional<std::size_t>>> slots;
      for (const auto& plan : plans) {
        const auto refused = index_of(plan.address, plan.refused_port);
        std::optional<std::size_t> working;
        if (plan.working_port) working = index_of(plan.address, *plan.working_port);
        slots.emplace_back(refused, working);
      }
      trace::Options lopt;
      lopt.timeout = options.timeout;
      lopt.deadline = budget_end;
      auto ladders = trace::trace_all(ladder_targets, lopt);
      if (!ladders) {
        ladder_step.end(CollectorStatus::Failed,
                        "the TTL ladder could not run: " + ladders.error().message,
                        Shortfall::Explained);
      } else {
        for (const auto& t : *ladders)
          for (auto p : t.local_ports) trace_flows.insert({p, t.target.port});
        for (std::size_t i = 0; i < plans.size(); ++i) {
          trace::ResetLadder l;
          l.plan = plans[i];
          l.refused = (*ladders)[slots[i].first];
          if (slots[i].second) l.working = (*ladders)[*slots[i].second];
          l.place = trace::place_reset(l.refused, l.working ? &*l.working : nullptr);
          spdlog::debug("{}", l.summary());
          ev.ladders.push_back(std::move(l));
        }
      }
    }
  }

  {
    Step tds_step(ev, clock, "tds");
    auto open = std::find_if(ev.tcp.begin(), ev.tcp.end(), [&](const tcp::Result& r) {
      return r.target.port == gateway_port && r.state == tcp::State::Open;
    });
    if (!options.tds) {
      tds_step.skip("TDS not requested", Shortfall::UserChoice);
    } else if (open == ev.tcp.end()) {
      // The TCP step already failed (a finding says why) or could not run (CHECK_INCOMPLETE).
      tds_step.skip("no address answered on port " + std::to_string(gateway_port),
                    Shortfall::Explained);
    } else if (over_budget()) {
      tds_step.skip(budget_words, Shortfall::Budget);
    } else {
      spdlog::debug("TDS exchange with {}:{}", open->target.address, open->target.port);
      ev.tds = tdsprobe::run_tds_probe(tds_options(options, open->target.address, gateway_port));
      if (!ev.tds->login_withheld.empty())
        tds_step.end(CollectorStatus::Partial, "login withheld: " + ev.tds->login_withheld,
                     Shortfall::Explained);
      else if (!options.login)
        tds_step.end(CollectorStatus::Partial, "login not attempted (--no-login)",
                     Shortfall::UserChoice);
    }
    if (!options.login)
      ev.limitations.push_back("login: not attempted (--no-login), so a redirect cannot be seen");
    if (ev.tds && !ev.tds->login_withheld.empty())
      ev.limitations.push_back("login: withheld at the gateway because " + ev.tds->login_withheld +
                               "; what follows the login (the redirect) was not seen");
  }

  if (ev.tds && ev.tds->routing) {
    Step redirect(ev, clock, "redirect");
    if (over_budget()) {
      redirect.skip(budget_words, Shortfall::Budget);
    } else {
      if (ev.system_servers.empty())
        if (auto conf = platform::load_resolv_conf(options.resolv_conf))
          ev.system_servers = conf->nameservers;
      follow_redirect(
          options, ev, *ev.tds->routing, budget_end, over_budget, redirect,
          [&](const std::string& node) {
            if (!live || std::find(captured_hosts.begin(), captured_hosts.end(), node) !=
                             captured_hosts.end())
              return;
            captured_hosts.push_back(node);
            if (auto set = live->set_filter(capture_filter(captured_hosts)); !set)
              spdlog::warn("capture filter not widened to {}: {}", node, set.error().message);
          });
      if (ev.redirect && ev.redirect->node_login &&
          !ev.redirect->node_login->login_withheld.empty())
        ev.limitations.push_back("login: withheld at the redirect node because " +
                                 ev.redirect->node_login->login_withheld);
      if (ev.redirect && !ev.redirect->sweep_withheld.empty())
        ev.limitations.push_back("redirect sweep: " + ev.redirect->sweep_withheld);
    }
  }
  if (live) {
    live->stop();
    const auto st = live->stats();
    ev.capture.packets = st.packets;
    ev.capture.not_kept = st.not_kept;
    ev.capture.kernel_dropped = st.kernel_dropped;
    ev.capture.link_type = live->link_type();
    ev.capture.frames = live->packets();
    ev.capture.file = options.capture_file;
    std::string partial;
    if (st.not_kept)
      partial = std::to_string(st.not_kept) + " packets past the memory bound not kept";
    if (st.kernel_dropped) {
      partial += (partial.empty() ? "" : "; ") + std::to_string(st.kernel_dropped) +
                 " packets dropped by the kernel before the capture took them";
      ev.limitations.push_back(
          "packet capture: the kernel dropped " + std::to_string(st.kernel_dropped) +
          " packets in a burst, so the packet rules saw only part of the traffic; the socket "
          "results stand");
    }
    if (!partial.empty())
      capture_step->end(CollectorStatus::Partial, partial, Shortfall::Explained);
    capture_step.reset();
    ev.packets = sessions_of(ev, ports, gateway_port, trace_flows);
    live.reset();  // the capture thread closed the handle meanwhile
  }
  collect_azure(options, ev, clock, std::move(azure), imds_job);
  collect_entra(options, ev, entra_job);
  ev.duration_ms = std::chrono::duration<double, std::milli>(clock.now() - t0).count();
  out.ok = true;
  out.report = reports::make_report(MIDIAG_VERSION, std::move(ev));
  return out;
}

}  // namespace midiag::agent
