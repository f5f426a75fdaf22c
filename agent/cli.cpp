#include "agent/cli.h"

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include "agent/analyze.h"
#include "agent/analyze_input.h"
#include "agent/bundle_cmd.h"
#include "agent/capture_cmd.h"
#include "agent/check.h"
#include "agent/check_entra.h"
#include "agent/connection_string.h"
#include "agent/demo.h"
#include "agent/routes_cmd.h"
#include "agent/watch/config.h"
#include "agent/watch/runner.h"
#include "platform/linux/batch_heap.h"
#include "probes/tds/ca_file.h"

namespace po = boost::program_options;

namespace midiag::agent {

namespace {

struct Command {
  std::string_view name;
  std::string_view synopsis;
  bool implemented;
};

constexpr std::array<Command, 8> kCommands = {{
    {"check", "check <host>[:port] [options]   full diagnosis (default command)", true},
    {"analyze", "analyze <file.pcap|pcapng>       offline diagnosis of a capture", true},
    {"capture", "capture [--duration S] [--host H] watch the application's own attempts", true},
    {"routes", "routes [--to ADDR] [--from-file F [--format auto|linux|...]] route table, lookup",
     true},
    {"watch", "watch --config FILE [--check]    scheduled probes, Prometheus metrics", true},
    {"bundle", "bundle --out FILE [check options] diagnostic bundle for a ticket", true},
    {"demo", "demo [-v]                        diagnosis against the embedded simulated instance",
     true},
    {"simulate",
     "simulate [options]               serve a simulated instance (labs, firewall tests)", true},
}};

void usage(std::ostream& o) {
  o << "mi-diag " << MIDIAG_VERSION
    << " — connectivity diagnosis for Azure SQL Managed Instance\n\nUsage:\n";
  for (const auto& c : kCommands)
    o << "  mi-diag " << c.synopsis << (c.implemented ? "" : "  [not implemented yet]") << "\n";
  o << "\n  mi-diag <command> --help   options and examples of one command\n"
       "\nExit codes: 0 no problem, 1 problem found, 2 bad usage or input, 3 the tool could not "
       "run a check.\n";
}

struct CommonOptions {
  std::string format = "text";
  bool json = false;
  bool verbose = false;
  int timeout_ms = 3000;
  std::vector<std::string> resolvers;
  std::string ports;
  std::string mode = "client";
  int link_endpoint_port = 5022;
  std::string fog;
  std::string sql_version;
  std::string log_level = "warn";
  std::vector<std::string> classify_as;
  std::string resolv_conf;
  std::string hosts_file;
  std::string bundle;
  bool mask = false;
  bool no_capture = false;
  bool imds = false;
  bool no_imds = false;
  std::string capture_file;
  bool no_login = false;
  bool no_trace = false;
  bool strict = false;
  std::string user;
  std::string password_env;
  std::string ca_file;
  bool trust_server_certificate = false;
  std::string connection_string_env;
  std::string auth = "sql";
  std::string entra_authority;
};

po::options_description check_options(CommonOptions& c) {
  po::options_description d("check options");
  // clang-format off
  d.add_options()
      ("help,h", "show this help")
      ("json", po::bool_switch(&c.json), "JSON report (schema mi-diag.report/1); same as --format json")
      ("format", po::value(&c.format)->value_name("text|json|markdown"), "output format (default text)")
      ("verbose,v", po::bool_switch(&c.verbose), "show evidence, remediation and the DNS/route/TCP/TDS tables")
      ("timeout-ms", po::value(&c.timeout_ms)->value_name("MS"), "budget per phase (DNS, TCP, TDS), default 3000")
      ("resolver", po::value(&c.resolvers)->value_name("IP[:port]")->composing(),
       "also ask this DNS server (repeatable) and compare with the system resolver")
      ("ports", po::value(&c.ports)->value_name("LIST"),
       "ports to probe, e.g. 1433,5022,11000-11999 (default: the endpoint's)")
      ("mode", po::value(&c.mode)->value_name("client|link|failover-group"),
       "what the connection is for; link (run on the SQL Server host) also probes the instance's "
       "5022 and checks this host's own mirroring endpoint")
      ("link-endpoint-port", po::value(&c.link_endpoint_port)->value_name("PORT"),
       "--mode link: this SQL Server's database mirroring endpoint port (default 5022)")
      ("sql-version", po::value(&c.sql_version)->value_name("BUILD"),
       "--mode link: this SQL Server's build (SERVERPROPERTY('ProductVersion'), e.g. 15.0.4312.2), "
       "checked against the link's documented minimum")
      ("fog", po::value(&c.fog)->value_name("NAME"),
       "--mode failover-group with a partner instance's name: the failover group's name (its "
       "listeners are NAME.<zone>... and NAME.secondary.<zone>...)")
      ("classify-as", po::value(&c.classify_as)->value_name("CIDR=CLASS")->composing(),
       "treat addresses in CIDR as CLASS (public|private|...), for networks that use public space privately")
      ("resolv-conf", po::value(&c.resolv_conf)->value_name("FILE"),
       "system resolver configuration (default /etc/resolv.conf)")
      ("hosts-file", po::value(&c.hosts_file)->value_name("FILE"),
       "hosts file to check for overrides (default /etc/hosts)")
      ("user", po::value(&c.user)->value_name("NAME"),
       "SQL login to try (with --password-env); default: dummy credentials")
      ("connection-string-env", po::value(&c.connection_string_env)->value_name("VAR"),
       "environment variable holding the application's ADO.NET, ODBC or JDBC connection string: "
       "server, port, user, password, Encrypt, TrustServerCertificate, HostNameInCertificate are "
       "taken from it (explicit options win)")
      ("password-env", po::value(&c.password_env)->value_name("VAR"),
       "environment variable holding the password (never on the command line)")
      ("ca-file", po::value(&c.ca_file)->value_name("FILE"),
       "verify the server certificate against this CA bundle, not the system store")
      ("trust-server-certificate", po::bool_switch(&c.trust_server_certificate),
       "as the driver option: send real credentials even if the certificate chain or name does not "
       "verify (never without TLS)")
      ("strict", po::bool_switch(&c.strict), "TDS 8 strict encryption: TLS first, ALPN tds/8.0")
      ("auth", po::value(&c.auth)->value_name("sql|entra"),
       "how the application logs in (default sql; a connection string's Authentication=Active "
       "Directory ... means entra): entra also checks the Entra ID authority (DNS, TCP 443, TLS "
       "and its certificate) and asks FEDAUTHREQUIRED in PRELOGIN; no token is requested, LOGIN7 "
       "uses dummy SQL credentials")
      ("entra-authority", po::value(&c.entra_authority)->value_name("HOST[:PORT]"),
       "--auth entra: the authority to check (default login.microsoftonline.com:443)")
      ("no-login", po::bool_switch(&c.no_login), "stop after TLS: do not send LOGIN7")
      ("no-trace", po::bool_switch(&c.no_trace),
       "no TCP traceroute toward an address that does not answer")
      ("no-capture", po::bool_switch(&c.no_capture), "do not capture packets (socket-level evidence only)")
      ("imds", po::bool_switch(&c.imds),
       "treat this host as an Azure VM even when its DMI does not say so: ask the instance metadata "
       "service (169.254.169.254, 1 s) for the VM's subnets and Azure DNS (168.63.129.16)")
      ("no-imds", po::bool_switch(&c.no_imds),
       "never ask the instance metadata service or Azure DNS, even on an Azure VM")
      ("capture-file", po::value(&c.capture_file)->value_name("FILE"),
       "keep the probe's packets in this pcap file (needs root or CAP_NET_RAW)")
      ("bundle", po::value(&c.bundle)->value_name("FILE"), "also write a redacted diagnostic bundle (.tar.gz) for a support ticket")
      ("mask", po::bool_switch(&c.mask),
       "in the bundle, mask addresses and host names consistently (subnets kept); the map is written beside it, FILE.mask-map.json, never inside")
      ("log-level", po::value(&c.log_level)->value_name("LEVEL"),
       "trace|debug|info|warn|error|off (stderr), default warn");
  // clang-format on
  return d;
}

void check_help(std::ostream& o, const po::options_description& d) {
  o << "Usage: mi-diag check <host>[:port] [options]\n\n"
       "Diagnoses the path to a Managed Instance endpoint: name → DNS (every resolver) → route →\n"
       "TCP → PRELOGIN → TLS → LOGIN7 → redirect, and names the cause of a failure with its\n"
       "evidence and fix.\n\n"
    << d
    << "\nExamples:\n"
       "  mi-diag check mymi.abc123.database.windows.net\n"
       "  mi-diag mymi.public.abc123.database.windows.net:3342 -v\n"
       "  mi-diag check mymi.abc123.database.windows.net --resolver 168.63.129.16 --json\n"
       "  mi-diag check 10.0.0.4 --ports 1433,5022,11000-11999 --mode link\n"
       "  MIPW=... mi-diag check mymi.abc123.database.windows.net --user app --password-env MIPW\n"
       "  mi-diag check mymi.abc123.database.windows.net --auth entra -v\n";
}

std::optional<spdlog::level::level_enum> parse_level(const std::string& s) {
  static const std::array<std::pair<std::string_view, spdlog::level::level_enum>, 7> kLevels = {
      {{"trace", spdlog::level::trace},
       {"debug", spdlog::level::debug},
       {"info", spdlog::level::info},
       {"warn", spdlog::level::warn},
       {"warning", spdlog::level::warn},
       {"error", spdlog::level::err},
       {"off", spdlog::level::off}}};
  for (const auto& [name, level] : kLevels)
    if (s == name) return level;
  return std::nullopt;
}

int usage_error(std::ostream& err, std::string_view cmd, const std::string& msg) {
  err << "mi-diag " << cmd << ": " << msg << "\n(see 'mi-diag " << cmd << " --help')\n";
  return kExitUsage;
}

// `check`, or `bundle` (the same check, then the bundle at --out).
int run_check_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                      bool tty, std::string_view cmd = "check") {
  CommonOptions c;
  auto desc = check_options(c);
  std::string bundle_out;
  if (cmd == "bundle")
    desc.add_options()("out", po::value(&bundle_out)->value_name("FILE"),
                       "where to write the bundle (.tar.gz; FILE.sha256 is written beside it)");
  std::string target_text;
  std::vector<std::string> extra;
  po::options_description hidden;
  hidden.add_options()("target", po::value(&target_text))("extra", po::value(&extra));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("target", 1).add("extra", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(err, cmd, e.what());
  }
  if (vm.count("help")) {
    if (cmd == "bundle")
      out << "Usage: mi-diag bundle --out FILE <host>[:port] [check options]\n\n"
             "Runs the check, then writes a redacted .tar.gz for a support ticket: the reports, "
             "the\n"
             "probe's own packets, routes, rules, interfaces, resolver files, sysctls, the run's\n"
             "debug log and what was redacted, with SHA256SUMS inside and FILE.sha256 beside "
             "it.\n\n";
    check_help(out, desc);
    return kExitOk;
  }
  // The application's own connection string, read as its driver reads it.
  std::optional<ConnectionSettings> cs;
  std::vector<std::string> cs_secrets;  // every secret value it holds, not only the password
  if (!c.connection_string_env.empty()) {
    const char* raw = std::getenv(c.connection_string_env.c_str());
    if (raw == nullptr)
      return usage_error(err, "check",
                         "environment variable " + c.connection_string_env +
                             " (from --connection-string-env) is not set");
    std::string text = raw;
    auto parsed = parse_connection_string(text);
    cs_secrets = secret_values(text);
    tdsprobe::wipe(text);
    if (!parsed)
      return usage_error(
          err, "check",
          "--connection-string-env " + c.connection_string_env + ": " + parsed.error().message);
    cs = std::move(*parsed);
    if (target_text.empty() && !cs->host.empty()) {
      const bool v6 = cs->host.find(':') != std::string::npos;
      target_text = v6 ? "[" + cs->host + "]" : cs->host;
      if (cs->port) target_text += ":" + std::to_string(*cs->port);
    }
  }
  if (target_text.empty())
    return usage_error(err, "check", "no target given (e.g. mymi.abc123.database.windows.net)");
  if (!extra.empty())
    return usage_error(err, "check",
                       "unexpected argument '" + extra.front() + "' (one target per check)");
  if (c.json) c.format = "json";
  if (c.format != "text" && c.format != "json" && c.format != "markdown")
    return usage_error(err, "check", "bad --format '" + c.format + "' (text|json|markdown)");
  auto level = parse_level(c.log_level);
  if (!level) return usage_error(err, "check", "bad --log-level '" + c.log_level + "'");
  spdlog::set_level(*level);
  if (c.timeout_ms < 1 || c.timeout_ms > 600000)
    return usage_error(err, "check",
                       "bad --timeout-ms " + std::to_string(c.timeout_ms) + " (1-600000)");
  if (cmd == "bundle") {
    if (bundle_out.empty()) return usage_error(err, cmd, "--out FILE is required");
    if (!c.bundle.empty()) return usage_error(err, cmd, "give --out, not --bundle");
    c.bundle = bundle_out;
  }
  if (c.mask && c.bundle.empty())
    return usage_error(err, cmd, "--mask applies to a bundle (--bundle FILE)");
  if (!c.bundle.empty())
    if (auto problem = reports::bundle_destination_problem(c.bundle))
      return usage_error(err, cmd, "cannot write the bundle: " + *problem);

  CheckOptions opt;
  std::vector<std::string> bundle_secrets;  // removed from every member of a bundle
  if (cs) bundle_secrets.push_back(cs->password);
  bundle_secrets.insert(bundle_secrets.end(), cs_secrets.begin(), cs_secrets.end());
  auto target = reports::parse_target(target_text);
  if (!target) return usage_error(err, "check", target.error().message);
  opt.target = *target;
  opt.timeout = std::chrono::milliseconds(c.timeout_ms);
  if (c.mode == "client")
    opt.mode = reports::Mode::Client;
  else if (c.mode == "link")
    opt.mode = reports::Mode::Link;
  else if (c.mode == "failover-group")
    opt.mode = reports::Mode::FailoverGroup;
  else
    return usage_error(err, "check", "bad --mode '" + c.mode + "' (client|link|failover-group)");
  for (const auto& r : c.resolvers) {
    auto v = parse_resolver(r);
    if (!v) return usage_error(err, "check", v.error().message);
    opt.resolvers.push_back(*v);
  }
  if (vm.count("ports")) {
    auto ports = tcp::parse_port_list(c.ports);
    if (!ports) return usage_error(err, "check", "bad --ports: " + ports.error().message);
    opt.ports = *ports;
    if (opt.mode == reports::Mode::Link &&
        std::find(opt.ports.begin(), opt.ports.end(), 5022) == opt.ports.end())
      return usage_error(
          err, "check",
          "--mode link probes the instance's mirroring endpoint, 5022, which --ports " + c.ports +
              " leaves out: add it (or leave --ports out)");
  }
  if (vm.count("link-endpoint-port")) {
    if (opt.mode != reports::Mode::Link)
      return usage_error(err, "check", "--link-endpoint-port is for --mode link");
    if (c.link_endpoint_port < 1 || c.link_endpoint_port > 65535)
      return usage_error(
          err, "check",
          "bad --link-endpoint-port " + std::to_string(c.link_endpoint_port) + " (1-65535)");
    opt.link_endpoint_port = static_cast<std::uint16_t>(c.link_endpoint_port);
  }
  if (opt.mode == reports::Mode::FailoverGroup &&
      opt.target.kind == reports::EndpointKind::IpLiteral)
    return usage_error(err, "check",
                       "--mode failover-group needs a listener's or a partner's DNS name (the "
                       "listeners are CNAMEs to the instances), not the address " +
                           opt.target.host);
  if (vm.count("sql-version")) {
    if (opt.mode != reports::Mode::Link)
      return usage_error(err, "check", "--sql-version is for --mode link");
    auto v = reports::parse_sql_version(c.sql_version);
    if (!v) return usage_error(err, "check", v.error().message);
    opt.sql_version = *v;
  }
  if (vm.count("fog")) {
    if (opt.mode != reports::Mode::FailoverGroup)
      return usage_error(err, "check", "--fog is for --mode failover-group");
    auto fog = reports::parse_target(c.fog + ".x");
    if (c.fog.empty() || c.fog.find('.') != std::string::npos || !fog)
      return usage_error(err, "check",
                         "bad --fog '" + c.fog +
                             "': the failover group's name, one DNS label (letters, digits, '-')");
    if (opt.target.kind != reports::EndpointKind::VnetLocal)
      return usage_error(err, "check",
                         "--fog needs a partner instance's VNet-local name "
                         "(<mi>.<zone>.database.windows.net) as the target, not " +
                             opt.target.host);
    opt.fog = c.fog;
    for (auto& ch : opt.fog) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  for (const auto& s : c.classify_as) {
    auto o = net::parse_class_override(s);
    if (!o) return usage_error(err, "check", "bad --classify-as: " + o.error().message);
    opt.class_overrides.push_back(*o);
  }
  opt.login = !c.no_login;
  opt.trace = !c.no_trace;
  opt.trust_server_certificate = c.trust_server_certificate;
  opt.strict = c.strict;
  if (cs) {
    // As that driver would: Encrypt decides PRELOGIN and strict; Strict ignores
    // TrustServerCertificate (Microsoft.Data.SqlClient); explicit options win.
    if (cs->encrypt == EncryptMode::Strict) opt.strict = true;
    if (cs->encrypt == EncryptMode::Optional) opt.encrypt = tds::Encryption::Off;
    if (cs->trust_server_certificate && cs->encrypt != EncryptMode::Strict)
      opt.trust_server_certificate = true;
    opt.host_name_in_certificate = cs->host_name_in_certificate;
    // ApplicationIntent=ReadOnly: LOGIN7 says so, as the application's does (read-only listener).
    opt.read_only_intent = cs->application_intent == ApplicationIntent::ReadOnly;
    if (cs->instance_name && !cs->port)
      opt.notes.push_back("connection string names instance '" + cs->instance_name.value() +
                          "' without a port: Managed Instance has no SQL Browser; port " +
                          std::to_string(opt.target.port) + " was used");
    if (cs->encrypt == EncryptMode::Optional)
      opt.notes.push_back(
          "connection string: Encrypt=False/Optional, so the probe asked ENCRYPT_OFF as that "
          "driver does; real credentials still need a verified certificate here");
    if (!cs->ignored_keys.empty()) {
      std::string keys;
      for (const auto& k : cs->ignored_keys) keys += (keys.empty() ? "" : ", ") + k;
      opt.notes.push_back("connection string keys not used by mi-diag: " + keys);
    }
  }
  if (!c.ca_file.empty()) {
    // A file the TLS step could not load is bad input, not a handshake failure (exit 2, no
    // traffic).
    if (auto ca = tdsprobe::load_ca_file(c.ca_file); !ca)
      return usage_error(err, "check", ca.error().message);
    opt.ca_file = c.ca_file;
  }
  // --auth entra (or the connection string's Authentication=Active Directory ...): the authority
  // is checked, PRELOGIN asks FEDAUTHREQUIRED, and no password of any kind goes into LOGIN7.
  if (vm.count("auth") && c.auth != "sql" && c.auth != "entra")
    return usage_error(err, "check", "bad --auth '" + c.auth + "' (sql|entra)");
  opt.entra =
      vm.count("auth") ? c.auth == "entra" : cs && authentication_is_entra(cs->authentication);
  if (vm.count("entra-authority")) {
    if (!opt.entra) return usage_error(err, "check", "--entra-authority is for --auth entra");
    auto authority = entra::parse_authority(c.entra_authority);
    if (!authority) return usage_error(err, "check", authority.error().message);
    opt.entra_authority = *authority;
  }
  if (opt.entra && (!c.user.empty() || !c.password_env.empty()))
    return usage_error(err, "check",
                       "--auth entra never sends a password (no token is requested; LOGIN7 uses "
                       "dummy SQL credentials): leave out --user and --password-env");
  if (opt.entra && cs && !cs->password.empty() && !authentication_is_entra(cs->authentication))
    opt.notes.push_back(
        "--auth entra: the connection string's SQL password was not used; the probe logged in "
        "with dummy credentials");
  if (!c.user.empty() || !c.password_env.empty()) {
    if (c.user.empty() || c.password_env.empty())
      return usage_error(err, "check", "--user and --password-env go together");
    const char* pw = std::getenv(c.password_env.c_str());
    if (pw == nullptr)
      return usage_error(
          err, "check",
          "environment variable " + c.password_env + " (from --password-env) is not set");
    opt.credentials = tdsprobe::Credentials{c.user, pw};
    bundle_secrets.emplace_back(pw);
  } else if (cs && !cs->user.empty()) {
    const auto& auth = cs->authentication;
    if (opt.entra && !authentication_is_entra(auth)) {
      // --auth entra given over a SQL-login connection string: noted above, dummy credentials.
    } else if (auth.empty() || auth == "SqlPassword" || auth == "NotSpecified") {
      opt.credentials = tdsprobe::Credentials{cs->user, cs->password};
    } else {
      // An Entra password is never sent as a SQL login: the probe uses dummy credentials.
      opt.notes.push_back("connection string uses Authentication=" + auth +
                          ": token-based logins are not tried; the probe logged in with dummy "
                          "credentials");
    }
  }
  if (c.no_capture && !c.capture_file.empty())
    return err << "mi-diag check: --capture-file and --no-capture contradict each other\n",
           kExitUsage;
  opt.capture = !c.no_capture;
  if (c.imds && c.no_imds)
    return err << "mi-diag check: --imds and --no-imds contradict each other\n", kExitUsage;
  if (c.imds) opt.azure = CheckOptions::Azure::Always;
  if (c.no_imds) opt.azure = CheckOptions::Azure::Never;
  opt.capture_file = c.capture_file;
  if (!c.resolv_conf.empty()) {
    opt.resolv_conf = c.resolv_conf;
    opt.resolv_conf_given = true;
  }
  if (!c.hosts_file.empty()) {
    opt.hosts_file = c.hosts_file;
    opt.hosts_file_given = true;
  }

  std::unique_ptr<BundleSession> bundle;
  if (!c.bundle.empty()) {
    BundleRequest request{c.bundle, {"mi-diag", std::string(cmd)}, std::move(bundle_secrets)};
    request.command_line.insert(request.command_line.end(), args.begin(), args.end());
    request.mask = c.mask;
    auto session = BundleSession::begin(std::move(request), opt);
    if (!session) return usage_error(err, cmd, session.error().message);
    bundle = std::move(*session);
  }
  auto outcome = run_check(opt);
  if (!outcome.ok) {
    err << "mi-diag " << cmd << ": " << outcome.failure.message << "\n";
    return outcome.failure.exit_code;
  }
  const auto& report = outcome.report;
  if (c.format == "json")
    out << reports::render_json(report);
  else if (c.format == "markdown")
    out << reports::render_markdown(report);
  else
    out << reports::render_text(report, {c.verbose, tty});
  out.flush();
  int code = kExitOk;
  if (report.verdict == reports::Verdict::Fail) {
    code = kExitProblem;
  } else {
    // A step on the path could not run and no error explains why: the tool could not check it.
    const bool incomplete =
        std::any_of(report.findings.begin(), report.findings.end(),
                    [](const auto& f) { return f.code == reports::Code::CheckIncomplete; });
    code = incomplete ? kExitToolFailure : kExitOk;
  }
  if (bundle) {
    auto written = bundle->finish(report, code);
    if (!written) {
      err << "mi-diag " << cmd << ": the bundle was not written: " << written.error().message
          << "\n";
      return kExitToolFailure;
    }
    err << "mi-diag " << cmd << ": bundle written to " << written->path << " (" << written->bytes
        << " bytes; sha256 in " << written->path << ".sha256)\n";
  }
  return code;
}

int run_analyze_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                        bool tty) {
  std::string format = "text", ports_text, log_level = "warn", file;
  bool json = false, verbose = false;
  po::options_description desc("analyze options");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("json", po::bool_switch(&json), "JSON report (schema mi-diag.report/1); same as --format json")
      ("format", po::value(&format)->value_name("text|json|markdown"), "output format (default text)")
      ("verbose,v", po::bool_switch(&verbose), "show evidence and a per-step timeline per connection")
      ("ports", po::value(&ports_text)->value_name("LIST"),
       "server ports that count as SQL (default 1433,3342,5022,11000-11999; connections that "
       "start with PRELOGIN or LOGIN7 count on any port)")
      ("log-level", po::value(&log_level)->value_name("LEVEL"), "trace|debug|info|warn|error|off");
  // clang-format on
  po::options_description hidden;
  std::vector<std::string> extra;
  hidden.add_options()("file", po::value(&file))("extra", po::value(&extra));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("file", 1).add("extra", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(err, "analyze", e.what());
  }
  if (vm.count("help")) {
    out << "Usage: mi-diag analyze <file.pcap|pcapng> [options]\n\n"
           "Explains the SQL connections in a capture taken elsewhere: SYNs and what answered,\n"
           "resets (and whether a middlebox sent them), ICMP errors, path-MTU holes, PRELOGIN,\n"
           "TLS, LOGIN7 (never the password), the login answer and the redirect.\n\n"
        << desc;
    return kExitOk;
  }
  if (file.empty()) return usage_error(err, "analyze", "no capture file given");
  if (!extra.empty())
    return usage_error(err, "analyze", "unexpected argument '" + extra.front() + "'");
  if (json) format = "json";
  if (format != "text" && format != "json" && format != "markdown")
    return usage_error(err, "analyze", "bad --format '" + format + "' (text|json|markdown)");
  auto level = parse_level(log_level);
  if (!level) return usage_error(err, "analyze", "bad --log-level '" + log_level + "'");
  spdlog::set_level(*level);
  AnalyzeOptions opt;
  opt.file = file;
  opt.tool_version = MIDIAG_VERSION;
  if (vm.count("ports")) {
    auto ports = tcp::parse_port_list(ports_text);
    if (!ports) return usage_error(err, "analyze", "bad --ports: " + ports.error().message);
    opt.ports = *ports;
  }
  // One batch job, then exit: the heap keeps and reuses what it frees, on huge pages. 30 MiB of
  // heap prepared: about what the 4,096 connections kept and their report touch.
  platform::tune_heap_for_batch(30U * 1024U * 1024U);
  auto report = analyze_capture_file(file, opt);
  if (!report) {
    if (report.error().kind == ErrorKind::Malformed)
      err << "mi-diag analyze: " << file << " is not a capture file: " << report.error().message
          << "\n";
    else
      err << "mi-diag analyze: " << report.error().message << "\n";
    return kExitUsage;
  }
  if (format == "json")
    out << reports::render_json(*report);
  else if (format == "markdown")
    out << reports::render_markdown(*report);
  else
    out << reports::render_text(*report, {verbose, tty});
  out.flush();
  return report->verdict == reports::Verdict::Fail ? kExitProblem : kExitOk;
}

// The directory a file will be created in must exist: checked before anything runs.
std::optional<std::string> missing_directory(const std::string& file) {
  const auto slash = file.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : file.substr(0, slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return "directory " + dir + ": " + std::strerror(errno);
  if (!S_ISDIR(st.st_mode)) return dir + " is not a directory";
  if (::access(dir.c_str(), W_OK) != 0) return "directory " + dir + ": " + std::strerror(errno);
  return std::nullopt;
}

int run_watch_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string config, listen, textfile, events;
  bool check_only = false;
  std::uint64_t rounds = 0;
  po::options_description desc("watch options");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("config", po::value(&config)->value_name("FILE"), "the YAML config (spec §8; see watch.example.yaml)")
      ("metrics-listen", po::value(&listen)->value_name("ADDR:PORT"),
       "serve Prometheus metrics here (default 127.0.0.1:9797)")
      ("textfile", po::value(&textfile)->value_name("FILE"),
       "also write the metrics to FILE (temp file + rename), for node_exporter's textfile collector")
      ("events", po::value(&events)->value_name("FILE|-"), "append JSON-lines events (down, up, changed); - is stdout")
      ("check", po::bool_switch(&check_only), "validate the config (and read its secrets), print the targets, exit")
      ("rounds", po::value(&rounds)->value_name("N"), "stop after N rounds in all (tests, benchmarks); default: until SIGTERM");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(err, "watch", e.what());
  }
  if (vm.count("help")) {
    out << "Usage: mi-diag watch --config FILE [--metrics-listen ADDR:PORT] [--textfile F] "
           "[--events F|-] [--check]\n\n"
           "Runs checks on a schedule and exposes Prometheus metrics and change events.\n\n"
        << desc;
    return kExitOk;
  }
  if (config.empty()) return usage_error(err, "watch", "--config FILE is required");
  if (vm.count("metrics-listen"))
    if (auto l = watch::parse_listen_address(listen); !l)
      return usage_error(err, "watch", l.error().message);
  if (!textfile.empty())
    if (auto why = missing_directory(textfile))
      return usage_error(err, "watch", "--textfile " + textfile + ": " + *why);
  if (vm.count("events") && events != "-") {
    if (events.empty()) return usage_error(err, "watch", "--events needs a file or -");
    if (auto why = missing_directory(events))
      return usage_error(err, "watch", "--events " + events + ": " + *why);
  }
  auto cfg = watch::load_watch_config(config);
  if (!cfg) {
    err << "mi-diag watch: " << cfg.error().message << "\n";
    return kExitUsage;
  }
  if (check_only) {
    out << config << ": ok, " << cfg->targets.size()
        << (cfg->targets.size() == 1 ? " target" : " targets") << ", state_dir " << cfg->state_dir
        << "\n";
    for (const auto& t : cfg->targets) out << "  " << watch::describe_target(t) << "\n";
    return kExitOk;
  }
  watch::WatchOutputs outputs;
  // HTTP on the loopback default unless only a textfile was asked for.
  if (vm.count("metrics-listen") || textfile.empty())
    outputs.listen = *watch::parse_listen_address(
        vm.count("metrics-listen") ? listen : std::string(watch::kDefaultMetricsListen));
  outputs.textfile = textfile;
  outputs.events = events;
  outputs.max_rounds = rounds;
  return watch::run_watch(std::move(*cfg), outputs, out, err);
}

}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            bool out_is_tty) {
  if (args.empty()) {
    usage(err);
    return kExitUsage;
  }
  const std::string& first = args.front();
  if (first == "--help" || first == "-h" || first == "help") {
    usage(out);
    return kExitOk;
  }
  if (first == "--version") {
    out << "mi-diag " << MIDIAG_VERSION << "\n";
    return kExitOk;
  }
  auto cmd = std::find_if(kCommands.begin(), kCommands.end(),
                          [&](const Command& c) { return c.name == first; });
  if (cmd == kCommands.end()) {
    if (first.starts_with('-')) {
      err << "mi-diag: a command or a target comes first, not '" << first << "'\n\n";
      usage(err);
      return kExitUsage;
    }
    return run_check_command(args, out, err, out_is_tty);  // `mi-diag <host>` means check
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (!cmd->implemented) {
    bool help = std::find(rest.begin(), rest.end(), "--help") != rest.end();
    (help ? out : err) << "mi-diag " << cmd->synopsis << "\nmi-diag " << cmd->name
                       << ": not implemented yet\n";
    return kExitUsage;
  }
  if (cmd->name == "demo") return run_demo(rest, out, err, out_is_tty);
  if (cmd->name == "analyze") return run_analyze_command(rest, out, err, out_is_tty);
  if (cmd->name == "capture") return run_capture_command(rest, out, err, out_is_tty);
  if (cmd->name == "simulate") return run_simulate(rest, out, err);
  if (cmd->name == "bundle") return run_check_command(rest, out, err, out_is_tty, "bundle");
  if (cmd->name == "watch") return run_watch_command(rest, out, err);
  if (cmd->name == "routes") return run_routes(rest, out, err);
  return run_check_command(rest, out, err, out_is_tty);
}

}  // namespace midiag::agent
