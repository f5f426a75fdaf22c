# shellcheck shell=bash
# Network-namespace topology shared by the lab (tests/lab/run.sh) and the sweep
# benchmark (bench/sweep.sh). Source it, then: lab_init; lab_setup LISTENER (teardown is
# automatic: lab_init installs the EXIT/INT/TERM traps).
#
#   client 10.250.1.2 ──veth── 10.250.1.1 + 10.250.1.53  router  10.250.2.1 ──veth── instance
#   (no default route)         (two dnsmasq, iptables faults)       10.250.2.10, 10.250.2.11
#                                                                    10.250.200.10/32 on lo
#                              router 10.250.3.1 ──veth── 10.250.3.2 router2 10.250.4.1 ──veth──
#                                                          far 10.250.4.10 (a 2-hop path for the
#                                                          traceroute: faults in router2)
#   instance 10.250.2.40: the real drivers' gateway with encryption off (tests/lab/drivers.sh)
#
# Every address is in 10.250.0.0/16 and lives only inside namespaces created here; the
# client has no default route, so nothing it sends can leave the lab.

LAB_DOMAIN="lab0001.database.windows.net"
LAB_POLL_TRIES=100      # readiness polls: 100 x 50 ms, a bound, not a timing assertion
LAB_POLL_STEP=0.05
LAB_PIDS=()             # every process this file started, killed by PID on teardown
declare -gA LAB_DNS_PIDS=()  # each dnsmasq's PID by name (dns-primary, dns-second)
LAB_NS_CLIENT=""
LAB_NS_ROUTER=""
LAB_NS_INSTANCE=""
LAB_NS_ROUTER2=""
LAB_NS_FAR=""
LAB_NS_PROBE=""
LAB_TMP=""
# --foreground keeps the command in our process group, so a Ctrl-C reaches it and it dies
# of SIGINT; plain timeout would put it in its own group, and bash (which only acts on
# SIGINT when its foreground child died of it too) would then never run our INT trap.
LAB_TIMEOUT=(timeout --foreground --kill-after=5)
LAB_TORN_DOWN=0
LAB_SETUP_DONE=0
LAB_DEFER=0             # inside "create, then record it": a signal waits (see lab_on_signal)
LAB_PENDING_EXIT=""

log() { printf '%s\n' "$*" >&2; }

# Names are unique per run (the script's PID), so two runs never touch each other. The
# traps go in before anything is created, so every exit path tears down.
lab_init() {
  local prefix="mdl$$"
  LAB_NS_CLIENT="${prefix}-client"
  LAB_NS_ROUTER="${prefix}-router"
  LAB_NS_INSTANCE="${prefix}-inst"
  LAB_NS_ROUTER2="${prefix}-router2"
  LAB_NS_FAR="${prefix}-far"
  LAB_NS_PROBE="${prefix}-probe"
  lab_install_traps
  lab_defer_signals
  LAB_TMP=$(mktemp -d "/tmp/${prefix}.XXXXXX")
  lab_allow_signals
}

# Root is not always enough (e.g. an unprivileged container): try once.
lab_can_create_namespaces() {
  ip netns add "$LAB_NS_PROBE" 2>/dev/null || return 1
  ip netns del "$LAB_NS_PROBE"
}

in_client() { ip netns exec "$LAB_NS_CLIENT" "$@"; }
in_router() { ip netns exec "$LAB_NS_ROUTER" "$@"; }
in_instance() { ip netns exec "$LAB_NS_INSTANCE" "$@"; }
in_router2() { ip netns exec "$LAB_NS_ROUTER2" "$@"; }

# ---------------------------------------------------------------- readiness

# lab_poll WHAT CMD...: retry CMD until it succeeds; bounded by LAB_POLL_TRIES.
lab_poll() {
  local what=$1 i
  shift
  for ((i = 0; i < LAB_POLL_TRIES; i++)); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep "$LAB_POLL_STEP"
  done
  log "lab: gave up waiting for ${what}"
  return 1
}

lab_file_has_line() { grep -qx -- "$2" "$1"; }

# ---------------------------------------------------------------- topology

lab_create_namespaces() {
  local ns
  for ns in "$LAB_NS_CLIENT" "$LAB_NS_ROUTER" "$LAB_NS_INSTANCE" "$LAB_NS_ROUTER2" "$LAB_NS_FAR"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
}

# veth pairs are created directly inside the namespaces: the host's own namespace never
# sees them, so interface names need to be unique only per namespace.
lab_link_namespaces() {
  ip -n "$LAB_NS_CLIENT" link add to-router type veth peer name to-client netns "$LAB_NS_ROUTER"
  ip -n "$LAB_NS_ROUTER" link add to-inst type veth peer name to-router netns "$LAB_NS_INSTANCE"
  ip -n "$LAB_NS_ROUTER" link add to-router2 type veth peer name to-router1 netns "$LAB_NS_ROUTER2"
  ip -n "$LAB_NS_ROUTER2" link add to-far type veth peer name to-router2 netns "$LAB_NS_FAR"
}

# The second router and the host behind it: a drop there is two hops away from the client.
lab_configure_far() {
  ip -n "$LAB_NS_ROUTER" addr add 10.250.3.1/24 dev to-router2
  ip -n "$LAB_NS_ROUTER" link set to-router2 up
  ip -n "$LAB_NS_ROUTER" route add 10.250.4.0/24 via 10.250.3.2
  ip -n "$LAB_NS_ROUTER2" addr add 10.250.3.2/24 dev to-router1
  ip -n "$LAB_NS_ROUTER2" addr add 10.250.4.1/24 dev to-far
  ip -n "$LAB_NS_ROUTER2" link set to-router1 up
  ip -n "$LAB_NS_ROUTER2" link set to-far up
  ip -n "$LAB_NS_ROUTER2" route add default via 10.250.3.1
  in_router2 sysctl -qw net.ipv4.ip_forward=1
  in_router2 sysctl -qw net.ipv4.icmp_ratelimit=0  # as in the first router (lab_configure_router)
  ip -n "$LAB_NS_FAR" addr add 10.250.4.10/24 dev to-router2
  ip -n "$LAB_NS_FAR" link set to-router2 up
  ip -n "$LAB_NS_FAR" route add default via 10.250.4.1
  ip -n "$LAB_NS_CLIENT" route add 10.250.4.0/24 via 10.250.1.1
}

lab_configure_client() {
  ip -n "$LAB_NS_CLIENT" addr add 10.250.1.2/24 dev to-router
  ip -n "$LAB_NS_CLIENT" link set to-router up
  # Only the two lab prefixes: no default route, no /16.
  ip -n "$LAB_NS_CLIENT" route add 10.250.2.0/24 via 10.250.1.1
  ip -n "$LAB_NS_CLIENT" route add 10.250.200.0/24 via 10.250.1.1
  # `ip netns exec` bind-mounts /etc/netns/<ns>/* over /etc/*: the client's resolver.
  mkdir -p "/etc/netns/${LAB_NS_CLIENT}"
  printf 'nameserver 10.250.1.1\n' >"/etc/netns/${LAB_NS_CLIENT}/resolv.conf"
}

lab_configure_router() {
  ip -n "$LAB_NS_ROUTER" addr add 10.250.1.1/24 dev to-client
  ip -n "$LAB_NS_ROUTER" addr add 10.250.1.53/24 dev to-client
  ip -n "$LAB_NS_ROUTER" addr add 10.250.2.1/24 dev to-inst
  ip -n "$LAB_NS_ROUTER" link set to-client up
  ip -n "$LAB_NS_ROUTER" link set to-inst up
  in_router sysctl -qw net.ipv4.ip_forward=1
  # No per-destination ICMP rate limit (1/s after a burst of 6): traces and TTL ladders draw
  # time-exceeded from this router to the client, and back-to-back scenarios would otherwise
  # lose a later scenario's unreachable (icmp-admin-prohibited seen as filtered).
  in_router sysctl -qw net.ipv4.icmp_ratelimit=0
  ip -n "$LAB_NS_ROUTER" route add 10.250.200.0/24 via 10.250.2.10
}

lab_configure_instance() {
  ip -n "$LAB_NS_INSTANCE" addr add 10.250.2.10/24 dev to-router
  ip -n "$LAB_NS_INSTANCE" addr add 10.250.2.11/24 dev to-router
  # One address per misbehaving simulated gateway (bad certificate, not TDS, hostile servers).
  local host
  # 18: an instance in another DNS zone (lab0002), a failover-group partner that does not share
  # the listeners' zone.
  for host in 12 13 14 15 16 17 18; do
    ip -n "$LAB_NS_INSTANCE" addr add "10.250.2.${host}/24" dev to-router
  done
  # The real drivers' gateway with encryption off (tests/lab/drivers.sh): tsql follows a
  # redirect only there, and tedious logs in without TLS only there.
  ip -n "$LAB_NS_INSTANCE" addr add 10.250.2.40/24 dev to-router
  # The Microsoft Entra ID authority's stand-in (login.microsoftonline.com, plain TLS on 443).
  ip -n "$LAB_NS_INSTANCE" addr add 10.250.2.30/24 dev to-router
  # Stand-in "public" address; the tool is told 10.250.200.0/24 is public.
  ip -n "$LAB_NS_INSTANCE" addr add 10.250.200.10/32 dev lo
  ip -n "$LAB_NS_INSTANCE" link set to-router up
  ip -n "$LAB_NS_INSTANCE" route add default via 10.250.2.1
}

# ---------------------------------------------------------------- processes

# lab_start_dnsmasq NAME LISTEN_ADDRESS RECORD...: NAME=ADDRESS, or cname:ALIAS,TARGET,TTL
lab_start_dnsmasq() {
  local name=$1 address=$2 record
  shift 2
  local args=(
    --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts
    --listen-address="$address" --bind-interfaces
    --pid-file="${LAB_TMP}/${name}.pid"
    --log-facility="${LAB_TMP}/${name}.log" --log-queries
    # Authoritative for the lab zone: unknown names get NXDOMAIN, never forwarded.
    --local="/${LAB_DOMAIN}/"
    # Forwarding for names under the zone (empty: none), re-read at SIGHUP: a scenario can move
    # a name to another server without restarting the resolver (tests/lab/watch.sh).
    --servers-file="${LAB_TMP}/${name}.servers"
  )
  for record in "$@"; do
    if [[ "$record" == cname:* ]]; then
      args+=(--cname="${record#cname:}")
    else
      args+=(--host-record="${record%%=*},${record#*=}")
    fi
  done
  # dnsmasq drops privileges; it must still be able to write its pid and log files.
  chmod 0755 "$LAB_TMP"
  : >"${LAB_TMP}/${name}.servers"
  # `ip netns exec` execs its command and a backgrounded simple command is exec'd by
  # the forked shell, so $! is dnsmasq itself (no wrapper function: that would fork).
  lab_defer_signals
  ip netns exec "$LAB_NS_ROUTER" dnsmasq "${args[@]}" &
  LAB_PIDS+=("$!")
  # shellcheck disable=SC2034  # read by tests/lab/watch.sh (SIGHUP after a servers-file change)
  LAB_DNS_PIDS["$name"]=$!
  lab_allow_signals
}

# The primary resolver's records (also served by the Azure DNS stand-in, lab_start_azure).
LAB_DNS_RECORDS=(
  "mi1.${LAB_DOMAIN}=10.250.2.10"
  "mi2.${LAB_DOMAIN}=10.250.2.11"
  "mi1.public.${LAB_DOMAIN}=10.250.200.10"
  "mipub.${LAB_DOMAIN}=10.250.200.10"
  "mipriv.public.${LAB_DOMAIN}=10.250.2.10"
  "mioff.${LAB_DOMAIN}=10.250.2.40"
  "mibadcert.${LAB_DOMAIN}=10.250.2.12"
  "minottds.${LAB_DOMAIN}=10.250.2.13"
  "misilent.${LAB_DOMAIN}=10.250.2.14"
  "migarbage.${LAB_DOMAIN}=10.250.2.15"
  "mihuge.${LAB_DOMAIN}=10.250.2.16"
  "mislow.${LAB_DOMAIN}=10.250.2.17"
  "mifar.${LAB_DOMAIN}=10.250.4.10"
  # Failover groups: grp1's partners share the zone (mi1 primary, mi2 secondary); grp2's
  # secondary, mi3, is in another zone (fog1 is the watch lab's own listener, tests/lab/watch.sh).
  # The listeners are CNAMEs with a 30 s TTL.
  "mi3.lab0002.database.windows.net=10.250.2.18"
  "cname:grp1.${LAB_DOMAIN},mi1.${LAB_DOMAIN},30"
  "cname:grp1.secondary.${LAB_DOMAIN},mi2.${LAB_DOMAIN},30"
  "cname:grp2.${LAB_DOMAIN},mi1.${LAB_DOMAIN},30"
  "cname:grp2.secondary.${LAB_DOMAIN},mi3.lab0002.database.windows.net,30"
  # --auth entra: the authority's name, answered here; nothing leaves the lab.
  "login.microsoftonline.com=10.250.2.30"
)

lab_start_dns() {
  lab_start_dnsmasq dns-primary 10.250.1.1 "${LAB_DNS_RECORDS[@]}"
  # A second resolver that disagrees about mi1.
  lab_start_dnsmasq dns-second 10.250.1.53 "mi1.${LAB_DOMAIN}=10.250.2.11"
}

# lab_start_listener LISTENER_BINARY: 1433 (gateway) and 3342 (public endpoint).
lab_start_listener() {
  lab_defer_signals
  ip netns exec "$LAB_NS_INSTANCE" "$1" 1433 3342 >"${LAB_TMP}/listener.out" 2>&1 &
  LAB_PIDS+=("$!")
  lab_allow_signals
}

# lab_start_link_listeners LISTENER_BINARY: the MI link's database mirroring endpoints, 5022 on
# the instance and 5022 on the client (the SQL Server host's own endpoint, which the instance
# connects back to).
lab_start_link_listeners() {
  lab_defer_signals
  ip netns exec "$LAB_NS_INSTANCE" "$1" 5022 >"${LAB_TMP}/link-listener.out" 2>&1 &
  LAB_PIDS+=("$!")
  ip netns exec "$LAB_NS_CLIENT" "$1" 5022 >"${LAB_TMP}/client-listener.out" 2>&1 &
  LAB_PIDS+=("$!")
  lab_allow_signals
}

# lab_start_far_listener LISTENER_BINARY: 1433 and 3342 on the host behind the second router
# (3342 is the working port a TTL ladder measures the host's distance with).
lab_start_far_listener() {
  lab_defer_signals
  ip netns exec "$LAB_NS_FAR" "$1" 1433 3342 >"${LAB_TMP}/far-listener.out" 2>&1 &
  LAB_PIDS+=("$!")
  lab_allow_signals
}

# The simulated instance(s) the lab talks to: one `mi-diag simulate` per address and role, so
# every gateway binds a specific address (a wildcard listener would collide with the others).
#   name | bind address | simulate arguments
readonly LAB_SIMULATORS=(
  "vnet          | 10.250.2.10   | --gateway-port 1433 --node-port 11042"
  "vnet-public   | 10.250.2.10   | --gateway-port 3342 --proxy --cert-name *.public.lab0001.database.windows.net"
  "vnet-alt      | 10.250.2.11   | --gateway-port 1433 --node-port 11042"
  "zone2         | 10.250.2.18   | --gateway-port 1433 --node-port 11042 --zone lab0002 --instance mi3"
  "vnet-enc-off  | 10.250.2.40   | --gateway-port 1433 --node-port 11042 --encryption off"
  "public        | 10.250.200.10 | --gateway-port 3342 --proxy --cert-name *.public.lab0001.database.windows.net"
  "public-1433   | 10.250.200.10 | --gateway-port 1433 --node-port 11042"
  "badcert       | 10.250.2.12   | --gateway-port 1433 --node-port 11042 --cert-name *.other0002.database.windows.net"
  "nottds        | 10.250.2.13   | --gateway-port 1433 --behaviour not-tds"
  "silent        | 10.250.2.14   | --gateway-port 1433 --behaviour silent"
  "garbage       | 10.250.2.15   | --gateway-port 1433 --behaviour garbage"
  "huge-length   | 10.250.2.16   | --gateway-port 1433 --behaviour huge-length"
  "slowloris     | 10.250.2.17   | --gateway-port 1433 --behaviour slowloris"
  "entra-authority | 10.250.2.30 | --gateway-port 443 --behaviour tls --cert-name login.microsoftonline.com"
)

# lab_start_simulators MIDIAG: starts them all; their CAs end up in one bundle, ${LAB_TMP}/ca.pem.
lab_start_simulators() {
  local line name bind rest
  local -a extra
  for line in "${LAB_SIMULATORS[@]}"; do
    IFS='|' read -r name bind rest <<<"$line"
    name=${name//[[:space:]]/}
    bind=${bind//[[:space:]]/}
    read -r -a extra <<<"$rest"
    # The lab's zone and instance unless the row names its own.
    [[ " ${extra[*]} " == *" --zone "* ]] || extra+=(--zone lab0001)
    [[ " ${extra[*]} " == *" --instance "* ]] || extra+=(--instance mi1)
    lab_defer_signals
    ip netns exec "$LAB_NS_INSTANCE" "$1" simulate --bind "$bind" \
      --routed-host "$bind" --ca-out "${LAB_TMP}/ca-${name}.pem" --max-seconds 900 "${extra[@]}" \
      >"${LAB_TMP}/sim-${name}.out" 2>&1 &
    LAB_PIDS+=("$!")
    lab_allow_signals
  done
  for line in "${LAB_SIMULATORS[@]}"; do
    name=${line%%|*}
    name=${name//[[:space:]]/}
    lab_poll "simulator ${name} ready" lab_file_starts_with "${LAB_TMP}/sim-${name}.out" ready
  done
  cat "${LAB_TMP}"/ca-*.pem >"${LAB_TMP}/ca.pem"
}

lab_file_starts_with() { [[ -s "$1" ]] && grep -q "^$2" "$1"; }

# ---------------------------------------------------------------- Azure stand-ins

# What the lab's IMDS says: a VM whose one NIC is the client's, in subnet 10.250.1.0/24, no
# public address (IMDS writes every value as a string and an empty public field means none).
readonly LAB_IMDS_DOCUMENT='{"compute":{"location":"labregion","name":"lab-vm","vmId":"5f1c0de0-0000-4000-8000-00000000a2e1","osType":"Linux"},"network":{"interface":[{"macAddress":"000D3AFAB001","ipv4":{"ipAddress":[{"privateIpAddress":"10.250.1.2","publicIpAddress":""}],"subnet":[{"address":"10.250.1.0","prefix":"24"}]},"ipv6":{"ipAddress":[]}}]}}'

# lab_imds_status_here ADDRESS WITH_HEADER(0|1): from inside the client, the status line IMDS
# gives to a GET of the instance document, with or without `Metadata: true`.
lab_imds_status_here() {
  local line header=""
  [[ "$2" == 1 ]] && header=$'Metadata: true\r\n'
  exec 3<>"/dev/tcp/$1/80"
  printf 'GET /metadata/instance?api-version=2021-02-01 HTTP/1.0\r\nHost: %s\r\n%s\r\n' "$1" "$header" >&3
  IFS= read -r line <&3
  exec 3>&-
  printf '%s\n' "${line%$'\r'}"
}

lab_imds_status() { # lab_imds_status WITH_HEADER: bounded to 3 s
  in_client "${LAB_TIMEOUT[@]}" 3 bash -c "$(declare -f lab_imds_status_here); lab_imds_status_here 169.254.169.254 \"\$1\"" _ "$1"
}

lab_imds_says() { [[ "$(lab_imds_status "$1")" == "$2" ]]; }

# lab_start_azure IMDS_STANDIN: Azure's own addresses inside the lab. The router holds
# 169.254.169.254 (IMDS, lab_imds_standin on port 80) and 168.63.129.16 (Azure DNS: a dnsmasq
# with the primary's records) on its loopback; the client reaches each by a /32 through the
# router, as a VM reaches them through its host. Nothing is sent outside the namespaces.
lab_start_azure() {
  ip -n "$LAB_NS_ROUTER" addr add 169.254.169.254/32 dev lo
  ip -n "$LAB_NS_ROUTER" addr add 168.63.129.16/32 dev lo
  ip -n "$LAB_NS_CLIENT" route add 169.254.169.254/32 via 10.250.1.1
  ip -n "$LAB_NS_CLIENT" route add 168.63.129.16/32 via 10.250.1.1
  printf '%s\n' "$LAB_IMDS_DOCUMENT" >"${LAB_TMP}/imds-instance.json"
  : >"${LAB_TMP}/imds-requests.log"
  lab_defer_signals
  ip netns exec "$LAB_NS_ROUTER" "$1" 169.254.169.254 80 "${LAB_TMP}/imds-instance.json" \
    "${LAB_TMP}/imds-requests.log" >"${LAB_TMP}/imds.out" 2>&1 &
  LAB_PIDS+=("$!")
  lab_allow_signals
  lab_start_dnsmasq azure-dns 168.63.129.16 "${LAB_DNS_RECORDS[@]}"
  lab_poll "IMDS stand-in ready" lab_file_has_line "${LAB_TMP}/imds.out" ready
  lab_poll "Azure DNS stand-in" lab_dns_ready azure-dns 168.63.129.16 "mi1.${LAB_DOMAIN}" \
    $'rcode=0\n10.250.2.10'
  lab_check "IMDS: 200 with Metadata: true" lab_imds_says 1 "HTTP/1.1 200 OK"
  lab_check "IMDS: 400 without it" lab_imds_says 0 "HTTP/1.1 400 Bad Request"
}

# ---------------------------------------------------------------- DNS over TCP, by hand

# Runs inside the client namespace (via declare -f): sends an A query for $2 to $1 over
# TCP using bash's /dev/tcp and prints "rcode=N" then one line per A record. Lets the lab
# check both dnsmasq instances without dig/nslookup.
lab_dns_query_here() {
  local server=$1 qname=$2 label q="" qlen=0 hdr b len
  local -a r labels
  IFS=. read -r -a labels <<<"$qname"
  for label in "${labels[@]}"; do
    printf -v b '\\x%02x' "${#label}"
    q+="${b}${label}"
    qlen=$((qlen + 1 + ${#label}))
  done
  len=$((12 + qlen + 1 + 4))
  printf -v hdr '\\x%02x\\x%02x\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00' \
    $((len >> 8)) $((len & 255))
  exec 3<>"/dev/tcp/${server}/53"
  printf '%b' "${hdr}${q}\\x00\\x00\\x01\\x00\\x01" >&3
  read -r -a r < <(dd bs=2 count=1 iflag=fullblock status=none <&3 | od -An -v -tu1)
  len=$((r[0] * 256 + r[1]))
  read -r -d '' -a r < <(dd bs="$len" count=1 iflag=fullblock status=none <&3 | od -An -v -tu1) || true
  exec 3>&-
  printf 'rcode=%d\n' $((r[3] & 15))
  local ancount=$((r[6] * 256 + r[7])) i=12 n type rdlen
  while ((r[i] != 0)); do i=$((i + r[i] + 1)); done   # skip the question name
  i=$((i + 5))
  for ((n = 0; n < ancount; n++)); do
    if ((r[i] >= 192)); then i=$((i + 2)); else
      while ((r[i] != 0)); do i=$((i + r[i] + 1)); done
      i=$((i + 1))
    fi
    type=$((r[i] * 256 + r[i + 1]))
    rdlen=$((r[i + 8] * 256 + r[i + 9]))
    i=$((i + 10))
    if ((type == 1 && rdlen == 4)); then
      printf '%d.%d.%d.%d\n' "${r[i]}" "${r[i + 1]}" "${r[i + 2]}" "${r[i + 3]}"
    fi
    i=$((i + rdlen))
  done
}

# lab_dns_query SERVER NAME: from the client namespace, bounded to 3 s.
lab_dns_query() {
  in_client "${LAB_TIMEOUT[@]}" 3 bash -c "$(declare -f lab_dns_query_here); lab_dns_query_here \"\$@\"" _ "$1" "$2"
}

lab_dns_answers() { # lab_dns_answers SERVER NAME EXPECTED_OUTPUT
  [[ "$(lab_dns_query "$1" "$2")" == "$3" ]]
}

lab_dns_ready() { # pid file written and a real answer served
  [[ -s "${LAB_TMP}/$1.pid" ]] && lab_dns_answers "$2" "$3" "$4"
}

# ---------------------------------------------------------------- verification

lab_tcp_opens() { # lab_tcp_opens ADDRESS PORT: a full handshake from the client
  # shellcheck disable=SC2016  # $1/$2 expand in the inner bash, on purpose
  in_client "${LAB_TIMEOUT[@]}" 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2"
}

lab_system_resolves() { # through the client's resolv.conf, like an application would
  [[ "$(in_client getent ahostsv4 "$1" | awk 'NR == 1 { print $1 }')" == "$2" ]]
}

lab_check() { # lab_check DESCRIPTION CMD...: one topology fact, fatal if false
  local what=$1
  shift
  if ! "$@" >/dev/null 2>&1; then
    log "lab: topology check failed: ${what}"
    return 1
  fi
}

# The topology is proven with plain tools before mi-diag ever runs, so a scenario
# failure points at the tool, not at the lab.
lab_verify_topology() {
  lab_check "client -> 10.250.2.10:1433 opens" lab_tcp_opens 10.250.2.10 1433
  lab_check "client -> 10.250.2.11:1433 opens" lab_tcp_opens 10.250.2.11 1433
  lab_check "client -> 10.250.200.10:3342 opens" lab_tcp_opens 10.250.200.10 3342
  lab_check "client -> 10.250.200.10:1433 opens" lab_tcp_opens 10.250.200.10 1433
  lab_check "client -> 10.250.4.10:1433 opens (two routers)" lab_tcp_opens 10.250.4.10 1433
  lab_check "client -> 10.250.4.10:3342 opens (two routers)" lab_tcp_opens 10.250.4.10 3342
  lab_check "client -> 10.250.2.30:443 opens (Entra authority)" lab_tcp_opens 10.250.2.30 443
  lab_check "resolv.conf: mi1 -> 10.250.2.10" lab_system_resolves "mi1.${LAB_DOMAIN}" 10.250.2.10
  lab_check "primary: mi1.public -> 10.250.200.10" \
    lab_dns_answers 10.250.1.1 "mi1.public.${LAB_DOMAIN}" $'rcode=0\n10.250.200.10'
  lab_check "primary: mipub -> 10.250.200.10" \
    lab_dns_answers 10.250.1.1 "mipub.${LAB_DOMAIN}" $'rcode=0\n10.250.200.10'
  lab_check "primary: mipriv.public -> 10.250.2.10" \
    lab_dns_answers 10.250.1.1 "mipriv.public.${LAB_DOMAIN}" $'rcode=0\n10.250.2.10'
  lab_check "primary: mi2 -> 10.250.2.11" \
    lab_dns_answers 10.250.1.1 "mi2.${LAB_DOMAIN}" $'rcode=0\n10.250.2.11'
  lab_check "primary: nope -> NXDOMAIN" lab_dns_answers 10.250.1.1 "nope.${LAB_DOMAIN}" 'rcode=3'
  lab_check "second: mi1 -> 10.250.2.11" \
    lab_dns_answers 10.250.1.53 "mi1.${LAB_DOMAIN}" $'rcode=0\n10.250.2.11'
}

# lab_setup LISTENER_BINARY [MIDIAG]: the whole healthy lab, verified. With MIDIAG the instance
# namespace runs simulated instances (TDS, TLS, redirect); without, a plain TCP listener.
lab_setup() {
  lab_create_namespaces
  lab_link_namespaces
  lab_configure_client
  lab_configure_router
  lab_configure_instance
  lab_configure_far
  lab_start_dns
  lab_start_far_listener "$1"
  lab_start_link_listeners "$1"
  if (($# > 1)); then
    lab_start_simulators "$2"
  else
    lab_start_listener "$1"
    lab_poll "lab_tcp_listener ready" lab_file_has_line "${LAB_TMP}/listener.out" ready
  fi
  lab_poll "far lab_tcp_listener ready" lab_file_has_line "${LAB_TMP}/far-listener.out" ready
  lab_poll "instance 5022 listener ready" lab_file_has_line "${LAB_TMP}/link-listener.out" ready
  lab_poll "client 5022 listener ready" lab_file_has_line "${LAB_TMP}/client-listener.out" ready
  lab_poll "primary dnsmasq" lab_dns_ready dns-primary 10.250.1.1 "mi1.${LAB_DOMAIN}" \
    $'rcode=0\n10.250.2.10'
  lab_poll "second dnsmasq" lab_dns_ready dns-second 10.250.1.53 "mi1.${LAB_DOMAIN}" \
    $'rcode=0\n10.250.2.11'
  lab_verify_topology
  LAB_SETUP_DONE=1
}

# Setup failed: show what the lab's own processes said.
lab_dump_logs() {
  local f
  log "lab: topology setup did not complete; logs from ${LAB_TMP}:"
  for f in "${LAB_TMP}"/*.log "${LAB_TMP}"/*.out; do
    [[ -f "$f" ]] || continue
    log "--- ${f##*/}"
    tail -n 20 -- "$f" >&2 || true
  done
}

# ---------------------------------------------------------------- faults

lab_router_iptables() { in_router iptables -w "$@"; }

# Back to the healthy state: no filter rules in the router, client routes present.
lab_clear_faults() {
  # The MTU first: with the ICMP drop lifted while the link is still small, the instance's
  # retransmissions would teach it a path MTU (kept 10 minutes) that hides the next black hole.
  ip -n "$LAB_NS_ROUTER" link set dev to-client mtu 1500
  lab_router_iptables -F FORWARD
  lab_router_iptables -F INPUT
  lab_router_iptables -F OUTPUT
  lab_router_iptables -t mangle -F OUTPUT
  in_router2 iptables -w -F FORWARD
  ip -n "$LAB_NS_INSTANCE" route flush cache
  ip -n "$LAB_NS_CLIENT" route flush cache
  ip -n "$LAB_NS_CLIENT" link del wg-corp 2>/dev/null || true
  ip -n "$LAB_NS_CLIENT" route del default 2>/dev/null || true
  ip -n "$LAB_NS_CLIENT" route replace 10.250.2.0/24 via 10.250.1.1
  ip -n "$LAB_NS_CLIENT" route replace 10.250.200.0/24 via 10.250.1.1
}

# ---------------------------------------------------------------- teardown

lab_process_gone() { ! kill -0 "$1" 2>/dev/null; }

lab_stop_process() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! lab_poll "process ${pid} to exit" lab_process_gone "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# Stops every process this file started (by PID); idempotent.
lab_stop_processes() {
  local pid
  for pid in "${LAB_PIDS[@]}"; do
    lab_stop_process "$pid"
  done
  LAB_PIDS=()
}

# Idempotent and never fails: runs from the EXIT trap on every path.
lab_teardown() {
  local status=$? ns
  ((LAB_TORN_DOWN)) && return 0
  LAB_TORN_DOWN=1
  # A second Ctrl-C must not cut the cleanup short (it is bounded: <= 5 s per process),
  # and one failing step must not skip the others.
  trap '' INT TERM
  set +e
  # A failed setup shows the lab's own logs; an interrupt (130/143) does not need them.
  if ((!LAB_SETUP_DONE && status != 0 && status != 130 && status != 143)); then
    lab_dump_logs
  fi
  lab_stop_processes
  for ns in "$LAB_NS_CLIENT" "$LAB_NS_ROUTER" "$LAB_NS_INSTANCE" "$LAB_NS_ROUTER2" "$LAB_NS_FAR" \
    "$LAB_NS_PROBE"; do
    if [[ -n "$ns" && -e "/run/netns/${ns}" ]]; then
      ip netns del "$ns" 2>/dev/null || log "lab: could not delete namespace ${ns}"
    fi
  done
  [[ -n "$LAB_NS_CLIENT" ]] && rm -rf -- "/etc/netns/${LAB_NS_CLIENT}"
  if [[ -n "$LAB_TMP" && -d "$LAB_TMP" ]]; then
    if [[ "${LAB_KEEP_TMP:-0}" == 1 ]]; then
      log "lab: kept ${LAB_TMP}"
    else
      rm -rf -- "$LAB_TMP"
    fi
  fi
  return 0
}

# Exiting runs the EXIT trap, which tears down. Between starting something and recording
# it (a PID, the temp dir) the exit waits, or that thing would leak.
lab_on_signal() {
  if ((LAB_DEFER)); then
    LAB_PENDING_EXIT=$1
  else
    exit "$1"
  fi
}
lab_defer_signals() { LAB_DEFER=1; }
lab_allow_signals() {
  LAB_DEFER=0
  if [[ -n "$LAB_PENDING_EXIT" ]]; then
    exit "$LAB_PENDING_EXIT"
  fi
}

lab_install_traps() {
  trap lab_teardown EXIT
  trap 'lab_on_signal 130' INT
  trap 'lab_on_signal 143' TERM
}

# ---------------------------------------------------------------- prerequisites

# lab_missing_tools TOOL...: prints the ones not on PATH.
lab_missing_tools() {
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  printf '%s\n' "${missing[*]}"
}
