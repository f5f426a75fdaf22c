#!/usr/bin/env bash
# The mi-diag network-namespace lab: builds client / router / instance namespaces
# (tests/lab/lib.sh), injects one fault per scenario in the router, runs
# `mi-diag check` in the client namespace and asserts verdict, finding codes (as a set)
# and exit code. Then the capture + real driver scenarios (tests/lab/drivers.sh): `mi-diag
# capture` while tsql or tedious logs in, checked against tests/lab/captures/*.key.
#
#   tests/lab/run.sh path/to/mi-diag path/to/lab_tcp_listener
#   LAB_ONLY=healthy,nxdomain tests/lab/run.sh ...     run a subset (names or globs: 'hostile-*')
#   LAB_KEEP_TMP=1 ...                                 keep dnsmasq/listener logs
#   LAB_REPEAT=N ...                                   run the selection N times in one lab (a
#       flake hunt; 1 to 50)
#   LAB_SANITIZED=1 ...                                mi-diag is an ASan+UBSan build: no
#       address-space cap (ASan reserves terabytes of virtual memory), "max ms" bounds scaled by
#       LAB_SANITIZED_SLOWDOWN (default 1.25), and a sanitizer report on the check's stderr or in
#       a simulator's output fails the scenario / the run
#
# Exit: 0 all passed; 1 a scenario failed (or CI=true and the lab cannot run);
# 2 bad usage; 77 skipped (not root, or tools missing, outside CI).
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "${LAB_DIR}/lib.sh"
# The capture + real driver scenarios (their own table, DRIVER_SCENARIOS), run after these.
# shellcheck source-path=SCRIPTDIR source=drivers.sh
source "${LAB_DIR}/drivers.sh"
# The watch scenarios (their own list, WATCH_SCENARIOS), run after the check scenarios.
# shellcheck source-path=SCRIPTDIR source=watch.sh
source "${LAB_DIR}/watch.sh"

readonly CHECK_TIMEOUT_S=60   # upper bound on one mi-diag run; the tool is told 1000 ms
readonly COMMON_ARGS=(--json --timeout-ms 1000 --classify-as 10.250.200.0/24=public)
# The simulators' test login; scenarios marked NOCREDS use the probe's dummy credentials.
# Every check runs with its address space capped: a hostile server must not make it grow.
if [[ "${LAB_SANITIZED:-0}" == 1 ]]; then
  readonly MEMORY_CAP=()
  readonly DURATION_SCALE=${LAB_SANITIZED_SLOWDOWN:-1.25}
else
  readonly MEMORY_CAP=(prlimit --as=$((256 * 1024 * 1024)) --)
  readonly DURATION_SCALE=1
fi
# What ASan, LeakSanitizer and UBSan print when they find something.
readonly SANITIZER_REPORT='ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'

readonly CREDS=(--user sim --password-env LAB_SIM_PASSWORD)
export LAB_SIM_PASSWORD=sim-password

# One line per scenario; fields separated by '|', surrounding blanks ignored.
#   name | fault setup | fault undo | check arguments | verdict | finding codes | exit [| max ms
#   [| assertion]]
# Fault fields are a fault_* function and its arguments ('-' = none); codes are a
# comma-separated set ('-' = no findings); max ms bounds the report's duration_ms
# (hostile servers must not hold a check past its timeout + 10%; '-' = no bound); the
# assertion is an assert_* function and its arguments, run on the JSON report (on stdin).
# UNPRIV among the check arguments runs mi-diag as nobody:nogroup (setpriv), no capabilities.
readonly SCENARIOS=(
  "healthy                       | - | - | mi1.lab0001.database.windows.net | ok | CONNECTION_PATH | 0"
  "healthy-dummy-login           | - | - | mi1.lab0001.database.windows.net NOCREDS | ok | LOGIN_FAILED | 0"
  "gateway-port-dropped          | fault_forward -p tcp --dport 1433 -j DROP | fault_clear | mi1.lab0001.database.windows.net | fail | TCP_FILTERED | 1"
  "gateway-port-rejected         | fault_forward -p tcp --dport 1433 -j REJECT --reject-with tcp-reset | fault_clear | mi1.lab0001.database.windows.net --ports 1433,3342 | fail | TCP_RESET_BY_MIDDLEBOX | 1 | - | assert_reset_by_middlebox 64 63"
  "gateway-port-rejected-forged  | fault_reject_forged_ttl 62 | fault_clear | mi1.lab0001.database.windows.net --ports 1433,3342 | fail | TCP_RESET_BY_MIDDLEBOX | 1 | - | assert_reset_likely_middlebox 62 63"
  "gateway-port-rejected-alone   | fault_forward -p tcp --dport 1433 -j REJECT --reject-with tcp-reset | fault_clear | mi1.lab0001.database.windows.net | fail | TCP_REFUSED | 1 | - | assert_reset_cannot_tell"
  "closed-port-on-instance       | - | - | mi1.lab0001.database.windows.net --ports 1433,1444 | fail | CONNECTION_PATH,TCP_REFUSED | 1 | - | assert_reset_genuine 1444"
  "icmp-admin-prohibited         | fault_forward -p tcp --dport 1433 -j REJECT --reject-with icmp-admin-prohibited | fault_clear | mi1.lab0001.database.windows.net | fail | ICMP_UNREACHABLE | 1"
  "no-route                      | fault_client_route del 10.250.2.0/24 | fault_client_route replace 10.250.2.0/24 via 10.250.1.1 | mi1.lab0001.database.windows.net | fail | ROUTE_MISSING | 1"
  "nxdomain                      | - | - | nope.lab0001.database.windows.net | fail | DNS_NAME_NOT_FOUND | 1"
  "resolver-down                 | fault_drop_dns_to 10.250.1.1 | fault_clear | mi1.lab0001.database.windows.net | fail | DNS_RESOLVER_UNREACHABLE | 1"
  "public-address-for-vnet-local | - | - | mipub.lab0001.database.windows.net | fail | DNS_PUBLIC_ADDRESS_FOR_VNET_LOCAL,CONNECTION_PATH | 1"
  "private-address-for-public    | - | - | mipriv.public.lab0001.database.windows.net | fail | DNS_PRIVATE_ADDRESS_FOR_PUBLIC_ENDPOINT,CONNECTION_PATH | 1"
  "public-endpoint-on-1433       | fault_forward -p tcp -d 10.250.200.10 --dport 1433 -j DROP | fault_clear | mi1.public.lab0001.database.windows.net:1433 | fail | WRONG_PORT_FOR_ENDPOINT,TCP_FILTERED | 1"
  "ip-literal                    | - | - | 10.250.2.10 | fail | TARGET_IS_IP_LITERAL,TLS_CERT_NAME_MISMATCH | 1"
  "ip-literal-dummy-login        | - | - | 10.250.2.10 NOCREDS | warn | TARGET_IS_IP_LITERAL,LOGIN_FAILED | 0"
  "resolvers-disagree            | - | - | mi1.lab0001.database.windows.net --resolver 10.250.1.53 | warn | DNS_RESOLVERS_DISAGREE,CONNECTION_PATH | 0"
  "healthy-proxy-public          | - | - | mi1.public.lab0001.database.windows.net | ok | CONNECTION_PATH | 0"
  "redirect-ports-dropped        | fault_forward -p tcp --dport 11000:11999 -j DROP | fault_clear | mi1.lab0001.database.windows.net | fail | REDIRECT_PORTS_FILTERED | 1"
  "tls-cert-name-mismatch        | - | - | mibadcert.lab0001.database.windows.net | fail | TLS_CERT_NAME_MISMATCH | 1"
  "not-tds                       | - | - | minottds.lab0001.database.windows.net | fail | TDS_NOT_SPOKEN | 1 | 1100"
  "hostile-silent                | - | - | misilent.lab0001.database.windows.net | fail | TDS_NOT_SPOKEN | 1 | 1100"
  "hostile-garbage               | - | - | migarbage.lab0001.database.windows.net | fail | TDS_NOT_SPOKEN | 1 | 1100"
  "hostile-huge-length           | - | - | mihuge.lab0001.database.windows.net | fail | TDS_NOT_SPOKEN | 1 | 1100"
  "hostile-slowloris             | - | - | mislow.lab0001.database.windows.net | fail | TDS_NOT_SPOKEN | 1 | 1100"
  "healthy-strict                | - | - | mi1.lab0001.database.windows.net --strict | ok | CONNECTION_PATH | 0"
  "path-mtu-blackhole            | fault_mtu_blackhole 576 | fault_clear | mi1.lab0001.database.windows.net | fail | PATH_MTU_BLACKHOLE,TLS_HANDSHAKE_FAILED | 1 | 2200 | assert_mss_confirmed 536"
  "path-mtu-blackhole-strict     | fault_mtu_blackhole 576 | fault_clear | mi1.lab0001.database.windows.net --strict | fail | PATH_MTU_BLACKHOLE,TLS_HANDSHAKE_FAILED | 1 | 2200 | assert_mss_confirmed 536"
  "path-mtu-blackhole-unpriv     | fault_mtu_blackhole 576 | fault_clear | mi1.lab0001.database.windows.net UNPRIV | fail | PATH_MTU_BLACKHOLE,TLS_HANDSHAKE_FAILED | 1 | 2200 | assert_mss_confirmed 536"
  "gateway-port-dropped-traced   | fault_forward -p tcp --dport 1433 -j DROP | fault_clear | mi1.lab0001.database.windows.net UNPRIV | fail | TCP_FILTERED | 1 | 1300 | assert_trace_vanishes_after 10.250.1.1 1"
  "gateway-port-dropped-no-trace | fault_forward -p tcp --dport 1433 -j DROP | fault_clear | mi1.lab0001.database.windows.net --no-trace | fail | TCP_FILTERED | 1 | 1300 | assert_not_traced"
  "drop-two-routers-away         | fault_far_router -p tcp --dport 1433 -j DROP | fault_clear | mifar.lab0001.database.windows.net | fail | TCP_FILTERED | 1 | 1300 | assert_trace_vanishes_after 10.250.3.2 2"
  "drop-two-routers-away-unpriv  | fault_far_router -p tcp --dport 1433 -j DROP | fault_clear | mifar.lab0001.database.windows.net UNPRIV | fail | TCP_FILTERED | 1 | 1300 | assert_trace_vanishes_after 10.250.3.2 2"
  "reset-two-routers-away-placed | fault_forward -p tcp -d 10.250.4.10 --dport 1433 -j REJECT --reject-with tcp-reset | fault_clear | mifar.lab0001.database.windows.net --ports 1433,3342 | fail | TCP_RESET_BY_MIDDLEBOX | 1 | - | assert_reset_placed 10.250.1.1 1 2 3 paris"
  "reset-two-routers-away-placed-unpriv | fault_forward -p tcp -d 10.250.4.10 --dport 1433 -j REJECT --reject-with tcp-reset | fault_clear | mifar.lab0001.database.windows.net --ports 1433,3342 UNPRIV | fail | TCP_RESET_BY_MIDDLEBOX | 1 | - | assert_reset_placed 10.250.1.1 1 2 3 socket"
  "closed-port-on-instance-unpriv | - | - | mi1.lab0001.database.windows.net --ports 1433,1444 UNPRIV | fail | CONNECTION_PATH,TCP_REFUSED | 1 | - | assert_ladder_at_target 1444 2"
  "drop-two-routers-away-paris   | fault_far_router -p tcp --dport 1433 -j DROP | fault_clear | mifar.lab0001.database.windows.net | fail | TCP_FILTERED | 1 | 1300 | assert_trace_by paris 10.250.3.2 2"
  "drop-two-routers-away-socket  | fault_far_router -p tcp --dport 1433 -j DROP | fault_clear | mifar.lab0001.database.windows.net UNPRIV | fail | TCP_FILTERED | 1 | 1300 | assert_trace_by socket 10.250.3.2 2"
  "link-healthy                  | - | - | mi1.lab0001.database.windows.net --mode link | ok | CONNECTION_PATH | 0"
  "link-5022-dropped             | fault_forward -p tcp --dport 5022 -j DROP | fault_clear | mi1.lab0001.database.windows.net --mode link | fail | CONNECTION_PATH,MI_LINK_PORT_UNREACHABLE,TCP_FILTERED | 1"
  "link-public-endpoint          | - | - | mi1.public.lab0001.database.windows.net --mode link --ports 3342,5022 | fail | MI_LINK_NEEDS_VNET_LOCAL,CONNECTION_PATH | 1"
  "link-hadr-range-dropped       | fault_forward -p tcp --dport 11000:11999 -j DROP | fault_clear | mi1.lab0001.database.windows.net --mode link | fail | MI_LINK_PORT_UNREACHABLE,REDIRECT_PORTS_FILTERED | 1 | - | assert_link_range_blocked"
  "link-old-sql-server           | - | - | mi1.lab0001.database.windows.net --mode link --sql-version 15.0.4298.1 | fail | CONNECTION_PATH,MI_LINK_SQL_VERSION_UNSUPPORTED | 1"
  "fog-healthy                   | - | - | grp1.lab0001.database.windows.net --mode failover-group | ok | CONNECTION_PATH | 0 | - | assert_failover_group grp1 mi1.lab0001 mi2.lab0001 ok"
  "fog-read-only-given           | - | - | grp1.secondary.lab0001.database.windows.net --mode failover-group | ok | CONNECTION_PATH | 0 | - | assert_failover_group grp1 mi1.lab0001 mi2.lab0001 ok"
  "fog-zone-mismatch             | - | - | grp2.lab0001.database.windows.net --mode failover-group | fail | FOG_DNS_ZONE_MISMATCH,FOG_SECONDARY_UNREACHABLE,CONNECTION_PATH | 1 | - | assert_fog_zone_mismatch"
  "fog-secondary-dropped         | fault_forward -d 10.250.2.11 -p tcp --dport 1433 -j DROP | fault_clear | grp1.lab0001.database.windows.net --mode failover-group | warn | FOG_SECONDARY_UNREACHABLE,CONNECTION_PATH | 0 | 3000 | assert_failover_group grp1 mi1.lab0001 mi2.lab0001 fail"
  "fog-listener-public           | - | - | grp1.public.lab0001.database.windows.net | fail | FOG_LISTENER_NOT_ON_PUBLIC_ENDPOINT,DNS_NAME_NOT_FOUND | 1 | - | assert_fog_public_listener"
  "vpn-missing-vnet              | fault_vpn_without_vnet drop | fault_clear | mi1.lab0001.database.windows.net | fail | ROUTE_UNEXPECTED_PATH,TCP_FILTERED | 1 | 1300 | assert_route_unexpected_path 10.250.2.10 wg-corp"
  "vpn-other-networks-healthy    | fault_vpn_without_vnet pass | fault_clear | mi1.lab0001.database.windows.net | ok | CONNECTION_PATH | 0 | - | assert_route_chosen 10.250.2.10 0.0.0.0/0 to-router"
  "azure-imds                    | fault_mark_azure_logs | - | mi1.lab0001.database.windows.net --imds | ok | CONNECTION_PATH | 0 | - | assert_azure_imds"
  "azure-imds-silent             | fault_drop_imds | fault_clear | mi1.lab0001.database.windows.net --imds | ok | CONNECTION_PATH | 0 | - | assert_azure_imds_silent"
  "entra-healthy                 | - | - | mi1.lab0001.database.windows.net --auth entra NOCREDS | ok | LOGIN_FAILED | 0 | - | assert_entra_reached"
  "entra-authority-dropped       | fault_forward -d 10.250.2.30 -p tcp --dport 443 -j DROP | fault_clear | mi1.lab0001.database.windows.net --auth entra NOCREDS | fail | ENTRA_ENDPOINT_UNREACHABLE,LOGIN_FAILED | 1 | 1300 | assert_entra_filtered"
)

MIDIAG=""
PASSED=0
FAILED=0

# ---------------------------------------------------------------- faults (router / client)

fault_forward() { lab_router_iptables -A FORWARD "$@"; }
fault_drop_dns_to() {
  lab_router_iptables -A INPUT -d "$1" -p udp --dport 53 -j DROP
  lab_router_iptables -A INPUT -d "$1" -p tcp --dport 53 -j DROP
}
fault_client_route() { ip -n "$LAB_NS_CLIENT" route "$@"; }
# A path-MTU black hole: the router's link towards the client gets a small MTU, and the ICMP
# "fragmentation needed" the router would send the instance is dropped, so the instance keeps
# sending full-size segments that vanish. Small packets (SYN, PRELOGIN) still pass.
fault_mtu_blackhole() {
  ip -n "$LAB_NS_ROUTER" link set dev to-client mtu "$1"
  lab_router_iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
}
# A middlebox that resets and forges the TTL of its resets (xt_TTL): as if from TTL hops nearer
# the initial 64, to pass for a host further away than the router.
fault_reject_forged_ttl() {
  lab_router_iptables -A FORWARD -p tcp --dport 1433 -j REJECT --reject-with tcp-reset
  lab_router_iptables -t mangle -A OUTPUT -p tcp --tcp-flags RST RST -j TTL --ttl-set "$1"
}
# A drop at the second router: two hops from the client (tests/lab/lib.sh, "far").
fault_far_router() { in_router2 iptables -w -A FORWARD "$@"; }
# A VPN-like interface (wg-corp) carrying two private networks but not the instance's, and a
# default route: the instance's address leaves by the default route. With "drop", that path
# cannot reach the VNet (as the Internet cannot reach a private address); with "pass" it can.
fault_vpn_without_vnet() {
  # A veth pair inside the client (this kernel may lack the dummy and wireguard drivers; an
  # unattached tun has no carrier): both ends up, so the routes through it are live.
  ip -n "$LAB_NS_CLIENT" link add wg-corp type veth peer name wg-corp-end
  ip -n "$LAB_NS_CLIENT" link set wg-corp-end up
  ip -n "$LAB_NS_CLIENT" link set wg-corp up
  ip -n "$LAB_NS_CLIENT" route add 10.251.0.0/16 dev wg-corp
  ip -n "$LAB_NS_CLIENT" route add 10.252.0.0/16 dev wg-corp
  ip -n "$LAB_NS_CLIENT" route del 10.250.2.0/24
  ip -n "$LAB_NS_CLIENT" route add default via 10.250.1.1
  if [[ $1 == drop ]]; then lab_router_iptables -A FORWARD -d 10.250.2.0/24 -j DROP; fi
}
fault_clear() { lab_clear_faults; }
# Not a fault: notes how long the IMDS and Azure DNS stand-ins' logs are, so the assertion can
# tell what this check asked them (the lab's own readiness queries came before).
AZURE_IMDS_LINES=0
AZURE_DNS_LINES=0
fault_mark_azure_logs() {
  AZURE_IMDS_LINES=$(wc -l <"${LAB_TMP}/imds-requests.log")
  AZURE_DNS_LINES=$(wc -l <"${LAB_TMP}/azure-dns.log")
}
# IMDS silent: the router drops every packet to 169.254.169.254:80 (no RST, no ICMP).
fault_drop_imds() {
  fault_mark_azure_logs
  lab_router_iptables -A INPUT -d 169.254.169.254 -p tcp --dport 80 -j DROP
}

# ---------------------------------------------------------------- JSON assertions (stdin: report)

# The small-MSS retry confirmed the black hole and names the largest MSS that passed.
assert_mss_confirmed() {
  jq -e --arg mss "$1" '
    [.findings[] | select(.code == "PATH_MTU_BLACKHOLE")] | length == 1 and
    (.[0].severity == "error") and (.[0].title | test("black hole confirmed")) and
    (.[0].evidence | any(test("largest MSS that passed: " + $mss + " bytes")))' >/dev/null
}

# ROUTE_UNEXPECTED_PATH names the address and the VPN interface, the filtered probe is caused by
# it, and the route step shows the default route chosen by the main table's rule.
assert_route_unexpected_path() {
  jq -e --arg addr "$1" --arg vpn "$2" '
    ([.findings[] | select(.code == "ROUTE_UNEXPECTED_PATH")] | length == 1) and
    ([.findings[] | select(.code == "ROUTE_UNEXPECTED_PATH")][0].detail |
      test("go through " + $vpn) and test($addr)) and
    ([.findings[] | select(.code == "TCP_FILTERED")][0].caused_by == "ROUTE_UNEXPECTED_PATH") and
    ([.routes[] | select(.destination == $addr)][0] |
      .route.destination == "0.0.0.0/0" and .rule.text == "from all lookup main")' >/dev/null
}

# The route step's model account for ADDRESS: the entry DEST on interface IFACE.
assert_route_chosen() {
  jq -e --arg addr "$1" --arg dest "$2" --arg dev "$3" '
    [.routes[] | select(.destination == $addr)][0] |
      .route.destination == $dest and .route.interface == $dev and .kind == "unicast" and
      (has("model_differs") | not)' >/dev/null
}

# --mode link, the node's 11000-11999 dropped: MI_LINK_PORT_UNREACHABLE for the HADR range (the
# sweep's evidence), and the redirect finding follows from it.
assert_link_range_blocked() {
  jq -e '
    ([.findings[] | select(.code == "MI_LINK_PORT_UNREACHABLE")][0] |
      (.title | test("HADR port range toward 10.250.2.10:11042")) and
      (.evidence | any(test("sweep 11000-11999 on 10.250.2.10: 0 open, 0 reset, 999 silent")))) and
    ([.findings[] | select(.code == "REDIRECT_PORTS_FILTERED")][0].caused_by ==
      "MI_LINK_PORT_UNREACHABLE")' >/dev/null
}

# --mode failover-group: the group NAME, its read-write listener leading to PRIMARY and the
# read-only one to SECONDARY (both in lab0001, CNAME TTL 30 s from the lab resolver), the side that
# is not the report's own with VERDICT, and every certificate covering both listeners.
assert_failover_group() {
  jq -e --arg fog "$1" --arg primary "$2.database.windows.net" \
    --arg secondary "$3.database.windows.net" --arg verdict "$4" '
    .failover_group as $g |
    ($g.name == $fog) and ($g.zone == "lab0001") and
    ($g.listener == $fog + ".lab0001.database.windows.net") and
    ($g.read_only_listener == $fog + ".secondary.lab0001.database.windows.net") and
    ($g.primary == $primary) and ($g.secondary == $secondary) and
    ($g.ttl_s == 30) and ($g.read_only_ttl_s == 30) and
    ($g.sides | length == 2) and
    ($g.sides[1].read_only_intent == true) and
    ([$g.sides[] | select(.is_target | not)][0].verdict == $verdict) and
    ([$g.sides[] | select(.certificate != null) | .certificate.covers[]] | all) and
    ([.collectors[] | select(.name == "failover_group")][0].status == "ok")' >/dev/null
}

# grp2: the secondary mi3 is in zone lab0002; its certificate covers neither listener, which the
# zone finding shows, and the read-only side fails on the name (so it follows from the zones).
assert_fog_zone_mismatch() {
  jq -e '
    ([.findings[] | select(.code == "FOG_DNS_ZONE_MISMATCH")][0] |
      (.title | test("lab0001 and lab0002")) and
      (.evidence | any(test("read-only listener grp2.secondary.lab0001.database.windows.net -> mi3.lab0002.database.windows.net \\(zone lab0002\\), CNAME TTL 30 s"))) and
      (.evidence | any(test("mi3.lab0002.database.windows.net.s certificate names .*: it covers neither")))) and
    ([.findings[] | select(.code == "FOG_SECONDARY_UNREACHABLE")][0] |
      .caused_by == "FOG_DNS_ZONE_MISMATCH" and (.evidence | any(test("TLS_CERT_NAME_MISMATCH")))) and
    (.failover_group.secondary == "mi3.lab0002.database.windows.net")' >/dev/null
}

# grp1.public...: NXDOMAIN explained by grp1.lab0001 being a listener (a CNAME to mi1).
assert_fog_public_listener() {
  jq -e '
    ([.findings[] | select(.code == "DNS_NAME_NOT_FOUND")][0].caused_by ==
      "FOG_LISTENER_NOT_ON_PUBLIC_ENDPOINT") and
    ([.findings[] | select(.code == "FOG_LISTENER_NOT_ON_PUBLIC_ENDPOINT")][0].evidence |
      any(test("grp1.lab0001.database.windows.net A -> CNAME mi1.lab0001.database.windows.net"))) and
    (.dns.public_sibling.name == "grp1.lab0001.database.windows.net")' >/dev/null
}

# The trace names the last hop that answered (ADDRESS at TTL) and SYNs vanish after it; the
# TCP_FILTERED finding says so.
assert_trace_vanishes_after() {
  jq -e --arg addr "$1" --argjson ttl "$2" '
    (.path | map(select(.kind != "silent")) | last | .address == $addr and .ttl == $ttl
      and .kind == "time_exceeded") and
    (.path | map(select(.ttl > $ttl)) | length > 0 and all(.kind == "silent")) and
    (.path | map(select(.ttl < $ttl)) | all(.kind == "time_exceeded")) and
    ([.collectors[] | select(.name == "trace")][0].status == "ok") and
    ([.findings[] | select(.code == "TCP_FILTERED") | .evidence[]]
      | any(test("SYNs pass " + $addr + " \\(hop " + ($ttl | tostring) + "\\), vanish after it")))' \
    >/dev/null
}

# The reset of :1433 came from the router (RST TTL $1), not the instance (its SYN-ACK TTL $2):
# a middlebox, stated as fact; the instance's session on 3342 is in sessions[], established.
assert_reset_by_middlebox() {
  jq -e --arg rst "$1" --arg peer "$2" '
    (.findings[0].code == "TCP_RESET_BY_MIDDLEBOX") and (.findings[0].severity == "error") and
    (.findings[0].title | test("Likely") | not) and
    (.findings[0].evidence | any(test("RST TTL " + $rst + " \\(0 hops\\) vs the sender.s other packets TTL " + $peer + " \\(1 hops"))) and
    (.sessions | any(.server_port == 3342 and .state == "established")) and
    (.sessions | any(.server_port == 1433 and .state == "reset_by_middlebox"))' >/dev/null
}

# A forged TTL one hop off the instance's: hedged ("Likely"), still the cause, still an error.
assert_reset_likely_middlebox() {
  jq -e --arg rst "$1" --arg peer "$2" '
    (.findings[0].code == "TCP_RESET_BY_MIDDLEBOX") and (.findings[0].title | test("^Likely")) and
    (.findings[0].evidence | any(test("RST TTL " + $rst + " .* TTL " + $peer)))' >/dev/null
}

# The RST is the only packet from the instance: TCP_REFUSED, and it says the packets cannot tell.
assert_reset_cannot_tell() {
  jq -e '
    ([.findings[] | select(.code == "TCP_REFUSED")][0] | (.detail | test("cannot say who sent")) and
      (.evidence | any(test("the packets cannot tell")))) and
    (.sessions | any(.server_port == 1433 and .state == "refused"))' >/dev/null
}

# A closed port on the instance itself: its kernel's reset, same hop count as its SYN-ACKs.
assert_reset_genuine() {
  jq -e --arg port "$1" '
    ([.findings[] | select(.code == "TCP_REFUSED")][0].evidence
      | any(test("RST TTL 63 \\(1 hops\\) vs .* TTL 63 .*the target.s own reset"))) and
    (.sessions | any(.server_port == ($port | tonumber) and .state == "refused")) and
    (.sessions | any(.server_port == 1433 and .state == "established"))' >/dev/null
}

# --no-trace: no path, and the trace collector says it was skipped.
assert_not_traced() {
  jq -e '(.path | length == 0) and
    ([.collectors[] | select(.name == "trace")][0].status == "skipped")' >/dev/null
}

# The trace ran by METHOD (paris as root, socket unprivileged) and names the same last hop.
assert_trace_by() {
  local report
  report=$(cat)
  jq -e --arg method "$1" '(.path | length > 0) and
    (.path | all(.purpose == "trace" and .method == $method))' <<<"$report" >/dev/null &&
    assert_trace_vanishes_after "$2" "$3" <<<"$report"
}

# A TTL ladder placed the reset before the target: drawn at TTL $3 while the target's SYN-ACK
# needs TTL $4, sent at or just after HOP $1 (hop $2), by METHOD $5; an error, stated as fact.
assert_reset_placed() {
  jq -e --arg hop "$1" --argjson hop_ttl "$2" --argjson rst "$3" --argjson dist "$4" \
    --arg method "$5" '
    (.findings[0].code == "TCP_RESET_BY_MIDDLEBOX") and (.findings[0].severity == "error") and
    (.findings[0].title | test("Likely") | not) and
    (.findings[0].evidence | any(test("TTL ladder \\(" + $method + "\\) to .*: the reset comes back from TTL " +
      ($rst | tostring) + ", the target.s SYN-ACK on [0-9]+ needs TTL " + ($dist | tostring) +
      ": a device before the target sent it, at or just after " + $hop + " \\(hop " +
      ($hop_ttl | tostring) + "\\)"))) and
    (.path | any(.purpose == "ladder" and .kind == "reset" and .ttl == $rst and
      .placed_at == $hop and .placed_at_ttl == $hop_ttl and .method == $method)) and
    (.ladders | length == 1 and .[0].placement == "before_target") and
    ([.collectors[] | select(.name == "ladder")][0].status == "ok")' >/dev/null
}

# A closed port on the instance: the ladder draws the reset at the instance's own distance, so
# it stays the target's refusal (no middlebox), and the evidence says the ladder found it there.
assert_ladder_at_target() {
  jq -e --arg port "$1" --argjson ttl "$2" '
    (.ladders | length == 1 and .[0].port == ($port | tonumber) and
      .[0].placement == "at_target" and .[0].reset_ttl == $ttl and .[0].target_ttl == $ttl) and
    ([.findings[] | select(.code == "TCP_REFUSED")][0].evidence
      | any(test("consistent with the target")))' >/dev/null
}

# --imds with IMDS answering: the VM's NIC and subnet from the stand-in's document, the target's
# address in another network (private, outside 10.250.1.0/24), Azure DNS asked and answering as
# the primary does, no limitation about IMDS; the stand-in saw one GET with the header (200).
assert_azure_imds() {
  local report
  report=$(cat)
  jq -e --arg name "mi1.${LAB_DOMAIN}" '
    (.azure.on_azure == true) and (.azure.source == "--imds") and
    (.azure.imds.status == "answered") and (.azure.imds.error == null) and
    (.azure.imds.elapsed_ms < 1000) and
    (.azure.vm.name == "lab-vm") and (.azure.vm.location == "labregion") and
    (.azure.interfaces == [{"mac": "00:0d:3a:fa:b0:01", "private": ["10.250.1.2"], "public": [],
      "subnets": ["10.250.1.0/24"]}]) and
    (.azure.unread == []) and
    (.azure.relation | length == 1 and .[0].address == "10.250.2.10" and
      .[0].relation == "another network" and (.[0].detail | test("10.250.1.0/24"))) and
    ([.collectors[] | select(.name == "azure")] | length == 1 and .[0].status == "ok") and
    (.dns.lookups | any(.resolver == "azure-dns" and .name == $name and .type == "A" and
      .status == "ok" and ([.addresses[].address] == ["10.250.2.10"]))) and
    (.limitations | all(test("metadata|IMDS") | not))' <<<"$report" >/dev/null || return 1
  local imds_new dns_new
  imds_new=$(tail -n +"$((AZURE_IMDS_LINES + 1))" "${LAB_TMP}/imds-requests.log")
  dns_new=$(tail -n +"$((AZURE_DNS_LINES + 1))" "${LAB_TMP}/azure-dns.log")
  [[ "$imds_new" == "200 GET /metadata/instance?api-version=2021-02-01 HTTP/1.0" ]] || {
    echo "  IMDS stand-in saw: ${imds_new:-nothing}"
    return 1
  }
  grep -q "query\[A\] mi1.${LAB_DOMAIN} from 10.250.1.2" <<<"$dns_new" || {
    echo "  Azure DNS stand-in saw no A query for mi1 from the client"
    return 1
  }
}

# --imds with IMDS dropped: the check finishes, the azure collector says silent after its 1 s
# bound (not more), a limitation says what cannot be known, nothing claims Azure, and the
# stand-in never saw the request.
assert_azure_imds_silent() {
  local report bound
  report=$(cat)
  bound=$(awk -v s="$DURATION_SCALE" 'BEGIN { printf "%d", 1200 * s }')
  jq -e --argjson bound "$bound" '
    (.azure.on_azure == false) and (.azure.source == "--imds") and
    (.azure.imds.status == "silent") and (.azure.imds.error == "no answer within 1 s") and
    (.azure.imds.elapsed_ms >= 990 and .azure.imds.elapsed_ms <= $bound) and
    (.azure.vm == null) and (.azure.interfaces == []) and
    (.azure.relation | length == 1 and .[0].address == "10.250.2.10" and
      .[0].relation == "unknown (IMDS silent)") and
    ([.collectors[] | select(.name == "azure")] | length == 1 and .[0].status == "failed" and
      .[0].error == "IMDS silent: no answer within 1 s" and .[0].duration_ms <= $bound) and
    (.limitations | any(test("instance metadata service \\(http://169.254.169.254\\) did not answer within 1 s"))) and
    (.duration_ms >= 990)' <<<"$report" >/dev/null || return 1
  local imds_new
  imds_new=$(tail -n +"$((AZURE_IMDS_LINES + 1))" "${LAB_TMP}/imds-requests.log")
  [[ -z "$imds_new" ]] || {
    echo "  IMDS stand-in answered despite the drop: ${imds_new}"
    return 1
  }
}

# --auth entra, authority reachable: the lab's login.microsoftonline.com (10.250.2.30:443) resolved
# by the system resolver, connected, TLS verified against the lab CA; PRELOGIN carried
# FEDAUTHREQUIRED (the simulator answers it only then); the entra collector ok; the report says
# no token was requested.
assert_entra_reached() {
  jq -e '
    (.entra.reached == true) and (.entra.failed_step == null) and
    (.entra.authority == "login.microsoftonline.com") and (.entra.port == 443) and
    (.entra.addresses == ["10.250.2.30"]) and (.entra.dns_status == "ok") and
    (.entra.tcp.address == "10.250.2.30" and .entra.tcp.state == "open") and
    (.entra.tls.trusted == true and .entra.tls.name_matches == true and
      .entra.tls.verify_error == null) and
    (.entra.tls.certificate.subject_alt_names == ["login.microsoftonline.com"]) and
    (.entra.prelogin.fedauth_required_answer == true) and (.tds.prelogin.fedauth_required == true) and
    ([.collectors[] | select(.name == "entra")] | length == 1 and .[0].status == "ok") and
    (.limitations | any(test("no token was requested")))' >/dev/null
}

# --auth entra, the router drops the authority's 443: the finding leads, with the TCP evidence;
# the entra collector failed after its 1 s TCP bound.
assert_entra_filtered() {
  jq -e '
    (.findings[0].code == "ENTRA_ENDPOINT_UNREACHABLE") and (.findings[0].severity == "error") and
    (.findings[0].evidence | any(test("^entra tcp 10.250.2.30:443 -> filtered"))) and
    (.entra.reached == false) and (.entra.failed_step == "tcp") and
    (.entra.tcp.state == "filtered") and (.entra.tls == null) and
    ([.collectors[] | select(.name == "entra")] | length == 1 and .[0].status == "failed" and
      .[0].duration_ms >= 990)' >/dev/null
}

# run_fault "FIELD": '-' or a fault_* function with its arguments.
run_fault() {
  local -a cmd
  read -r -a cmd <<<"$1"
  [[ "${cmd[0]}" == "-" ]] && return 0
  if [[ "${cmd[0]}" != fault_* ]] || ! declare -F "${cmd[0]}" >/dev/null; then
    log "lab: unknown fault command: $1"
    return 1
  fi
  "${cmd[@]}"
}

# ---------------------------------------------------------------- prerequisites

# CI must really run the lab, so there a missing prerequisite is a failure, not a skip.
cannot_run() {
  if [[ "${CI:-}" == "true" ]]; then
    echo "lab: FAIL: $1 (CI=true: the lab must run)"
    exit 1
  fi
  echo "lab: skipped: $1"
  exit 77
}

require_prerequisites() {
  local missing
  missing=$(lab_missing_tools ip dnsmasq iptables jq timeout getent od dd awk prlimit setpriv)
  [[ -n "$missing" ]] && echo "lab: missing tools: ${missing}"
  ((EUID == 0)) || cannot_run "needs root (network namespaces)"
  [[ -z "$missing" ]] || cannot_run "missing tools: ${missing}"
}

# ---------------------------------------------------------------- scenarios

trim() {
  local s=$1
  s="${s#"${s%%[![:space:]]*}"}"
  printf '%s' "${s%"${s##*[![:space:]]}"}"
}

# A comma-separated code list, '-' or JSON-derived, as a sorted set: "A,B".
normalise_codes() {
  [[ "$1" == "-" ]] && return 0
  tr ',' '\n' <<<"$1" | sed '/^$/d' | LC_ALL=C sort -u | paste -sd, -
}

selected() { # selected NAME: matches a name or glob in LAB_ONLY, or LAB_ONLY unset
  local pattern
  local -a patterns
  [[ -z "${LAB_ONLY:-}" ]] && return 0
  IFS=, read -r -a patterns <<<"$LAB_ONLY"
  for pattern in "${patterns[@]}"; do
    # shellcheck disable=SC2053  # unquoted on purpose: the pattern may be a glob
    [[ "$1" == $pattern ]] && return 0
  done
  return 1
}

check_lab_only_names() {
  local want line known
  local -a wanted
  [[ -z "${LAB_ONLY:-}" ]] && return 0
  IFS=, read -r -a wanted <<<"$LAB_ONLY"
  for want in "${wanted[@]}"; do
    known=0
    for line in "${SCENARIOS[@]}" "${DRIVER_SCENARIOS[@]}" "${WATCH_SCENARIOS[@]}"; do
      # shellcheck disable=SC2053  # a glob must match at least one scenario
      [[ "$(trim "${line%%|*}")" == $want ]] && known=1
    done
    if ((known == 0)); then
      echo "lab: LAB_ONLY names an unknown scenario: ${want}"
      exit 1
    fi
  done
}

# run_scenario "TABLE LINE"
run_scenario() {
  local name setup undo args want_verdict want_codes want_exit max_ms assertion
  IFS='|' read -r name setup undo args want_verdict want_codes want_exit max_ms assertion <<<"$1"
  max_ms=$(trim "${max_ms:-}")
  [[ "$max_ms" == "-" ]] && max_ms=""
  assertion=$(trim "${assertion:-}")
  name=$(trim "$name")
  want_verdict=$(trim "$want_verdict")
  want_codes=$(normalise_codes "$(trim "$want_codes")")
  want_exit=$(trim "$want_exit")
  selected "$name" || return 0

  local -a check_args
  read -r -a check_args <<<"$args"
  if [[ " ${check_args[*]} " == *" NOCREDS "* ]]; then
    local -a kept=()
    local a
    for a in "${check_args[@]}"; do [[ "$a" == NOCREDS ]] || kept+=("$a"); done
    check_args=("${kept[@]}")
  else
    check_args+=("${CREDS[@]}")
  fi
  # Unprivileged: no root, no capabilities (the trace and the MSS retry must not need them).
  local -a as_user=()
  if [[ " ${check_args[*]} " == *" UNPRIV "* ]]; then
    local -a rest=()
    local u
    for u in "${check_args[@]}"; do [[ "$u" == UNPRIV ]] || rest+=("$u"); done
    check_args=("${rest[@]}")
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --)
  fi
  check_args+=(--ca-file "${LAB_TMP}/ca.pem")
  local out err rc=0 verdict codes got
  err="${LAB_TMP}/${name}.stderr"

  run_fault "$setup"
  out=$(in_client "${MEMORY_CAP[@]}" "${LAB_TIMEOUT[@]}" "$CHECK_TIMEOUT_S" "${as_user[@]}" "$MIDIAG" \
    check "${check_args[@]}" "${COMMON_ARGS[@]}" 2>"$err") || rc=$?
  run_fault "$undo"
  lab_clear_faults   # every scenario starts from the healthy state, whatever undo did

  # jq accepts empty input silently, so an empty stdout is checked for first.
  if [[ -n "$out" ]] && verdict=$(jq -er '.verdict | strings' <<<"$out" 2>/dev/null) &&
    codes=$(jq -r '[.findings[].code] | join(",")' <<<"$out" 2>/dev/null); then
    codes=$(normalise_codes "$codes")
  else
    verdict="(no JSON report)"
    codes="?"
  fi
  local duration within=1
  duration=$(jq -r '.duration_ms // empty' <<<"$out" 2>/dev/null || true)
  if [[ -n "$max_ms" ]]; then
    max_ms=$(awk -v m="$max_ms" -v s="$DURATION_SCALE" 'BEGIN { printf "%d", m * s }')
    within=$(awk -v d="${duration:-999999}" -v m="$max_ms" 'BEGIN { print (d <= m) ? 1 : 0 }')
  fi
  local sanitizer=""
  sanitizer=$(grep -m 1 -E "$SANITIZER_REPORT" "$err" || true)
  got="verdict=${verdict} codes={${codes}} exit=${rc} duration_ms=${duration%.*}"
  # Packets the kernel dropped before the capture took them: none, even in the redirect sweep's
  # burst (the check's batched ring holds it; 256 immediate-mode slots dropped 18-72 here).
  local dropped
  dropped=$(jq -r '.capture.kernel_dropped // 0' <<<"$out" 2>/dev/null || echo "?")
  [[ "$dropped" != 0 ]] && got+=" kernel_dropped=${dropped}"
  [[ -n "$sanitizer" ]] && got+=" sanitizer: ${sanitizer}"
  local asserted=1
  if [[ -n "$assertion" ]]; then
    local -a acmd
    read -r -a acmd <<<"$assertion"
    if [[ "${acmd[0]}" != assert_* ]] || ! declare -F "${acmd[0]}" >/dev/null ||
      ! "${acmd[@]}" <<<"$out"; then
      asserted=0
      got+=" assertion failed: ${assertion}"
    fi
  fi

  if [[ "$verdict" == "$want_verdict" && "$codes" == "$want_codes" && "$rc" == "$want_exit" &&
    "$within" == 1 && -z "$sanitizer" && "$asserted" == 1 && "$dropped" == 0 ]]; then
    echo "lab: ${name}: PASS (${got})"
    PASSED=$((PASSED + 1))
    return 0
  fi
  echo "lab: ${name}: FAIL (${got})"
  echo "  expected: verdict=${want_verdict} codes={${want_codes}} exit=${want_exit}${max_ms:+ duration_ms<=${max_ms}}${assertion:+ ${assertion}} (no sanitizer report, no kernel drops)"
  echo "  command: mi-diag check ${check_args[*]} ${COMMON_ARGS[*]}"
  echo "  stdout:"
  { jq . <<<"$out" 2>/dev/null || printf '%s\n' "$out"; } | sed 's/^/    /'
  echo "  stderr:"
  sed 's/^/    /' "$err"
  FAILED=$((FAILED + 1))
}

# The simulators served the hostile behaviours: stopped now (so LeakSanitizer runs at their
# exit), their output must hold no sanitizer report either.
check_simulators_clean() {
  [[ "${LAB_SANITIZED:-0}" == 1 ]] || return 0
  lab_stop_processes
  local f f_name hit
  for f in "${LAB_TMP}"/sim-*.out; do
    hit=$(grep -m 1 -E "$SANITIZER_REPORT" "$f" || true)
    [[ -z "$hit" ]] && continue
    f_name=${f##*/sim-}
    echo "lab: simulator ${f_name%.out}: FAIL (sanitizer: ${hit})"
    sed 's/^/    /' "$f" | head -n 60
    FAILED=$((FAILED + 1))
  done
}

usage() {
  echo "usage: $0 path/to/mi-diag path/to/lab_tcp_listener" >&2
  exit 2
}

main() {
  (($# == 2)) || usage
  MIDIAG=$(realpath -- "$1")
  local listener
  listener=$(realpath -- "$2")
  [[ -x "$MIDIAG" && -x "$listener" ]] || usage
  # The IMDS stand-in is built beside the listener (tests/lab/CMakeLists.txt).
  local imds_standin
  imds_standin="$(dirname -- "$listener")/lab_imds_standin"
  if [[ ! -x "$imds_standin" ]]; then
    echo "lab: ${imds_standin} not found: build the lab_imds_standin target" >&2
    exit 2
  fi
  check_lab_only_names
  LAB_REPEAT=${LAB_REPEAT:-1}
  if [[ ! "$LAB_REPEAT" =~ ^[0-9]+$ ]] || ((LAB_REPEAT < 1 || LAB_REPEAT > 50)); then
    echo "lab: LAB_REPEAT must be 1 to 50" >&2
    exit 2
  fi
  require_prerequisites

  lab_init
  lab_can_create_namespaces || cannot_run "cannot create network namespaces"
  lab_setup "$listener" "$MIDIAG"
  lab_start_azure "$imds_standin"

  local line round
  for ((round = 1; round <= LAB_REPEAT; round++)); do
    ((LAB_REPEAT == 1)) || echo "lab: round ${round} of ${LAB_REPEAT}"
    for line in "${SCENARIOS[@]}"; do
      run_scenario "$line"
    done
    run_watch_scenarios
    run_driver_scenarios
  done
  check_simulators_clean
  echo "${PASSED} passed, ${FAILED} failed"
  ((FAILED == 0 && PASSED > 0))
}

main "$@"
