// Watch's metrics from a round's report: the spec §8 names and labels, counters across rounds,
// and the families a report without that evidence must not invent.
#include "agent/watch/target_metrics.h"

#include <gtest/gtest.h>

namespace midiag::agent::watch {
namespace {

using nlohmann::json;

json healthy_report() {
  return json::parse(R"({
    "schema": "mi-diag.report/1", "verdict": "ok", "duration_ms": 61.5,
    "target": {"host": "mi1.zone1.database.windows.net"},
    "collectors": [{"name": "dns", "status": "ok", "duration_ms": 12.0},
                   {"name": "tcp", "status": "ok", "duration_ms": 3.0},
                   {"name": "tds", "status": "ok", "duration_ms": 30.0},
                   {"name": "redirect", "status": "ok", "duration_ms": 9.0}],
    "dns": {"lookups": [{"resolver": "system", "name": "mi1.zone1.database.windows.net",
                         "elapsed_ms": 7.5, "addresses": []}]},
    "tcp": [{"address": "10.250.2.10", "port": 1433, "state": "open", "rtt_ms": 1.25},
            {"address": "10.250.2.10", "port": 3342, "state": "filtered", "rtt_ms": 3000}],
    "tds": [{"prelogin_ms": 2.0, "tls_ms": 20.0, "login_ms": 5.0}],
    "tls": {"certificate": {"not_after": "2026-12-30T03:41:08Z", "sha256": "ab"}},
    "redirect": {"host": "node1.zone1.database.windows.net", "port": 11002},
    "findings": [{"code": "TARGET_IS_IP_LITERAL", "severity": "warning"}]})");
}

std::string encoded(const json& report, const TargetCounters& c) {
  reports::metrics::Exposition e;
  add_target_metrics(e, "prod", report, c);
  add_process_metrics(e, "0.1.0", true);
  auto text = reports::metrics::encode(e);
  EXPECT_TRUE(text) << text.error().message;
  return text ? *text : std::string();
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(WatchMetrics, AHealthyRoundInTheSpecsNames) {
  TargetCounters c;
  c.count_round(healthy_report());
  const auto t = encoded(healthy_report(), c);
  EXPECT_TRUE(has(t, "probe_success{target=\"prod\"} 1")) << t;
  EXPECT_TRUE(has(t, "probe_duration_seconds{target=\"prod\"} 0.0615")) << t;
  EXPECT_TRUE(
      has(t, "midiag_probe_phase_duration_seconds{target=\"prod\",phase=\"resolve\"} 0.012"));
  EXPECT_TRUE(has(t, "midiag_probe_phase_duration_seconds{target=\"prod\",phase=\"tls\"} 0.02"));
  EXPECT_TRUE(has(t, "midiag_probe_phase_duration_seconds{target=\"prod\",phase=\"login\"} 0.005"));
  EXPECT_TRUE(
      has(t, "midiag_probe_phase_duration_seconds{target=\"prod\",phase=\"redirect\"} 0.009"));
  EXPECT_TRUE(has(t, "midiag_tcp_connect_seconds{target=\"prod\",port=\"1433\"} 0.00125")) << t;
  EXPECT_EQ(t.find("port=\"3342\""), std::string::npos);  // filtered: no connect time
  EXPECT_TRUE(has(t, "midiag_dns_lookup_seconds{target=\"prod\"} 0.0075"));
  EXPECT_TRUE(has(t, "midiag_finding{target=\"prod\",code=\"TARGET_IS_IP_LITERAL\"} 1"));
  EXPECT_TRUE(has(t, "midiag_tls_cert_expiry_timestamp_seconds{target=\"prod\"} 1798602068")) << t;
  EXPECT_TRUE(has(t,
                  "midiag_redirect_info{target=\"prod\",host=\"node1.zone1.database.windows.net\","
                  "port=\"11002\"} 1"));
  EXPECT_TRUE(has(t, "midiag_probes_total{target=\"prod\"} 1"));
  EXPECT_TRUE(has(t, "midiag_build_info{version=\"0.1.0\"} 1"));
  EXPECT_TRUE(has(t, "midiag_config_last_reload_successful 1"));
}

TEST(WatchMetrics, FailuresCountedByCodeAndNoRoundYetMeansOnlyCounters) {
  auto failed = healthy_report();
  failed["verdict"] = "fail";
  failed["findings"] = json::parse(R"([{"code": "TCP_FILTERED", "severity": "error"}])");
  TargetCounters c;
  c.count_round(healthy_report());
  c.count_round(failed);
  c.count_round(failed);
  const auto t = encoded(failed, c);
  EXPECT_TRUE(has(t, "probe_success{target=\"prod\"} 0"));
  EXPECT_TRUE(has(t, "midiag_probes_total{target=\"prod\"} 3"));
  EXPECT_TRUE(has(t, "midiag_probe_failures_total{target=\"prod\",code=\"TCP_FILTERED\"} 2")) << t;
  const auto none = encoded(json(), TargetCounters{});
  EXPECT_EQ(none.find("probe_success"), std::string::npos);
  EXPECT_TRUE(has(none, "midiag_probes_total{target=\"prod\"} 0"));
}

TEST(WatchMetrics, OnlyAWellFormedUtcTimeIsAnExpiry) {
  EXPECT_EQ(parse_utc("1970-01-01T00:00:10Z"), 10);
  EXPECT_FALSE(parse_utc("2026-12-30 03:41:08"));
  EXPECT_FALSE(parse_utc("2026-12-30T03:41:08Zjunk"));
  EXPECT_FALSE(parse_utc(""));
}

}  // namespace
}  // namespace midiag::agent::watch
