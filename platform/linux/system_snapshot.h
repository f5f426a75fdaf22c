// The bundle's system/ folder (spec §7): routes and rules in every table, interfaces and
// addresses, the resolver's files, the path-MTU sysctls, proxy variables and, on Azure only, the
// IMDS network document. Each collector is bounded in bytes and time and says how it went.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace midiag::platform {

struct SystemCollector {
  std::string member;              // path inside the bundle, e.g. "system/routes-ipv4.txt"
  std::string source;              // the command, file or URL it came from
  std::optional<int> exit_status;  // commands: the exit status (none when it did not run/exit)
  std::size_t bytes = 0;           // bytes kept
  bool cut = false;                // the size bound was reached; the rest was dropped
  bool skipped = false;            // not applicable here (IMDS off Azure)
  double duration_ms = 0;
  std::string error;  // empty when it ran fully
  std::string data;
};

// Where the kernel shows the machine's DMI (SMBIOS) strings.
inline constexpr const char* kDmiDir = "/sys/class/dmi/id";

struct SnapshotOptions {
  std::string root = "/";                            // prefix of /etc reads (tests)
  std::string proc_sys = "/proc/sys";                // sysctls
  std::string dmi_dir = kDmiDir;                     // sys_vendor, chassis_asset_tag
  std::string imds_base = "http://169.254.169.254";  // http://IPv4:port only
  std::size_t max_bytes = 1U << 20;                  // per collector
  std::chrono::milliseconds command_timeout{3000};
  std::chrono::milliseconds imds_timeout{2000};
  bool run_commands = true;  // `ip` (routes, rules, addresses)
};

struct SystemSnapshot {
  std::vector<SystemCollector> collectors;
  // Secrets found while collecting (a proxy URL's password): the caller redacts them everywhere.
  std::vector<std::string> secrets;
};

SystemSnapshot collect_system_snapshot(const SnapshotOptions& options = {});

// Azure, as its DMI says: sys_vendor "Microsoft Corporation" and the Azure chassis asset tag.
bool on_azure(const std::string& dmi_dir);

// Runs argv (PATH lookup) with stdin from /dev/null, stdout+stderr captured up to max_bytes,
// killed at the deadline.
SystemCollector run_bounded_command(const std::vector<std::string>& argv, std::size_t max_bytes,
                                    std::chrono::milliseconds timeout);

// The password in a URL's userinfo (scheme://user:pass@host), empty when there is none.
std::string url_password(const std::string& url);

}  // namespace midiag::platform
