// The real-driver captures in ../shared/fixtures/pcap decoded end to end (pcap → TCP sessions →
// TDS messages → PRELOGIN / LOGIN7 / tokens), against the ground truth in that folder's README,
// and PRELOGIN cross-checked against Wireshark's dissector (tshark) on the same bytes.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "decoders/pcap/flows.h"
#include "decoders/pcap/pcap_file.h"
#include "decoders/tds/login7.h"
#include "decoders/tds/packet.h"
#include "decoders/tds/prelogin.h"
#include "decoders/tds/tokens.h"

using namespace midiag;

namespace {

std::string fixture(const std::string& name) {
  return std::string(MIDIAG_SOURCE_DIR) + "/../shared/fixtures/pcap/" + name;
}

std::optional<pcap::FlowReport> sessions_of(const std::string& name) {
  std::ifstream f(fixture(name), std::ios::binary);
  if (!f) return std::nullopt;
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                  std::istreambuf_iterator<char>());
  auto capture = pcap::read_capture(bytes);
  if (!capture) return std::nullopt;
  return pcap::reassemble(capture->frames);
}

// Complete TDS messages of one direction, in order, until the first non-TDS bytes (TLS records
// after the handshake are not TDS-framed: reading stops there).
std::vector<tds::Message> messages(const std::vector<std::uint8_t>& stream) {
  tds::MessageReader reader;
  reader.feed(stream);
  std::vector<tds::Message> out;
  while (reader.has_message()) out.push_back(reader.take());
  return out;
}

// The last cleartext TabularResult message that decodes as a token stream.
std::optional<tds::TokenStream> login_response(const pcap::Session& s) {
  std::optional<tds::TokenStream> last;
  // In ENCRYPT_OFF sessions the login answer follows raw TLS records: scan for a TDS header.
  const auto& b = s.to_client.bytes;
  for (std::size_t at = 0; at + tds::kHeaderSize <= b.size(); ++at) {
    if (b[at] != 0x04 || (b[at + 1] & tds::kStatusEom) == 0) continue;
    std::size_t len = (std::size_t{b[at + 2]} << 8) | b[at + 3];
    if (len < tds::kHeaderSize || at + len > b.size()) continue;
    auto tokens =
        tds::parse_tokens(std::span(b).subspan(at + tds::kHeaderSize, len - tds::kHeaderSize));
    if (tokens && (tokens->login_ack || !tokens->messages.empty())) last = *tokens;
  }
  return last;
}

std::string version_u32(const tds::Version& v) {
  return std::to_string((std::uint32_t{v.major} << 24) | (std::uint32_t{v.minor} << 16) | v.build);
}

}  // namespace

// CI has ../shared beside the clone: there a missing fixture is a failure, not a skip.
#define FIXTURES_OR_SKIP(ok)                                                          \
  do {                                                                                \
    if (!(ok)) {                                                                      \
      const char* ci = std::getenv("CI");                                             \
      if (ci != nullptr && std::string(ci) == "true") FAIL() << "fixtures not found"; \
      GTEST_SKIP() << "fixtures not found";                                           \
    }                                                                                 \
  } while (0)

TEST(FixturesTds, TediousPlainRedirectsToTheNodeAndLogsInThere) {
  auto flows = sessions_of("tedious-redirect-plain.pcap");
  FIXTURES_OR_SKIP(flows);
  ASSERT_EQ(flows->sessions.size(), 2u);
  const auto& gw = flows->sessions[0];
  EXPECT_EQ(gw.server.port, 21433);
  auto to_server = messages(gw.to_server.bytes);
  auto to_client = messages(gw.to_client.bytes);
  ASSERT_GE(to_server.size(), 2u);
  ASSERT_GE(to_client.size(), 2u);
  auto pre = tds::parse_prelogin(to_client[0].payload);
  ASSERT_TRUE(pre) << pre.error().message;
  EXPECT_EQ(to_client[0].type, 0x04);
  EXPECT_EQ(pre->version->str(), "16.0.4105.0");
  EXPECT_EQ(pre->encryption, tds::Encryption::NotSup);
  EXPECT_EQ(to_server[1].type, 0x10);
  auto login = tds::parse_login7(to_server[1].payload);
  ASSERT_TRUE(login) << login.error().message;
  EXPECT_EQ(login->server_name, "127.0.0.1");
  EXPECT_TRUE(login->password.empty()) << "the parser must not reveal passwords by default";
  auto tokens = tds::parse_tokens(to_client[1].payload);
  ASSERT_TRUE(tokens) << tokens.error().message;
  ASSERT_TRUE(tokens->login_ack);
  ASSERT_TRUE(tokens->routing);
  EXPECT_EQ(tokens->routing->host, "127.0.0.1");
  EXPECT_EQ(tokens->routing->port, 21042);
  const auto& node = flows->sessions[1];
  EXPECT_EQ(node.server.port, 21042);
  auto node_answer = login_response(node);
  ASSERT_TRUE(node_answer);
  EXPECT_TRUE(node_answer->login_ack);
  EXPECT_FALSE(node_answer->routing);
}

TEST(FixturesTds, TsqlLoginOnlyEncryptionStillShowsTheRoutingInClear) {
  auto flows = sessions_of("tsql-redirect.pcap");
  FIXTURES_OR_SKIP(flows);
  ASSERT_GE(flows->sessions.size(), 2u);
  auto pre = tds::parse_prelogin(messages(flows->sessions[0].to_client.bytes).at(0).payload);
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->encryption, tds::Encryption::Off);
  auto answer = login_response(flows->sessions[0]);
  ASSERT_TRUE(answer);
  ASSERT_TRUE(answer->routing);
  EXPECT_EQ(answer->routing->port, 21042);
  EXPECT_EQ(flows->sessions[1].server.port, 21042);
}

TEST(FixturesTds, TsqlLoginFailedIs18456State1Class14) {
  auto flows = sessions_of("tsql-login-failed.pcap");
  FIXTURES_OR_SKIP(flows);
  ASSERT_GE(flows->sessions.size(), 1u);
  auto answer = login_response(flows->sessions[0]);
  ASSERT_TRUE(answer);
  const auto* e = answer->first_error();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->number, 18456);
  EXPECT_EQ(e->state, 1);
  EXPECT_EQ(e->severity, 14);
  EXPECT_EQ(e->message, "Login failed for user 'u'.");
  ASSERT_FALSE(answer->dones.empty());
  EXPECT_TRUE(answer->dones.back().error());
}

// Wireshark's TDS dissector and ours must read the same VERSION and ENCRYPTION from every
// PRELOGIN in every capture.
TEST(FixturesTds, PreloginMatchesTshark) {
  if (std::system("command -v tshark >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "tshark missing (tests/setup.sh)";
  for (const char* name : {"tedious-redirect-plain.pcap", "tedious-redirect-tls.pcap",
                           "tsql-redirect.pcap", "tsql-login-failed.pcap"}) {
    auto flows = sessions_of(name);
    FIXTURES_OR_SKIP(flows);
    std::set<std::string> ours;
    for (const auto& s : flows->sessions) {
      for (bool to_client : {false, true}) {
        const auto& stream = to_client ? s.to_client.bytes : s.to_server.bytes;
        auto msgs = messages(stream);
        if (msgs.empty()) continue;
        auto p = tds::parse_prelogin(msgs.front().payload);
        if (!p || !p->version || !p->encryption) continue;
        auto port = to_client ? s.server.port : s.client.port;
        ours.insert(std::to_string(port) + "\t" + version_u32(*p->version) + "\t" +
                    std::to_string(static_cast<int>(*p->encryption)));
      }
    }
    std::string cmd =
        "tshark -r '" + fixture(name) +
        "' -d tcp.port==21433,tds -d tcp.port==21042,tds -Y tds.prelogin.option.version "
        "-T fields -e tcp.srcport -e tds.prelogin.option.version -e tds.prelogin.option.encryption "
        "2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::set<std::string> theirs;
    char line[256];
    while (fgets(line, sizeof line, p) != nullptr) {
      std::string l(line);
      while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
      if (!l.empty()) theirs.insert(l);
    }
    pclose(p);
    EXPECT_FALSE(theirs.empty()) << name;
    EXPECT_EQ(ours, theirs) << name;
  }
}
