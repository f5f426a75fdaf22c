// mi-diag analyze against the answer key of ../shared/fixtures/realworld (README "Answer key",
// pcap/SUMMARY.txt), for the captures analyze_test.cpp does not already check: each file read in
// place, each fact of the key asserted on what analyze derived from the packets.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/analyze.h"
#include "reports/report.h"
#include "tests/unit/support/capture_builder.h"

using namespace midiag;
using test_support::Bytes;

namespace {

reports::Report analyze(const Bytes& b, std::vector<std::uint16_t> ports = {}) {
  agent::AnalyzeOptions o;
  o.file = "answer-key.pcap";
  o.ports = std::move(ports);
  auto r = agent::analyze_capture(b, o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : reports::Report{};
}

const std::vector<reports::CaptureSession>& sessions(const reports::Report& r) {
  static const std::vector<reports::CaptureSession> none;
  return r.evidence.packets ? r.evidence.packets->sessions : none;
}

bool has(const reports::Report& r, std::string_view code) {
  return std::any_of(r.findings.begin(), r.findings.end(),
                     [&](const reports::Finding& f) { return f.name() == code; });
}

std::string codes(const reports::Report& r) {
  std::string out;
  for (const auto& f : r.findings) out += std::string(f.name()) + " ";
  return out;
}

const reports::CaptureSession* to(const reports::Report& r, const std::string& server) {
  for (const auto& s : sessions(r))
    if (s.server == server) return &s;
  return nullptr;
}

}  // namespace

// Key: 10.128.0.3 -> 172.17.0.2:1433, encryption OFF/OFF (TLS for LOGIN7 only), login succeeded,
// TDS 7.4, SQL Server 16.0.600, db master, no redirect, no errors; the copies are not loss.
TEST(AnalyzeAnswerKey, PacketbeatLoginsAreSqlServer16InMasterWithTlsForTheLoginOnly) {
  for (const char* name : {"realworld/pcap/packetbeat_mssql_login.pcap",
                           "realworld/pcap/packetbeat_mssql_login_and_insert.pcap",
                           "realworld/pcap/packetbeat_mssql_login_and_select.pcap"}) {
    FIXTURE_OR_SKIP(b, name);
    const auto r = analyze(b);
    ASSERT_EQ(sessions(r).size(), 1U) << name;
    const auto& s = sessions(r)[0];
    EXPECT_EQ(s.client_address, "10.128.0.3") << name;
    EXPECT_EQ(s.server, "172.17.0.2:1433") << name;
    EXPECT_EQ(s.client_encryption.value_or(""), "OFF") << name;
    EXPECT_EQ(s.server_encryption.value_or(""), "OFF") << name;
    EXPECT_TRUE(s.tls) << name;
    ASSERT_TRUE(s.login) << name;
    EXPECT_TRUE(s.login->encrypted) << name;  // LOGIN7 inside TLS, the answer in clear
    EXPECT_EQ(s.login->outcome, "loginack") << name;
    EXPECT_EQ(s.login->server_program, "Microsoft SQL Server 16.0.600 (TDS 7.4)") << name;
    EXPECT_EQ(s.login->database, "master") << name;
    EXPECT_FALSE(s.login->error_number) << name;
    EXPECT_FALSE(s.login->routing_host) << name;
    EXPECT_FALSE(s.redirect_to) << name;
    EXPECT_EQ(s.syn_retransmits, 0U) << name;
    EXPECT_EQ(r.verdict, reports::Verdict::Ok) << name << ": " << codes(r);
  }
}

// Key: 127.0.0.1 -> 127.0.1.1:1433, the same shape, SQL Server 15.0.4236, login succeeded.
TEST(AnalyzeAnswerKey, Packetbeat15xLoginIsSqlServer15) {
  FIXTURE_OR_SKIP(b, "realworld/pcap/packetbeat_mssql_15x_login_and_select.pcap");
  const auto r = analyze(b);
  ASSERT_EQ(sessions(r).size(), 1U);
  const auto& s = sessions(r)[0];
  EXPECT_EQ(s.client_address, "127.0.0.1");
  EXPECT_EQ(s.server, "127.0.1.1:1433");
  EXPECT_EQ(s.server_encryption.value_or(""), "OFF");
  ASSERT_TRUE(s.login);
  EXPECT_TRUE(s.login->encrypted);
  EXPECT_EQ(s.login->outcome, "loginack");
  EXPECT_EQ(s.login->server_program, "Microsoft SQL Server 15.0.4236 (TDS 7.4)");
  EXPECT_EQ(s.login->database, "master");
  EXPECT_TRUE(s.requests_after_login);
  EXPECT_EQ(r.verdict, reports::Verdict::Ok) << codes(r);
}

// Key: 192.168.1.2: ports 445 and 3389 refused (RST), 80/443 reachable. Not SQL ports: --ports.
TEST(AnalyzeAnswerKey, NdpiTcpScanRefused445And3389Reached80And443) {
  FIXTURE_OR_SKIP(b, "realworld/pcap/ndpi_tcp_scan.pcapng");
  const auto r = analyze(b, {80, 443, 445, 3389});
  for (const char* refused : {"192.168.1.2:445", "192.168.1.2:3389"}) {
    const auto* s = to(r, refused);
    ASSERT_NE(s, nullptr) << refused;
    EXPECT_EQ(s->state, "refused") << refused;
    EXPECT_FALSE(s->syn_ack) << refused;
  }
  for (const char* open : {"192.168.1.2:80", "192.168.1.2:443"}) {
    const auto* s = to(r, open);
    ASSERT_NE(s, nullptr) << open;
    EXPECT_EQ(s->state, "established") << open;
  }
  EXPECT_TRUE(has(r, "TCP_REFUSED")) << codes(r);
  EXPECT_FALSE(has(r, "TCP_RESET_BY_MIDDLEBOX")) << codes(r);
  EXPECT_FALSE(has(r, "TCP_FILTERED")) << codes(r);
}

// Key: 3.3.3.3:443/444/446 connect timeout (SYN retransmissions only).
TEST(AnalyzeAnswerKey, NdpiCustomRulesThreePortsTimeOut) {
  FIXTURE_OR_SKIP(b, "realworld/pcap/ndpi_custom_rules_same-ip_multiple_ports.pcapng");
  const auto r = analyze(b, {443, 444, 446});
  for (const char* filtered : {"3.3.3.3:443", "3.3.3.3:444", "3.3.3.3:446"}) {
    const auto* s = to(r, filtered);
    ASSERT_NE(s, nullptr) << filtered;
    EXPECT_EQ(s->state, "filtered") << filtered;
    EXPECT_GE(s->syn_attempts, 2U) << filtered;
    EXPECT_FALSE(s->syn_ack) << filtered;
    EXPECT_FALSE(s->rst) << filtered;
    EXPECT_FALSE(s->icmp) << filtered;
  }
  EXPECT_TRUE(has(r, "TCP_FILTERED"));
  EXPECT_EQ(r.verdict, reports::Verdict::Fail);
}

// Key: 169.46.82.162:52173 reachable after ~11 s of SYN retransmissions: slow, not failed.
TEST(AnalyzeAnswerKey, NdpiSyslogSlowConnectIsAWarningNeverAFailure) {
  FIXTURE_OR_SKIP(b, "realworld/pcap/ndpi_syslog.pcap");
  const auto r = analyze(b, {52173});
  const auto* s = to(r, "169.46.82.162:52173");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->state, "established");
  EXPECT_TRUE(s->syn_ack);
  EXPECT_EQ(s->syn_retransmits, 7U);
  EXPECT_GT(s->syn_seconds, 10.0);
  EXPECT_TRUE(has(r, "TCP_SYN_RETRANSMITTED")) << codes(r);
  EXPECT_FALSE(has(r, "TCP_FILTERED")) << codes(r);
  EXPECT_EQ(r.verdict, reports::Verdict::Warn) << codes(r);
}

// Key: path MTU 1492 signalled by 192.168.1.1 for 10.10.1.4:1470 -> 74.53.140.153:25; PMTUD
// working, no failure.
TEST(AnalyzeAnswerKey, SuricataSmtpFragNeededIsPathMtuDiscoveryNotAFailure) {
  FIXTURE_OR_SKIP(b, "realworld/pcap/suricata-verify_bug-3616-smtp.pcap");
  const auto r = analyze(b, {25});
  const auto* s = to(r, "74.53.140.153:25");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->client, "10.10.1.4:1470");
  EXPECT_EQ(s->state, "established");
  ASSERT_TRUE(s->frag_needed);
  EXPECT_EQ(s->frag_needed->reporter, "192.168.1.1");
  EXPECT_EQ(s->frag_needed->type, 3);
  EXPECT_EQ(s->frag_needed->code, 4);
  EXPECT_EQ(s->frag_needed->mtu.value_or(0), 1492U);
  EXPECT_EQ(s->frag_needed->quoted, "tcp 10.10.1.4:1470 -> 74.53.140.153:25");
  EXPECT_FALSE(s->icmp);  // not an unreachable
  EXPECT_FALSE(has(r, "ICMP_UNREACHABLE")) << codes(r);
  EXPECT_FALSE(has(r, "PATH_MTU_BLACKHOLE")) << codes(r);
  EXPECT_NE(r.verdict, reports::Verdict::Fail) << codes(r);
  const auto json = nlohmann::json::parse(reports::render_json(r));
  EXPECT_EQ(json["sessions"][0]["frag_needed"]["mtu"], 1492);
  EXPECT_NE(reports::render_text(r, {}).find("frag-needed MTU 1492 from 192.168.1.1"),
            std::string::npos);
}

// Key: frag-needed MTU 1500 (from the server, 74.121.139.112) for the TCP/80 flows; they complete.
TEST(AnalyzeAnswerKey, SuricataFilestoreFragNeededFromTheServerIsNotAFailure) {
  FIXTURE_OR_SKIP(b, "realworld/pcap/suricata-verify_filestore-5408.pcap");
  const auto r = analyze(b, {80});
  std::size_t with_frag = 0;
  for (const auto& s : sessions(r)) {
    EXPECT_EQ(s.server_address, "74.121.139.112");
    if (!s.frag_needed) continue;
    ++with_frag;
    EXPECT_EQ(s.frag_needed->reporter, "74.121.139.112");
    EXPECT_EQ(s.frag_needed->mtu.value_or(0), 1500U);
    EXPECT_EQ(s.state, "established") << s.client;
  }
  EXPECT_GE(with_frag, 4U);  // 64540, 64670, 64694, 64736 (SUMMARY: frames 9..117)
  EXPECT_FALSE(has(r, "ICMP_UNREACHABLE")) << codes(r);
  EXPECT_FALSE(has(r, "PATH_MTU_BLACKHOLE")) << codes(r);
  EXPECT_NE(r.verdict, reports::Verdict::Fail) << codes(r);
}

// Key: IPv6 client -> [2001:db8:140::1]:1433, integrated NTLM (TDSDOM\mona), no PRELOGIN, login
// outcome not observed, client closed. Neither success nor failure may be claimed.
TEST(AnalyzeAnswerKey, NtlmLoginNamesTheAccountAndLeavesTheOutcomeUnknown) {
  FIXTURE_OR_SKIP(b, "realworld/pcap/arkime_ntlm_synthetic_tds-ipv6-sspi.pcap");
  const auto r = analyze(b);
  ASSERT_EQ(sessions(r).size(), 1U);
  const auto& s = sessions(r)[0];
  EXPECT_EQ(s.server, "[2001:db8:140::1]:1433");
  EXPECT_FALSE(s.client_encryption);  // no PRELOGIN
  ASSERT_TRUE(s.login);
  EXPECT_EQ(s.login->auth, "ntlm");
  EXPECT_EQ(s.login->user, "TDSDOM\\mona");
  EXPECT_EQ(s.login->outcome, "none");
  EXPECT_FALSE(s.login->error_number);
  EXPECT_FALSE(has(r, "LOGIN_FAILED"));
  const bool unknown_said =
      std::any_of(r.evidence.limitations.begin(), r.evidence.limitations.end(),
                  [](const std::string& l) { return l.find("is unknown") != std::string::npos; });
  EXPECT_TRUE(unknown_said);
  const auto text = reports::render_text(r, {});
  EXPECT_NE(text.find("user 'TDSDOM\\mona' (ntlm): no answer seen"), std::string::npos) << text;
  EXPECT_EQ(text.find("loginack"), std::string::npos);
  const auto json = nlohmann::json::parse(reports::render_json(r));
  EXPECT_EQ(json["sessions"][0]["tds"]["login"]["auth"], "ntlm");
  EXPECT_EQ(json["sessions"][0]["tds"]["login"]["user"], "TDSDOM\\mona");
  EXPECT_EQ(json["sessions"][0]["tds"]["login"]["outcome"], "none");
}

// Key: 64.13.134.52:1433 silently dropped (no SYN-ACK, RST or ICMP); 22/53/80 open,
// 25/70/113/31337 refused. The refusals are the host's own (no middlebox: same hop count).
TEST(AnalyzeAnswerKey, NdpiSynscanDropsOnly1433) {
  FIXTURE_OR_SKIP(b, "realworld/pcap/ndpi_synscan.pcap");
  const auto r = analyze(b, {22, 25, 53, 70, 80, 113, 1433, 31337});
  std::vector<std::string> open, refused, filtered;
  for (const auto& s : sessions(r)) {
    ASSERT_EQ(s.server_address, "64.13.134.52");
    const auto port = std::to_string(s.server_port);
    if (s.state == "established") open.push_back(port);
    if (s.state == "refused") refused.push_back(port);
    if (s.state == "filtered") filtered.push_back(port);
    if (s.server_port == 1433) {
      EXPECT_FALSE(s.icmp || s.rst || s.syn_ack);
    }
  }
  auto sorted_unique = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  };
  EXPECT_EQ(sorted_unique(open), (std::vector<std::string>{"22", "53", "80"}));
  EXPECT_EQ(sorted_unique(refused), (std::vector<std::string>{"113", "25", "31337", "70"}));
  EXPECT_EQ(sorted_unique(filtered), (std::vector<std::string>{"1433"}));
  EXPECT_FALSE(has(r, "TCP_RESET_BY_MIDDLEBOX")) << codes(r);
}
