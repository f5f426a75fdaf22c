#include "agent/routes_cmd.h"

#include <ostream>

#include <boost/program_options.hpp>

#include "agent/cli.h"
#include "agent/routes_bundle.h"
#include "platform/linux/host_routes.h"
#include "platform/linux/system_snapshot.h"
#include "platform/text/archive_members.h"
#include "platform/text/input_file.h"
#include "reports/render_routes.h"

namespace po = boost::program_options;
namespace rt = midiag::platform::routes;

namespace midiag::agent {

namespace {

constexpr std::string_view kExpected =
    "expected Linux `ip route` / `ip rule` / `route -n` / `netstat -rn`, Windows `route print`, "
    "macOS `netstat -rn`, a point-to-site routes.txt, an azurevpnconfig.xml or `az network nic "
    "show-effective-route-table` JSON (or say which with --format)";

}  // namespace

Expected<rt::RouteTable> read_route_file(const std::string& path,
                                         std::optional<rt::SourceFormat> format) {
  auto raw = platform::read_input_file(path, kMaxRouteFileBytes, "--from-file");
  if (!raw) return raw.error();
  if (platform::looks_like_archive(*raw)) return read_bundle_routes(path, kMaxRouteFileBytes);
  const std::string text = rt::normalize_text(*raw);
  if (!format) format = rt::detect_format(text);
  if (!format)
    return make_error(
        "--from-file " + path + ": not a route table this tool knows: " + std::string(kExpected),
        ErrorKind::Usage);
  auto t = rt::parse_routes(text, *format);
  if (!t)
    return make_error("--from-file " + path + " (" + std::string(rt::format_name(*format)) +
                          "): " + t.error().message,
                      ErrorKind::Usage);
  return t;
}

int run_routes(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string to_text, file, format_text = "auto";
  bool json = false;
  po::options_description desc("routes options");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("to", po::value(&to_text)->value_name("ADDR"), "which route carries ADDR (numeric IPv4/IPv6), and why")
      ("from-file", po::value(&file)->value_name("F"), "read the table from F instead of this host")
      ("format", po::value(&format_text)->value_name("FMT"),
       "what F holds: auto|linux|windows|macos|p2s|azure-vpn-xml|azure-effective (default auto)")
      ("json", po::bool_switch(&json), "JSON (schema mi-diag.routes/1)");
  // clang-format on
  po::variables_map vm;
  auto usage = [&](const std::string& msg) {
    err << "mi-diag routes: " << msg << "\n(see 'mi-diag routes --help')\n";
    return kExitUsage;
  };
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage(e.what());
  }
  if (vm.count("help")) {
    out << "Usage: mi-diag routes [--to ADDR] [--from-file F [--format FMT]] [--json]\n\n"
           "Shows this host's routes (every table and the policy rules) or a table another OS\n"
           "wrote, and with --to which route carries ADDR as that OS would choose it.\n\n"
        << desc;
    return kExitOk;
  }
  std::optional<rt::SourceFormat> format;
  if (format_text != "auto") {
    format = rt::parse_format_name(format_text);
    if (!format)
      return usage("bad --format '" + format_text +
                   "' (auto|linux|windows|macos|p2s|azure-vpn-xml|azure-effective)");
    if (file.empty()) return usage("--format says what --from-file holds: give --from-file F");
  }
  std::optional<rt::Address> to;
  if (vm.count("to")) {
    to = rt::Address::parse(to_text);
    if (!to) return usage("--to '" + to_text + "' is not a numeric IPv4 or IPv6 address");
  }

  reports::RoutesReport report;
  report.file = file;
  if (!file.empty()) {
    auto t = read_route_file(file, format);
    if (!t) {
      err << "mi-diag routes: " << t.error().message << "\n";
      return kExitUsage;
    }
    report.table = std::move(*t);
  } else {
    auto t = platform::host_route_table();
    if (!t) {
      err << "mi-diag routes: this host's route table could not be read: " << t.error().message
          << "\n";
      return kExitToolFailure;
    }
    report.table = std::move(*t);
    report.on_azure = platform::on_azure(platform::kDmiDir);
  }
  if (to) {
    report.to = to;
    report.lookup = rt::lookup(report.table, *to);
  }
  report.findings = reports::explain_routes(report);
  out << (json ? reports::render_routes_json(report) : reports::render_routes_text(report));
  out.flush();
  return reports::verdict_of(report.findings) == reports::Verdict::Fail ? kExitProblem : kExitOk;
}

}  // namespace midiag::agent
