#include "agent/bundle_cmd.h"

#include <optional>

#include <random>

#include <fcntl.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "reports/mask.h"
#include "reports/redact.h"

namespace midiag::agent {

namespace {

std::string read_binary(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return {};
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string utc_iso8601(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

BundleHooks& bundle_hooks() {
  static BundleHooks hooks;
  return hooks;
}

// The run's log at debug level into memory, while the sinks that were there keep the user's
// level.
struct BundleSession::LogState {
  std::shared_ptr<spdlog::logger> logger;
  spdlog::level::level_enum logger_level = spdlog::level::warn;
  std::vector<std::pair<spdlog::sink_ptr, spdlog::level::level_enum>> sink_levels;
  std::ostringstream text;
  spdlog::sink_ptr sink;
};

Expected<std::unique_ptr<BundleSession>> BundleSession::begin(BundleRequest request,
                                                              CheckOptions& options) {
  if (auto problem = reports::bundle_destination_problem(request.out))
    return make_error("cannot write the bundle: " + *problem, ErrorKind::Usage);
  std::unique_ptr<BundleSession> s(new BundleSession());
  s->request_ = std::move(request);
  s->capture_requested_ = options.capture;
  if (options.capture) {
    if (options.capture_file.empty()) {
      std::string tmpl =
          (std::filesystem::temp_directory_path() / "mi-diag-bundle-XXXXXX").string();
      std::vector<char> buf(tmpl.begin(), tmpl.end());
      buf.push_back('\0');
      if (::mkdtemp(buf.data()) == nullptr)
        return make_error("cannot create a private temporary directory", ErrorKind::Io);
      s->temp_dir_ = buf.data();
      options.capture_file = s->temp_dir_ + "/capture.pcap";
    }
    s->capture_path_ = options.capture_file;
  }
  auto log = std::make_unique<LogState>();
  log->logger = spdlog::default_logger();
  log->logger_level = log->logger->level();
  for (auto& sink : log->logger->sinks()) {
    log->sink_levels.emplace_back(sink, sink->level());
    sink->set_level(std::max(sink->level(), log->logger_level));
  }
  log->sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log->text);
  log->sink->set_level(spdlog::level::trace);
  log->logger->sinks().push_back(log->sink);
  log->logger->set_level(std::min(log->logger_level, spdlog::level::debug));
  s->log_ = std::move(log);
  spdlog::debug("bundle: recording this run for {}", s->request_.out);
  return s;
}

void BundleSession::stop_recording() {
  if (!log_ || !log_->sink) return;
  auto& sinks = log_->logger->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), log_->sink), sinks.end());
  for (auto& [sink, level] : log_->sink_levels) sink->set_level(level);
  log_->logger->set_level(log_->logger_level);
  log_->sink.reset();
}

BundleSession::~BundleSession() {
  stop_recording();
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

Expected<reports::BundleWritten> BundleSession::finish(const reports::Report& report,
                                                       int exit_code) {
  using nlohmann::json;
  const auto& hooks = bundle_hooks();
  reports::Redactor redactor;
  for (const auto& secret : request_.secrets) redactor.add_known_secret(secret);

  spdlog::debug("bundle: collecting the system snapshot");
  auto snapshot = platform::collect_system_snapshot(hooks.snapshot);
  for (const auto& secret : snapshot.secrets) redactor.add_known_secret(secret);

  std::optional<reports::Masker> masker;
  if (request_.mask) masker.emplace(std::random_device{}());
  std::vector<reports::BundleMember> members;
  auto add_text = [&](const std::string& name, const std::string& text) {
    auto clean = redactor.redact_text(text, name);
    members.push_back({name, masker ? masker->mask_text(clean) : std::move(clean)});
  };

  add_text("report.json", reports::render_json(report));
  add_text("report.md", reports::render_markdown(report));
  add_text("report.txt", reports::render_text(report, {true, false}));

  // The probe's own packets, when capture ran and wrote them.
  json capture = {{"requested", capture_requested_},
                  {"status", report.evidence.capture.status},
                  {"included", false}};
  if (!report.evidence.capture.error.empty()) capture["error"] = report.evidence.capture.error;
  if (!capture_requested_) {
    capture["reason"] = "capture was turned off (--no-capture)";
  } else if (masker) {
    capture["reason"] = "left out with --mask: the packets' headers carry the unmasked addresses";
  } else if (report.evidence.capture.status != "on") {
    capture["reason"] = "capture was not permitted or failed: " + report.evidence.capture.error;
  } else {
    std::string error;
    std::string bytes = read_binary(capture_path_, error);
    if (!error.empty()) {
      capture["reason"] = error;
    } else {
      std::span<std::uint8_t> view(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size());
      redactor.scrub_bytes(view, "capture.pcap");
      members.push_back({"capture.pcap", std::move(bytes)});
      capture["included"] = true;
    }
  }

  json system = json::array();
  for (auto& c : snapshot.collectors) {
    system.push_back({{"member", c.member},
                      {"source", redactor.redact_text(c.source, "manifest.json")},
                      {"exit_status", c.exit_status ? json(*c.exit_status) : json(nullptr)},
                      {"bytes", c.bytes},
                      {"cut", c.cut},
                      {"skipped", c.skipped},
                      {"duration_ms", c.duration_ms},
                      {"error", c.error.empty() ? json(nullptr) : json(c.error)},
                      {"included", !c.data.empty()}});
    if (!c.data.empty()) add_text(c.member, c.data);
  }

  std::string command_line;
  for (const auto& a : request_.command_line) command_line += (command_line.empty() ? "" : " ") + a;
  const std::time_t now = std::time(nullptr);
  const json report_json = reports::to_json(report);
  json manifest = {{"schema", "mi-diag.bundle/1"},
                   {"tool_version", MIDIAG_VERSION},
                   {"created", utc_iso8601(now)},
                   {"command_line", command_line},
                   {"exit_code", exit_code},
                   {"verdict", report_json.value("verdict", json(nullptr))},
                   {"collectors", report_json.value("collectors", json::array())},
                   {"system", system},
                   {"capture", capture},
                   {"masked", request_.mask}};

  spdlog::debug("bundle: writing {} members", members.size() + 4);
  stop_recording();
  add_text("log.txt", log_->text.str());
  // The manifest is redacted as a whole (the command line included) before it is dumped.
  json names = json::array();
  for (const auto& m : members) names.push_back(m.name);
  names.push_back("manifest.json");
  names.push_back("redactions.json");
  manifest["members"] = names;
  add_text("manifest.json", manifest.dump(2) + "\n");

  json redactions = json::array();
  for (const auto& r : redactor.counts())
    redactions.push_back({{"rule", r.rule}, {"member", r.member}, {"count", r.count}});
  members.push_back({"redactions.json", json{{"redactions", redactions}}.dump(2) + "\n"});

  reports::BundleWriteOptions wo;
  wo.mtime = now;
  wo.fail_after_bytes = hooks.fail_after_bytes;
  auto written = reports::write_bundle(request_.out, members, wo);
  if (written && masker) {
    // The map stays with the user: beside the archive, readable by its owner only.
    json map = json::array();
    for (const auto& [from, to] : masker->map())
      map.push_back({{"original", from}, {"masked", to}});
    const std::string path = request_.out + ".mask-map.json";
    const std::string text =
        json{{"schema", "mi-diag.mask-map/1"}, {"bundle", request_.out}, {"map", map}}.dump(2) +
        "\n";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const bool ok =
        fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (fd >= 0) ::close(fd);
    if (!ok) return make_error("the bundle was written but its mask map could not be: " + path);
  }
  return written;
}

}  // namespace midiag::agent
