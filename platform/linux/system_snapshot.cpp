#include "platform/linux/system_snapshot.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "platform/azure/imds.h"
#include "platform/linux/host_routes.h"

extern char** environ;

namespace midiag::platform {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

int ms_left(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

void keep(SystemCollector& c, const char* p, std::size_t n, std::size_t max) {
  const std::size_t room = max > c.data.size() ? max - c.data.size() : 0;
  if (n > room) c.cut = true;
  c.data.append(p, std::min(n, room));
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& a : v) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string under_root(const std::string& root, const std::string& abs) {
  if (root.empty() || root == "/") return abs;
  return (root.back() == '/' ? root.substr(0, root.size() - 1) : root) + abs;
}

SystemCollector read_file(const std::string& member, const std::string& path, std::size_t max) {
  SystemCollector c;
  c.member = member;
  c.source = path;
  const auto t0 = Clock::now();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    c.error = path + ": " + std::strerror(errno);
  } else {
    std::array<char, 8192> buf{};
    while (!c.cut) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        c.error = path + ": " + std::strerror(errno);
        break;
      }
      if (n == 0) break;
      keep(c, buf.data(), static_cast<std::size_t>(n), max);
    }
    ::close(fd);
  }
  c.bytes = c.data.size();
  c.duration_ms = ms_since(t0);
  return c;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string read_small(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return trim(s);
}

SystemCollector sysctls(const std::string& proc_sys) {
  static constexpr std::array<const char*, 12> kNames = {
      "net.ipv4.tcp_mtu_probing",       "net.ipv4.tcp_base_mss",
      "net.ipv4.ip_no_pmtu_disc",       "net.ipv4.ip_forward",
      "net.ipv4.conf.all.rp_filter",    "net.ipv4.conf.default.rp_filter",
      "net.ipv4.tcp_syn_retries",       "net.ipv4.tcp_keepalive_time",
      "net.ipv4.ip_local_port_range",   "net.ipv4.tcp_timestamps",
      "net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.all.forwarding"};
  SystemCollector c;
  c.member = "system/sysctl.txt";
  c.source = proc_sys;
  const auto t0 = Clock::now();
  std::size_t missing = 0;
  for (const char* name : kNames) {
    std::string rel = name;
    for (auto& ch : rel)
      if (ch == '.') ch = '/';
    std::ifstream in(proc_sys + "/" + rel);
    std::string value;
    if (in && std::getline(in, value)) {
      for (auto& ch : value)
        if (ch == '\t') ch = ' ';
      c.data += std::string(name) + " = " + value + "\n";
    } else {
      c.data += std::string(name) + " = (unreadable)\n";
      ++missing;
    }
  }
  if (missing > 0)
    c.error = std::to_string(missing) + " of " + std::to_string(kNames.size()) +
              " sysctls could not be read";
  c.bytes = c.data.size();
  c.duration_ms = ms_since(t0);
  return c;
}

SystemCollector proxy_env(std::vector<std::string>& secrets) {
  static constexpr std::array<const char*, 10> kVars = {
      "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY",
      "no_proxy",   "ALL_PROXY",  "all_proxy",   "FTP_PROXY",   "ftp_proxy"};
  SystemCollector c;
  c.member = "system/proxy-env.txt";
  c.source = "environment";
  const auto t0 = Clock::now();
  for (const char* var : kVars) {
    const char* v = std::getenv(var);
    if (v == nullptr) continue;
    std::string value = v;
    if (auto pw = url_password(value); !pw.empty()) secrets.push_back(pw);
    c.data += std::string(var) + "=" + value + "\n";
  }
  if (c.data.empty()) c.data = "(no proxy variables set)\n";
  c.bytes = c.data.size();
  c.duration_ms = ms_since(t0);
  return c;
}

// A member read over netlink, bounded like the others.
template <typename Read>
SystemCollector netlink_member(std::string member, std::string source, std::size_t max_bytes,
                               Read read) {
  SystemCollector c;
  c.member = std::move(member);
  c.source = std::move(source);
  const auto t0 = Clock::now();
  auto text = read();
  if (text) {
    keep(c, text->data(), text->size(), max_bytes);
  } else {
    c.error = text.error().message;
  }
  c.bytes = c.data.size();
  c.duration_ms = ms_since(t0);
  return c;
}

// The IMDS network document, through the one IMDS client (platform/azure): no proxy, bounded.
SystemCollector imds_network(const SnapshotOptions& o) {
  SystemCollector c;
  c.member = "system/azure-imds-network.json";
  c.source = o.imds_base + azure::kNetworkPath;
  azure::ImdsRequest rq;
  rq.base = o.imds_base;
  rq.path = azure::kNetworkPath;
  rq.timeout = o.imds_timeout;
  rq.max_body = o.max_bytes;
  auto a = azure::imds_get(rq);
  if (a.status != 0) c.exit_status = a.status;
  c.data = std::move(a.body);
  c.cut = a.cut;
  c.bytes = c.data.size();
  c.duration_ms = a.elapsed_ms;
  c.error = std::move(a.error);
  return c;
}

}  // namespace

std::string url_password(const std::string& url) {
  auto scheme = url.find("://");
  const std::size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  auto at = url.find('@', start);
  if (at == std::string::npos) return {};
  auto slash = url.find('/', start);
  if (slash != std::string::npos && slash < at) return {};
  auto colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return {};
  return url.substr(colon + 1, at - colon - 1);
}

bool on_azure(const std::string& dmi_dir) {
  return read_small(dmi_dir + "/sys_vendor") == "Microsoft Corporation" &&
         read_small(dmi_dir + "/chassis_asset_tag") == "7783-7084-3265-9085-8269-3286-77";
}

SystemCollector run_bounded_command(const std::vector<std::string>& argv, std::size_t max_bytes,
                                    std::chrono::milliseconds timeout) {
  SystemCollector c;
  c.source = join(argv);
  const auto t0 = Clock::now();
  const auto deadline = t0 + timeout;
  auto finish = [&] {
    c.bytes = c.data.size();
    c.duration_ms = ms_since(t0);
    return c;
  };
  if (argv.empty()) {
    c.error = "no command";
    return finish();
  }
  std::array<int, 2> pipefd{};
  if (::pipe2(pipefd.data(), O_CLOEXEC) != 0) {
    c.error = std::string("pipe: ") + std::strerror(errno);
    return finish();
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "LC_", 3) != 0 && std::strncmp(*e, "LANG=", 5) != 0)
      env_store.emplace_back(*e);
  env_store.emplace_back("LC_ALL=C");
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    c.error = std::string("fork: ") + std::strerror(errno);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return finish();
  }
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    ::execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  ::close(pipefd[1]);
  std::array<char, 8192> buf{};
  bool timed_out = false;
  for (;;) {
    pollfd p{pipefd[0], POLLIN, 0};
    const int left = ms_left(deadline);
    int r = left == 0 ? 0 : ::poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      timed_out = true;
      break;
    }
    ssize_t n = ::read(pipefd[0], buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    keep(c, buf.data(), static_cast<std::size_t>(n), max_bytes);
    if (c.cut) break;
  }
  ::close(pipefd[0]);
  if (timed_out || c.cut) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) c.exit_status = WEXITSTATUS(status);
  if (timed_out)
    c.error = "killed after " + std::to_string(timeout.count()) + " ms";
  else if (c.exit_status == 127)
    c.error = argv[0] + " could not be run";
  else if (!c.cut && (!c.exit_status || *c.exit_status != 0))
    c.error = "exited with " + (c.exit_status ? std::to_string(*c.exit_status) : "a signal");
  return finish();
}

SystemSnapshot collect_system_snapshot(const SnapshotOptions& o) {
  SystemSnapshot s;
  // Routes and rules from the same netlink reader `check` and `routes` use, written as iproute2
  // prints them (`routes --from-file` reads them back); no `ip` binary needed.
  for (int af : {AF_INET, AF_INET6}) {
    const std::string v = af == AF_INET ? "4" : "6";
    s.collectors.push_back(netlink_member(
        "system/routes-ipv" + v + ".txt",
        "rtnetlink RTM_GETROUTE, every table (as `ip -" + v + " route show table all`)",
        o.max_bytes, [af]() -> Expected<std::string> {
          auto r = dump_routes(af);
          if (!r) return r.error();
          return ip_route_text(*r);
        }));
    s.collectors.push_back(netlink_member("system/rules-ipv" + v + ".txt",
                                          "rtnetlink RTM_GETRULE (as `ip -" + v + " rule show`)",
                                          o.max_bytes, [af]() -> Expected<std::string> {
                                            auto r = dump_rules(af);
                                            if (!r) return r.error();
                                            return ip_rule_text(*r);
                                          }));
  }
  if (o.run_commands) {
    auto c = run_bounded_command({"ip", "-d", "addr", "show"}, o.max_bytes, o.command_timeout);
    c.member = "system/interfaces.txt";
    s.collectors.push_back(std::move(c));
  }
  for (const char* f : {"resolv.conf", "hosts", "nsswitch.conf"})
    s.collectors.push_back(read_file(std::string("system/") + f,
                                     under_root(o.root, std::string("/etc/") + f), o.max_bytes));
  s.collectors.push_back(sysctls(o.proc_sys));
  s.collectors.push_back(proxy_env(s.secrets));
  if (on_azure(o.dmi_dir)) {
    s.collectors.push_back(imds_network(o));
  } else {
    SystemCollector c;
    c.member = "system/azure-imds-network.json";
    c.source = o.imds_base + azure::kNetworkPath;
    c.skipped = true;
    c.error = "not on Azure (DMI " + o.dmi_dir + ")";
    s.collectors.push_back(std::move(c));
  }
  return s;
}

}  // namespace midiag::platform
