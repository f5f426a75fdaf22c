// Watch's events from rounds' reports: down after fail_after failures carrying what changed since
// the last success, up after recover_after, changed for drift while healthy, state kept across a
// restart.
#include "agent/watch/events.h"

#include <gtest/gtest.h>

#include "probes/dns/dns_probe.h"
#include "reports/report.h"

namespace midiag::agent::watch {
namespace {

using nlohmann::json;

// A round's report in the shape of `mi-diag.report/1` (the parts watch reads).
json report(bool ok, const std::string& cname, const std::string& address,
            const std::string& cert = "aa11", const std::string& code = "TCP_FILTERED") {
  json r = {
      {"schema", "mi-diag.report/1"},
      {"verdict", ok ? "ok" : "fail"},
      {"target", {{"host", "fog.zone1.database.windows.net"}}},
      {"dns",
       {{"system_servers", {"10.250.0.53"}},
        {"lookups",
         {{{"resolver", "system"},
           {"name", "fog.zone1.database.windows.net"},
           {"type", "A"},
           {"cname_chain",
            {{{"name", "fog.zone1.database.windows.net"}, {"target", cname}, {"ttl", 5}}}},
           {"addresses", {{{"address", address}, {"ttl", 5}}}}}}}}},
      {"routes", {{{"interface", "eth0"}, {"gateway", "10.250.1.1"}, {"source", "10.250.1.2"}}}},
      {"tls", {{"certificate", {{"sha256", cert}}}}},
      {"findings", json::array()}};
  if (!ok) r["findings"].push_back({{"code", code}, {"severity", "error"}});
  return r;
}

TEST(WatchSnapshot, ReadsTheFactsThatDrift) {
  auto s = snapshot_of(report(true, "mi1.zone1.database.windows.net", "10.250.2.10"));
  EXPECT_EQ(s.cname_target, "mi1.zone1.database.windows.net");
  EXPECT_EQ(s.dns_answer, "10.250.2.10");
  EXPECT_EQ(s.resolver, "10.250.0.53");
  EXPECT_EQ(s.route, "eth0 via 10.250.1.1");
  EXPECT_EQ(s.source, "10.250.1.2");
  EXPECT_EQ(s.certificate, "aa11");
  EXPECT_TRUE(s.redirect.empty());
  // Garbage is read as nothing seen, never a crash.
  auto g = snapshot_of(json::parse(R"({"dns":7,"routes":[1],"tls":{"certificate":[]}})"));
  EXPECT_TRUE(g.dns_answer.empty());
  EXPECT_TRUE(g.route.empty());
  EXPECT_FALSE(report_succeeded(json::array()));
}

// The chain as `check` writes it (reports::to_json), not as a hand-made fixture: its end is the
// last link's target, compared without case or the root dot. (Read as a plain string before, it
// was never seen, so a failover-group move gave no cname_target change: the watch lab found it.)
TEST(WatchSnapshot, ReadsTheCnameTargetOfACheckReport) {
  reports::Evidence ev;
  ev.target = *reports::parse_target("fog.zone1.database.windows.net");
  ev.dns_ran = true;
  dns::Lookup l;
  l.resolver = "system";
  l.name = ev.target.host;
  l.type = "A";
  l.status = dns::Status::Ok;
  l.cname_chain = {{"fog.zone1.database.windows.net", "mi1.zone1.database.windows.net", 5},
                   {"mi1.zone1.database.windows.net", "MI2.zone1.database.windows.net.", 5}};
  l.addresses = {{"10.250.3.10", 5, net::AddressClass::Private}};
  ev.lookups.push_back(l);
  const auto r = reports::to_json(reports::make_report("test", std::move(ev)));
  const auto s = snapshot_of(r);
  EXPECT_EQ(s.cname_target, "mi2.zone1.database.windows.net") << r["dns"].dump();
  EXPECT_EQ(s.dns_answer, "10.250.3.10");
}

TEST(WatchEvents, DownAfterFailAfterCarriesWhatChangedSinceItLastWorked) {
  TargetState st("prod", 2, 1);
  EXPECT_TRUE(
      st.observe(report(true, "mi1.zone1.database.windows.net", "10.250.2.10"), "t1").empty());
  EXPECT_EQ(st.health(), Health::Up);
  // The failover group moved to the other instance, and its address fails.
  auto r = report(false, "mi2.zone1.database.windows.net", "10.250.3.10");
  EXPECT_TRUE(st.observe(r, "t2").empty());  // one failure: not down yet
  auto ev = st.observe(r, "t3");
  ASSERT_EQ(ev.size(), 1U);
  EXPECT_EQ(ev[0].event, "down");
  EXPECT_EQ(ev[0].target, "prod");
  EXPECT_EQ(ev[0].verdict, "fail");
  EXPECT_EQ(ev[0].findings, std::vector<std::string>{"TCP_FILTERED"});
  ASSERT_EQ(ev[0].changed.size(), 2U);
  EXPECT_EQ(ev[0].changed[0].what, "dns_answer");
  EXPECT_EQ(ev[0].changed[0].from, "10.250.2.10");
  EXPECT_EQ(ev[0].changed[0].to, "10.250.3.10");
  EXPECT_EQ(ev[0].changed[1].what, "cname_target");
  EXPECT_EQ(ev[0].changed[1].to, "mi2.zone1.database.windows.net");
  EXPECT_TRUE(st.observe(r, "t4").empty());  // still down: said once
  EXPECT_EQ(st.state_changes(), 1U);
  const auto line = to_json(ev[0]);
  EXPECT_EQ(line["changed"][1]["what"], "cname_target");
  EXPECT_EQ(line["ts"], "t3");
}

TEST(WatchEvents, UpAfterRecoverAfterAndDriftWhileHealthyIsChanged) {
  TargetState st("prod", 1, 2);
  st.observe(report(true, "mi1.zone1.database.windows.net", "10.250.2.10"), "t1");
  ASSERT_EQ(st.observe(report(false, "mi1.zone1.database.windows.net", "10.250.2.10"), "t2").size(),
            1U);
  EXPECT_TRUE(
      st.observe(report(true, "mi1.zone1.database.windows.net", "10.250.2.10"), "t3").empty());
  auto up = st.observe(report(true, "mi1.zone1.database.windows.net", "10.250.2.10"), "t4");
  ASSERT_EQ(up.size(), 1U);
  EXPECT_EQ(up[0].event, "up");
  EXPECT_TRUE(up[0].changed.empty());
  // A certificate rotation while healthy.
  auto changed =
      st.observe(report(true, "mi1.zone1.database.windows.net", "10.250.2.10", "bb22"), "t5");
  ASSERT_EQ(changed.size(), 1U);
  EXPECT_EQ(changed[0].event, "changed");
  ASSERT_EQ(changed[0].changed.size(), 1U);
  EXPECT_EQ(changed[0].changed[0].what, "certificate");
  // A fact not seen this round is not a change.
  auto unseen = report(true, "mi1.zone1.database.windows.net", "10.250.2.10", "");
  EXPECT_TRUE(st.observe(unseen, "t6").empty());
  EXPECT_EQ(st.state_changes(), 2U);
}

TEST(WatchEvents, StateSurvivesARestartAndGarbageIsIgnored) {
  TargetState st("prod", 1, 1);
  st.observe(report(true, "mi1.zone1.database.windows.net", "10.250.2.10"), "t1");
  const auto saved = st.save();
  TargetState again("prod", 1, 1);
  ASSERT_TRUE(again.load(saved));
  auto ev = again.observe(report(false, "mi2.zone1.database.windows.net", "10.250.2.10"), "t2");
  ASSERT_EQ(ev.size(), 1U);
  ASSERT_EQ(ev[0].changed.size(), 1U);
  EXPECT_EQ(ev[0].changed[0].from, "mi1.zone1.database.windows.net");
  TargetState other("other", 1, 1);
  EXPECT_FALSE(other.load(saved));  // another target's state
  EXPECT_FALSE(other.load(json::parse(R"({"version":2})")));
  EXPECT_FALSE(other.load(json("garbage")));
}

}  // namespace
}  // namespace midiag::agent::watch
