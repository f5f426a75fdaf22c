// Watch's change events (spec §8): what a round's report says about a target, reduced to the facts
// that drift (a snapshot), and the per-target state machine that turns rounds into `down`, `up`
// and `changed` events. The first `down` after a success carries what changed since that success:
// what changed since it last worked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace midiag::agent::watch {

// The facts of one round that a failover, a DNS or network change, a certificate rotation or a
// redirect to another node changes. Empty: not seen this round (never compared as a change).
struct Snapshot {
  std::string dns_answer;    // the system resolver's A/AAAA answers for the target, sorted
  std::string cname_target;  // the end of the target's CNAME chain (a failover moves it)
  std::string resolver;      // the system resolver's servers
  std::string route;         // "interface via gateway" of the first probed address
  std::string certificate;   // leaf SHA-256
  std::string redirect;      // "host:port" the gateway routed the login to
  std::string source;        // the local source address toward the target
};

struct Change {
  std::string what, from, to;
};

// Reads a `mi-diag.report/1` document. Success is a report without an error finding.
Snapshot snapshot_of(const nlohmann::json& report);
bool report_succeeded(const nlohmann::json& report);
std::vector<std::string> finding_codes(const nlohmann::json& report);

// Fields that differ, both sides seen; in a fixed order.
std::vector<Change> diff(const Snapshot& before, const Snapshot& after);

struct Event {
  std::string ts;      // ISO 8601 UTC of the round
  std::string target;  // the config's target name
  std::string event;   // down | up | changed
  std::string verdict;
  std::vector<std::string> findings;
  std::vector<Change> changed;
};
nlohmann::json to_json(const Event& e);  // one JSON-lines object

enum class Health { Unknown, Up, Down };

// One target's state across rounds; persisted in state_dir so a restart keeps the last-known-good
// snapshot and whether the target was down.
class TargetState {
 public:
  TargetState(std::string target, int fail_after, int recover_after);
  // The events this round causes (none, or one).
  std::vector<Event> observe(const nlohmann::json& report, const std::string& ts);

  [[nodiscard]] Health health() const { return health_; }
  [[nodiscard]] std::uint64_t state_changes() const { return state_changes_; }
  [[nodiscard]] const std::optional<Snapshot>& last_good() const { return last_good_; }

  nlohmann::json save() const;
  // A document save() wrote; anything else (another version, garbage) is ignored: false.
  bool load(const nlohmann::json& saved);

 private:
  std::string target_;
  int fail_after_, recover_after_;
  Health health_ = Health::Unknown;
  int failures_ = 0, successes_ = 0;
  std::uint64_t state_changes_ = 0;
  std::optional<Snapshot> last_good_;  // the snapshot of the last successful round
  std::optional<Snapshot> previous_;   // the snapshot of the last round, whatever its outcome
};

}  // namespace midiag::agent::watch
