#include "agent/demo.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <set>

#include <boost/program_options.hpp>

#include "agent/check.h"
#include "agent/cli.h"
#include "agent/simulator/instance.h"

namespace po = boost::program_options;

namespace midiag::agent {

namespace {

struct Scenario {
  std::string name;
  std::string story;  // what a user would be living through
  sim::InstanceConfig config;
  bool real_credentials = true;
  std::string password = "sim-password";
  std::set<std::string> expected;  // finding codes
  bool strict = false;             // check --strict (TDS 8)
  // A failover group: this partner (the secondary) runs on 127.0.0.2 with the same gateway port,
  // and the check names the group's read-write listener, fog1.<zone>, in --mode failover-group.
  std::optional<sim::InstanceConfig> partner = std::nullopt;
};

// The primary's DNS answers for the whole group: fog1.<zone> -> the primary, and
// fog1.secondary.<zone> -> the partner (in its own zone, which may not be the primary's).
constexpr const char* kPartnerAddress = "127.0.0.2";
void add_failover_group(sim::InstanceConfig& primary, const sim::InstanceConfig& partner) {
  const std::string zone = primary.zone + ".database.windows.net";
  const std::string partner_name = partner.instance + "." + partner.zone + ".database.windows.net";
  primary.dns_aliases.push_back({"fog1." + zone, primary.instance + "." + zone, 30});
  primary.dns_aliases.push_back({"fog1.secondary." + zone, partner_name, 30});
  sim::DnsRecord r;
  r.name = partner_name;
  inet_pton(AF_INET, kPartnerAddress, &r.address);
  primary.dns_records.push_back(r);
}

std::vector<Scenario> scenarios() {
  std::vector<Scenario> s;
  s.push_back({"healthy redirect",
               "gateway redirects the login to the node, which accepts it",
               {},
               true,
               "sim-password",
               {"CONNECTION_PATH"}});
  Scenario proxy{
      "healthy proxy",    "the gateway accepts the login itself", {}, true, "sim-password",
      {"CONNECTION_PATH"}};
  proxy.config.redirect = false;
  s.push_back(proxy);
  Scenario refused{"redirect node refused",
                   "the gateway works but the node's port is closed",
                   {},
                   true,
                   "sim-password",
                   {"REDIRECT_PORTS_FILTERED"}};
  refused.config.node_refuses = true;
  s.push_back(refused);
  Scenario mismatch{"certificate name mismatch",
                    "the certificate is issued for another zone",
                    {},
                    false,
                    "",
                    {"TLS_CERT_NAME_MISMATCH", "LOGIN_FAILED"}};
  mismatch.config.cert_name = "*.other0002.database.windows.net";
  s.push_back(mismatch);
  Scenario not_tds{"not TDS", "something else (an HTTP service) listens on the port",
                   {},        false,
                   "",        {"TDS_NOT_SPOKEN"}};
  not_tds.config.gateway_behaviour = sim::Behaviour::NotTds;
  s.push_back(not_tds);
  s.push_back({"login failed",
               "network and TLS are fine, the password is wrong",
               {},
               true,
               "wrong-password",
               {"LOGIN_FAILED"}});
  Scenario strict{"TDS 8 strict",
                  "TLS first with ALPN tds/8.0, at the gateway and the node",
                  {},
                  true,
                  "sim-password",
                  {"CONNECTION_PATH"}};
  strict.strict = true;
  s.push_back(strict);
  Scenario fog{"failover group",
               "read-write and read-only listeners, partners in one DNS zone",
               {},
               true,
               "sim-password",
               {"CONNECTION_PATH"}};
  fog.partner = sim::InstanceConfig{};
  fog.partner->instance = "mi2";
  s.push_back(fog);
  Scenario fog_zones{"failover group across DNS zones",
                     "the secondary was created in its own DNS zone, not the primary's",
                     {},
                     true,
                     "sim-password",
                     {"FOG_DNS_ZONE_MISMATCH", "FOG_SECONDARY_UNREACHABLE", "CONNECTION_PATH"}};
  fog_zones.partner = sim::InstanceConfig{};
  fog_zones.partner->instance = "mi2";
  fog_zones.partner->zone = "sim0002";
  s.push_back(fog_zones);
  return s;
}

// The CA the simulator's certificate chains to, in a private temp file for --ca-file.
struct TempCa {
  std::string path;
  explicit TempCa(const std::string& pem) {
    char tmpl[] = "/tmp/mi-diag-demo-ca-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd >= 0) {
      path = tmpl;
      if (write(fd, pem.data(), pem.size()) != static_cast<ssize_t>(pem.size())) path.clear();
      close(fd);
    }
  }
  ~TempCa() {
    if (!path.empty()) unlink(path.c_str());
  }
};

}  // namespace

int run_demo(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, bool tty) {
  bool verbose = false, help = false;
  po::options_description d("demo options");
  d.add_options()("help,h", po::bool_switch(&help), "show this help")(
      "verbose,v", po::bool_switch(&verbose), "show the evidence of every report");
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(d).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << "mi-diag demo: " << e.what() << "\n";
    return kExitUsage;
  }
  if (help) {
    out << "Usage: mi-diag demo [-v]\n\nStarts a simulated Managed Instance (gateway, redirect "
           "node, DNS) on "
           "127.0.0.1 and runs `check` against it in several modes. No root, no outside "
           "network.\n\n"
        << d;
    return kExitOk;
  }
  int as_expected = 0, total = 0;
  for (auto& sc : scenarios()) {
    ++total;
    if (sc.partner) add_failover_group(sc.config, *sc.partner);
    auto inst = sim::SimulatedInstance::start(sc.config);
    if (!inst) {
      err << "mi-diag demo: cannot start the simulated instance: " << inst.error().message << "\n";
      return kExitToolFailure;
    }
    std::unique_ptr<sim::SimulatedInstance> partner;
    if (sc.partner) {
      sc.partner->bind_address = kPartnerAddress;
      sc.partner->gateway_port = (*inst)->gateway_port();  // the check connects to one port
      auto started = sim::SimulatedInstance::start(*sc.partner);
      if (!started) {
        err << "mi-diag demo: cannot start the simulated partner on " << kPartnerAddress << ": "
            << started.error().message << "\n";
        return kExitToolFailure;
      }
      partner = std::move(*started);
    }
    TempCa ca((*inst)->ca_pem() + (partner ? partner->ca_pem() : std::string()));
    CheckOptions opt;
    const std::string target =
        sc.partner ? "fog1." + sc.config.zone + ".database.windows.net" : (*inst)->fqdn();
    opt.target = *reports::parse_target(target);
    if (sc.partner) opt.mode = reports::Mode::FailoverGroup;
    opt.connect_port = (*inst)->gateway_port();
    opt.system_servers = {"127.0.0.1:" + std::to_string((*inst)->dns_port())};
    opt.azure = CheckOptions::Azure::Never;  // the demo's names are its own, not Azure DNS's
    opt.timeout = std::chrono::milliseconds(2000);
    opt.ca_file = ca.path;
    if (sc.real_credentials) opt.credentials = tdsprobe::Credentials{sc.config.user, sc.password};
    opt.strict = sc.strict;
    out << "\n== " << total << ". " << sc.name << ": " << sc.story
        << "\n   (simulated gateway 127.0.0.1:" << (*inst)->gateway_port()
        << ", node 127.0.0.1:" << (*inst)->node_port() << ", DNS 127.0.0.1:" << (*inst)->dns_port()
        << (partner ? ", partner 127.0.0.2:" + std::to_string(partner->gateway_port()) : "")
        << ")\n$ mi-diag check " << target
        << (sc.real_credentials ? " --user sim --password-env SIM_PASSWORD" : "")
        << (sc.strict ? " --strict" : "") << (sc.partner ? " --mode failover-group" : "") << "\n";
    auto outcome = run_check(opt);
    (*inst)->stop();
    if (partner) partner->stop();
    if (!outcome.ok) {
      err << "mi-diag demo: " << outcome.failure.message << "\n";
      return outcome.failure.exit_code;
    }
    out << reports::render_text(outcome.report, {verbose, tty});
    std::set<std::string> got;
    for (const auto& f : outcome.report.findings) got.emplace(f.name());
    if (got == sc.expected) {
      ++as_expected;
    } else {
      out << "!! expected:";
      for (const auto& c : sc.expected) out << " " << c;
      out << "\n";
    }
  }
  out << "\ndemo: " << as_expected << " of " << total << " scenarios gave the expected findings\n";
  return as_expected == total ? kExitOk : kExitProblem;
}

int run_simulate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  sim::InstanceConfig c;
  std::string encryption = "on", behaviour = "normal", ca_out;
  std::string login_answer = "normal", instance_hex;
  unsigned routed_port = 0x10000;  // none
  bool proxy = false, help = false, no_strict = false;
  int max_seconds = 3600;
  po::options_description d("simulate options");
  d.add_options()("help,h", po::bool_switch(&help), "show this help")(
      "bind", po::value(&c.bind_address), "IPv4 address to listen on (default 127.0.0.1)")(
      "gateway-port", po::value(&c.gateway_port), "gateway port (default ephemeral)")(
      "node-port", po::value(&c.node_port), "redirect node port (default ephemeral)")(
      "dns-port", po::value(&c.dns_port), "DNS responder port (default ephemeral)")(
      "instance", po::value(&c.instance), "instance name (default mi1)")(
      "zone", po::value(&c.zone), "DNS zone (default sim0001)")(
      "proxy", po::bool_switch(&proxy), "proxy connection type (default redirect)")(
      "routed-host", po::value(&c.routed_host),
      "host named in the routing token (default the bind address)")(
      "encryption", po::value(&encryption), "off|on|not_sup|req (default on)")(
      "cert-name", po::value(&c.cert_name),
      "certificate name (default *.<zone>.database.windows.net)")(
      "cert-expired", po::bool_switch(&c.cert_expired), "serve an expired certificate")(
      "behaviour", po::value(&behaviour),
      "normal|silent|garbage|huge-length|slowloris|not-tds|tls (tls: a handshake, no TDS)")(
      "node-refuses", po::bool_switch(&c.node_refuses), "close the node port")(
      "no-strict", po::bool_switch(&no_strict),
      "a TDS 7.x-only server: hang up on TLS-first (TDS 8) clients")(
      "tls-flight-bytes", po::value(&c.tls_flight_bytes),
      "send only this many bytes of the server's first TLS flight, then stall (a path-MTU black "
      "hole)")("user", po::value(&c.user), "accepted login (default sim)")(
      "password", po::value(&c.password),
      "accepted password (a test credential, default sim-password)")(
      "ca-out", po::value(&ca_out), "write the CA certificate (PEM) here, for --ca-file")(
      "routed-port", po::value<unsigned>(&routed_port),
      "hostile: the port the routing token names (0 included) instead of the node's")(
      "node-routes-again", po::bool_switch(&c.node_routes_again),
      "hostile: the node answers a good login with another routing token")(
      "login-answer", po::value(&login_answer),
      "hostile: normal|empty|done-only (an answer to LOGIN7 with neither ACK nor ERROR)")(
      "login-error", po::value(&c.login_error_number),
      "the ERROR number a rejected login gets (default 18456)")(
      "login-error-message", po::value(&c.login_error_message),
      "that ERROR's message text (raw bytes, control characters included)")(
      "prelogin-instance-hex", po::value(&instance_hex),
      "hostile: the PRELOGIN INSTOPT answer's raw bytes, in hex")(
      "extra-cert-name", po::value(&c.extra_cert_names)->composing(),
      "another DNS name on the certificate (repeatable; raw bytes)")(
      "max-seconds", po::value(&max_seconds), "stop after this long (default 3600)");
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(d).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << "mi-diag simulate: " << e.what() << "\n";
    return kExitUsage;
  }
  if (help) {
    out << "Usage: mi-diag simulate [options]\n\nServes a simulated Managed Instance until "
           "SIGTERM.\n\n"
        << d;
    return kExitOk;
  }
  c.redirect = !proxy;
  c.accepts_strict = !no_strict;
  static const std::pair<const char*, tds::Encryption> kEnc[] = {
      {"off", tds::Encryption::Off},
      {"on", tds::Encryption::On},
      {"not_sup", tds::Encryption::NotSup},
      {"req", tds::Encryption::Req}};
  static const std::pair<const char*, sim::Behaviour> kBeh[] = {
      {"normal", sim::Behaviour::Normal},
      {"silent", sim::Behaviour::SilentAfterAccept},
      {"garbage", sim::Behaviour::Garbage},
      {"huge-length", sim::Behaviour::HugeLengthThenStall},
      {"slowloris", sim::Behaviour::Slowloris},
      {"not-tds", sim::Behaviour::NotTds},
      {"tls", sim::Behaviour::PlainTls}};
  bool enc_ok = false, beh_ok = false;
  for (const auto& [n, v] : kEnc)
    if (encryption == n) c.encryption = v, enc_ok = true;
  for (const auto& [n, v] : kBeh)
    if (behaviour == n) c.gateway_behaviour = v, beh_ok = true;
  if (!enc_ok)
    return err << "mi-diag simulate: bad --encryption '" << encryption << "'\n", kExitUsage;
  if (!beh_ok)
    return err << "mi-diag simulate: bad --behaviour '" << behaviour << "'\n", kExitUsage;
  if (max_seconds < 1) return err << "mi-diag simulate: bad --max-seconds\n", kExitUsage;
  if (routed_port < 0x10000) c.routed_port = static_cast<std::uint16_t>(routed_port);
  if (routed_port > 0x10000) return err << "mi-diag simulate: bad --routed-port\n", kExitUsage;
  static const std::pair<const char*, sim::InstanceConfig::LoginAnswer> kAnswers[] = {
      {"normal", sim::InstanceConfig::LoginAnswer::Normal},
      {"empty", sim::InstanceConfig::LoginAnswer::Empty},
      {"done-only", sim::InstanceConfig::LoginAnswer::DoneOnly}};
  bool answer_ok = false;
  for (const auto& [n, v] : kAnswers)
    if (login_answer == n) c.login_answer = v, answer_ok = true;
  if (!answer_ok)
    return err << "mi-diag simulate: bad --login-answer '" << login_answer << "'\n", kExitUsage;
  if (instance_hex.size() % 2 != 0 ||
      instance_hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    return err << "mi-diag simulate: bad --prelogin-instance-hex\n", kExitUsage;
  for (std::size_t i = 0; i < instance_hex.size(); i += 2)
    c.prelogin_instance.push_back(
        static_cast<char>(std::stoi(instance_hex.substr(i, 2), nullptr, 16)));
  if (c.tls_flight_bytes < -1)
    return err << "mi-diag simulate: bad --tls-flight-bytes\n", kExitUsage;

  // Block the stop signals before any thread starts, so only sigtimedwait below sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  auto inst = sim::SimulatedInstance::start(c);
  if (!inst) {
    err << "mi-diag simulate: " << inst.error().message << "\n";
    return kExitToolFailure;
  }
  if (!ca_out.empty()) {
    std::ofstream f(ca_out);
    f << (*inst)->ca_pem();
    if (!f) return err << "mi-diag simulate: cannot write " << ca_out << "\n", kExitUsage;
  }
  out << "ready gateway=" << (*inst)->gateway_port() << " node=" << (*inst)->node_port()
      << " dns=" << (*inst)->dns_port() << " name=" << (*inst)->fqdn() << std::endl;
  timespec wait{max_seconds, 0};
  sigtimedwait(&stop, nullptr, &wait);
  (*inst)->stop();
  // What reached the instance, for labs and for proofs of what a client sent.
  const auto st = (*inst)->stats();
  out << "stopped connections=" << st.connections() << " gateway_login7s=" << st.gateway.login7s
      << " node_login7s=" << st.node.login7s << " gateway_logins_ok=" << st.gateway.logins_ok
      << " node_logins_ok=" << st.node.logins_ok << " redirects=" << st.redirects << std::endl;
  return kExitOk;
}

}  // namespace midiag::agent
