// The command line end to end, in-process: bad input is exit 2 with the bad value named;
// a real check against a loopback listener produces a parseable report.
#include "agent/cli.h"

#include "agent/simulator/instance.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

using midiag::agent::run_cli;

namespace {

struct Run {
  int code;
  std::string out, err;
};

Run cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = run_cli(args, out, err);
  return {code, out.str(), err.str()};
}

// A listening socket on 127.0.0.1 (kernel completes handshakes from the backlog).
struct Listener {
  int fd = -1;
  std::uint16_t port = 0;
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd, 16);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(fd); }
};

// The product logs through spdlog's default logger (main() points it at stderr); for the test's
// duration that logger writes here instead, so what was really logged can be searched.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()), previous_level_(spdlog::get_level()) {
    auto logger = std::make_shared<spdlog::logger>(
        "test-capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(text_));
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::trace);
  }
  ~CapturedLog() {
    spdlog::set_default_logger(previous_);
    spdlog::set_level(previous_level_);
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::string text() {
    spdlog::default_logger()->flush();
    return text_.str();
  }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::logger> previous_;
  spdlog::level::level_enum previous_level_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string temp_file(const std::string& content) {
  char path[] = "/tmp/midiag-cli-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << content;
  return path;
}

}  // namespace

TEST(Cli, BadInputIsExit2NamingTheValue) {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  } cases[] = {
      {{"check", "mi..x.database.windows.net"}, "empty label"},
      {{"check", "host:70000"}, "70000"},
      {{"check", "10.0.0.1", "--ports", "0"}, "\"0\""},
      {{"check", "10.0.0.1", "--ports", "70000"}, "70000"},
      {{"check", "10.0.0.1", "--ports", "5-3"}, "5-3"},
      {{"check", "10.0.0.1", "--ports", "abc"}, "abc"},
      {{"check", "x.example.com", "--resolver", "not-an-ip"}, "not-an-ip"},
      {{"check", "x.example.com", "--resolver", "10.0.0.1:99999"}, "10.0.0.1:99999"},
      {{"check", "x.example.com", "--format", "xml"}, "xml"},
      {{"check", "x.example.com", "--mode", "sideways"}, "sideways"},
      {{"check", "x.example.com", "--timeout-ms", "0"}, "timeout-ms"},
      {{"check", "x.example.com", "--timeout-ms", "soon"}, "timeout-ms"},
      {{"check", "x.example.com", "--log-level", "loud"}, "loud"},
      {{"check", "x.example.com", "--classify-as", "10.0.0.0/8"}, "CIDR=CLASS"},
      {{"check", "x.example.com", "--no-such-option"}, "no-such-option"},
      {{"check"}, "no target"},
      {{"check", "a.example.com", "b.example.com"}, "b.example.com"},
      {{"check", "x.example.com", "--resolv-conf", "/nonexistent/resolv.conf"},
       "/nonexistent/resolv.conf"},
      {{"check", "x.example.com", "--resolv-conf", "/etc/hosts", "--hosts-file",
        "/nonexistent/hosts"},
       "/nonexistent/hosts"},
      {{"--bogus"}, "--bogus"},
      {{"analyze", "/nonexistent/x.pcap"}, "/nonexistent/x.pcap"},
      {{"demo", "--bogus"}, "bogus"},
      {{"check", "x.example.com", "--imds", "--no-imds"}, "contradict"},
      {{"check", "mi1.zone1.database.windows.net", "--mode", "link", "--ports", "1433,11000"},
       "5022"},
      {{"check", "mi1.zone1.database.windows.net", "--link-endpoint-port", "5023"}, "--mode link"},
      {{"check", "mi1.zone1.database.windows.net", "--mode", "link", "--link-endpoint-port",
        "70000"},
       "70000"},
      {{"check", "10.0.0.4", "--mode", "failover-group"}, "DNS name"},
      {{"check", "mi1.zone1.database.windows.net", "--fog", "fog1"}, "--mode failover-group"},
      {{"check", "mi1.zone1.database.windows.net", "--mode", "failover-group", "--fog", "a.b"},
       "one DNS label"},
      {{"check", "mi1.zone1.database.windows.net", "--mode", "failover-group", "--fog", "-x"},
       "one DNS label"},
      {{"check", "fog1.secondary.zone1.database.windows.net", "--mode", "failover-group", "--fog",
        "fog1"},
       "partner instance"},
  };
  for (const auto& c : cases) {
    auto r = cli(c.args);
    EXPECT_EQ(r.code, 2) << c.args.back() << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args.back() << " -> " << r.err;
    EXPECT_TRUE(r.out.empty()) << "no partial report on stdout: " << r.out;
  }
  EXPECT_EQ(cli({}).code, 2);
}

TEST(Cli, HelpAndVersionAreExit0) {
  EXPECT_EQ(cli({"--help"}).code, 0);
  auto h = cli({"check", "--help"});
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("Examples:"), std::string::npos);
  EXPECT_NE(cli({"--version"}).out.find("mi-diag "), std::string::npos);
}

TEST(Cli, ALoopbackListenerThatNeverAnswersPreloginIsNotTds) {
  Listener l;  // the kernel completes the handshake; nobody ever reads or writes
  auto r = cli({"check", "127.0.0.1:" + std::to_string(l.port), "--json", "--timeout-ms", "300"});
  ASSERT_EQ(r.code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verdict"], "fail");
  EXPECT_EQ(j["findings"][0]["code"], "TDS_NOT_SPOKEN");
  EXPECT_EQ(j["findings"][1]["code"], "TARGET_IS_IP_LITERAL");
  EXPECT_EQ(j["tcp"][0]["state"], "open");
  EXPECT_EQ(j["tcp"][0]["port"], l.port);
  EXPECT_EQ(j["tds"]["failed_at"], "prelogin");
  EXPECT_EQ(j["routes"][0]["kind"], "local");
}

TEST(Cli, ClosedLoopbackPortIsRefusedAndExit1) {
  std::uint16_t port;
  {
    Listener l;
    port = l.port;
  }
  auto r = cli({"127.0.0.1:" + std::to_string(port), "--json"});  // `check` is the default
  ASSERT_EQ(r.code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verdict"], "fail");
  EXPECT_EQ(j["findings"][0]["code"], "TCP_REFUSED");
}

TEST(Cli, EmptyHostsFileAndResolvConfWithoutServersDoNotCrash) {
  auto hosts = temp_file("");
  auto resolv = temp_file("# nothing here\n");
  // A resolver on a loopback port nobody listens on: every lookup fails fast.
  auto r = cli({"check", "mi1.lab0001.database.windows.net", "--json", "--timeout-ms", "300",
                "--hosts-file", hosts, "--resolv-conf", resolv});
  EXPECT_EQ(r.code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["findings"][0]["code"], "DNS_RESOLVER_UNREACHABLE") << r.out;
  EXPECT_NE(j["limitations"].dump().find("names no nameserver"), std::string::npos);
  unlink(hosts.c_str());
  unlink(resolv.c_str());
}

TEST(Cli, HostsFileOverrideIsSeen) {
  Listener l;
  auto hosts =
      temp_file("127.0.0.1 localhost\n127.0.0.1 mi1.lab0001.database.windows.net # pinned\n");
  auto resolv = temp_file("nameserver 127.0.0.1\n");
  auto r = cli({"check", "mi1.lab0001.database.windows.net:" + std::to_string(l.port), "--json",
                "--timeout-ms", "300", "--hosts-file", hosts, "--resolv-conf", resolv});
  auto j = nlohmann::json::parse(r.out);
  std::string codes;
  for (const auto& f : j["findings"]) codes += f["code"].get<std::string>() + " ";
  EXPECT_NE(codes.find("DNS_HOSTS_FILE_OVERRIDE"), std::string::npos) << codes;
  EXPECT_NE(codes.find("WRONG_PORT_FOR_ENDPOINT"), std::string::npos) << codes;
  EXPECT_EQ(j["addresses"][0], "127.0.0.1");
  unlink(hosts.c_str());
  unlink(resolv.c_str());
}

TEST(Cli, DemoGivesEveryScenariosFindingsAndStaysOnLoopback) {
  auto r = cli({"demo", "-v"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("demo: 9 of 9 scenarios gave the expected findings"), std::string::npos)
      << r.out;
  // Every DNS question of the demo goes to its own simulated server, never the host's resolver.
  size_t at = 0, seen = 0;
  while ((at = r.out.find("system servers:", at)) != std::string::npos) {
    EXPECT_EQ(r.out.compare(at, 26, "system servers: 127.0.0.1:"), 0) << r.out.substr(at, 60);
    ++seen;
    ++at;
  }
  EXPECT_EQ(seen, 9u);
  // Five scenarios log in with the password "sim-password": it must appear nowhere.
  EXPECT_EQ(r.out.find("sim-password"), std::string::npos);
  EXPECT_EQ(r.err.find("sim-password"), std::string::npos);
}

TEST(Cli, PasswordFromTheEnvironmentNeverReachesTheReportOrTheLog) {
  midiag::sim::InstanceConfig config;
  config.redirect = false;
  config.password = "s3cret-Pa55word";
  auto inst = midiag::sim::SimulatedInstance::start(config);
  ASSERT_TRUE(inst) << inst.error().message;
  setenv("MIDIAG_TEST_PW", "s3cret-Pa55word", 1);
  for (const char* format : {"json", "markdown", "text"}) {
    CapturedLog log;
    auto r = cli({"check", "127.0.0.1:" + std::to_string((*inst)->gateway_port()), "--format",
                  format, "-v", "--user", "sim", "--password-env", "MIDIAG_TEST_PW", "--timeout-ms",
                  "2000", "--log-level", "trace", "--trust-server-certificate"});
    auto logged = log.text();
    // The login really used the password: the simulated gateway accepted it (proxy path).
    EXPECT_NE(r.out.find("CONNECTION_PATH"), std::string::npos) << format << r.out;
    // The capture is the real log: the check's own debug lines are in it.
    EXPECT_NE(logged.find("TDS exchange with 127.0.0.1:"), std::string::npos) << logged;
    EXPECT_EQ(r.out.find("s3cret-Pa55word"), std::string::npos) << format;
    EXPECT_EQ(r.err.find("s3cret-Pa55word"), std::string::npos) << format;
    EXPECT_EQ(logged.find("s3cret-Pa55word"), std::string::npos) << format << "\n" << logged;
  }
  EXPECT_EQ((*inst)->stats().gateway.logins_ok, 3u);
  unsetenv("MIDIAG_TEST_PW");
}

// The same through the real binary, whose main() installs the stderr sink.
TEST(Cli, PasswordNeverReachesTheRealBinarysStdoutOrStderrLog) {
  midiag::sim::InstanceConfig config;
  config.redirect = false;
  config.password = "s3cret-Pa55word";
  auto inst = midiag::sim::SimulatedInstance::start(config);
  ASSERT_TRUE(inst) << inst.error().message;
  setenv("MIDIAG_TEST_PW", "s3cret-Pa55word", 1);
  auto err_path = temp_file("");
  auto ca_path = temp_file((*inst)->ca_pem());  // trusted, so a healthy check exits 0
  std::string command = std::string("'") + MIDIAG_BINARY +
                        "' check 127.0.0.1:" + std::to_string((*inst)->gateway_port()) +
                        " --json --user sim --password-env MIDIAG_TEST_PW --timeout-ms 2000"
                        " --log-level trace --trust-server-certificate --ca-file '" +
                        ca_path + "' 2>'" + err_path + "'";
  std::string out;
  FILE* child = popen(command.c_str(), "r");
  ASSERT_NE(child, nullptr);
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, child)) > 0;) out.append(buf, n);
  int status = pclose(child);
  auto logged = read_file(err_path);
  unlink(err_path.c_str());
  unlink(ca_path.c_str());
  unsetenv("MIDIAG_TEST_PW");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << out << logged;
  EXPECT_NE(out.find("CONNECTION_PATH"), std::string::npos) << out;
  EXPECT_NE(logged.find("TDS exchange with 127.0.0.1:"), std::string::npos) << logged;
  EXPECT_EQ(out.find("s3cret-Pa55word"), std::string::npos);
  EXPECT_EQ(logged.find("s3cret-Pa55word"), std::string::npos) << logged;
  EXPECT_EQ((*inst)->stats().gateway.logins_ok, 1u);
}
