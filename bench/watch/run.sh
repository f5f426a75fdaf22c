#!/usr/bin/env bash
# Watch benchmark (see bench/README.md, "Watch benchmark"): one `mi-diag watch` process runs
# ROUNDS rounds (one round = one check of one target) of four targets against `mi-diag simulate`,
# all inside a network namespace this script creates (its own loopback and resolv.conf, so no
# query reaches the host's resolver): a healthy redirect with a real login, a healthy gateway
# with dummy credentials, a name the zone does not have (NXDOMAIN) and a refused port. It samples
# the watch process at round ~100 and at round ~ROUNDS: RSS, peak RSS, open fds, CPU time.
# Usage (root): bench/watch/run.sh BUILD_DIR [ROUNDS (10000)] [INTERVAL (100ms)]
set -euo pipefail

BUILD=${1:?usage: run.sh BUILD_DIR [ROUNDS] [INTERVAL]}
ROUNDS=${2:-10000}
INTERVAL=${3:-100ms}
BIN=$(realpath "$BUILD/mi-diag")
NS=midiag-bench-watch
[[ $(id -u) == 0 ]] || { echo "run as root (network namespace)" >&2; exit 2; }
[[ -x $BIN ]] || { echo "no $BIN" >&2; exit 2; }

WORK=$(mktemp -d /tmp/midiag-bench-watch.XXXXXX)
SIM="" WATCH=""
cleanup() {
  # `ip netns exec` may fork: the processes to stop are the ones inside this script's namespace
  # (all started here), by PID, then the wrappers.
  local inside
  inside=$(ip netns pids "$NS" 2>/dev/null || true)
  for p in $inside $WATCH $SIM; do kill "$p" 2>/dev/null || true; done
  for p in $WATCH $SIM; do wait "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    [[ -z $(ip netns pids "$NS" 2>/dev/null) ]] && break
    sleep 0.1
  done
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "/etc/netns/$NS" "$WORK"
}
trap cleanup EXIT
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -p "/etc/netns/$NS"
echo "nameserver 127.0.0.1" >"/etc/netns/$NS/resolv.conf"  # seen only inside the namespace
in_ns() { ip netns exec "$NS" "$@"; }

in_ns "$BIN" simulate --gateway-port 1433 --dns-port 53 --ca-out "$WORK/ca.pem" \
  --max-seconds 7200 >"$WORK/sim.out" 2>&1 &
SIM=$!
for _ in $(seq 200); do grep -q '^ready' "$WORK/sim.out" && break; sleep 0.05; done
grep -q '^ready' "$WORK/sim.out" || { echo "simulator did not start" >&2; cat "$WORK/sim.out" >&2; exit 1; }

printf 'sim-password' >"$WORK/password"
chmod 600 "$WORK/password"
cat >"$WORK/watch.yaml" <<EOF
interval: $INTERVAL
timeout: 80ms
state_dir: $WORK/state
targets:
  - name: login-redirect
    host: mi1.sim0001.database.windows.net
    ca_file: $WORK/ca.pem
    user: sim
    password_file: $WORK/password
  - name: dummy-login
    host: mi1.sim0001.database.windows.net
    ca_file: $WORK/ca.pem
  - name: nxdomain
    host: nosuch.sim0001.database.windows.net
  - name: refused
    host: 127.0.0.1
    port: 1
EOF
mkdir -p "$WORK/state"
in_ns "$BIN" watch --config "$WORK/watch.yaml" --check >/dev/null

# A few rounds past ROUNDS, so the last sample is taken while the process still runs.
in_ns "$BIN" watch --config "$WORK/watch.yaml" --metrics-listen 127.0.0.1:9797 \
  --textfile "$WORK/metrics.prom" --events "$WORK/events.jsonl" --rounds $((ROUNDS + 400)) \
  >"$WORK/watch.out" 2>&1 &
WATCH=$!
# `ip netns exec` may stay as the parent: measure (and signal) mi-diag itself.
for _ in $(seq 100); do
  kid=$(pgrep -P "$WATCH" -x mi-diag || true)
  [[ -n $kid ]] && break
  [[ $(cat "/proc/$WATCH/comm" 2>/dev/null) == mi-diag ]] && { kid=$WATCH; break; }
  sleep 0.05
done
[[ -n ${kid:-} ]] || { echo "no mi-diag watch process under $WATCH" >&2; exit 1; }
PROC=$kid

rounds_done() {  # the sum of midiag_probes_total over the targets, from the textfile
  awk '/^midiag_probes_total\{/ {s += $NF} END {printf "%d", s}' "$WORK/metrics.prom" 2>/dev/null || echo 0
}
ticks=$(getconf CLK_TCK)
sample() {  # round rss_kib hwm_kib fds cpu_ms private_kib anon_kib
  local r rss hwm fds cpu priv anon
  r=$(rounds_done)
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$PROC/status")
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$PROC/status")
  fds=$(find "/proc/$PROC/fd" -mindepth 1 -maxdepth 1 | wc -l)
  cpu=$(awk -v t="$ticks" '{print int(($14 + $15) * 1000 / t)}' "/proc/$PROC/stat")
  # Private: pages no other process shares (the process's own cost; RSS also counts the shared
  # libraries' pages it touched). Anon: heap, stacks and arenas.
  priv=$(awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s}' "/proc/$PROC/smaps_rollup")
  anon=$(awk '/^RssAnon/ {print $2}' "/proc/$PROC/status")
  echo "$r $rss $hwm $fds $cpu $priv $anon"
}

t0=$(date +%s)
first="" scrapes=0
limit=$((ROUNDS / 5 + 600))  # seconds: bounded even if rounds stall
while kill -0 "$WATCH" 2>/dev/null; do
  (($(date +%s) - t0 < limit)) || { echo "watch did not reach $ROUNDS rounds in ${limit}s" >&2; exit 1; }
  r=$(rounds_done)
  # A scrape now and then, as Prometheus would, so the HTTP side is part of what is measured.
  in_ns bash -c 'exec 3<>/dev/tcp/127.0.0.1/9797; printf "GET /metrics HTTP/1.0\r\n\r\n" >&3; cat <&3' \
    >"$WORK/scrape.txt" 2>/dev/null && scrapes=$((scrapes + 1))
  if [[ -z $first && $r -ge 100 ]]; then first=$(sample); fi
  if [[ $r -ge $ROUNDS ]]; then
    last=$(sample)
    [[ -n ${SMAPS:-} ]] && cp "/proc/$PROC/smaps" "$SMAPS"  # where the memory is, on request
    break
  fi
  sleep 0.2
done
[[ -n $first && -n ${last:-} ]] || { echo "the watch process ended early" >&2; cat "$WORK/watch.out" >&2; exit 1; }
read -r r1 rss1 hwm1 fd1 cpu1 priv1 anon1 <<<"$first"
read -r r2 rss2 hwm2 fd2 cpu2 priv2 anon2 <<<"$last"
wall=$(($(date +%s) - t0))
kill -TERM "$PROC"
rc=0
wait "$WATCH" || rc=$?
WATCH=""

echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, $(uname -r)"
echo "targets: 4 (login-redirect, dummy-login, nxdomain, refused), interval $INTERVAL, ${wall}s wall, $scrapes scrapes"
printf '%-10s %10s %10s %12s %10s %8s %12s\n' round "RSS KiB" "peak KiB" "private KiB" "anon KiB" "fds" "CPU ms"
printf '%-10s %10s %10s %12s %10s %8s %12s\n' "$r1" "$rss1" "$hwm1" "$priv1" "$anon1" "$fd1" "$cpu1"
printf '%-10s %10s %10s %12s %10s %8s %12s\n' "$r2" "$rss2" "$hwm2" "$priv2" "$anon2" "$fd2" "$cpu2"
awk -v c1="$cpu1" -v c2="$cpu2" -v r1="$r1" -v r2="$r2" \
  'BEGIN {printf "CPU per target per round (rounds %d..%d): %.2f ms\n", r1, r2, (c2 - c1) / (r2 - r1)}'
echo "RSS growth from round $r1 to $r2: $(((rss2 - rss1))) KiB; fds $fd1 -> $fd2"
echo "events: $(grep -c '"event":"down"' "$WORK/events.jsonl" || true) down, $(grep -c '"event":"up"' "$WORK/events.jsonl" || true) up"
echo "watch exit after SIGTERM: $rc"
# The floor under the RSS goal: the same shared libraries with none of mi-diag's code running.
if [[ -x $BUILD/bench/link_floor ]]; then "$BUILD/bench/link_floor"; fi
for f in "$WORK/state"/*; do [[ -e $f ]] && echo "state: $(basename "$f") $(stat -c %s "$f") bytes"; done
