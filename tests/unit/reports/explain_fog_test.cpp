// Failover groups from built evidence: the listener names, where a CNAME leads, certificate
// coverage, and the FOG_* rules with what they explain.
#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reports/explain.h"
#include "reports/report.h"

namespace midiag::reports {
namespace {

constexpr const char* kSuffix = ".database.windows.net";

std::string n(const std::string& s) {
  return s + kSuffix;
}

TEST(FailoverNames, FromEitherListenerOrAPartnerWithTheGroupName) {
  auto rw = failover_names(*parse_target(n("fog1.zone1")));
  ASSERT_TRUE(rw);
  EXPECT_EQ(rw->fog, "fog1");
  EXPECT_EQ(rw->read_write, n("fog1.zone1"));
  EXPECT_EQ(rw->read_only, n("fog1.secondary.zone1"));
  auto ro = failover_names(*parse_target(n("fog1.secondary.zone1")));
  ASSERT_TRUE(ro);
  EXPECT_EQ(ro->read_write, n("fog1.zone1"));
  auto partner = failover_names(*parse_target(n("mi1.zone1")), "grp");
  ASSERT_TRUE(partner);
  EXPECT_EQ(partner->read_only, n("grp.secondary.zone1"));
  EXPECT_FALSE(failover_names(*parse_target(n("mi1.public.zone1"))));
  EXPECT_FALSE(failover_names(*parse_target("10.0.0.4")));
  EXPECT_FALSE(failover_names(*parse_target("sql.contoso.com")));
}

TEST(CnameInstance, OnlyAnInstancesVnetLocalName) {
  EXPECT_EQ(cname_instance({{n("fog1.zone1"), n("mi1.zone1") + ".", 30}})->host, n("mi1.zone1"));
  EXPECT_EQ(cname_instance({{n("fog1.zone1"), n("MI3.Zone2"), 30}})->zone, "zone2");
  EXPECT_FALSE(cname_instance({}));
  EXPECT_FALSE(cname_instance({{n("mi1.zone1"), n("mi1.privatelink.zone1"), 30}}));
  EXPECT_FALSE(cname_instance({{n("fog1.zone1"), "elsewhere.example.com", 30}}));
  EXPECT_FALSE(cname_instance({{n("fog1.zone1"), "bad name..x", 30}}));
}

TEST(RefineTarget, AListenerWhosePrimaryIsInAnotherZoneIsStillAListener) {
  auto t = *parse_target(n("fog2.zone1"));
  refine_with_cname_chain(t, {{n("fog2.zone1"), n("mi3.zone2"), 30}});
  EXPECT_EQ(t.kind, EndpointKind::FailoverListenerRw);
  auto same = *parse_target(n("mi1.zone1"));
  refine_with_cname_chain(same, {{n("mi1.zone1"), n("mi1.zone1"), 30}});
  EXPECT_EQ(same.kind, EndpointKind::VnetLocal);
}

TEST(CertificateCovers, OneWholeLeftMostLabelPerWildcard) {
  const std::vector<std::string> names = {"*.zone1.database.windows.net"};
  EXPECT_TRUE(certificate_covers(names, n("fog1.zone1")));
  EXPECT_TRUE(certificate_covers(names, n("FOG1.Zone1") + "."));
  EXPECT_FALSE(certificate_covers(names, n("fog1.secondary.zone1")));
  EXPECT_FALSE(certificate_covers(names, n("zone1")));
  EXPECT_FALSE(certificate_covers(names, n("fog1.zone2")));
  EXPECT_TRUE(
      certificate_covers({"*.secondary.zone1.database.windows.net"}, n("fog1.secondary.zone1")));
  EXPECT_TRUE(certificate_covers({"exact.example.com"}, "exact.example.com"));
  EXPECT_FALSE(certificate_covers({"*"}, "a"));
  EXPECT_FALSE(certificate_covers({"*.net"}, "windows.net"));
  EXPECT_FALSE(certificate_covers({}, n("fog1.zone1")));
}

Evidence::FailoverSide side(bool read_only, const std::string& listener, const std::string& inst,
                            const std::string& zone, const std::string& verdict) {
  Evidence::FailoverSide s;
  s.read_only = read_only;
  s.listener = listener;
  s.checked = true;
  s.dns_status = "ok";
  s.instance = n(inst + "." + zone);
  s.instance_zone = zone;
  s.ttl_s = 30;
  s.certificate_seen = true;
  s.certificate_names = {"*." + zone + kSuffix, "*.secondary." + zone + kSuffix};
  s.verdict = verdict;
  return s;
}

Evidence group(const std::string& secondary_zone, const std::string& ro_verdict) {
  Evidence ev;
  ev.target = *parse_target(n("fog1.zone1"));
  ev.target.kind = EndpointKind::FailoverListenerRw;
  ev.mode = Mode::FailoverGroup;
  Evidence::FailoverGroupEvidence fg;
  fg.name = "fog1";
  fg.zone = "zone1";
  fg.suffix = "database.windows.net";
  fg.read_write = side(false, n("fog1.zone1"), "mi1", "zone1", "");
  fg.read_write.is_target = true;
  fg.read_only = side(true, n("fog1.secondary.zone1"), "mi2", secondary_zone, ro_verdict);
  if (ro_verdict == "fail")
    fg.read_only.findings.push_back(
        {"TLS_CERT_NAME_MISMATCH", "error", "The server certificate does not cover the name"});
  ev.failover_group = fg;
  return ev;
}

std::vector<std::string> codes(const std::vector<Finding>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.emplace_back(f.name());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ExplainFailoverGroup, PartnersInOneZoneBothWorkingIsNoFinding) {
  EXPECT_TRUE(explain(group("zone1", "ok")).empty());
}

TEST(ExplainFailoverGroup, ASecondaryInAnotherZoneNamesBothZonesAndWhatEachCertificateCovers) {
  const auto findings = explain(group("zone2", "fail"));
  ASSERT_EQ(codes(findings),
            (std::vector<std::string>{"FOG_DNS_ZONE_MISMATCH", "FOG_SECONDARY_UNREACHABLE"}));
  const auto& zone = findings[0];
  EXPECT_EQ(zone.code, Code::FogDnsZoneMismatch);
  EXPECT_NE(zone.title.find("zone1 and zone2"), std::string::npos) << zone.title;
  auto has = [&](const std::string& text) {
    return std::any_of(zone.evidence.begin(), zone.evidence.end(),
                       [&](const auto& e) { return e.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has("read-only listener " + n("fog1.secondary.zone1") + " -> " + n("mi2.zone2") +
                  " (zone zone2), CNAME TTL 30 s"));
  EXPECT_TRUE(has(n("mi2.zone2") + "'s certificate names *.zone2" + kSuffix));
  EXPECT_TRUE(has("it covers neither"));
  EXPECT_TRUE(has(n("mi1.zone1") + "'s certificate names *.zone1" + kSuffix));
  EXPECT_TRUE(has("it covers both listeners"));
  // The read-only side fails on the certificate name only: that follows from the zones.
  EXPECT_EQ(findings[1].caused_by, Code::FogDnsZoneMismatch);
}

TEST(ExplainFailoverGroup, AReadOnlySideThatFailsForItsOwnReasonStandsAlone) {
  auto ev = group("zone1", "fail");
  ev.failover_group->read_only.findings = {{"TCP_FILTERED", "error", "1433 filtered"}};
  const auto findings = explain(ev);
  ASSERT_EQ(codes(findings), (std::vector<std::string>{"FOG_SECONDARY_UNREACHABLE"}));
  EXPECT_EQ(findings[0].severity, Severity::Warning);
  EXPECT_FALSE(findings[0].caused_by);
  EXPECT_NE(findings[0].title.find("(TCP_FILTERED)"), std::string::npos) << findings[0].title;
}

TEST(ExplainFailoverGroup, NoSecondaryFindingWhenTheReadWriteSideFailsToo) {
  auto ev = group("zone1", "fail");
  // The target's own side (read-write) fails: its findings are the report's.
  tcp::Result filtered;
  filtered.target = {"10.0.0.4", 1433, tcp::Role::Gateway};
  filtered.state = tcp::State::Filtered;
  ev.tcp.push_back(filtered);
  ev.addresses = {"10.0.0.4"};
  const auto c = codes(explain(ev));
  EXPECT_EQ(std::count(c.begin(), c.end(), "FOG_SECONDARY_UNREACHABLE"), 0);
  EXPECT_EQ(std::count(c.begin(), c.end(), "TCP_FILTERED"), 1);
}

TEST(ExplainFailoverGroup, ASideThatCouldNotBeCheckedIsNotCalledUnreachable) {
  auto ev = group("zone1", "fail");
  ev.failover_group->read_only.error = "no memory";
  EXPECT_TRUE(explain(ev).empty());
}

TEST(ExplainFailoverGroup, APublicNameForAListenerExplainsTheNxdomain) {
  Evidence ev;
  ev.target = *parse_target(n("fog1.public.zone1"));
  ev.dns_ran = true;
  dns::Lookup l;
  l.resolver = std::string(kSystemResolver);
  l.name = ev.target.host;
  l.type = "A";
  l.status = dns::Status::NxDomain;
  ev.lookups.push_back(l);
  dns::Lookup sib;
  sib.resolver = l.resolver;
  sib.name = n("fog1.zone1");
  sib.type = "A";
  sib.status = dns::Status::Ok;
  sib.cname_chain = {{sib.name, n("mi1.zone1"), 30}};
  ev.public_sibling = Evidence::PublicSibling{sib.name, {sib}};
  const auto findings = explain(ev);
  ASSERT_EQ(codes(findings), (std::vector<std::string>{"DNS_NAME_NOT_FOUND",
                                                       "FOG_LISTENER_NOT_ON_PUBLIC_ENDPOINT"}));
  EXPECT_EQ(findings[0].code, Code::FogListenerNotOnPublicEndpoint);
  EXPECT_EQ(findings[1].caused_by, Code::FogListenerNotOnPublicEndpoint);
  // A sibling that is an instance's own name (no CNAME) is a plain NXDOMAIN.
  ev.public_sibling->lookups[0].cname_chain.clear();
  EXPECT_EQ(codes(explain(ev)), (std::vector<std::string>{"DNS_NAME_NOT_FOUND"}));
}

TEST(ExplainFailoverGroup, JsonHasTheSpecBlockAndEachSide) {
  auto r = make_report("t", group("zone2", "fail"));
  const auto j = nlohmann::json::parse(render_json(r));
  const auto& g = j["failover_group"];
  EXPECT_EQ(g["listener"], n("fog1.zone1"));
  EXPECT_EQ(g["primary"], n("mi1.zone1"));
  EXPECT_EQ(g["secondary"], n("mi2.zone2"));
  EXPECT_EQ(g["zone"], "zone1");
  EXPECT_EQ(g["ttl_s"], 30);
  ASSERT_EQ(g["sides"].size(), 2u);
  EXPECT_EQ(g["sides"][1]["certificate"]["covers"][n("fog1.zone1")], false);
  EXPECT_EQ(g["sides"][0]["certificate"]["covers"][n("fog1.secondary.zone1")], true);
  EXPECT_EQ(g["sides"][1]["findings"][0]["code"], "TLS_CERT_NAME_MISMATCH");
  EXPECT_EQ(g["sides"][0]["verdict"], "ok");  // its own findings, not the group's
  const auto text = render_text(r, {});
  EXPECT_NE(text.find("read-only   " + n("fog1.secondary.zone1") + "  -> " + n("mi2.zone2") +
                      "  (TTL 30 s)  fail: TLS_CERT_NAME_MISMATCH"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace midiag::reports
