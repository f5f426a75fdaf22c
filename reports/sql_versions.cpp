#include "reports/sql_versions.h"

#include <charconv>

namespace midiag::reports {

namespace {

// The Managed Instance link's minimum builds ("Prepare your environment for a link", supported
// versions), the Azure Connect builds included where the table names one.
struct Minimum {
  unsigned major;
  std::string_view release;
  std::array<unsigned, 4> build;
  std::string_view words;
};
constexpr std::array<Minimum, 5> kMinimums = {{
    {17, "SQL Server 2025", {17, 0, 1000, 7}, "RTM (17.0.1000.7)"},
    {16, "SQL Server 2022", {16, 0, 1000, 6}, "RTM (16.0.1000.6)"},
    {15, "SQL Server 2019", {15, 0, 4312, 2}, "CU20 (15.0.4312.2)"},
    {14, "SQL Server 2017", {14, 0, 3490, 10}, "CU31 with the Azure Connect build (14.0.3490.10)"},
    {13, "SQL Server 2016", {13, 0, 7000, 253}, "SP3 with the Azure Connect pack (13.0.7000.253)"},
}};

constexpr std::string_view kTls =
    " The link's replication is encrypted with TLS 1.2, which the instance enforces: this host's "
    "TLS 1.2 must stay enabled (SQL Server 2016 and later support it).";

}  // namespace

Expected<SqlVersion> parse_sql_version(std::string_view text) {
  SqlVersion v;
  v.text = std::string(text);
  std::size_t part = 0, at = 0;
  while (true) {
    const auto dot = text.find('.', at);
    const auto piece = text.substr(at, dot == std::string_view::npos ? text.npos : dot - at);
    unsigned n = 0;
    auto [ptr, ec] = std::from_chars(piece.data(), piece.data() + piece.size(), n);
    if (piece.empty() || piece.size() > 6 || ec != std::errc() ||
        ptr != piece.data() + piece.size() || part >= v.parts.size())
      return make_error("bad --sql-version '" + std::string(text) +
                        "': write the build as SERVERPROPERTY('ProductVersion') gives it, e.g. "
                        "15.0.4312.2");
    v.parts[part++] = n;
    if (dot == std::string_view::npos) break;
    at = dot + 1;
  }
  if (part < 3)
    return make_error("bad --sql-version '" + std::string(text) +
                      "': major.minor.build at least (e.g. 15.0.4312.2)");
  return v;
}

LinkVersionFact link_version_fact(const SqlVersion& v) {
  LinkVersionFact f;
  const auto major = v.parts[0];
  for (const auto& m : kMinimums) {
    if (m.major != major) continue;
    f.known = true;
    f.release = std::string(m.release);
    f.minimum = std::string(m.words);
    f.meets = v.parts >= m.build;
    f.words = f.release + " " + v.text +
              (f.meets ? " meets the link's minimum, " + f.minimum + "."
                       : " is older than the link's minimum, " + f.minimum + ".") +
              std::string(kTls);
    return f;
  }
  if (major > 0 && major < kMinimums.back().major) {
    f.known = true;
    f.release = "SQL Server " + std::to_string(major) + ".x";
    f.words = "SQL Server " + v.text +
              " is older than SQL Server 2016: the link does not support releases before SQL "
              "Server 2016.";
    return f;
  }
  f.release = "SQL Server " + std::to_string(major) + ".x";
  f.words = "SQL Server " + v.text +
            " is not in the link documentation's table of supported builds: check it there.";
  return f;
}

}  // namespace midiag::reports
