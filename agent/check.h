// `check`: gather the evidence for one target (DNS → routes → TCP) and explain it.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "platform/azure/imds.h"
#include "platform/linux/system_snapshot.h"
#include "reports/report.h"

namespace midiag::agent {

struct CheckOptions {
  reports::Target target;  // already parsed and classified
  reports::Mode mode = reports::Mode::Client;
  std::uint16_t link_endpoint_port = 5022;         // --mode link: this host's mirroring endpoint
  std::optional<reports::SqlVersion> sql_version;  // --mode link --sql-version
  std::chrono::milliseconds timeout{3000};  // per phase; the whole check gets five times this
  std::vector<std::string> resolvers;       // --resolver, validated "IP[:port]"
  std::vector<std::uint16_t> ports;         // --ports; empty = the endpoint's port
  std::vector<net::ClassOverride> class_overrides;
  std::string resolv_conf = "/etc/resolv.conf";
  std::string hosts_file = "/etc/hosts";
  // Connect here instead of the endpoint's port, still judging the name as that endpoint: the
  // demo's simulated instance listens on ephemeral loopback ports.
  std::optional<std::uint16_t> connect_port;
  // Replaces the resolv.conf servers (the demo points the system resolver at its own DNS).
  std::vector<std::string> system_servers;
  bool tds = true;    // PRELOGIN/TLS/LOGIN7 after a successful connect
  bool login = true;  // --no-login stops after TLS
  bool read_only_intent = false;
  // --mode failover-group with a partner's name: the group's name (its listeners are
  // <fog>.<zone>... and <fog>.secondary.<zone>...). Empty: the target is a listener.
  std::string fog;      // ApplicationIntent=ReadOnly (the read-only listener's side)
  bool trace = true;    // --no-trace: no TCP traceroute toward a filtered address
  bool strict = false;  // TDS 8
  std::optional<tdsprobe::Credentials> credentials;  // none: dummy credentials
  std::string ca_file;
  tds::Encryption encrypt = tds::Encryption::On;  // Encrypt=Optional/False sends OFF
  bool trust_server_certificate = false;
  std::string host_name_in_certificate;
  std::vector<std::string>
      notes;  // what the command line knows the report should say (limitations)
  // Packets beside the probes (when permitted): --no-capture, --capture-file.
  bool capture = true;
  std::string capture_file;
  std::string capture_interface = "any";
  bool resolv_conf_given = false;
  bool hosts_file_given = false;
  // Azure (spec §3 routes, §4 step 2): IMDS and Azure DNS are asked where DMI says Azure VM
  // (Auto), everywhere with --imds (Always), never in the demo (its names are its own).
  enum class Azure { Auto, Always, Never };
  Azure azure = Azure::Auto;
  std::string dmi_dir = platform::kDmiDir;             // tests: planted DMI strings
  std::string imds_base = platform::azure::kImdsBase;  // tests: a loopback stand-in
  std::chrono::milliseconds imds_timeout{1000};        // spec: 1 s
  // --auth entra: PRELOGIN asks FEDAUTHREQUIRED and the Entra ID authority is probed (DNS, TCP,
  // TLS, certificate) on its own thread beside the check (agent/check_entra.cpp).
  bool entra = false;
  entra::Authority entra_authority{std::string(entra::kDefaultAuthorityHost),
                                   entra::kDefaultAuthorityPort};
  bool entra_authority_probe = true;  // false: FEDAUTHREQUIRED only (a failover group's other
                                      // side: the target's own check probed the authority)
};

// Injected so reports are reproducible in tests.
struct Clock {
  std::function<std::chrono::steady_clock::time_point()> now = [] {
    return std::chrono::steady_clock::now();
  };
  std::function<std::string()> wall_iso8601;  // defaults to the UTC time now
};

// An Error means the check could not be run at all (bad configuration file: exit 2).
struct CheckFailure {
  int exit_code;
  std::string message;
};

struct CheckOutcome {
  bool ok = false;
  reports::Report report;
  CheckFailure failure{0, ""};
};

// Dispatches by mode: --mode failover-group checks both listeners (agent/failover_group.h).
CheckOutcome run_check(const CheckOptions& options, const Clock& clock = {});
// One target, one check (what every mode runs for its target).
CheckOutcome run_single_check(const CheckOptions& options, const Clock& clock);

// More connection attempts than this in one check is a mistake (--ports 1-65535 on a name with
// several addresses), not a diagnosis: refused with exit 2.
inline constexpr std::size_t kMaxProbes = 8192;

// Validates a --resolver value: "IP", "IP:port", "[IPv6]:port".
Expected<std::string> parse_resolver(std::string_view text);

}  // namespace midiag::agent
