// `mi-diag watch` as a process against the embedded simulator and a closed port on 127.0.0.1:
// rounds, events, the textfile that promtool accepts, state in state_dir, /metrics over HTTP with
// the format's Content-Type, SIGHUP adding a target, a bad reload keeping the old config, and
// SIGTERM ending with exit 0.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "agent/simulator/instance.h"
#include "reports/metrics.h"
#include "tests/unit/support/external_tool.h"
#include "tests/unit/support/temp_dir.h"

namespace midiag::agent {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;
using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A loopback port nothing listens on (bound, then closed): connecting is refused.
std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string target(const std::string& name, std::uint16_t port, const std::string& extra = "") {
  return "  - name: " + name + "\n    host: 127.0.0.1\n    port: " + std::to_string(port) +
         "\n    fail_after: 1\n" + extra;
}

std::string config(const std::string& state_dir, const std::string& targets) {
  return "interval: 300ms\ntimeout: 250ms\nstate_dir: " + state_dir + "\ntargets:\n" + targets;
}

pid_t spawn(const std::vector<std::string>& args) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    std::string bin = MIDIAG_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  for (int i = 0; i < 1000; ++i) {  // bounded: 20 s
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(20ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -2;
}

// Waits (bounded, 20 s) until the file holds `needle`: the watch process writes it after rounds.
bool file_gets(const std::string& path, const std::string& needle) {
  for (int i = 0; i < 1000; ++i) {
    if (slurp(path).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

void expect_promtool_accepts(const std::string& file) {
  const auto promtool = test_support::promtool_path();
  if (promtool.empty()) {
    if (test_support::running_in_ci()) FAIL() << "promtool missing (tests/setup.sh installs it)";
    GTEST_SKIP() << "promtool missing";
  }
  EXPECT_EQ(std::system((promtool + " check metrics < " + file + " >/dev/null 2>&1").c_str()), 0)
      << slurp(file);
}

TEST(WatchRun, RoundsGiveEventsMetricsAndState) {
  TempDir dir;
  sim::InstanceConfig sc;
  sc.redirect = false;
  auto inst = sim::SimulatedInstance::start(sc);
  ASSERT_TRUE(inst) << inst.error().message;
  const std::string cfg = dir.path() + "/watch.yaml";
  write(cfg, config(dir.path() + "/state",
                    target("sim", (*inst)->gateway_port(), "    trust_server_certificate: true\n") +
                        target("closed", free_port())));
  const std::string events = dir.path() + "/events.jsonl", prom = dir.path() + "/m.prom";
  const pid_t pid =
      spawn({"watch", "--config", cfg, "--events", events, "--textfile", prom, "--rounds", "4"});
  ASSERT_EQ(wait_exit(pid), 0);

  // The closed port is down after one failed round, said once, with its cause.
  std::istringstream lines(slurp(events));
  int closed_down = 0;
  for (std::string line; std::getline(lines, line);) {
    auto e = nlohmann::json::parse(line);
    if (e["target"] == "closed" && e["event"] == "down") {
      ++closed_down;
      EXPECT_NE(line.find("TCP_REFUSED"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(closed_down, 1) << slurp(events);
  const auto m = slurp(prom);
  EXPECT_NE(m.find("probe_success{target=\"closed\"} 0"), std::string::npos) << m;
  EXPECT_NE(m.find("midiag_probe_phase_duration_seconds{target=\"sim\",phase=\"tls\"}"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("midiag_tls_cert_expiry_timestamp_seconds{target=\"sim\"}"), std::string::npos);
  EXPECT_NE(m.find("midiag_config_last_reload_successful 1"), std::string::npos);
  expect_promtool_accepts(prom);
  auto state = nlohmann::json::parse(slurp(dir.path() + "/state/closed.json"));
  EXPECT_EQ(state["health"], "down");
}

TEST(WatchRun, SighupAddsATargetABadReloadKeepsTheOldAndSigtermExitsZero) {
  TempDir dir;
  const std::string cfg = dir.path() + "/watch.yaml", prom = dir.path() + "/m.prom";
  const auto closed = free_port(), listen = free_port();
  write(cfg, config(dir.path() + "/state", target("first", closed)));
  const pid_t pid = spawn({"watch", "--config", cfg, "--textfile", prom, "--metrics-listen",
                           "127.0.0.1:" + std::to_string(listen)});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(file_gets(prom, "target=\"first\""));

  httplib::Client http("127.0.0.1", listen);
  auto res = http.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), reports::metrics::kContentType);
  EXPECT_NE(res->body.find("midiag_probes_total{target=\"first\"}"), std::string::npos);

  write(cfg, config(dir.path() + "/state", target("first", closed) + target("second", closed)));
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  EXPECT_TRUE(file_gets(prom, "target=\"second\""));

  write(cfg, "targets: [\n");  // not YAML
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  EXPECT_TRUE(file_gets(prom, "midiag_config_last_reload_successful 0"));
  EXPECT_TRUE(file_gets(prom, "target=\"second\""));  // the old config keeps running

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  EXPECT_EQ(wait_exit(pid), 0);
}

}  // namespace
}  // namespace midiag::agent
