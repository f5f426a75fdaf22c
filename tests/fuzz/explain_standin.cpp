// Stands in for reports/explain.cpp when clang cannot compile it (clang 14 rejects a structured
// binding captured by a lambda there): the real TDS/TLS/login/redirect rules (explain_tds.cpp),
// which embed every server string, plus a finding with a code the catalogue lacks.
#include <algorithm>
#include <cstdio>

#include "reports/explain.h"

namespace midiag::reports {

std::string format_ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", v);
  return buf;
}

std::string format_ports(std::vector<std::uint16_t> ports) {
  std::sort(ports.begin(), ports.end());
  std::string out;
  for (auto p : ports) out += (out.empty() ? "" : ", ") + std::to_string(p);
  return out;
}

std::vector<Finding> explain(const Evidence& ev) {
  auto out = explain_tds(ev);
  for (auto& f : explain_capture(ev)) out.push_back(std::move(f));
  if (!ev.limitations.empty())
    out.push_back(Finding{static_cast<Code>(9999), Severity::Info, ev.limitations.front(),
                          ev.limitations.front(), ev.limitations, "", "", static_cast<Code>(9998)});
  return out;
}

}  // namespace midiag::reports
