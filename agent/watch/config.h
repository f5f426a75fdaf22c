// `mi-diag watch`'s configuration (spec §8): the YAML file, checked whole before anything runs.
// Every error names the file, the 1-based line and the key ("watch.yaml:7: targets[1].interval:
// bad duration '0s' (use e.g. 500ms, 2s, 1m)") and has ErrorKind::Usage (exit 2).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"
#include "probes/tds/tds_probe.h"
#include "reports/evidence.h"
#include "reports/target.h"

namespace midiag::agent::watch {

using Duration = std::chrono::milliseconds;

// Limits of a duration in the config: positive, at most a day.
inline constexpr Duration kMaxDuration = std::chrono::hours(24);

struct WatchTarget {
  std::string name;          // the `target` label; defaults to the host
  reports::Target endpoint;  // host parsed and classified; port = `port:` or the endpoint default
  reports::Mode mode = reports::Mode::Client;
  Duration interval{60000};  // the top-level interval unless overridden
  Duration timeout{3000};    // per phase, as check's --timeout-ms
  std::string ca_file;       // absolute, checked loadable
  // user + the password read at load time from password_env or password_file; none: dummy
  // credentials. The password is never logged (Credentials wipes it when it goes away).
  std::optional<tdsprobe::Credentials> credentials;
  std::string password_source;  // "env MI_PW" or "file /etc/mi-diag/pw": for messages, no secret
  int fail_after = 2;           // consecutive failed rounds before "down"
  int recover_after = 1;        // consecutive good rounds before "up"
  bool trust_server_certificate = false;
  bool strict = false;                 // TDS 8 (TLS first)
  std::vector<std::string> resolvers;  // extra DNS servers, validated "IP[:port]"
  int line = 0;                        // where the target starts in the file (1-based)
};

struct WatchConfig {
  std::string path;  // as given
  Duration interval{60000};
  Duration timeout{3000};
  std::string state_dir = "/var/lib/mi-diag";
  std::vector<WatchTarget> targets;  // at least one, names unique, in file order
};

// Where secrets come from; the default reads the process environment. Tests inject their own.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Reads and checks the config at `path`: YAML shape, known keys only (a typo gets the closest
// known key suggested), durations, hosts, ports, unique names, ca_file loadable, and the
// secrets: password_env must be set, password_file must be a regular file not accessible by
// group or others (mode & 077 == 0). Relative ca_file/password_file paths are relative to the
// config file's directory. A `password:` key is refused (secrets never live in the YAML).
Expected<WatchConfig> load_watch_config(const std::string& path, const EnvLookup& env = {});

// The same, from text already read; `path` is used for messages and relative paths.
Expected<WatchConfig> parse_watch_config(std::string_view yaml, const std::string& path,
                                         const EnvLookup& env = {});

// "500ms", "2s", "1m", "1h": a positive whole number and one unit, at most kMaxDuration.
// The error message is "bad duration '<text>' (use e.g. 500ms, 2s, 1m)", or "... (at most 24h)".
Expected<Duration> parse_duration(std::string_view text);

// The shortest exact spelling: 500ms, 2s, 90s, 1m, 1h.
std::string format_duration(Duration d);

// One line for `watch --check`: name, host:port, mode, schedule, credentials source (never the
// password).
std::string describe_target(const WatchTarget& t);

// --metrics-listen ADDR:PORT: "127.0.0.1:9797", "[::1]:9797", "0.0.0.0:9797".
struct ListenAddress {
  std::string address;  // numeric, without brackets
  std::uint16_t port = 0;
};
inline constexpr std::string_view kDefaultMetricsListen = "127.0.0.1:9797";
Expected<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace midiag::agent::watch
