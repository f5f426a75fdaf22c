// `mi-diag bundle --out FILE` and `check --bundle FILE` (spec §7): the check as usual, then a
// redacted .tar.gz for a support ticket with the reports, the probe's own capture, the system
// snapshot, the run's debug log and what was redacted.
#pragma once

#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "agent/check.h"
#include "platform/linux/system_snapshot.h"
#include "reports/bundle.h"
#include "reports/report.h"

namespace midiag::agent {

// Tests point the system snapshot at their own files and a loopback IMDS, and break the writer.
struct BundleHooks {
  platform::SnapshotOptions snapshot;
  std::optional<std::size_t> fail_after_bytes;
};
BundleHooks& bundle_hooks();

struct BundleRequest {
  std::string out;                        // the archive's path
  std::vector<std::string> command_line;  // as typed, "mi-diag" first
  std::vector<std::string> secrets;       // password, connection-string secrets
  // --mask: addresses and host names masked in every text member; capture.pcap left out (its
  // headers carry the real addresses); the map goes to `out` + ".mask-map.json", never inside.
  bool mask = false;
};

// One bundle run: begun before the check (the log recorder, the private capture file), finished
// after it. Loggers are restored when it ends.
class BundleSession {
 public:
  // Sets options.capture_file to a private temporary file when capture is on and none was given.
  static Expected<std::unique_ptr<BundleSession>> begin(BundleRequest request,
                                                        CheckOptions& options);
  ~BundleSession();
  BundleSession(const BundleSession&) = delete;
  BundleSession& operator=(const BundleSession&) = delete;

  Expected<reports::BundleWritten> finish(const reports::Report& report, int exit_code);

 private:
  BundleSession() = default;
  void stop_recording();

  BundleRequest request_;
  std::string temp_dir_;
  std::string capture_path_;
  bool capture_requested_ = false;
  struct LogState;
  std::unique_ptr<LogState> log_;
};

}  // namespace midiag::agent
