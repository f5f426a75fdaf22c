// A finished check: evidence, findings and verdict, and the renderers for people and machines.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/evidence.h"
#include "reports/finding.h"

namespace midiag::reports {

inline constexpr std::string_view kSchema = "mi-diag.report/1";

struct Report {
  std::string tool_version;
  Evidence evidence;
  std::vector<Finding> findings;
  Verdict verdict = Verdict::Ok;
};

// Explains the evidence and sets the verdict.
Report make_report(std::string tool_version, Evidence evidence);

struct TextOptions {
  bool verbose = false;
  bool colour = false;
};

nlohmann::json to_json(const Report& r);  // schema mi-diag.report/1 (spec §6)
std::string render_json(const Report& r);
std::string render_text(const Report& r, const TextOptions& o);
std::string render_markdown(const Report& r);

}  // namespace midiag::reports
