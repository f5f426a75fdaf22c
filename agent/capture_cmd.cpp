#include "agent/capture_cmd.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>
#include <iostream>
#include <optional>

#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include "agent/analyze.h"
#include "agent/analyze_input.h"
#include "agent/cli.h"
#include "platform/capture/live_capture.h"
#include "platform/linux/route_lookup.h"
#include "probes/tcp/tcp_probe.h"
#include "reports/report.h"

namespace po = boost::program_options;

namespace midiag::agent {

namespace {

int usage_error(std::ostream& err, const std::string& msg) {
  err << "mi-diag capture: " << msg << "\n(see 'mi-diag capture --help')\n";
  return kExitUsage;
}

// The host's addresses: a literal as it is, a name through the system resolver.
Expected<std::vector<std::string>> resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) return make_error("cannot resolve --host " + host + ": " + gai_strerror(rc));
  std::vector<std::string> out;
  for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
    char buf[NI_MAXHOST];
    if (getnameinfo(a->ai_addr, a->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) != 0)
      continue;
    if (std::find(out.begin(), out.end(), buf) == out.end()) out.emplace_back(buf);
  }
  freeaddrinfo(res);
  if (out.empty()) return make_error("--host " + host + " has no address");
  return out;
}

// `host A or host B`, plus ICMP (errors about the host's packets come from routers) and the
// redirect ports, since a redirect names the node by another address.
std::string host_filter(const std::vector<std::string>& addresses) {
  std::string f = "(";
  for (std::size_t i = 0; i < addresses.size(); ++i)
    f += (i == 0 ? "host " : " or host ") + addresses[i];
  return f + ") or icmp or icmp6 or tcp portrange 11000-11999";
}

void progress(std::ostream& err, std::uint64_t packets, bool final) {
  err << "\r\x1b[Kcaptured " << packets << " packet" << (packets == 1 ? "" : "s")
      << (final ? "\n" : "") << std::flush;
}

}  // namespace

int run_capture_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                        bool tty) {
  std::string format = "text", ports_text, log_level = "warn", host, interface, write;
  double duration = 0;
  bool json = false, verbose = false;
  po::options_description desc("capture options");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("duration", po::value(&duration)->value_name("S"), "stop after S seconds (default: at Ctrl-C)")
      ("host", po::value(&host)->value_name("H"),
       "only traffic to or from H (a name is resolved first), ICMP errors and redirect ports")
      ("interface", po::value(&interface)->value_name("IF"),
       "interface to capture on (default: the route's to --host, else any)")
      ("write", po::value(&write)->value_name("FILE"), "also keep the packets in this pcap file")
      ("json", po::bool_switch(&json), "JSON report (schema mi-diag.report/1); same as --format json")
      ("format", po::value(&format)->value_name("text|json|markdown"), "output format (default text)")
      ("verbose,v", po::bool_switch(&verbose), "show evidence and a per-step timeline per connection")
      ("ports", po::value(&ports_text)->value_name("LIST"),
       "server ports that count as SQL (default 1433,3342,5022,11000-11999; connections that "
       "start with PRELOGIN or LOGIN7 count on any port)")
      ("log-level", po::value(&log_level)->value_name("LEVEL"), "trace|debug|info|warn|error|off");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(err, e.what());
  }
  if (vm.count("help")) {
    out << "Usage: mi-diag capture [--duration S] [--host H] [--interface IF] [--write FILE]\n\n"
           "Captures the application's own connections while it runs, until --duration ends or\n"
           "Ctrl-C, then explains them as `mi-diag analyze` does. Needs root or CAP_NET_RAW.\n\n"
        << desc
        << "\nExamples:\n"
           "  sudo mi-diag capture --host mymi.abc123.database.windows.net --duration 60\n"
           "  sudo mi-diag capture --interface eth0 --write app.pcap -v\n";
    return kExitOk;
  }
  if (json) format = "json";
  if (format != "text" && format != "json" && format != "markdown")
    return usage_error(err, "bad --format '" + format + "' (text|json|markdown)");
  if (vm.count("duration") && !(duration > 0 && duration <= 7 * 86400))
    return usage_error(err, "bad --duration (more than 0, at most 604800 seconds)");
  if (spdlog::level::from_str(log_level) == spdlog::level::off && log_level != "off")
    return usage_error(err, "bad --log-level '" + log_level + "'");
  spdlog::set_level(spdlog::level::from_str(log_level));
  AnalyzeOptions opt;
  opt.tool_version = MIDIAG_VERSION;
  if (vm.count("ports")) {
    auto ports = tcp::parse_port_list(ports_text);
    if (!ports) return usage_error(err, "bad --ports: " + ports.error().message);
    opt.ports = *ports;
  }

  platform::LiveCaptureOptions co;
  if (!host.empty()) {
    auto addresses = resolve(host);
    if (!addresses) return usage_error(err, addresses.error().message);
    co.filter = host_filter(*addresses);
    if (interface.empty()) {
      auto route = platform::lookup_route(addresses->front());
      if (route && !route->interface.empty()) interface = route->interface;
    }
  }
  co.interface = interface.empty() ? "any" : interface;
  co.write_path = write;

  // Block the stop signals before the capture thread starts, so only sigtimedwait below sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &stop, &previous);
  struct Restore {
    sigset_t mask;
    ~Restore() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
  } restore{previous};

  auto started = platform::LiveCapture::start(co);
  if (!started) {
    const auto& e = started.error();
    if (e.kind == ErrorKind::Usage) return usage_error(err, e.message);
    err << "mi-diag capture: " << e.message
        << (e.kind == ErrorKind::Permission
                ? "\nmi-diag capture: run it as root, or give the binary the capability: "
                  "sudo setcap cap_net_raw,cap_net_admin+ep $(command -v mi-diag)\n"
                : "\n");
    return kExitToolFailure;
  }
  auto& live = *started;
  err << "mi-diag capture: capturing on "
      << co.interface << (co.filter.empty() ? "" : " (filter: " + co.filter + ")");
  if (vm.count("duration"))
    err << " for " << duration << " s, or until Ctrl-C\n";
  else
    err << " until Ctrl-C\n";
  err.flush();

  const bool progress_tty = isatty(STDERR_FILENO) == 1;
  using Clock = std::chrono::steady_clock;
  const auto begin = Clock::now();
  const std::optional<Clock::time_point> end =
      vm.count("duration")
          ? std::optional(begin + std::chrono::microseconds(static_cast<long long>(duration * 1e6)))
          : std::nullopt;
  std::optional<int> signal_seen;
  for (;;) {
    auto wait = std::chrono::nanoseconds(std::chrono::milliseconds(250));
    if (end) {
      const auto left = *end - Clock::now();
      if (left <= Clock::duration::zero()) break;
      wait = std::min<std::chrono::nanoseconds>(wait, left);
    }
    const timespec ts{static_cast<time_t>(wait.count() / 1'000'000'000),
                      static_cast<long>(wait.count() % 1'000'000'000)};
    const int sig = sigtimedwait(&stop, nullptr, &ts);
    if (sig > 0) {
      signal_seen = sig;
      break;
    }
    if (progress_tty) progress(err, live->stats().packets, false);
  }
  live->stop();
  const auto stats = live->stats();
  if (progress_tty) progress(err, stats.packets, true);
  if (signal_seen)
    err << "mi-diag capture: " << (*signal_seen == SIGINT ? "interrupted" : "terminated")
        << ", explaining what was captured\n";

  opt.file = write.empty() ? "live capture on " + co.interface : write;
  FrameFeed feed(opt.flow);
  for (const auto& p : live->packets()) {
    pcap::FrameView f;
    f.timestamp_ns = p.timestamp_ns;
    f.link_type = static_cast<std::uint32_t>(live->link_type());
    f.data = p.data;
    f.original_length = p.original_length;
    feed.add(f);
  }
  auto input = feed.finish("pcap", false, "");
  if (stats.not_kept > 0)
    input.limitations.push_back(std::to_string(stats.not_kept) + " packet(s) beyond the first " +
                                std::to_string(stats.packets - stats.not_kept) +
                                " were counted, not analysed");
  if (stats.kernel_dropped > 0)
    input.limitations.push_back(std::to_string(stats.kernel_dropped) +
                                " packet(s) were dropped by the kernel before the capture saw "
                                "them");
  const auto report = analyze_flows(std::move(input), opt);
  if (format == "json")
    out << reports::render_json(report);
  else if (format == "markdown")
    out << reports::render_markdown(report);
  else
    out << reports::render_text(report, {verbose, tty});
  out.flush();
  return report.verdict == reports::Verdict::Fail ? kExitProblem : kExitOk;
}

}  // namespace midiag::agent
