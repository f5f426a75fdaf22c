// --mode link --sql-version: what the Managed Instance link documentation states about a SQL
// Server build (the minimum build per release, and TLS 1.2 for the link's replication).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "decoders/common/expected.h"

namespace midiag::reports {

struct SqlVersion {
  std::array<unsigned, 4> parts{};  // major.minor.build.revision ("15.0.4312.2")
  std::string text;                 // as given
};

// "15.0.4312.2" (SERVERPROPERTY('ProductVersion')) or "15.0.4312": numbers only.
Expected<SqlVersion> parse_sql_version(std::string_view text);

struct LinkVersionFact {
  std::string release;  // "SQL Server 2019"
  std::string minimum;  // "CU20 (15.0.4312.2)", empty when the release is not supported
  bool known = false;   // the release is in the documentation's table
  bool meets = false;   // at or above the minimum
  std::string words;    // one sentence for the report
};

// The link's requirement for this build, from the documentation's table of minimum builds.
LinkVersionFact link_version_fact(const SqlVersion& v);

}  // namespace midiag::reports
