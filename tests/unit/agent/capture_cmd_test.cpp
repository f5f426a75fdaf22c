// `mi-diag capture` through the real binary: a live capture on lo while this test logs in to the
// embedded simulator, a capture refused to an unprivileged user, and a capture ended by SIGINT.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/cli.h"
#include "agent/simulator/instance.h"

namespace {

std::string temp_path(const std::string& content) {
  char name[] = "/tmp/midiag-capture-XXXXXX";
  const int fd = mkstemp(name);
  if (fd >= 0) {
    if (!content.empty() && write(fd, content.data(), content.size()) < 0) {
    }
    close(fd);
  }
  return name;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The binary, started through a shell that prints its pid first: stdout goes to a file, stderr
// to the pipe, so the test can wait for "capturing on" before making traffic.
struct Child {
  FILE* pipe = nullptr;
  pid_t pid = -1;
  std::string out_path = temp_path("");
  std::string err;

  explicit Child(const std::string& args, const std::string& prefix = "") {
    const std::string command =
        "echo $$; exec " + prefix + "'" + MIDIAG_BINARY + "' " + args + " 2>&1 >'" + out_path + "'";
    pipe = popen(command.c_str(), "r");
    char line[4096];
    if (pipe != nullptr && fgets(line, sizeof line, pipe) != nullptr) pid = std::atoi(line);
  }
  // Reads stderr lines until one holds `what` (or the child's stderr ends).
  bool wait_for(const std::string& what) {
    char line[4096];
    while (pipe != nullptr && fgets(line, sizeof line, pipe) != nullptr) {
      err += line;
      if (err.find(what) != std::string::npos) return true;
    }
    return false;
  }
  // The rest of stderr, then the exit code.
  int finish() {
    char buf[4096];
    for (std::size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) err.append(buf, n);
    const int status = pclose(pipe);
    pipe = nullptr;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string out() const { return slurp(out_path); }
  ~Child() {
    if (pipe != nullptr) pclose(pipe);
    unlink(out_path.c_str());
  }
};

// A login through `check` (no capture of its own) to the simulator's gateway, followed to the node.
void login(midiag::sim::SimulatedInstance& inst, const std::string& resolv) {
  setenv("MIDIAG_CAPTURE_TEST_PW", "sim-password", 1);
  std::ostringstream out, err;
  midiag::agent::run_cli(
      {"check", "127.0.0.1:" + std::to_string(inst.gateway_port()), "--json", "--no-capture",
       "--no-trace", "--trust-server-certificate", "--timeout-ms", "3000", "--resolv-conf", resolv,
       "--user", "sim", "--password-env", "MIDIAG_CAPTURE_TEST_PW"},
      out, err, false);
  unsetenv("MIDIAG_CAPTURE_TEST_PW");
}

void expect_gateway_and_redirect(const nlohmann::json& j, std::uint16_t gateway,
                                 std::uint16_t node) {
  ASSERT_TRUE(j.contains("sessions")) << j.dump(1);
  const nlohmann::json* gw = nullptr;
  for (const auto& s : j["sessions"])
    if (s["server_port"] == gateway) gw = &s;
  ASSERT_NE(gw, nullptr) << j.dump(1);
  EXPECT_EQ((*gw)["speaks_tds"], true);
  EXPECT_EQ((*gw)["tds"]["prelogin"]["server_encryption"], "ON") << gw->dump(1);
  ASSERT_TRUE((*gw)["redirect_to"].is_number()) << j.dump(1);
  const auto to = (*gw)["redirect_to"].get<std::size_t>();
  ASSERT_GE(to, 1U);
  ASSERT_LE(to, j["sessions"].size());
  EXPECT_EQ(j["sessions"][to - 1]["server_port"], node);
}

class CaptureCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_NET_RAW) to capture on lo";
    auto inst = midiag::sim::SimulatedInstance::start({});
    ASSERT_TRUE(inst) << inst.error().message;
    inst_ = std::move(*inst);
    resolv_ = temp_path("nameserver 127.0.0.1\n");
  }
  void TearDown() override {
    if (!resolv_.empty()) unlink(resolv_.c_str());
  }
  std::unique_ptr<midiag::sim::SimulatedInstance> inst_;
  std::string resolv_;
};

TEST_F(CaptureCli, LiveLoginOnLoopbackIsExplained) {
  const std::string ports =
      std::to_string(inst_->gateway_port()) + "," + std::to_string(inst_->node_port());
  const std::string pcap = temp_path("");
  Child c("capture --interface lo --duration 3 --json --ports " + ports + " --write '" + pcap +
          "'");
  ASSERT_TRUE(c.wait_for("capturing on lo")) << c.err;
  login(*inst_, resolv_);
  const int code = c.finish();
  EXPECT_TRUE(code == 0 || code == 1) << code << "\n" << c.err;
  const auto j = nlohmann::json::parse(c.out(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << c.out() << c.err;
  expect_gateway_and_redirect(j, inst_->gateway_port(), inst_->node_port());
  EXPECT_EQ(inst_->stats().redirects, 1U);

  // The --write file holds the same capture: analyze finds the same sessions in it.
  Child a("analyze '" + pcap + "' --json --ports " + ports);
  a.finish();
  const auto k = nlohmann::json::parse(a.out(), nullptr, false);
  ASSERT_FALSE(k.is_discarded()) << a.out() << a.err;
  expect_gateway_and_redirect(k, inst_->gateway_port(), inst_->node_port());
  unlink(pcap.c_str());
}

TEST_F(CaptureCli, SigintEndsTheCaptureAndItStillExplains) {
  // --ports: another test's login on lo (ctest -j) is then not taken for this one's redirect.
  const std::string ports =
      std::to_string(inst_->gateway_port()) + "," + std::to_string(inst_->node_port());
  Child c("capture --host 127.0.0.1 --duration 60 --json --ports " + ports);
  ASSERT_TRUE(c.wait_for("capturing on lo")) << c.err;  // the route to 127.0.0.1 is lo's
  login(*inst_, resolv_);
  ASSERT_GT(c.pid, 0);
  kill(c.pid, SIGINT);
  const int code = c.finish();  // bounded: SIGINT ends it long before the 60 s
  EXPECT_TRUE(code == 0 || code == 1) << code << "\n" << c.err;
  EXPECT_NE(c.err.find("interrupted"), std::string::npos) << c.err;
  const auto j = nlohmann::json::parse(c.out(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << c.out() << c.err;
  expect_gateway_and_redirect(j, inst_->gateway_port(), inst_->node_port());
}

TEST_F(CaptureCli, WithoutCapNetRawItExitsThreeAndSaysWhy) {
  Child c("capture --interface lo --duration 1",
          "setpriv --reuid=nobody --regid=nogroup --clear-groups ");
  const int code = c.finish();
  EXPECT_EQ(code, 3) << c.err;
  EXPECT_NE(c.err.find("no permission to capture"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("CAP_NET_RAW"), std::string::npos) << c.err;
}

TEST(CaptureUsage, BadOptionsExitTwo) {
  std::ostringstream out, err;
  EXPECT_EQ(midiag::agent::run_cli({"capture", "--duration", "0"}, out, err, false), 2);
  EXPECT_EQ(midiag::agent::run_cli({"capture", "--format", "xml"}, out, err, false), 2);
  EXPECT_EQ(midiag::agent::run_cli({"capture", "--bogus"}, out, err, false), 2);
  EXPECT_EQ(midiag::agent::run_cli({"capture", "--help"}, out, err, false), 0);
  EXPECT_NE(out.str().find("--duration"), std::string::npos);
}

}  // namespace
