// Everything a check observed, as plain data: the input of explain() and of the renderers.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "platform/azure/imds.h"
#include "platform/capture/live_capture.h"
#include "platform/linux/route_lookup.h"
#include "platform/routes/route_table.h"
#include "platform/text/resolv_conf.h"
#include "probes/dns/dns_probe.h"
#include "probes/entra/authority.h"
#include "probes/tcp/tcp_probe.h"
#include "probes/tds/tds_probe.h"
#include "probes/trace/tcp_trace.h"
#include "probes/trace/ttl_ladder.h"
#include "reports/sql_versions.h"
#include "reports/target.h"

namespace midiag::reports {

enum class Mode { Client, Link, FailoverGroup };
std::string_view to_string(Mode m);  // client|link|failover-group

// One step of a check (spec §4 "Evidence is never absent-as-healthy"): what ran and how it ended.
enum class CollectorStatus { Ok, Partial, Failed, Skipped };
std::string_view to_string(CollectorStatus s);  // ok|partial|failed|skipped

// Why a step did not run in full. A step that did not run because an earlier one already failed
// (no address, no open port: a finding says why) or because the user said so is accounted for;
// the budget running out or the tool failing leaves that part of the path unknown.
enum class Shortfall { None, UserChoice, Explained, Budget, ToolFailure };

struct CollectorRecord {
  std::string name;  // target|dns|routes|tcp|trace|tds|redirect
  CollectorStatus status = CollectorStatus::Ok;
  double duration_ms = 0;
  std::string error;  // why it failed, ran in part or was skipped; empty when ok
  Shortfall shortfall = Shortfall::None;
  // A step on the connection's path whose failure leaves part of the path unknown.
  [[nodiscard]] bool leaves_unknown() const {
    return status != CollectorStatus::Ok &&
           (shortfall == Shortfall::Budget || shortfall == Shortfall::ToolFailure);
  }
};

// What happened after the gateway's routing ENVCHANGE: the node named, and the way to it.
struct RedirectEvidence {
  std::string host;  // as the routing token named it
  std::uint16_t port = 0;
  std::string invalid;  // why the routing token itself cannot be followed (port 0, no host)
  // Why the range around the routed port was not swept (a public address outside the zone).
  std::string sweep_withheld;
  std::vector<std::string> addresses;          // the routed host resolved (or the literal)
  std::string resolve_error;                   // why it could not be resolved
  std::vector<tcp::Result> tcp;                // the routed port and the sweep of its range
  std::uint16_t sweep_from = 0, sweep_to = 0;  // 0 when no range was swept
  std::optional<tdsprobe::Result> node_login;  // the second login, with the original server name
  // ok (the node sent LOGINACK) | invalid | unresolved | not_probed | filtered | refused |
  // unreachable | no_route | login_not_tried | handshake_failed | login_withheld | login_failed |
  // no_loginack | redirect_loop
  [[nodiscard]] std::string state() const;
};

// The packets captured beside the probes (spec §4 "Packets, when permitted").
struct CaptureEvidence {
  std::string status = "off";  // on | off (--no-capture, or it failed: see error) | denied
  std::string interface;
  std::string filter;
  std::string file;   // --capture-file, when written
  std::string error;  // why it is off or denied
  std::uint64_t packets = 0, not_kept = 0, kernel_dropped = 0;
  int link_type = 0;
  std::vector<platform::CapturedPacket> frames;  // the packets kept, for the packet rules
};

// One connection seen in a capture (analyze): what the packets showed, step by step.
struct CaptureReset {
  double at_ms = 0;  // since the session's first packet
  std::uint8_t ttl = 0;
  std::optional<std::uint8_t> expected_ttl;  // the sender's other packets (this or another session)
  std::string expected_from;                 // "this session" | "session N" | ""
  bool from_client = false;
  std::size_t count = 1;
  bool race = false;  // payload after it, or RSTs disagreeing in seq/ack: injected resets race
  std::string race_detail;
};

struct CaptureIcmp {
  int type = 0, code = 0;
  std::string reporter;
  std::string quoted;  // "tcp 10.0.0.1:50000 -> 10.0.0.2:1433"
  double at_ms = 0;
  std::optional<std::uint32_t> mtu;  // fragmentation needed / packet too big: the next-hop MTU
};

struct CaptureHole {
  std::uint64_t missing = 0;
  std::uint32_t next_segment = 0, largest_segment = 0;
  std::optional<std::uint16_t> mss;  // the receiver's announced MSS
  std::uint32_t dup_acks = 0;
  bool frag_needed_seen = false;
};

struct CaptureLogin {
  std::string user, server_name, database, app_name, host_name, library;
  bool read_only_intent = false;
  bool encrypted = false;  // LOGIN7 inside TLS: its fields and the response are not visible
  std::string auth;        // sql | ntlm | sspi (Kerberos, other) | fedauth; empty when unknown
  std::string outcome;     // loginack | routing | error | encrypted | none
  std::optional<int> error_number, error_state, error_class;
  std::string error_message;
  std::optional<std::string> routing_host;
  std::uint16_t routing_port = 0;
  std::string server_program;
};

struct CaptureSession {
  std::size_t index = 0;       // 1-based, as the report lists them
  std::string client, server;  // address:port
  std::string client_address, server_address;
  std::uint16_t client_port = 0, server_port = 0;
  double start = 0;        // seconds since the epoch (first packet)
  double duration_ms = 0;  // first to last packet
  // established | refused | reset | reset_by_middlebox | filtered | unreachable | midstream
  std::string state;
  bool speaks_tds = false;
  std::uint32_t syn_attempts = 0;
  std::uint32_t syn_retransmits = 0;
  double syn_seconds = 0;  // first to last SYN
  bool syn_ack = false;
  std::size_t packets = 0, duplicates = 0;
  std::optional<CaptureReset> rst;
  std::optional<CaptureIcmp> icmp;
  // ICMP fragmentation needed (v4 type 3 code 4) / packet too big (v6 type 2) about this
  // connection's packets: path-MTU discovery at work, not a failure.
  std::optional<CaptureIcmp> frag_needed;
  std::optional<CaptureHole> hole;  // a server-side sequence hole never filled
  std::uint64_t bytes_to_server = 0, bytes_to_client = 0;  // in-order payload bytes each way
  // The server accepted the connection but never sent a byte while the client's data waited:
  // seconds from the client's first data to the end of the connection (or of the capture).
  // Set only when the connection ended (FIN or RST) or the client waited kSilentServerS.
  std::optional<double> server_silent_s;
  std::string dns_name;  // the name whose DNS answer in the capture held the server's address
  // PRELOGIN (both directions), TLS progress
  std::optional<std::string> client_encryption, server_encryption, server_version, instance;
  std::optional<bool> fedauth_required;
  bool tls = false;
  std::string tls_version, tls_sni, tls_progress;
  std::vector<std::string> tls_alerts;
  bool tls_complete = false;
  std::optional<CaptureLogin> login;
  // Step times in ms: connect (SYN -> SYN-ACK), prelogin, tls, login (LOGIN7 -> answer), and the
  // whole login (first SYN or packet -> answer).
  std::optional<double> connect_ms, prelogin_ms, tls_ms, login_ms, total_login_ms;
  std::optional<std::size_t> redirect_to;  // index of the session the redirect led to
  bool redirect_inferred = false;          // linked by timing (the routing was encrypted)
  std::optional<std::size_t> redirected_from;
  bool requests_after_login = false;
};

// What the packets showed (analyze: a capture file; check: its own live capture).
struct PacketEvidence {
  std::string file, format;  // pcap | pcapng
  std::size_t packets = 0;   // frames read
  bool truncated = false;
  std::string truncated_message;
  std::size_t undecoded = 0, duplicates = 0, tcp_connections = 0, sessions_over_limit = 0;
  std::vector<std::uint16_t> ports;           // server ports that count as SQL
  std::vector<CaptureSession> sessions;       // SQL connections only
  std::size_t sweep_refusals_not_listed = 0;  // check: the redirect sweep's refused connections
  std::size_t dns_messages = 0;               // analyze: DNS queries and answers decoded
  std::size_t dns_lookups_not_kept = 0;       // analyze: lookups past the limit, counted only
  // analyze: the SQL names the capture's DNS (Evidence::lookups) is explained for: those whose
  // answer held a session's server address, and names shaped like a Managed Instance's.
  std::vector<Target> dns_targets;
};

// This host as an Azure VM (spec §3 routes, last paragraph): who said so and what IMDS told.
struct AzureEvidence {
  std::string source;                     // dmi | --imds | "" (IMDS not asked)
  std::string imds_status = "not_asked";  // answered | silent | error | not_asked
  double imds_elapsed_ms = 0;
  std::string imds_error;
  std::optional<platform::azure::ImdsInfo> vm;  // when IMDS answered with a document
  // Each probed address as seen from this VM: same subnet | another network | public address |
  // not a VNet address | not on Azure | unknown (IMDS silent) | unknown (IMDS error).
  std::vector<platform::azure::ImdsRelation> relations;
};

struct Evidence {
  Target target;
  Mode mode = Mode::Client;
  std::vector<net::ClassOverride> class_overrides;  // --classify-as, applied to every address
  std::string started_at;                           // ISO 8601 UTC
  double duration_ms = 0;

  bool dns_ran = false;
  std::vector<dns::Lookup> lookups;                 // the target name first, with every resolver
  std::vector<std::string> system_servers;          // from resolv.conf
  std::vector<platform::HostsEntry> hosts_entries;  // hosts-file lines naming the target
  std::vector<std::string> addresses;               // what was probed: the application's view first

  std::vector<platform::RouteInfo> routes;  // the kernel's answer (`ip route get`) per address
  // The same question on the route model (every table and rule over netlink): which rule, table
  // and entry chose the route and which entries it beat, per address of `routes`.
  std::optional<platform::routes::RouteTable> route_table;
  struct RouteChoice {
    std::string address;
    platform::routes::Lookup lookup;
  };
  std::vector<RouteChoice> route_choices;
  bool on_azure = false;  // this host is an Azure VM (DMI): peered VNets by the default route
  std::optional<AzureEvidence> azure;   // check only: DMI, IMDS and the relation per address
  std::vector<tcp::Result> tcp;         // every probe (renderers summarise sweeps)
  std::optional<tdsprobe::Result> tds;  // the login at the gateway (first address that answered)
  std::optional<RedirectEvidence> redirect;  // when the gateway routed the login to a node
  CaptureEvidence capture;

  std::optional<PacketEvidence> packets;  // what the packets showed, per connection
  // TCP traceroute, one per address whose endpoint port was filtered (JSON path[], each hop
  // with the traced address and port added as target/port).
  std::vector<trace::Result> paths;
  // TTL ladders placing resets: at most a few refused (address, port) pairs of the TCP step.
  std::vector<trace::ResetLadder> ladders;

  // --mode link: this host's own mirroring endpoint, which the instance connects back to.
  struct LinkEvidence {
    std::uint16_t endpoint_port = 5022;
    std::optional<bool> listening;  // none: the socket tables could not be read
    std::string error;
    // --sql-version: the local SQL Server's build and what the link documentation says of it.
    std::optional<SqlVersion> sql_version;
    std::optional<LinkVersionFact> version_fact;
  };
  std::optional<LinkEvidence> link;

  // A public-endpoint name that does not exist (<x>.public.<zone>): its VNet-local sibling
  // <x>.<zone> asked too, since a CNAME there means <x> is a failover-group listener, which the
  // public endpoint cannot carry (FOG_LISTENER_NOT_ON_PUBLIC_ENDPOINT).
  struct PublicSibling {
    std::string name;                  // <x>.<zone>.<suffix>
    std::vector<dns::Lookup> lookups;  // the system resolver's answers for it
  };
  std::optional<PublicSibling> public_sibling;

  // --mode failover-group: both listeners, the partner each leads to, and each side's own check.
  // The report's own evidence (the fields above) is the side the user named; the other side's
  // check is summarised here.
  struct FailoverSide {
    bool read_only = false;  // the read-only listener (<fog>.secondary.<zone>), ReadOnly intent
    std::string listener;
    bool is_target = false;  // this side is the report's own target (its evidence is above)
    bool checked = false;    // a check ran for this side (false: not reached, say why in `error`)
    std::string error;
    std::string dns_status;              // the system resolver's answer for the listener
    std::string instance;                // where its CNAME leads (empty: no CNAME to an MI name)
    std::string instance_zone;           // that instance's DNS zone
    std::optional<std::uint32_t> ttl_s;  // the listener's CNAME TTL (system resolver)
    std::vector<std::string> addresses;
    std::vector<std::string> certificate_names;  // DNS SANs (else CN) of the gateway's leaf
    bool certificate_seen = false;
    std::string verdict;  // ok|warn|fail of this side's own findings
    struct Summary {
      std::string code, severity, title;
    };
    std::vector<Summary> findings;  // this side's findings (the other side's: the target's own
                                    // are the report's findings)
    double duration_ms = 0;
  };
  struct FailoverGroupEvidence {
    std::string name;    // <fog>
    std::string zone;    // the listeners' zone
    std::string suffix;  // database.windows.net (or a sovereign cloud's)
    // What the user named: "read-write listener", "read-only listener" or "partner" (--fog).
    std::string given;
    FailoverSide read_write, read_only;
  };
  std::optional<FailoverGroupEvidence> failover_group;

  // --auth entra: the Entra ID authority (DNS, TCP, TLS and its certificate), probed beside the
  // check; the PRELOGIN FEDAUTHREQUIRED answer is in tds->prelogin.
  std::optional<entra::Result> entra;

  std::vector<CollectorRecord> collectors;  // every step, in the order it ran
  std::vector<std::string> limitations;     // what this run could not see, in words
};

// The resolver label applications use (the system's).
inline constexpr std::string_view kSystemResolver = "system";
inline constexpr std::string_view kHostsFileResolver = "hosts-file";
inline constexpr std::string_view kAzureDnsResolver = "azure-dns";  // 168.63.129.16 on Azure

}  // namespace midiag::reports
