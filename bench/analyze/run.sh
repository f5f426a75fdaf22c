#!/usr/bin/env bash
# Analyze and capture benchmark (see bench/README.md, "Analyze benchmark"):
#   1. `mi-diag analyze` on a ~500k-packet capture and on its 4x (made by make_capture), beside
#      tshark dissecting TDS on the 500k one: wall time, packets/s, peak RSS;
#   2. capture's cost beside check: the median wall time of N `mi-diag check` runs against
#      `mi-diag simulate` on 127.0.0.1, with and without --no-capture.
# Usage (root for the capture half; needs /usr/bin/time, tshark unless NO_TSHARK=1; NO_CHECK=1
# skips the capture half):
#   cmake -S . -B build -DMIDIAG_BENCH=ON && cmake --build build -j1
#   sudo bench/analyze/run.sh [BUILD_DIR]        # N=11 check runs each unless N= is set
set -euo pipefail
BUILD=${1:-build}
BIN=$BUILD/mi-diag
MAKE=$BUILD/bench/make_capture
FIXTURE=${FIXTURE:-/work/shared/fixtures/pcap/tedious-redirect-plain.pcap}
OUT=${OUT:-bench/out}
N=${N:-11}
SMALL=${SMALL:-500000}
for f in "$BIN" "$MAKE" /usr/bin/time; do
  [[ -x $f ]] || { echo "missing $f (configure with -DMIDIAG_BENCH=ON and build)" >&2; exit 2; }
done
mkdir -p "$OUT"
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, $(uname -r)"

# wall seconds, CPU seconds (user + system) and peak RSS (KiB) of a command, from GNU time -v;
# stdout discarded. On a shared machine the CPU time is the one-core figure: wall time then
# includes waiting for a core.
measure() {
  local log
  log=$(mktemp)
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || true
  local wall cpu rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {printf "%.2f", s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  rm -f "$log"
  echo "$wall $cpu $rss"
}

BIG=$((SMALL * 4))
[[ -s $OUT/analyze-$SMALL.pcap ]] || "$MAKE" "$FIXTURE" "$OUT/analyze-$SMALL.pcap" "$SMALL" >/dev/null
[[ -s $OUT/analyze-$BIG.pcap ]] || "$MAKE" "$FIXTURE" "$OUT/analyze-$BIG.pcap" "$BIG" >/dev/null
cat "$OUT/analyze-$SMALL.pcap" "$OUT/analyze-$BIG.pcap" >/dev/null  # into the page cache

printf '\n%-40s %10s %8s %8s %12s %12s %10s\n' "run" "packets" "wall s" "cpu s" "pkts/s wall" "pkts/s cpu" "peak RSS"
row() { printf '%-40s %10s %8s %8s %12s %12s %10s\n' "$@"; }
rate() { awk -v p="$1" -v w="$2" 'BEGIN{printf "%.2f M", p/w/1e6}'; }
declare -A WALL CPU
for n in "$SMALL" "$BIG"; do
  f=$OUT/analyze-$n.pcap
  # The report's own packet count proves the whole file was read.
  pk=$("$BIN" analyze "$f" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["input"]["packets"])')
  for mode in --json text; do
    extra=()
    [[ $mode == --json ]] && extra=(--json)
    read -r wall cpu rss < <(measure "$BIN" analyze "$f" "${extra[@]}")
    [[ $mode == --json ]] && WALL[$n]=$wall && CPU[$n]=$cpu
    row "mi-diag analyze $(basename "$f") $mode" "$pk" "$wall" "$cpu" "$(rate "$pk" "$wall")" \
      "$(rate "$pk" "$cpu")" "$((rss / 1024)) MiB"
  done
done
if [[ ${NO_TSHARK:-0} != 1 ]]; then
  f=$OUT/analyze-$SMALL.pcap
  read -r wall cpu rss < <(measure tshark -r "$f" -d tcp.port==21433,tds -d tcp.port==21042,tds \
    -T fields -e frame.number -e tds.type -e tds.prelogin.option.version)
  row "tshark (TDS fields) $(basename "$f")" "$SMALL" "$wall" "$cpu" "$(rate "$SMALL" "$wall")" \
    "$(rate "$SMALL" "$cpu")" "$((rss / 1024)) MiB"
  echo "mi-diag --json is $(awk -v a="$wall" -v b="${WALL[$SMALL]}" 'BEGIN{printf "%.0f", a/b}')x tshark by wall time," \
    "$(awk -v a="$cpu" -v b="${CPU[$SMALL]}" 'BEGIN{printf "%.0f", a/b}')x by CPU time, on the $SMALL-packet file"
fi
[[ ${NO_CHECK:-0} == 1 ]] && exit 0

# Capture's cost beside check.
ready=$(mktemp)
"$BIN" simulate --max-seconds 600 >"$ready" 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null || true; rm -f "$ready" "${resolv:-}"' EXIT
for _ in $(seq 100); do grep -q '^ready' "$ready" && break; sleep 0.05; done
port=$(sed -n 's/^ready gateway=\([0-9]*\).*/\1/p' "$ready")
[[ -n $port ]] || { echo "simulator did not start" >&2; cat "$ready" >&2; exit 1; }
resolv=$(mktemp)
echo "nameserver 127.0.0.1" >"$resolv"
ms() { echo $(( $(date +%s%N) / 1000000 )); }
with=() without=()
for _ in $(seq "$N"); do
  for mode in with without; do
    extra=()
    [[ $mode == without ]] && extra=(--no-capture)
    t0=$(ms)
    "$BIN" check "127.0.0.1:$port" --trust-server-certificate --resolv-conf "$resolv" --json \
      "${extra[@]}" >/dev/null || true
    t1=$(ms)
    if [[ $mode == with ]]; then with+=($((t1 - t0))); else without+=($((t1 - t0))); fi
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
mw=$(median "${with[@]}")
mo=$(median "${without[@]}")
echo
echo "check with capture (ms):    ${with[*]}  median $mw"
echo "check --no-capture (ms):    ${without[*]}  median $mo"
echo "ratio with/without: $(awk -v a="$mw" -v b="$mo" 'BEGIN{printf "%.2f", a/b}')"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
