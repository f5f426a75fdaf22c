#include <algorithm>

#include "probes/tcp/tcp_probe.h"

namespace midiag::tcp {

std::vector<SweepSummary> summarize_sweeps(const std::vector<Result>& results) {
  std::vector<SweepSummary> out;
  for (const auto& r : results) {
    if (r.target.role != Role::Sweep) continue;
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const SweepSummary& s) { return s.address == r.target.address; });
    if (it == out.end()) {
      it = out.insert(
          out.end(),
          SweepSummary{.address = r.target.address, .from = r.target.port, .to = r.target.port});
    }
    it->from = std::min(it->from, r.target.port);
    it->to = std::max(it->to, r.target.port);
    switch (r.state) {
      case State::Open:
        ++it->open;
        break;
      case State::Refused:
        ++it->refused;
        break;
      case State::Filtered:
        ++it->filtered;
        break;
      case State::Unreachable:
        ++it->unreachable;
        break;
      case State::NoRoute:
        ++it->no_route;
        break;
      case State::NotProbed:
        ++it->not_probed;
        break;
    }
  }
  return out;
}

}  // namespace midiag::tcp
