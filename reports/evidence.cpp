// The evidence model's own names (kept apart from the explain rules, which the fuzz build may
// replace with a stand-in).
#include "reports/evidence.h"

namespace midiag::reports {

std::string_view to_string(CollectorStatus s) {
  switch (s) {
    case CollectorStatus::Ok:
      return "ok";
    case CollectorStatus::Partial:
      return "partial";
    case CollectorStatus::Failed:
      return "failed";
    case CollectorStatus::Skipped:
      return "skipped";
  }
  return "failed";
}

}  // namespace midiag::reports
