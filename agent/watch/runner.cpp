#include "agent/watch/runner.h"

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "agent/check.h"
#include "agent/watch/events.h"
#include "agent/watch/scheduler.h"
#include "agent/watch/target_metrics.h"
#include "reports/report.h"

namespace midiag::agent::watch {

namespace {

using nlohmann::json;

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A target name as a file name in state_dir: letters, digits, '-', '_', '.', the rest '_'.
std::string state_file_name(const std::string& name) {
  std::string out;
  for (char c : name)
    out +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
  return out + ".json";
}

CheckOptions check_options(const WatchTarget& t) {
  CheckOptions o;
  o.target = t.endpoint;
  o.mode = t.mode;
  o.timeout = t.timeout;
  o.ca_file = t.ca_file;
  o.credentials = t.credentials;
  o.trust_server_certificate = t.trust_server_certificate;
  o.strict = t.strict;
  o.resolvers = t.resolvers;
  return o;
}

// Everything the rounds, the HTTP thread and the signal thread share.
struct Shared {
  std::mutex mutex;     // the state below; no file is written while it is held
  std::mutex textfile;  // one writer of the textfile at a time (one temp file name)
  struct PerTarget {
    std::unique_ptr<TargetState> state;
    TargetCounters counters;
    json last_report;  // null until a round finished
  };
  std::map<std::string, PerTarget> targets;
  bool reload_ok = true;
  std::string state_dir;
  std::ostream* events = nullptr;
  std::string textfile_path;
  std::atomic<std::uint64_t> rounds{0};

  std::string exposition() {
    reports::metrics::Exposition e;
    for (auto& [name, t] : targets) {
      auto counters = t.counters;
      counters.state_changes = t.state ? t.state->state_changes() : 0;
      add_target_metrics(e, name, t.last_report, counters);
    }
    add_process_metrics(e, MIDIAG_VERSION, reload_ok);
    auto text = reports::metrics::encode(e);
    if (!text) {
      spdlog::error("metrics not encoded: {}", text.error().message);
      return {};
    }
    return *text;
  }
};

void save_state(const std::string& dir, const std::string& name, const std::string& text) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const auto path = std::filesystem::path(dir) / state_file_name(name);
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << text << "\n";
    if (!f) {
      spdlog::warn("state for {} not saved in {}", name, dir);
      return;
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) spdlog::warn("state for {} not saved: {}", name, ec.message());
}

void load_state(const std::string& dir, const std::string& name, TargetState& st) {
  std::ifstream f(std::filesystem::path(dir) / state_file_name(name));
  if (!f) return;
  auto j = json::parse(f, nullptr, false);
  if (!st.load(j)) spdlog::warn("state of {} in {} not usable: starting afresh", name, dir);
}

void round(Shared& shared, const WatchTarget& target) {
  Clock clock;
  auto outcome = run_check(check_options(target), clock);
  json report;
  if (outcome.ok) {
    report = reports::to_json(outcome.report);
  } else {
    // The check could not run (e.g. resolv.conf unreadable): a failed round, said as such.
    report = {{"verdict", "fail"},
              {"findings", json::array({{{"code", "CHECK_NOT_RUN"}, {"severity", "error"}}})},
              {"error", outcome.failure.message}};
    spdlog::warn("{}: check not run: {}", target.name, outcome.failure.message);
  }
  std::string state_text, state_dir;
  {
    std::lock_guard lock(shared.mutex);
    auto& t = shared.targets[target.name];
    if (!t.state)
      t.state = std::make_unique<TargetState>(target.name, target.fail_after, target.recover_after);
    t.counters.count_round(report);
    for (const auto& e : t.state->observe(report, utc_now()))
      if (shared.events != nullptr) *shared.events << to_json(e).dump() << std::endl;
    t.last_report = std::move(report);
    state_text = t.state->save().dump();
    state_dir = shared.state_dir;
  }
  // Files are written outside the shared lock, so a slow disk delays neither the other targets'
  // rounds nor a scrape. One round of a target at a time: its state file has one writer.
  save_state(state_dir, target.name, state_text);
  if (!shared.textfile_path.empty()) {
    std::lock_guard io(shared.textfile);
    std::string text;
    {
      std::lock_guard lock(shared.mutex);
      text = shared.exposition();  // taken under the writer's lock: the newest is written last
    }
    if (auto why = reports::metrics::write_textfile(shared.textfile_path, text))
      spdlog::warn("{}", why->message);
  }
  ++shared.rounds;
  // Each round's check ran on its own thread: give what it freed back to the system, so the
  // resident size stays that of one round, not of the most any thread's heap once held.
  malloc_trim(0);
}

std::vector<Job> jobs_for(Shared& shared, const WatchConfig& cfg) {
  std::vector<Job> jobs;
  for (const auto& t : cfg.targets)
    jobs.push_back({t.name, t.interval, [&shared, t] { round(shared, t); }});
  return jobs;
}

void adopt(Shared& shared, const WatchConfig& cfg) {
  std::lock_guard lock(shared.mutex);
  shared.state_dir = cfg.state_dir;
  std::map<std::string, Shared::PerTarget> kept;
  for (const auto& t : cfg.targets) {
    auto it = shared.targets.find(t.name);
    if (it != shared.targets.end()) {
      kept[t.name] = std::move(it->second);
      continue;
    }
    auto& pt = kept[t.name];
    pt.state = std::make_unique<TargetState>(t.name, t.fail_after, t.recover_after);
    load_state(cfg.state_dir, t.name, *pt.state);
  }
  shared.targets = std::move(kept);
}

}  // namespace

int run_watch(WatchConfig config, const WatchOutputs& outputs, std::ostream& out,
              std::ostream& err) {
  // A round runs on a thread of its own: without a cap, glibc gives threads up to 8 x cores heaps
  // of their own, each keeping what its rounds once used (5 MB of 22 here). Two are enough.
  mallopt(M_ARENA_MAX, 2);
  Shared shared;
  std::ofstream events_file;
  if (outputs.events == "-") {
    shared.events = &out;
  } else if (!outputs.events.empty()) {
    events_file.open(outputs.events, std::ios::app);
    if (!events_file) {
      err << "mi-diag watch: cannot open --events " << outputs.events << "\n";
      return 3;
    }
    shared.events = &events_file;
  }
  shared.textfile_path = outputs.textfile;
  adopt(shared, config);

  // Signals go to one thread that waits for them; every other thread blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);

  Scheduler scheduler(outputs.max_in_flight, static_cast<std::uint64_t>(::getpid()) ^
                                                 static_cast<std::uint64_t>(std::time(nullptr)));
  scheduler.set_jobs(jobs_for(shared, config));

  httplib::Server http;
  std::thread http_thread;
  if (outputs.listen) {
    // A scrape is one short request: two workers instead of cpp-httplib's default of eight.
    http.new_task_queue = [] { return new httplib::ThreadPool(2); };
    http.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
      std::string body;
      {
        std::lock_guard lock(shared.mutex);
        body = shared.exposition();
      }
      res.set_content(body, std::string(reports::metrics::kContentType).c_str());
    });
    if (!http.bind_to_port(outputs.listen->address.c_str(), outputs.listen->port)) {
      err << "mi-diag watch: cannot listen on " << outputs.listen->address << ":"
          << outputs.listen->port << " (in use, or not an address of this host)\n";
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      return 3;
    }
    http_thread = std::thread([&] { http.listen_after_bind(); });
  }

  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    while (!done.load()) {
      timespec wait{0, 200'000'000};
      const int s = sigtimedwait(&signals, nullptr, &wait);
      if (outputs.max_rounds != 0 && shared.rounds.load() >= outputs.max_rounds) break;
      if (s == SIGHUP) {
        auto next = load_watch_config(config.path);
        std::lock_guard lock(shared.mutex);
        if (!next) {
          shared.reload_ok = false;
          spdlog::error("config not reloaded, the previous one stays: {}", next.error().message);
          continue;
        }
        shared.reload_ok = true;
        config = std::move(*next);
        spdlog::info("config reloaded: {} target(s)", config.targets.size());
      } else if (s == SIGTERM || s == SIGINT) {
        break;
      } else {
        continue;
      }
      // A reload: outside the lock, the new targets and schedules.
      adopt(shared, config);
      scheduler.set_jobs(jobs_for(shared, config));
    }
    scheduler.stop();
  });

  scheduler.run();  // returns after stop(), once the rounds in flight are done
  done = true;
  signal_thread.join();
  if (outputs.listen) {
    http.stop();
    http_thread.join();
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return 0;
}

}  // namespace midiag::agent::watch
