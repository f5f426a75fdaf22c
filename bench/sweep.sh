#!/usr/bin/env bash
# Sweep benchmark: how long mi-diag takes to probe 1,003 silently dropped ports, next to
# nmap on the same ports, in the same lab run (see bench/README.md).
#
#   bench/sweep.sh path/to/mi-diag path/to/lab_tcp_listener     (root; N=5 by default)
#
# Uses the lab topology (tests/lab/lib.sh); the router drops everything forwarded to
# 10.250.2.10, so every port is "filtered" and the run time is dominated by timeouts.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../tests/lab/lib.sh
source "${BENCH_DIR}/../tests/lab/lib.sh"

readonly TARGET=10.250.2.10
readonly PORTS="1433,3342,5022,11000-11999"
readonly PORT_COUNT=1003
readonly RUN_TIMEOUT_S=300   # bound on one tool run (nmap needs ~100 s here)
N=${N:-5}

MIDIAG=""
MIDIAG_TIMES=()
NMAP_TIMES=()
SHORT_COUNTS=0   # runs that did not report all PORT_COUNT ports filtered

now_ms() { echo $(($(date +%s%N) / 1000000)); }

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

require_prerequisites() {
  local missing
  if ((EUID != 0)); then
    echo "bench: skipped: needs root (network namespaces)"
    exit 77
  fi
  missing=$(lab_missing_tools ip dnsmasq iptables jq nmap timeout getent od dd awk)
  if [[ -n "$missing" ]]; then
    echo "bench: missing tools: ${missing}"
    exit 1
  fi
}

# Ports mi-diag reports filtered: sweep summaries plus individual rows.
midiag_filtered() {
  jq '([.tcp_sweeps[]?.filtered] | add // 0) + ([.tcp[]? | select(.state == "filtered")] | length)'
}

# Ports nmap reports filtered: "Not shown: N filtered ..." plus listed filtered rows, or the
# older "All N scanned ports on X are filtered".
nmap_filtered() {
  awk '
    /^Not shown: [0-9]+ filtered/ { n += $3 }
    /^[0-9]+\/tcp +filtered/ { n++ }
    /^All [0-9]+ scanned ports on .* are filtered/ { n += $2 }
    END { print n + 0 }'
}

# run_midiag I: one timed mi-diag sweep, in the client namespace.
run_midiag() {
  local out err="${LAB_TMP}/midiag-$1.stderr" rc=0 start ms filtered own
  start=$(now_ms)
  out=$(in_client "${LAB_TIMEOUT[@]}" "$RUN_TIMEOUT_S" "$MIDIAG" check "$TARGET" \
    --ports "$PORTS" --timeout-ms 1000 --json 2>"$err") || rc=$?
  ms=$(($(now_ms) - start))
  # 0/1 are verdicts (1: the dropped ports are a problem found); 2/3 mean no measurement.
  if ((rc > 1)); then
    echo "bench: mi-diag exited ${rc}:" >&2
    cat "$err" >&2
    exit 1
  fi
  filtered=$(midiag_filtered <<<"$out")
  # The report's own duration_ms leaves out process start and `ip netns exec`.
  own=$(jq '.duration_ms // 0 | round' <<<"$out")
  ((filtered == PORT_COUNT)) || SHORT_COUNTS=$((SHORT_COUNTS + 1))
  MIDIAG_TIMES+=("$ms")
  printf 'run %d: mi-diag %6d ms  filtered %4d  (exit %d, report duration_ms %d)\n' \
    "$1" "$ms" "$filtered" "$rc" "$own"
}

# run_nmap I: one timed nmap connect scan of the same ports, in the client namespace.
run_nmap() {
  local out start ms filtered
  start=$(now_ms)
  out=$(in_client "${LAB_TIMEOUT[@]}" "$RUN_TIMEOUT_S" nmap -sT -Pn -T4 -p "$PORTS" "$TARGET")
  ms=$(($(now_ms) - start))
  filtered=$(nmap_filtered <<<"$out")
  ((filtered == PORT_COUNT)) || SHORT_COUNTS=$((SHORT_COUNTS + 1))
  NMAP_TIMES+=("$ms")
  printf 'run %d: nmap    %6d ms  filtered %4d\n' "$1" "$ms" "$filtered"
}

main() {
  if (($# != 2)); then
    echo "usage: $0 path/to/mi-diag path/to/lab_tcp_listener" >&2
    exit 2
  fi
  [[ "$N" =~ ^[1-9][0-9]?$ ]] || { echo "bench: N must be 1-99" >&2; exit 2; }
  MIDIAG=$(realpath -- "$1")
  require_prerequisites

  lab_init
  lab_can_create_namespaces || { echo "bench: cannot create network namespaces"; exit 1; }
  lab_setup "$(realpath -- "$2")"
  # Silent drop of everything towards the target: every probe waits for its timeout.
  lab_router_iptables -A FORWARD -d "$TARGET" -j DROP

  echo "bench: ${PORT_COUNT} ports (${PORTS}) on ${TARGET}, all dropped; ${N} runs each, alternating"
  # Wall times are load-sensitive: say how busy the machine was.
  echo "bench: $(nproc) CPU(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  local i
  for ((i = 1; i <= N; i++)); do
    run_midiag "$i"
    run_nmap "$i"
  done
  printf 'median: mi-diag %d ms, nmap %d ms\n' "$(median "${MIDIAG_TIMES[@]}")" \
    "$(median "${NMAP_TIMES[@]}")"
  echo "bench: load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  if ((SHORT_COUNTS > 0)); then
    echo "bench: ${SHORT_COUNTS} run(s) did not report all ${PORT_COUNT} ports filtered"
    exit 1
  fi
}

main "$@"
