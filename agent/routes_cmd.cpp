#include "agent/routes_cmd.h"

#include <filesystem>
#include <ostream>

#include <boost/program_options.hpp>

#include "agent/cli.h"
#include "agent/routes_bundle.h"
#include "platform/linux/host_routes.h"
#include "platform/linux/system_snapshot.h"
#include "platform/routes/nsg.h"
#include "platform/text/archive_members.h"
#include "platform/text/input_file.h"
#include "reports/render_routes.h"
#include "reports/route_rules.h"

namespace po = boost::program_options;
namespace rt = midiag::platform::routes;

namespace midiag::agent {

namespace {

constexpr std::string_view kExpected =
    "expected Linux `ip route` / `ip rule` / `route -n` / `netstat -rn`, Windows `route print` / "
    "`netsh int ipv4 show route`, macOS `netstat -rn`, a point-to-site routes.txt, an "
    "azurevpnconfig.xml, `az network nic show-effective-route-table` JSON (or say which with "
    "--format) or `az network nic list-effective-nsg` JSON";

Expected<std::string> read_text(const std::string& path, std::size_t max_bytes,
                                std::string_view option) {
  // A regular file over the bound is named with what a real table needs, before any read.
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > max_bytes)
      return make_error(
          std::string(option) + " " + path + ": " + std::to_string(size) + " bytes, over the " +
              std::to_string(max_bytes / (1024U * 1024U)) + " MB this tool reads" +
              (option == "--from-file" ? " (a full Internet table as `ip route` is about 60 MB)"
                                       : "") +
              "; refused rather than read in part",
          ErrorKind::Usage);
  }
  auto text = platform::read_input_file(path, max_bytes, option);
  if (!text) return text.error();
  rt::normalize_text_in_place(*text);  // a 60 MB table is not copied to be normalised
  return text;
}

Expected<rt::RouteTable> parse_table(const std::string& path, const std::string& text,
                                     std::optional<rt::SourceFormat> format) {
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

Expected<rt::EffectiveNsgs> parse_nsgs(const std::string& path, const std::string& text,
                                       std::string_view option) {
  auto n = rt::parse_effective_nsgs(text);
  if (!n)
    return make_error(std::string(option) + " " + path + ": " + n.error().message,
                      ErrorKind::Usage);
  return n;
}

}  // namespace

Expected<rt::RouteTable> read_route_file(const std::string& path,
                                         std::optional<rt::SourceFormat> format) {
  auto text = read_text(path, kMaxRouteFileBytes, "--from-file");
  if (!text) return text.error();
  if (platform::looks_like_archive(*text)) return read_bundle_routes(path, kMaxRouteFileBytes);
  return parse_table(path, *text, format);
}

int run_routes(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string to_text, from_text, file, nsg_file, format_text = "auto";
  bool json = false;
  po::options_description desc("routes options");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("to", po::value(&to_text)->value_name("ADDR"), "which route carries ADDR (numeric IPv4/IPv6), and why")
      ("from-file", po::value(&file)->value_name("F"),
       "read the table from F instead of this host (an effective NSG export there is read as --nsg)")
      ("format", po::value(&format_text)->value_name("FMT"),
       "what F holds: auto|linux|windows|macos|p2s|azure-vpn-xml|azure-effective (default auto)")
      ("nsg", po::value(&nsg_file)->value_name("FILE"),
       "an effective NSG export (az network nic list-effective-nsg, Get-AzEffectiveNetworkSecurityGroup "
       "JSON): its verdict for outbound TCP to --to on 1433 and 11000-11999, as IP flow verify says it "
       "(a deny is ROUTE_UNEXPECTED_PATH, exit 1); without --from-file no route table is read")
      ("from", po::value(&from_text)->value_name("ADDR"),
       "the flow's source for --nsg (the client's address); without it a verdict that depends on the "
       "source is said to be undetermined")
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
    out << "Usage: mi-diag routes [--to ADDR] [--from-file F [--format FMT]] [--nsg FILE [--from "
           "ADDR]] [--json]\n\n"
           "Shows this host's routes (every table and the policy rules) or a table another OS\n"
           "wrote, and with --to which route carries ADDR as that OS would choose it. With --nsg,\n"
           "the effective NSG rules' verdict for outbound TCP to ADDR on 1433 and 11000-11999.\n"
           "Exit: 0 nothing wrong, 1 no route or a route/NSG that drops the flow, 2 bad usage or\n"
           "file, 3 this host's table could not be read.\n\n"
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
  std::optional<rt::Address> to, from;
  if (vm.count("to")) {
    to = rt::Address::parse(to_text);
    if (!to) return usage("--to '" + to_text + "' is not a numeric IPv4 or IPv6 address");
  }
  if (vm.count("from")) {
    from = rt::Address::parse(from_text);
    if (!from) return usage("--from '" + from_text + "' is not a numeric IPv4 or IPv6 address");
  }
  if (vm.count("nsg") && nsg_file.empty()) return usage("--nsg needs a file");

  reports::RoutesReport report;
  std::optional<rt::EffectiveNsgs> nsgs;
  std::string nsg_path;
  if (!nsg_file.empty()) {
    auto text = read_text(nsg_file, kMaxNsgFileBytes, "--nsg");
    if (!text) return usage(text.error().message);
    auto n = parse_nsgs(nsg_file, *text, "--nsg");
    if (!n) return usage(n.error().message);
    nsgs = std::move(*n);
    nsg_path = nsg_file;
  }
  if (!file.empty()) {
    auto text = read_text(file, kMaxRouteFileBytes, "--from-file");
    if (!text) {
      err << "mi-diag routes: " << text.error().message << "\n";
      return kExitUsage;
    }
    if (!format && rt::looks_like_effective_nsgs(*text)) {
      if (nsgs)
        return usage("--from-file " + file + " and --nsg " + nsg_file +
                     " are both effective NSG exports: give one");
      auto n = parse_nsgs(file, *text, "--from-file");
      if (!n) return usage(n.error().message);
      nsgs = std::move(*n);
      nsg_path = file;
      report.table_read = false;
    } else {
      auto t = platform::looks_like_archive(*text) ? read_bundle_routes(file, kMaxRouteFileBytes)
                                                   : parse_table(file, *text, format);
      if (!t) {
        err << "mi-diag routes: " << t.error().message << "\n";
        return kExitUsage;
      }
      report.table = std::move(*t);
      report.file = file;
    }
  } else if (nsgs) {
    report.table_read = false;  // an NSG export alone: the question is about that NIC, not us
  }
  if (nsgs && !to)
    return usage("an NSG export is evaluated for --to ADDR (the instance's address): give --to");
  if (from && !nsgs) return usage("--from is the flow's source for --nsg: give --nsg FILE");

  if (report.table_read && report.file.empty()) {
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
    if (report.table_read) report.lookup = rt::lookup(report.table, *to);
  }
  if (nsgs) {
    reports::RoutesNsg part;
    part.file = nsg_path;
    part.from = from;
    part.unread = nsgs->unread;
    part.flows = reports::instance_flows(*nsgs, *to, from);
    report.nsg = std::move(part);
  }
  report.findings = reports::explain_routes(report);
  if (json)
    reports::render_routes_json(report, out);
  else
    reports::render_routes_text(report, out);
  out.flush();
  return reports::verdict_of(report.findings) == reports::Verdict::Fail ? kExitProblem : kExitOk;
}

}  // namespace midiag::agent
