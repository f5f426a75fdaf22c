// The lab's real-driver captures (tests/lab/captures: tsql and tedious against the simulator,
// recorded by tests/lab/make_driver_captures.sh with `mi-diag capture --write`) analysed against
// their answer keys (NAME.key beside NAME.pcap: verdict, finding codes, each session's server
// and state). The lab checks the same keys against captures it makes afresh in every run.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/analyze.h"
#include "reports/report.h"

using namespace midiag;

namespace {

const std::filesystem::path kDir = std::filesystem::path(MIDIAG_SOURCE_DIR) / "tests/lab/captures";

std::vector<std::string> key_lines(const std::filesystem::path& key) {
  std::ifstream in(key);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("verdict:", 0) == 0 || line.rfind("codes:", 0) == 0 ||
        line.rfind("session:", 0) == 0)
      out.push_back(line);
  return out;
}

// The same lines from a report, as tests/lab/drivers.sh (driver_key_of_report) makes them.
std::vector<std::string> report_lines(const nlohmann::json& j) {
  std::vector<std::string> out = {"verdict: " + j.at("verdict").get<std::string>()};
  std::set<std::string> codes;
  for (const auto& f : j.at("findings")) codes.insert(f.at("code").get<std::string>());
  std::string joined;
  for (const auto& c : codes) joined += (joined.empty() ? "" : ",") + c;
  out.push_back("codes: " + (joined.empty() ? std::string("-") : joined));
  for (const auto& s : j.at("sessions")) {
    std::string line =
        "session: " + s.at("server").get<std::string>() + " " + s.at("state").get<std::string>();
    if (s.contains("redirected_from") && !s.at("redirected_from").is_null())
      line += " from " + std::to_string(s.at("redirected_from").get<int>());
    out.push_back(line);
  }
  return out;
}

std::vector<std::filesystem::path> keys() {
  std::vector<std::filesystem::path> out;
  if (!std::filesystem::is_directory(kDir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(kDir))
    if (e.path().extension() == ".key") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

// Every answer key has its capture and every capture its key; both drivers, every case.
TEST(LabDriverCaptures, EachCaptureHasItsKeyAndTheSetIsComplete) {
  const auto all = keys();
  std::set<std::string> names;
  for (const auto& k : all) {
    names.insert(k.stem().string());
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(k).replace_extension(".pcap"))) << k;
  }
  for (const auto& e : std::filesystem::directory_iterator(kDir)) {
    if (e.path().extension() == ".pcap") {
      EXPECT_TRUE(names.count(e.path().stem().string())) << e;
    }
  }
  for (const char* driver : {"tsql", "tedious"}) {
    for (const char* what :
         {"redirect-dropped", "login-failed", "middlebox-reset", "syn-rejected"}) {
      EXPECT_TRUE(names.count(std::string("driver-") + driver + "-" + what))
          << driver << " " << what;
    }
  }
  EXPECT_TRUE(names.count("driver-tsql-redirect"));
  EXPECT_TRUE(names.count("driver-tedious-redirect-plain"));
  EXPECT_TRUE(names.count("driver-tedious-redirect-tls"));
}

// Small on purpose (a few KB each): they are committed.
TEST(LabDriverCaptures, CapturesStaySmall) {
  std::uintmax_t total = 0;
  for (const auto& k : keys()) {
    const auto size =
        std::filesystem::file_size(std::filesystem::path(k).replace_extension(".pcap"));
    EXPECT_LE(size, 16U * 1024) << k;
    total += size;
  }
  EXPECT_GT(total, 0U);
  EXPECT_LE(total, 100U * 1024);
}

TEST(LabDriverCaptures, AnalyzeGivesTheAnswerKey) {
  const auto all = keys();
  ASSERT_GE(all.size(), 11U) << "no answer keys in " << kDir;
  for (const auto& key : all) {
    SCOPED_TRACE(key.filename().string());
    std::ifstream f(std::filesystem::path(key).replace_extension(".pcap"), std::ios::binary);
    ASSERT_TRUE(f);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                          std::istreambuf_iterator<char>());
    agent::AnalyzeOptions o;
    o.file = key.stem().string() + ".pcap";
    auto report = agent::analyze_capture(bytes, o);
    ASSERT_TRUE(report.ok()) << report.error().message;
    const auto j = nlohmann::json::parse(reports::render_json(*report));
    const auto want = key_lines(key);
    ASSERT_GE(want.size(), 3U) << "key without verdict, codes and a session";
    EXPECT_EQ(report_lines(j), want);
  }
}
