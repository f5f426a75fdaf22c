// Watch's metrics for one target (spec §8, label `target`): the last round's report turned into
// samples, plus the target's counters across rounds. One encoder (reports/metrics) writes them
// for /metrics and --textfile.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "reports/metrics.h"

namespace midiag::agent::watch {

struct TargetCounters {
  std::uint64_t probes = 0;                       // midiag_probes_total
  std::map<std::string, std::uint64_t> failures;  // midiag_probe_failures_total{code}
  std::uint64_t state_changes = 0;                // midiag_state_changes_total
  // Record one round: every error finding's code of a failed round is counted once.
  void count_round(const nlohmann::json& report);
};

// Adds the samples of `target` from its last report (null: no round finished yet, so only the
// counters) to `out`.
void add_target_metrics(reports::metrics::Exposition& out, const std::string& target,
                        const nlohmann::json& last_report, const TargetCounters& counters);

// The process's own: midiag_build_info{version} and midiag_config_last_reload_successful.
void add_process_metrics(reports::metrics::Exposition& out, const std::string& version,
                         bool last_reload_ok);

// "2026-12-30T03:41:08Z" -> seconds since the epoch; nullopt for anything else.
std::optional<std::int64_t> parse_utc(const std::string& iso);

}  // namespace midiag::agent::watch
