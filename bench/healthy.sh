#!/usr/bin/env bash
# Healthy-check benchmark: wall time of a full `mi-diag check` in the lab — DNS, route, TCP,
# PRELOGIN, TLS, LOGIN7, redirect (node port + 11000-11999 sweep) and the node login — against
# the simulated instance (see bench/README.md).
#
#   bench/healthy.sh path/to/mi-diag path/to/lab_tcp_listener     (root; N=21 by default)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../tests/lab/lib.sh
source "${BENCH_DIR}/../tests/lab/lib.sh"

readonly NAME="mi1.lab0001.database.windows.net"
N=${N:-21}
export BENCH_SIM_PASSWORD=sim-password

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

main() {
  if (($# != 2)); then
    echo "usage: $0 path/to/mi-diag path/to/lab_tcp_listener" >&2
    exit 2
  fi
  [[ "$N" =~ ^[1-9][0-9]?$ ]] || { echo "bench: N must be 1-99" >&2; exit 2; }
  ((EUID == 0)) || { echo "bench: skipped: needs root (network namespaces)"; exit 77; }
  local midiag
  midiag=$(realpath -- "$1")
  lab_init
  lab_can_create_namespaces || { echo "bench: cannot create network namespaces"; exit 1; }
  lab_setup "$(realpath -- "$2")" "$midiag"

  echo "bench: healthy redirect check of ${NAME}, ${N} runs"
  echo "bench: $(nproc) CPU(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  local i start ms out walls=() durations=() bad=0 path
  for ((i = 1; i <= N; i++)); do
    start=$(now_ms)
    out=$(in_client timeout 60 "$midiag" check "$NAME" --json --timeout-ms 1000 --user sim \
      --password-env BENCH_SIM_PASSWORD --ca-file "${LAB_TMP}/ca.pem") || true
    ms=$(($(now_ms) - start))
    path=$(jq -r '([.findings[].code] | join(",")) + " " + (.redirect.state // "-")' <<<"$out")
    [[ "$path" == "CONNECTION_PATH ok" ]] || bad=$((bad + 1))
    walls+=("$ms")
    durations+=("$(jq -r '.duration_ms | floor' <<<"$out")")
    printf 'run %2d: wall %4d ms  report %4d ms  %s\n' "$i" "$ms" "${durations[-1]}" "$path"
  done
  printf 'median: wall %d ms, report duration_ms %d ms (goal <= 150 ms)\n' \
    "$(median "${walls[@]}")" "$(median "${durations[@]}")"
  echo "bench: load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  ((bad == 0)) || { echo "bench: ${bad} run(s) did not see the healthy redirect"; exit 1; }
}

main "$@"
