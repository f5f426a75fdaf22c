// --mode link --sql-version: the documentation's minimum builds, and the finding below them.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reports/explain.h"
#include "reports/report.h"
#include "reports/sql_versions.h"

namespace midiag::reports {
namespace {

LinkVersionFact fact(const std::string& v) {
  auto parsed = parse_sql_version(v);
  EXPECT_TRUE(parsed) << v;
  return link_version_fact(*parsed);
}

TEST(SqlVersions, EachReleaseAgainstItsDocumentedMinimum) {
  EXPECT_TRUE(fact("15.0.4312.2").meets);
  EXPECT_TRUE(fact("15.0.4415.2").meets);
  EXPECT_FALSE(fact("15.0.4298.1").meets);
  EXPECT_EQ(fact("15.0.4298.1").minimum, "CU20 (15.0.4312.2)");
  EXPECT_TRUE(fact("16.0.1000.6").meets);
  EXPECT_TRUE(fact("17.0.1000.7").meets);
  EXPECT_FALSE(fact("14.0.3456.2").meets) << "CU31 without the Azure Connect build";
  EXPECT_TRUE(fact("14.0.3490.10").meets);
  EXPECT_FALSE(fact("13.0.6300.2").meets) << "SP3 without the Azure Connect pack";
  EXPECT_TRUE(fact("13.0.7000.253").meets);
  const auto old = fact("12.0.6024.0");
  EXPECT_TRUE(old.known);
  EXPECT_FALSE(old.meets);
  EXPECT_NE(old.words.find("before SQL Server 2016"), std::string::npos);
  const auto future = fact("18.0.100.1");
  EXPECT_FALSE(future.known);
  EXPECT_NE(fact("15.0.4312.2").words.find("TLS 1.2"), std::string::npos);
  EXPECT_EQ(fact("15.0.4312").release, "SQL Server 2019");
}

TEST(SqlVersions, GarbageIsRefusedWithAnExample) {
  for (const char* bad : {"", "2019", "15", "15.0", "15.0.x", "15..4312", "15.0.4312.2.1",
                          "15.0.4312.", "-15.0.1.1", "15.0.99999999.1", "15.0.4312 "}) {
    auto v = parse_sql_version(bad);
    ASSERT_FALSE(v) << bad;
    EXPECT_NE(v.error().message.find("15.0.4312.2"), std::string::npos) << bad;
  }
}

TEST(SqlVersions, AnOldBuildInLinkModeIsAnErrorFindingAndJsonSaysWhy) {
  Evidence ev;
  ev.target = *parse_target("mi1.zone1.database.windows.net");
  ev.mode = Mode::Link;
  Evidence::LinkEvidence link;
  link.listening = true;
  link.sql_version = *parse_sql_version("15.0.4298.1");
  link.version_fact = link_version_fact(*link.sql_version);
  ev.link = link;
  auto r = make_report("t", ev);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].code, Code::MiLinkSqlVersionUnsupported);
  EXPECT_EQ(r.verdict, Verdict::Fail);
  const auto j = nlohmann::json::parse(render_json(r));
  EXPECT_EQ(j["link"]["sql_server"]["meets_minimum"], false);
  EXPECT_EQ(j["link"]["sql_server"]["minimum"], "CU20 (15.0.4312.2)");
  ev.link->sql_version = *parse_sql_version("15.0.4312.2");
  ev.link->version_fact = link_version_fact(*ev.link->sql_version);
  EXPECT_TRUE(make_report("t", ev).findings.empty());
}

}  // namespace
}  // namespace midiag::reports
